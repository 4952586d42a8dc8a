/**
 * Running one agent task locally (`npm run task`, `npm run demo`): finds the
 * task, turns a URL and a token into a service connection as Azure DevOps
 * would hand it to the agent, runs the bundle through the agent emulation
 * (lib/dev/agent/mod.ts) with `system.debug` on so the KFP request lines come out,
 * and prints the readable log (lib/dev/local/log.ts) as the task goes.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { startTask, type ServiceConnection, type TaskRun, type TaskRunResult, variableValue } from "../agent/mod.ts";
import type { LocalLog } from "./log.ts";

/** The repository root (this file is in lib/). */
export const REPO_ROOT = resolve(import.meta.dir, "../../..");

/** The id of the service connection made from `--connection`: what `kfpConnection` names. */
export const LOCAL_CONNECTION_ID = "local-kfp";

/** Inputs that hold credentials: taken from the environment only, never from a command line. */
const CREDENTIAL_INPUTS: Record<string, string> = { bearerToken: "KFP_TOKEN", sessionCookie: "KFP_SESSION_COOKIE" };

/** The secret pipeline variables the credentials travel in, as a YAML pipeline would pass them. */
const TOKEN_VARIABLE = "kfp.token";
const COOKIE_VARIABLE = "kfp.sessionCookie";

/** The longest timer Node allows (about 24 days): a local run waits as long as the task does. */
const NO_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * A build number of its own for each local run, in Azure's default shape
 * (`$(Date:yyyyMMdd).$(Rev:r)`): the tasks name versions and runs after it, so a
 * second run must not reuse the first one's name ("already taken").
 */
function freshBuildNumber(now = new Date()): string {
  const day = now.toISOString().slice(0, 10).replace(/-/g, "");
  const msToday = now.getTime() % 86_400_000;
  return `${day}.${msToday}`;
}

/** The pipeline variables of a local run: the given ones, plus a fresh build number and id unless one is given. */
function localVariables(given: Record<string, string> = {}, now = new Date()): Record<string, string> {
  if (variableValue(given, "build.buildNumber") !== undefined) return { ...given };
  return { "build.buildNumber": freshBuildNumber(now), "build.buildId": String(now.getTime()), ...given };
}

/** A mistake in how the local run was asked for (not a task failure). */
export class UsageError extends Error {
  override name = "UsageError";
}

interface TaskJsonInput {
  name: string;
  type: string;
}

export interface LocalTask {
  /** The folder name, e.g. `upload-pipeline`. */
  folder: string;
  dir: string;
  /** task.json `name`, e.g. `KubeflowUploadPipeline`. */
  name: string;
  inputs: TaskJsonInput[];
  /** runsOn Server: Azure DevOps runs it, not an agent. */
  server: boolean;
}

/** Task folders under tasks/, sorted. */
export function taskFolders(root = REPO_ROOT): string[] {
  const tasks = join(root, "tasks");
  return readdirSync(tasks, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(tasks, d.name, "task.json")))
    .map((d) => d.name)
    .sort();
}

function readTask(root: string, folder: string): LocalTask {
  const dir = join(root, "tasks", folder);
  const json = JSON.parse(readFileSync(join(dir, "task.json"), "utf8")) as { name: string; inputs?: TaskJsonInput[]; runsOn?: string[] };
  return { folder, dir, name: json.name, inputs: json.inputs ?? [], server: (json.runsOn ?? []).includes("Server") };
}

/** A task by folder (`upload-pipeline`) or by its YAML name (`KubeflowUploadPipeline@1`), any case. */
export function findTask(given: string, root = REPO_ROOT): LocalTask {
  const wanted = given.replace(/@\d+$/, "").toLowerCase();
  const tasks = taskFolders(root).map((folder) => readTask(root, folder));
  const task = tasks.find((t) => t.folder.toLowerCase() === wanted || t.name.toLowerCase() === wanted);
  if (!task) {
    throw new UsageError(`no task ${JSON.stringify(given)}; the tasks are ${tasks.map((t) => `${t.folder} (${t.name}@1)`).join(", ")}`);
  }
  return task;
}

/**
 * The inputs as task.json spells them. Unknown names and credentials fail
 * (a token on a command line lands in shell history and `ps`); file paths are
 * made absolute against `cwd`, the checkout an agent would run in.
 */
export function checkInputs(task: LocalTask, given: Record<string, string>, cwd: string): Record<string, string> {
  const checked: Record<string, string> = {};
  for (const [name, value] of Object.entries(given)) {
    const input = task.inputs.find((i) => i.name.toLowerCase() === name.toLowerCase());
    if (!input) {
      throw new UsageError(
        `${task.folder} has no input ${JSON.stringify(name)}; its inputs are ${task.inputs.map((i) => i.name).join(", ")}`,
      );
    }
    const env = CREDENTIAL_INPUTS[input.name];
    if (env)
      throw new UsageError(
        `${input.name} is not taken from the command line (it would land in shell history and ps): ` +
          `set the environment variable ${env} instead`,
      );
    checked[input.name] = input.type === "filePath" && value && !isAbsolute(value) ? resolve(cwd, value) : value;
  }
  return checked;
}

export interface LocalRunRequest {
  task: LocalTask;
  /** Inputs as task.json spells them (see checkInputs). Values may use `$(variable)` macros. */
  inputs?: Record<string, string>;
  /** KFP URL: run with a service connection (`kfpConnection`) to it. */
  connection?: string;
  /** Bearer token: the connection's token (scheme Token), or `bearerToken` without a connection. */
  token?: string;
  sessionCookie?: string;
  /** Where the token came from, for the printed inputs (e.g. `KFP_TOKEN`). */
  tokenSource?: string;
  dryRun?: boolean;
  /** Pipeline variables, e.g. an earlier step's outputs. */
  variables?: Record<string, string>;
  log: LocalLog;
  timeoutMs?: number;
  /** The task has started: lets a caller forward Ctrl-C. */
  onStart?: (run: TaskRun) => void;
}

/** Runs the task to its end, printing its inputs, its log as it arrives, its outputs and result. */
export async function runLocalTask(req: LocalRunRequest): Promise<TaskRunResult> {
  const { task, log } = req;
  if (task.server) {
    throw new UsageError(
      `${task.folder} is an agentless task: Azure DevOps itself sends its HTTP request, ` +
        `no agent runs it. npm run demo shows it end to end.`,
    );
  }
  if (!existsSync(join(task.dir, "index.js"))) throw new UsageError(`tasks/${task.folder}/index.js is not built: run npm run build`);
  const inputs: Record<string, string> = { ...req.inputs };
  const shown: Record<string, string> = { ...req.inputs };
  const secretVariables: Record<string, string> = {};
  const connections: ServiceConnection[] = [];
  const source = req.tokenSource ? ` from ${req.tokenSource}` : "";

  if (req.connection) {
    connections.push({
      id: LOCAL_CONNECTION_ID,
      url: req.connection,
      scheme: req.token ? "Token" : "None",
      parameters: req.token ? { apitoken: req.token } : {},
    });
    inputs.kfpConnection = LOCAL_CONNECTION_ID;
    shown.kfpConnection = `${LOCAL_CONNECTION_ID}: ${req.connection} (${req.token ? `token${source}` : "no authentication"})`;
  } else if (req.token) {
    secretVariables[TOKEN_VARIABLE] = req.token;
    inputs.bearerToken = `$(${TOKEN_VARIABLE})`;
    shown.bearerToken = `***${source}`;
  }
  if (req.sessionCookie) {
    secretVariables[COOKIE_VARIABLE] = req.sessionCookie;
    inputs.sessionCookie = `$(${COOKIE_VARIABLE})`;
    shown.sessionCookie = "*** from KFP_SESSION_COOKIE";
  }
  if (req.dryRun) {
    if (!task.inputs.some((i) => i.name === "dryRun")) throw new UsageError(`${task.folder} has no dryRun input`);
    inputs.dryRun = shown.dryRun = "true";
  }

  const variables = localVariables(req.variables);
  const secrets = [req.token, req.sessionCookie].filter((s): s is string => Boolean(s));
  log.inputs(shown, secrets);
  log.line(`  ${log.dim("build")}   ${variableValue(variables, "build.buildNumber")}`);
  log.line(`  ${log.dim("log")}`);
  const run = startTask({
    taskDir: task.dir,
    inputs,
    connections,
    // system.debug brings out the KFP request lines; the log shows only those of the debug lines.
    variables: { ...variables, "system.debug": "true" },
    secretVariables,
    timeoutMs: req.timeoutMs ?? NO_TIMEOUT_MS,
    onLog: (line) => log.agentLine(line),
  });
  req.onStart?.(run);
  const result = await run.done;
  log.ending(result);
  return result;
}
