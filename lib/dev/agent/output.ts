/**
 * Interprets a task's output line by line the way the Azure Pipelines agent
 * does: runs the logging commands (result, variables, secrets, summaries,
 * issues) and renders the log the user sees, with the agent's secret masking.
 */
import type { SetVariable, TaskResultName, TaskRunResult } from "./types.ts";
import { isTrue, parseCommand, unescapeProperty } from "./commands.ts";

const RESULTS: readonly TaskResultName[] = ["Succeeded", "SucceededWithIssues", "Failed", "Cancelled", "Skipped"];

export interface AgentOutputOptions {
  /** `system.debug`: debug lines (and the agent's `Processed:` traces) appear in the log. */
  debug?: boolean;
  /** Values masked from the first line on (secret variables, connection secrets). */
  secrets?: readonly string[];
  /** Reads an uploaded summary when its command arrives (the file may be gone later). */
  readSummary?: (path: string) => string;
  /** Receives each log line (masked) as it is rendered. */
  onLine?: (line: string) => void;
  /** task.json `restrictions`, enforced as the agent enforces them. */
  restrictions?: TaskRestrictions;
}

/** The `restrictions` block of a task.json. */
export interface TaskRestrictions {
  commands?: { mode?: string };
  settableVariables?: { allowed?: string[] };
}

/**
 * Commands a task may still use in restricted mode: the agent's
 * `AllowedInRestrictedMode` set (agent TaskCommandExtension.cs).
 */
const RESTRICTED_MODE_COMMANDS = new Set([
  "task.logdetail",
  "task.logissue",
  "task.issue",
  "task.complete",
  "task.setprogress",
  "task.setsecret",
  "task.setvariable",
  "task.debug",
  "task.settaskvariable",
  "task.prependpath",
  "telemetry.publish",
]);

/** `settableVariables.allowed` entries are case-insensitive globs (`*` and `?`). */
function globMatches(glob: string, name: string): boolean {
  const pattern = glob
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${pattern}$`, "i").test(name);
}

/** What the agent learned from the output: the command-derived part of a TaskRunResult. */
type AgentOutputResult = Pick<
  TaskRunResult,
  "result" | "message" | "variables" | "outputs" | "secrets" | "summaries" | "errors" | "warnings" | "log"
>;

/** Replaces every known secret with `***`, longest first (so a secret's prefix can't leak its tail). */
export function maskSecrets(text: string, secrets: Iterable<string>): string {
  const sorted = [...secrets].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  return sorted.reduce((masked, secret) => masked.split(secret).join("***"), text);
}

export class AgentOutput {
  private readonly debug: boolean;
  private readonly readSummary: (path: string) => string;
  private readonly onLine?: (line: string) => void;
  private readonly restrictions: TaskRestrictions;
  /** Everything the agent's masker knows: grows as setsecret/issecret lines arrive. */
  private readonly masked = new Set<string>();
  private readonly logLines: string[] = [];
  private readonly state: Omit<AgentOutputResult, "log"> = {
    variables: [],
    outputs: {},
    secrets: [],
    summaries: [],
    errors: [],
    warnings: [],
  };

  constructor(options: AgentOutputOptions = {}) {
    this.debug = options.debug ?? false;
    this.readSummary = options.readSummary ?? (() => "");
    this.onLine = options.onLine;
    this.restrictions = options.restrictions ?? {};
    for (const secret of options.secrets ?? []) this.addMask(secret);
  }

  /** Feeds one complete output line (without its line break). */
  line(text: string): void {
    const command = parseCommand(text);
    if (!command) {
      this.write(text);
      return;
    }
    const { name, properties, message } = command;
    const refusal = this.refusal(name, properties);
    if (refusal) {
      this.state.warnings.push(refusal);
      this.write(`##[warning]${refusal}`);
      return;
    }
    switch (name) {
      case "task.debug":
        if (this.debug) this.write(`##[debug]${message}`);
        return; // the agent does not trace task.debug itself
      case "task.logissue":
      case "task.issue": // task-lib 5 writes this short form
        if (properties.type === "error") {
          this.state.errors.push(message);
          this.write(`##[error]${message}`);
        } else if (properties.type === "warning") {
          this.state.warnings.push(message);
          this.write(`##[warning]${message}`);
        }
        break;
      case "task.complete": {
        const result = RESULTS.find((r) => r.toLowerCase() === properties.result?.toLowerCase());
        if (result) {
          this.state.result = result;
          this.state.message = message;
        }
        break;
      }
      case "task.setvariable": {
        const variable: SetVariable = {
          name: properties.variable ?? "",
          value: message,
          isOutput: isTrue(properties.isoutput),
          isSecret: isTrue(properties.issecret),
        };
        if (variable.isSecret) this.addMask(variable.value);
        this.state.variables.push(variable);
        this.state.outputs[variable.name] = variable.value;
        break;
      }
      case "task.setsecret":
        this.state.secrets.push(message);
        this.addMask(message);
        break;
      case "task.uploadsummary":
        this.state.summaries.push({ path: message, content: this.readSummary(message) });
        break;
    }
    // After processing (so a secret just registered is already masked), as the agent does.
    if (this.debug) this.write(`##[debug]Processed: ${unescapeProperty(text)}`);
  }

  /** Why the agent would refuse this command under the task's restrictions, if it would. */
  private refusal(name: string, properties: Record<string, string>): string | undefined {
    if (this.restrictions.commands?.mode?.toLowerCase() === "restricted" && !RESTRICTED_MODE_COMMANDS.has(name)) {
      return `${name} was not executed because it is not allowed in restricted mode (CommandNotAllowed).`;
    }
    const allowed = this.restrictions.settableVariables?.allowed;
    const variable = properties.variable ?? "";
    if (name === "task.setvariable" && allowed && !allowed.some((glob) => globMatches(glob, variable))) {
      return `${variable} is not in the task's settableVariables list: the variable was not set.`;
    }
    return undefined;
  }

  result(): AgentOutputResult {
    return { ...this.state, log: this.logLines.join("\n") };
  }

  private write(line: string): void {
    const masked = maskSecrets(line, this.masked);
    this.logLines.push(masked);
    this.onLine?.(masked);
  }

  private addMask(value: string): void {
    // The agent masks each line of a multi-line secret.
    for (const part of value.split(/\r?\n/)) if (part.trim()) this.masked.add(part);
  }
}

/** Interprets a whole captured output at once (tests of the interpreter, `npm run task`). */
export function parseAgentOutput(output: string, options: AgentOutputOptions = {}): AgentOutputResult {
  const agent = new AgentOutput(options);
  const lines = output.split(/\r?\n/);
  if (lines.at(-1) === "") lines.pop();
  for (const line of lines) agent.line(line);
  return agent.result();
}
