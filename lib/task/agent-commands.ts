/**
 * Agent logging commands written directly, where azure-pipelines-task-lib is
 * not loaded: by early-secrets.ts, which runs before it, and by the exit-handler
 * component task, which is one file's text and a write (task-lib would add
 * ~100 KB to its bundle, and to the vsix).
 * Escaping follows task-lib's taskcommand.ts, which the agent reverses
 * (microsoft/azure-pipelines-task-lib node/taskcommand.ts; agent
 * src/Agent.Worker/Command.cs unescapes %AZP25 %0D %0A %5D %3B).
 */
import { writeStdoutLine } from "./stdout.ts";
import { untrusted } from "./untrusted.ts";

const escapeMessage = (text: string) => text.replace(/%/g, "%AZP25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
const escapeProperty = (text: string) => escapeMessage(text).replace(/]/g, "%5D").replace(/;/g, "%3B");

/** `##vso[area.action k=v;]message`, one line (early-secrets.ts writes its setsecret lines with it too). */
export function agentCommand(command: string, properties: Record<string, string>, message = ""): string {
  const props = Object.entries(properties)
    .map(([key, value]) => `${key}=${escapeProperty(value)};`)
    .join("");
  return `##vso[${command}${props ? ` ${props}` : ""}]${escapeMessage(message)}`;
}

/** Sets a variable for later steps (`$(name)`) and as an output (`$(step.name)`, other jobs), as lib/task/outputs.ts does. */
export function writeOutput(name: string, value: string): void {
  writeStdoutLine(agentCommand("task.setvariable", { variable: name, issecret: "false" }, value));
  writeStdoutLine(agentCommand("task.setvariable", { variable: name, isOutput: "true", issecret: "false" }, value));
}

/** Ends the task as task-lib's setResult does: a failure also logs its message as an error issue. */
export function completeTask(result: "Succeeded" | "Failed", message: string): void {
  const text = untrusted(message);
  if (result === "Failed") writeStdoutLine(agentCommand("task.logissue", { type: "error" }, text));
  writeStdoutLine(agentCommand("task.complete", { result }, text));
}
