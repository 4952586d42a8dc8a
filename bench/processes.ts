/**
 * Child processes for the benchmarks: the `node -e 0` baseline, tasks run
 * through the agent emulation (so what is measured is the shipping bundle
 * under an agent's environment), and the peak RSS of such a child as the OS
 * counts it.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  hostNode,
  hostPath,
  startTask,
  type TaskResultName,
  type TaskRun,
  type TaskRunRequest,
  type TaskRunResult,
} from "../lib/dev/agent/mod.ts";
import { since } from "./stats.ts";

/** What the agent emulation passes of the host environment: PATH and HOME. */
export function hostEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ["PATH", "HOME"]) if (process.env[key] !== undefined) env[key] = process.env[key]!;
  // `node` is the host's (Node 20), as the agent emulation runs tasks, not the Node 24 npm links into node_modules/.bin.
  if (env.PATH !== undefined) env.PATH = hostPath();
  return env;
}

interface Started<T> {
  pid: number;
  done: Promise<T>;
}

/** Spawns a command with the host's PATH and HOME; `done` rejects unless it exits 0. */
function startCommand(argv: readonly string[], extraEnv: Record<string, string> = {}, cwd?: string): Started<void> {
  const [command, ...args] = argv;
  const child = spawn(command!, args, { cwd, env: { ...hostEnv(), ...extraEnv }, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const done = new Promise<void>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${argv.join(" ")} ended with ${signal ?? `exit code ${code}`}: ${stderr.trim()}`));
    });
  });
  return { pid: child.pid ?? -1, done };
}

export const NODE_BASELINE = ["node", "-e", "0"] as const;

/** Wall time of a command that must exit 0, spawned as the agent emulation spawns a task. */
export async function timeCommand(argv: readonly string[], cwd?: string): Promise<number> {
  const started = performance.now();
  await startCommand(argv, {}, cwd).done;
  return since(started);
}

/** `node -e 0` with the PATH's node, or with the given binary. */
export const timeNodeBaseline = (node = "node") => timeCommand([node, "-e", "0"]);

/** A task run that did not end as the benchmark needs: the figure cannot be measured. */
export class UnexpectedTaskResult extends Error {
  override name = "UnexpectedTaskResult";
}

/** Throws unless the task ended with `expected`, quoting what it said. */
export function expectResult(r: TaskRunResult, expected: TaskResultName, what: string): TaskRunResult {
  if (r.result === expected && !r.timedOut) return r;
  const how = r.timedOut ? "timed out" : `ended ${r.result ?? `without a result (exit code ${r.exitCode}, signal ${r.signal})`}`;
  const said = [r.message, r.stderr.trim().split("\n").slice(-5).join("\n")].filter(Boolean).join("\n");
  throw new UnexpectedTaskResult(`${what}: expected ${expected}, but the task ${how}${said ? `:\n${said}` : ""}`);
}

/**
 * Wall time of a task's process, run through the agent emulation: from
 * spawning node to its exit with its output read, as `node -e 0` is timed.
 * The emulation's own work (the run folder made and copied before, the files
 * read back after) is an agent's, not the task's: left out.
 */
export async function timeTask(
  req: TaskRunRequest,
  expected: TaskResultName,
  what: string,
): Promise<{ ms: number; result: TaskRunResult }> {
  const result = expectResult(await startTask(req).done, expected, what);
  return { ms: result.processMs, result };
}

/** Clock ticks per second of /proc times (USER_HZ: 100 on Linux). */
const USER_HZ = 100;

/**
 * CPU time (ms) used so far by this process and by its children that have
 * ended (the tasks and the fake are both counted); undefined without /proc.
 */
export function cpuMsSoFar(): number | undefined {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    // Fields after "(comm) ": state is field 3, so cutime (16) and cstime (17) are at 13 and 14.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const children = ((Number(fields[13]) + Number(fields[14])) * 1000) / USER_HZ;
    const own = process.cpuUsage();
    return children + (own.user + own.system) / 1000;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------
// Peak RSS

export interface PeakRssMeter {
  /** How the peak is read, for the report. */
  readonly method: string;
  /** Peak RSS (KB) of node -e 0. */
  nodeBaseline(): Promise<number>;
  /** Runs the task and returns its node process's peak RSS (KB) with its result. */
  task(req: TaskRunRequest): Promise<{ peakKb: number; result: TaskRunResult }>;
  close(): void;
}

const GNU_TIME = "/usr/bin/time";

/**
 * With GNU time present, a `node` wrapper first on PATH runs the real node
 * under `/usr/bin/time -f %M`: the kernel's ru_maxrss of the node process,
 * read after it exited, so no peak can be missed. Without it, the process's
 * VmHWM (its RSS high-water mark) is polled from /proc until it ends, which
 * can miss growth in its last few milliseconds.
 */
export function peakRssMeter(workDir: string): PeakRssMeter {
  return existsSync(GNU_TIME) ? gnuTimeMeter(workDir) : procStatusMeter();
}

function gnuTimeMeter(workDir: string): PeakRssMeter {
  // The Node the agent emulation runs tasks on by default (not the Node 24 npm links into node_modules/.bin).
  const realNode = hostNode();
  const shimDir = join(workDir, "rss-shim");
  const report = join(shimDir, "max-rss-kb");
  mkdirSync(shimDir, { recursive: true });
  writeFileSync(join(shimDir, "node"), `#!/bin/sh\nexec ${GNU_TIME} -f %M -o '${report}' '${realNode}' "$@"\n`, { mode: 0o755 });
  const env = { PATH: `${shimDir}:${hostPath()}` };

  async function measure<T>(start: () => Started<T>): Promise<{ peakKb: number; value: T }> {
    rmSync(report, { force: true });
    const value = await start().done;
    // GNU time writes "Command exited with non-zero status N" before the figure when the command failed.
    const lines = readFileSync(report, "utf8").trim().split("\n");
    const peakKb = Number(lines.at(-1));
    if (!Number.isFinite(peakKb) || peakKb <= 0) throw new Error(`${GNU_TIME} reported no max RSS: ${lines.join(" / ")}`);
    return { peakKb, value };
  }
  return {
    method: `${GNU_TIME} -f %M (ru_maxrss of the node process, from the kernel after it exited)`,
    nodeBaseline: async () => (await measure(() => startCommand(NODE_BASELINE, env))).peakKb,
    async task(req) {
      const { peakKb, value } = await measure(() => startTask({ ...req, env: { ...req.env, ...env } }));
      return { peakKb, result: value };
    },
    close: () => rmSync(shimDir, { recursive: true, force: true }),
  };
}

function procStatusMeter(): PeakRssMeter {
  async function measure<T>(started: Started<T>): Promise<{ peakKb: number; value: T }> {
    let peakKb = 0;
    let ended = false;
    const done = started.done.finally(() => (ended = true));
    while (!ended) {
      peakKb = Math.max(peakKb, readVmHwm(started.pid));
      await Promise.race([done.catch(() => {}), Bun.sleep(2)]);
    }
    const value = await done;
    if (peakKb <= 0) throw new Error(`could not read VmHWM of process ${started.pid} before it ended`);
    return { peakKb, value };
  }
  return {
    method: "VmHWM polled from /proc/<pid>/status every 2 ms until exit (GNU time not found; may miss a peak in the last ms)",
    nodeBaseline: async () => (await measure(startCommand(NODE_BASELINE))).peakKb,
    async task(req) {
      const run: TaskRun = startTask(req);
      const { peakKb, value } = await measure({ pid: run.pid, done: run.done });
      return { peakKb, result: value };
    },
    close: () => {},
  };
}

function readVmHwm(pid: number): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0; // not started yet, or gone
  }
}
