/**
 * The public shape of the agent emulation (`lib/dev/agent/mod.ts`): running a task's
 * bundled `index.js` exactly as an Azure Pipelines agent does, and reading
 * back what it said. Used by the test harness and by `npm run task`.
 */

export interface ServiceConnection {
  /** The connection's id: the value of the task's connectedService input. */
  id: string;
  url: string;
  /** `Token` (parameter `apitoken`) or `None`. */
  scheme: string;
  parameters?: Record<string, string>;
  data?: Record<string, string>;
}

export interface TaskRunRequest {
  /** The task folder: holds `task.json` and the built `index.js`. */
  taskDir: string;
  /** Inputs as a YAML step gives them (task.json defaults fill the rest). */
  inputs?: Record<string, string>;
  connections?: ServiceConnection[];
  /** Pipeline variables (`system.debug`, `build.buildNumber`, ...): override the emulated defaults. */
  variables?: Record<string, string>;
  /** Secret pipeline variables: passed as SECRET_*, masked in the user's log from the start. */
  secretVariables?: Record<string, string>;
  /** Extra raw environment (e.g. NODE_EXTRA_CA_CERTS). */
  env?: Record<string, string>;
  /** Kill the task (SIGKILL) after this long. Default 60 s. */
  timeoutMs?: number;
  /** Called with each line of the user's log (`TaskRunResult.log`, masked) as it arrives: live progress for `npm run task`. */
  onLog?: (line: string) => void;
}

export interface SetVariable {
  name: string;
  value: string;
  isOutput: boolean;
  isSecret: boolean;
}

export type TaskResultName = "Succeeded" | "SucceededWithIssues" | "Failed" | "Cancelled" | "Skipped";

export interface TaskRunResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /** From the last `##vso[task.complete]`; undefined when the task never said. */
  result?: TaskResultName;
  message?: string;
  variables: SetVariable[];
  /** The last value of each variable set, by name. */
  outputs: Record<string, string>;
  secrets: string[];
  /** Markdown summaries uploaded (`task.uploadsummary`), read before the temp folder goes. */
  summaries: { path: string; content: string }[];
  errors: string[];
  warnings: string[];
  /** Raw streams. */
  stdout: string;
  stderr: string;
  /**
   * The log a user sees: commands rendered as the agent renders them, debug lines only
   * with `system.debug`, and secret masking applied as the agent does (a value is masked
   * only after its `task.setsecret` line, secret variables and endpoint secrets from the start).
   */
  log: string;
  /** Contents of every file the task left in its working and temp folders (path relative, text). */
  files: Record<string, string>;
  ms: number;
}

export interface TaskRun {
  readonly pid: number;
  /** Resolves once stdout contains the pattern (rejects if the task ends first). */
  waitForStdout(pattern: string | RegExp): Promise<void>;
  /** Send a signal, as an agent does on cancel (SIGINT, then SIGTERM). */
  signal(sig: "SIGINT" | "SIGTERM"): void;
  readonly done: Promise<TaskRunResult>;
}
