/**
 * Neutralises text from outside (KFP's answers, input values, file paths) so it
 * cannot issue an agent command wherever it sits in a line: the agent runs a
 * command wherever `##vso[` appears (Command.TryParse: `message.IndexOf("##vso[")`)
 * and its log viewer formats `##[error]`, `##[group]`, ... `##vso` becomes
 * `**vso` in any case, as the agent's own StringUtil neutraliser does (no
 * command, and no "contains logging command keyword" warning either), and
 * `##[` becomes `**[`. Imports nothing: the exit-handler component task uses it
 * without task-lib.
 */
export function untrusted(text: string): string {
  return text.replace(/##(vso)/gi, "**$1").replace(/##\[/g, "**[");
}
