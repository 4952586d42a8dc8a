/**
 * Reads `##vso[area.event key=value;...]message` logging commands from a task's
 * output line, as the Azure Pipelines agent does, undoing task-lib's escaping.
 */

interface AgentCommand {
  /** `area.event`, lower-cased: `task.setvariable`, `task.complete`, ... */
  name: string;
  /** Property names lower-cased (the agent reads them case-insensitively), values unescaped. */
  properties: Record<string, string>;
  message: string;
}

const PREFIX = "##vso[";

/** task-lib escapes `%`, CR and LF in a message (`%` last on the way back). */
function unescapeMessage(value: string): string {
  return value
    .replace(/%0D/g, "\r")
    .replace(/%0A/g, "\n")
    .replace(/%AZP25/g, "%");
}

/** Property values additionally escape `]` and `;`. */
export function unescapeProperty(value: string): string {
  return unescapeMessage(value.replace(/%5D/g, "]").replace(/%3B/g, ";"));
}

/** The command in a line (the agent finds `##vso[` anywhere in it), or undefined. */
export function parseCommand(line: string): AgentCommand | undefined {
  const start = line.indexOf(PREFIX);
  if (start < 0) return undefined;
  const end = line.indexOf("]", start);
  if (end < 0) return undefined;
  const body = line.slice(start + PREFIX.length, end);
  const space = body.indexOf(" ");
  const name = (space < 0 ? body : body.slice(0, space)).toLowerCase();
  if (!/^[a-z0-9]+\.[a-z0-9]+$/.test(name)) return undefined;
  const properties: Record<string, string> = {};
  if (space >= 0) {
    for (const pair of body.slice(space + 1).split(";")) {
      const eq = pair.indexOf("=");
      if (eq <= 0) continue;
      properties[pair.slice(0, eq).trim().toLowerCase()] = unescapeProperty(pair.slice(eq + 1));
    }
  }
  return { name, properties, message: unescapeMessage(line.slice(end + 1)) };
}

/** `true` as the agent reads a boolean command property. */
export function isTrue(value: string | undefined): boolean {
  return value?.trim().toLowerCase() === "true";
}
