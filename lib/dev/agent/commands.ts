/**
 * Reads `##vso[area.event key=value;...]message` logging commands from a task's
 * output line exactly as the Azure Pipelines agent does (azure-pipelines-agent
 * src/Microsoft.VisualStudio.Services.Agent/Command.cs `TryParse`, and
 * src/Agent.Sdk/CommandStringConvertor.cs `Unescape`).
 */

interface AgentCommand {
  /** `area.event`, lower-cased: `task.setvariable`, `task.complete`, ... (the agent looks both up case-insensitively). */
  name: string;
  /** Property names lower-cased (the agent keeps them in an OrdinalIgnoreCase dictionary), values unescaped. */
  properties: Record<string, string>;
  message: string;
}

/** Case-sensitive, found anywhere in the line (`message.IndexOf(LoggingCommandPrefix)`). */
const COMMAND_PREFIX = "##vso[";

/**
 * The agent's `_specialSymbolsMapping`, undone in this order for property values
 * and the message alike, then `%AZP25` -> `%` (the DecodePercents knob, on by
 * default). So `%AZP253B` becomes `%3B`, never `;`. A bare `%25` stays as it is.
 */
const ESCAPES: readonly [token: string, replacement: string][] = [
  [";", "%3B"],
  ["\r", "%0D"],
  ["\n", "%0A"],
  ["]", "%5D"],
];

export function unescapeCommandText(value: string): string {
  let text = value;
  for (const [token, replacement] of ESCAPES) text = text.split(replacement).join(token);
  return text.split("%AZP25").join("%");
}

/** The command in a line, or undefined when the agent would not see one. */
export function parseCommand(line: string): AgentCommand | undefined {
  const start = line.indexOf(COMMAND_PREFIX);
  if (start < 0) return undefined;
  const end = line.indexOf("]", start);
  if (end < 0) return undefined;
  const info = line.slice(start + COMMAND_PREFIX.length, end);
  const space = info.indexOf(" ");
  // `Split('.', RemoveEmptyEntries)` must give exactly an area and an event.
  const areaEvent = (space < 0 ? info : info.slice(0, space)).split(".").filter(Boolean);
  if (areaEvent.length !== 2) return undefined;
  const properties: Record<string, string> = {};
  if (space > 0) {
    for (const pair of info.slice(space + 1).split(";")) {
      // `Split('=', 2, RemoveEmptyEntries)`: a pair needs a non-empty name and value; names are not trimmed.
      const eq = pair.indexOf("=");
      const [key, value] = eq < 0 ? [pair] : [pair.slice(0, eq), pair.slice(eq + 1)];
      if (key && value) properties[key.toLowerCase()] = unescapeCommandText(value);
    }
  }
  return { name: areaEvent.join(".").toLowerCase(), properties, message: unescapeCommandText(line.slice(end + 1)) };
}

/** A boolean property as .NET `Boolean.TryParse` reads it (any case, surrounding spaces allowed); false otherwise. */
export function isTrue(value: string | undefined): boolean {
  return value?.trim().toLowerCase() === "true";
}
