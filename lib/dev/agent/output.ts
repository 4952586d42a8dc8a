/**
 * Interprets a task's output line by line the way the Azure Pipelines agent
 * does: runs the logging commands (result, variables, secrets, summaries,
 * issues) and renders the log the user sees, with the agent's secret masking.
 */
import type { SetVariable, TaskResultName, TaskRunResult } from "./types.ts";
import { isTrue, parseCommand, unescapeCommandText } from "./commands.ts";

/**
 * Results from best to worst, as the agent's TaskResult enum orders them
 * (task-lib writes `Cancelled` for the agent's Canceled = 3).
 */
const RESULTS: readonly TaskResultName[] = ["Succeeded", "SucceededWithIssues", "Failed", "Cancelled", "Skipped"];

/**
 * The worse of two results (agent TaskResultUtil.MergeTaskResults): a later
 * `task.complete` can make a step worse, never better, and a result worse than
 * Failed (Canceled, Skipped) sticks.
 */
export function mergeResults(current: TaskResultName | undefined, coming: TaskResultName): TaskResultName {
  if (current === undefined) return coming;
  const rank = (r: TaskResultName) => RESULTS.indexOf(r);
  if (rank(current) > rank("Failed")) return current;
  return rank(coming) >= rank(current) ? coming : current;
}

export interface AgentOutputOptions {
  /** `system.debug`: debug lines (and the agent's `Processed:` traces) appear in the log. */
  debug?: boolean;
  /** Values masked from the first line on (secret variables, connection secrets). */
  secrets?: readonly string[];
  /** Reads an uploaded summary when its command arrives (the file may be gone later); undefined when there is no such file. */
  readSummary?: (path: string) => string | undefined;
  /** Receives each log line (masked) as it is rendered. */
  onLine?: (line: string) => void;
  /** task.json `restrictions`, enforced as the agent enforces them. */
  restrictions?: TaskRestrictions;
  /** task.json `outputVariables` names: the agent stores these only as `<step>.<name>`. */
  outputVariables?: readonly string[];
  /** The step's reference name (YAML `name:`), the prefix of its output variables. */
  stepName?: string;
}

/** The agent's messages (src/Misc/layoutbin/en-US/strings.json) end with this link. */
const DOC_LINK = "(http://go.microsoft.com/fwlink/?LinkId=817296)";

const KEYWORD_HELP = "Please see the list of accepted commands: https://go.microsoft.com/fwlink/?LinkId=817296";

/** The reference name the emulation gives a step that names none. */
const DEFAULT_STEP_NAME = "kfpStep";

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
  "result" | "message" | "variables" | "outputs" | "recordVariables" | "secrets" | "summaries" | "errors" | "warnings" | "log"
>;

/** Replaces every known secret with `***`, longest first (so a secret's prefix can't leak its tail). */
export function maskSecrets(text: string, secrets: Iterable<string>): string {
  const sorted = [...secrets].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  return sorted.reduce((masked, secret) => masked.split(secret).join("***"), text);
}

export class AgentOutput {
  private readonly debug: boolean;
  private readonly readSummary: (path: string) => string | undefined;
  private readonly onLine?: (line: string) => void;
  private readonly restrictions: TaskRestrictions;
  private readonly declaredOutputs: Set<string>;
  private readonly stepName: string;
  /** A command that threw (agent WorkerCommandManager: CommandResult = Failed), merged into the step's result at its end. */
  private commandFailed = false;
  /** Everything the agent's masker knows: grows as setsecret/issecret lines arrive. */
  private readonly masked = new Set<string>();
  private readonly logLines: string[] = [];
  private readonly state: Omit<AgentOutputResult, "log"> = {
    variables: [],
    outputs: {},
    recordVariables: {},
    secrets: [],
    summaries: [],
    errors: [],
    warnings: [],
  };

  constructor(options: AgentOutputOptions = {}) {
    this.debug = options.debug ?? false;
    this.readSummary = options.readSummary ?? (() => undefined);
    this.onLine = options.onLine;
    this.restrictions = options.restrictions ?? {};
    // OrdinalIgnoreCase, like the agent's OutputVariables set (ExecutionContext.cs).
    this.declaredOutputs = new Set((options.outputVariables ?? []).map((name) => name.toLowerCase()));
    this.stepName = options.stepName ?? DEFAULT_STEP_NAME;
    for (const secret of options.secrets ?? []) this.addMask(secret);
  }

  /** Feeds one complete output line (without its line break). */
  line(text: string): void {
    const command = parseCommand(text);
    if (!command) {
      // WorkerCommandManager.TryProcessCommand: "CommandKeywordDetected".
      if (text.includes("##vso")) {
        const warning = `'${text}' contains logging command keyword '##vso', but it's not a legal command. ${KEYWORD_HELP}`;
        this.state.warnings.push(warning);
        this.write(`##[warning]${warning}`);
      }
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
        if (!result) {
          this.failCommand(text, "Command doesn't have valid result value.");
          return;
        }
        // Worst wins (TaskCommandExtension.cs TaskCompleteCommand: MergeTaskResults); the message is the latest.
        this.state.result = mergeResults(this.state.result, result);
        this.state.message = message;
        break;
      }
      case "task.setvariable":
        this.setVariable({
          name: properties.variable ?? "",
          value: message,
          isOutput: isTrue(properties.isoutput),
          isSecret: isTrue(properties.issecret),
        });
        break;
      case "task.setsecret":
        this.state.secrets.push(message);
        this.addMask(message);
        break;
      case "task.uploadsummary": {
        // The agent attaches the file as it is: masking applies to log lines only (TaskAddAttachmentCommand.AddAttachment).
        const content = this.readSummary(message);
        if (content === undefined) {
          // `File.Exists` fails: the command throws MissingAttachmentFile, which fails the step.
          this.failCommand(
            text,
            "Cannot upload task attachment file, attachment file location is not specified or attachment file does not exist on disk.",
          );
          return;
        }
        this.state.summaries.push({ path: message, content });
        break;
      }
    }
    this.processed(text);
  }

  /** After processing (so a secret just registered is already masked), as the agent does. */
  private processed(text: string): void {
    if (this.debug) this.write(`##[debug]Processed: ${unescapeCommandText(text)}`);
  }

  /** A command that threw: the agent logs two errors and fails the step once it ends (WorkerCommandManager.TryProcessCommand). */
  private failCommand(text: string, why: string): void {
    this.commandFailed = true;
    for (const error of [`Unable to process command '${text}' successfully. Please reference documentation ${DOC_LINK}`, why]) {
      this.state.errors.push(error);
      this.write(`##[error]${error}`);
    }
    this.processed(text);
  }

  /**
   * ExecutionContext.SetVariable: a name declared in task.json `outputVariables`
   * (any case) or set with isOutput=true becomes `<step>.<name>` and a timeline
   * record variable (what `dependencies.<job>.outputs['<step>.<name>']` reads),
   * never a plain variable; any other name is a plain job variable.
   */
  private setVariable(variable: SetVariable): void {
    if (!variable.name) {
      this.failCommand(
        `##vso[task.setvariable]${variable.value}`,
        "Required field 'variable' is missing in ##vso[task.setvariable] command.",
      );
      return;
    }
    if (variable.isSecret) this.addMask(variable.value);
    this.state.variables.push(variable);
    if (variable.isOutput || this.declaredOutputs.has(variable.name.toLowerCase())) {
      this.state.recordVariables[variable.name] = variable.value;
      this.state.outputs[`${this.stepName}.${variable.name}`] = variable.value;
    } else {
      this.state.outputs[variable.name] = variable.value;
    }
  }

  /** Why the agent would refuse this command under the task's restrictions, if it would. */
  private refusal(name: string, properties: Record<string, string>): string | undefined {
    if (this.restrictions.commands?.mode?.toLowerCase() === "restricted" && !RESTRICTED_MODE_COMMANDS.has(name)) {
      return `##vso[${name}] is not allowed in this step due to policy restrictions. Please reference documentation ${DOC_LINK}`;
    }
    const allowed = this.restrictions.settableVariables?.allowed;
    const variable = properties.variable ?? "";
    if (name === "task.setvariable" && allowed && !allowed.some((glob) => globMatches(glob, variable))) {
      return `Setting variable '${variable}' has been disabled by the task or build definition.`;
    }
    return undefined;
  }

  /** What the agent learned; a command that failed makes the step Failed at its end (StepsRunner: Merge(Result, CommandResult)). */
  result(): AgentOutputResult {
    const result = this.commandFailed ? mergeResults(this.state.result, "Failed") : this.state.result;
    return { ...this.state, result, log: this.logLines.join("\n") };
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
