/** Neutralises `##vso[` and `##[` so text from outside (KFP's messages, file paths) cannot issue agent commands. */
export function untrusted(text: string): string {
  return text.replace(/##vso\[/gi, "##_vso[").replace(/##\[/g, "##_[");
}
