/**
 * Runs a task's bundled `index.js` the way an Azure Pipelines agent does and
 * reads back what it said (see types.ts for the contract).
 *
 * Each run gets a fresh folder holding only the task's task.json and index.js
 * (a hidden dependency on node_modules fails), a fresh Agent.TempDirectory, and
 * an environment built from the request alone.
 *
 * Never ships. May import anything; imported by the tests, bench and lib/dev/local.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import type { TaskRun, TaskRunRequest, TaskRunResult } from "./types.ts";
import { agentEnvironment, agentEnvName, defaultVariables, mergeVariables, taskInputs, variableValue } from "./env.ts";
import { AgentOutput, type TaskRestrictions } from "./output.ts";
import { chooseNode, hostNode } from "./node.ts";

export { parseAgentOutput, maskSecrets } from "./output.ts";
export { agentEnvName, defaultVariables, variableValue } from "./env.ts";
export { hostNode, hostPath, NODE24 } from "./node.ts";
export type { ServiceConnection, SetVariable, TaskResultName, TaskRun, TaskRunRequest, TaskRunResult } from "./types.ts";

const DEFAULT_TIMEOUT_MS = 60_000;
/** The files copied into the run folder, left out of `files`. */
const TASK_FILES = ["task.json", "index.js"];

/** Starts the task; the returned handle can wait for output, signal it, and await its result. */
export function startTask(req: TaskRunRequest): TaskRun {
  const started = performance.now();
  const taskJsonFile = join(req.taskDir, "task.json");
  for (const file of TASK_FILES) {
    if (!existsSync(join(req.taskDir, file))) {
      throw new Error(`${join(req.taskDir, file)} not found${file === "index.js" ? ": run `npm run build` first" : ""}`);
    }
  }
  const taskJson = JSON.parse(readFileSync(taskJsonFile, "utf8")) as {
    name?: string;
    inputs?: { name: string; defaultValue?: string | boolean }[];
    outputVariables?: { name: string }[];
    restrictions?: TaskRestrictions;
    execution?: Record<string, unknown>;
  };

  // <base>/work is the cwd (task files only), <base>/temp is Agent.TempDirectory (or the job's, shared by its steps).
  const base = mkdtempSync(join(tmpdir(), "kfp-task-run-"));
  const workDir = join(base, "work");
  const tempDir = req.jobTempDir ?? join(base, "temp");
  mkdirSync(workDir);
  mkdirSync(tempDir, { recursive: true });
  for (const file of TASK_FILES) copyFileSync(join(req.taskDir, file), join(workDir, file));

  const secretVariables = req.secretVariables ?? {};
  const secretNames = new Set(Object.keys(secretVariables).map(agentEnvName));
  const allVariables = mergeVariables(defaultVariables(tempDir, workDir, base), req.variables);
  const publicVariables = Object.fromEntries(Object.entries(allVariables).filter(([name]) => !secretNames.has(agentEnvName(name))));
  const inputs = taskInputs(taskJson.inputs ?? [], req.inputs, { ...publicVariables, ...secretVariables });
  const env = agentEnvironment({ inputs, connections: req.connections, variables: publicVariables, secretVariables, env: req.env });

  const debug = variableValue(publicVariables, "system.debug")?.toLowerCase() === "true";
  const knownSecrets = [...Object.values(secretVariables), ...(req.connections ?? []).flatMap((c) => Object.values(c.parameters ?? {}))];
  const agent = new AgentOutput({
    debug,
    secrets: knownSecrets,
    readSummary: (path) => readTextIfExists(isAbsolute(path) ? path : join(workDir, path)),
    onLine: req.onLog,
    restrictions: taskJson.restrictions,
    outputVariables: (taskJson.outputVariables ?? []).map((o) => o.name),
    stepName: req.stepName,
  });
  // Node 20 is the host's, found on the PATH the task gets (a request may put a wrapper first).
  const host20 = hostNode({ PATH: req.env?.PATH ?? process.env.PATH });
  const node = chooseNode(taskJson.execution, publicVariables, process.env, { 20: host20, ...req.nodeBinaries });

  const spawnedAt = performance.now();
  const child = spawn(node.binary, [join(workDir, "index.js")], { cwd: workDir, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let timedOut = false;
  const pending = { stdout: "", stderr: "" };
  const waiters = new Set<{ matches: (s: string) => boolean; resolve: () => void; reject: (e: Error) => void; pattern: string | RegExp }>();

  // Both streams feed the agent's log in arrival order, one complete line at a time.
  const feed = (stream: "stdout" | "stderr", chunk: string) => {
    pending[stream] += chunk;
    const lines = pending[stream].split("\n");
    pending[stream] = lines.pop() ?? "";
    for (const line of lines) agent.line(line.replace(/\r$/, ""));
  };
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    stdout += chunk;
    feed("stdout", chunk);
    for (const waiter of waiters) {
      if (waiter.matches(stdout)) {
        waiters.delete(waiter);
        waiter.resolve();
      }
    }
  });
  child.stderr.on("data", (chunk: string) => {
    stderr += chunk;
    feed("stderr", chunk);
  });

  const timeout = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, req.timeoutMs ?? DEFAULT_TIMEOUT_MS);

  let closed = false;
  const done = new Promise<TaskRunResult>((resolve, reject) => {
    child.on("error", (error) => {
      if (closed) return;
      closed = true;
      clearTimeout(timeout);
      rmSync(base, { recursive: true, force: true });
      reject(new Error(`could not start node for ${req.taskDir}: ${error.message}`));
    });
    child.on("close", (exitCode, signal) => {
      if (closed) return;
      closed = true;
      const processMs = performance.now() - spawnedAt;
      clearTimeout(timeout);
      for (const stream of ["stdout", "stderr"] as const) if (pending[stream]) agent.line(pending[stream]);
      for (const waiter of waiters) {
        waiter.reject(new Error(`the task ended before its stdout matched ${String(waiter.pattern)}; stdout was:\n${stdout}`));
      }
      waiters.clear();
      try {
        const files = {
          ...readTree(workDir, "work", (path) => TASK_FILES.includes(path)),
          ...readTree(tempDir, "temp"),
        };
        resolve({ exitCode, signal, timedOut, node, ...agent.result(), stdout, stderr, files, ms: performance.now() - started, processMs });
      } catch (error) {
        reject(error);
      } finally {
        rmSync(base, { recursive: true, force: true });
      }
    });
  });

  return {
    pid: child.pid ?? -1,
    done,
    signal(sig) {
      child.kill(sig);
    },
    waitForStdout(pattern) {
      const matches = (s: string) => (typeof pattern === "string" ? s.includes(pattern) : pattern.test(s));
      if (matches(stdout)) return Promise.resolve();
      if (closed) {
        return Promise.reject(new Error(`the task already ended; its stdout never matched ${String(pattern)}`));
      }
      return new Promise<void>((resolve, reject) => waiters.add({ matches, resolve, reject, pattern }));
    },
  };
}

/** Runs the task to its end. */
export function runTask(req: TaskRunRequest): Promise<TaskRunResult> {
  return startTask(req).done;
}

function readTextIfExists(file: string): string | undefined {
  return existsSync(file) ? readFileSync(file, "utf8") : undefined;
}

/** Every file under `dir` as text, keyed `<prefix>/<relative path>`. */
function readTree(dir: string, prefix: string, skip: (path: string) => boolean = () => false): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, encoding: "utf8" })) {
    const path = entry.split("\\").join("/");
    if (statSync(join(dir, entry)).isFile() && !skip(path)) files[`${prefix}/${path}`] = readFileSync(join(dir, entry), "utf8");
  }
  return files;
}
