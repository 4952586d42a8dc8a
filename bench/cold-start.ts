/**
 * Figure 1, cold start: each bundle run to its first decision with an input
 * missing (an agent task ends Failed naming the input; the exit handler,
 * given no callback info, says there is nothing to report), against
 * `node -e 0` on the same Node, on each Node the tasks declare a handler for.
 * Reading the bundle, task-lib's start-up and input parsing are what is
 * measured: no request is made. Output is read through a pipe, as an agent does.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { bundleFile } from "../build.ts";
import type { Artefacts } from "./artefacts.ts";
import { figure, ratioAtMost, type Figure } from "./figure.ts";
import { timeCommand, timeNodeBaseline, timeTask } from "./processes.ts";
import type { NodeRuntime } from "./runtimes.ts";
import { interleaved, type Rounds } from "./stats.ts";

const TASK_LIB_ALONE = "task-lib alone";

/**
 * A task that only loads task-lib and fails, bundled as the build bundles
 * tasks: the floor every agent task starts from, measured as a control.
 */
async function buildTaskLibAlone(workDir: string): Promise<string> {
  const dir = join(workDir, "task-lib-alone");
  mkdirSync(dir, { recursive: true });
  // The agent tasks' handlers, so the agent emulation picks the same Node.
  writeFileSync(
    join(dir, "task.json"),
    JSON.stringify({ inputs: [], execution: { Node20_1: { target: "index.js" }, Node24: { target: "index.js" } } }),
  );
  writeFileSync(
    join(dir, "task-lib-alone.ts"),
    'import * as tl from "azure-pipelines-task-lib/task";\ntl.setResult(tl.TaskResult.Failed, "control");\n',
  );
  await bundleFile(join(dir, "task-lib-alone.ts"), join(dir, "index.js"));
  return dir;
}

/**
 * Every subject on every runtime, interleaved in the same rounds, each runtime's
 * subjects paired with `node -e 0` on that runtime in the same round.
 */
export async function measureColdStart(artefacts: Artefacts, rounds: Rounds, workDir: string, runtimes: NodeRuntime[]): Promise<Figure[]> {
  const messages: Record<string, string> = {};
  const controlDir = await buildTaskLibAlone(workDir);
  const subjects: Record<string, () => Promise<number>> = {};
  const key = (runtime: NodeRuntime, name: string) => `${runtime.label}|${name}`;
  for (const runtime of runtimes) {
    const env = { PATH: `${runtime.pathDir}${delimiter}${process.env.PATH ?? ""}` };
    subjects[key(runtime, BASELINE)] = () => timeNodeBaseline(runtime.node);
    subjects[key(runtime, TASK_LIB_ALONE)] = async () =>
      (await timeTask({ taskDir: controlDir, env }, "Failed", "the task-lib-only control")).ms;
    for (const task of artefacts.agentTasks) {
      subjects[key(runtime, task.name)] = async () => {
        // No inputs: task.json defaults only, so the connection input is missing.
        const { ms, result } = await timeTask({ taskDir: task.dir, timeoutMs: 30_000, env }, "Failed", `${task.name} with no inputs`);
        messages[task.name] = result.message ?? "";
        return ms;
      };
    }
    const exitHandler = artefacts.exitHandler;
    if (exitHandler) subjects[key(runtime, "exit-handler")] = () => timeScript(runtime.node, exitHandler);
  }

  const samples = await interleaved(rounds, subjects);
  return runtimes.flatMap((runtime, index) => {
    // The first runtime (the PATH's node) keeps the plain ids; the others are prefixed with their major version.
    const idPrefix = index === 0 ? "cold-start" : `cold-start/node${runtime.label.replace(/^Node (\d+).*$/, "$1")}`;
    const baseline = { label: `${BASELINE}, ${runtime.label}`, samples: samples[key(runtime, BASELINE)]! };
    const names = Object.keys(subjects)
      .filter((k) => k.startsWith(`${runtime.label}|`))
      .map((k) => k.slice(runtime.label.length + 1))
      .filter((name) => name !== BASELINE && name !== TASK_LIB_ALONE);
    return names
      .map((name) =>
        figure({
          id: `${idPrefix}/${name}`,
          figure: `Cold start, ${runtime.label}: ${name} to a clean failure on a missing input`,
          unit: "ms",
          samples: samples[key(runtime, name)]!,
          baseline,
          paired: true,
          ...ratioAtMost(runtime.coldStartGoal),
          details: name in messages ? { message: messages[name] } : { arguments: "none (no callback info)" },
        }),
      )
      .concat(
        figure({
          id: `${idPrefix}/task-lib-alone`,
          figure: `Cold start, ${runtime.label}, control: a bundle that only loads task-lib and fails`,
          unit: "ms",
          samples: samples[key(runtime, TASK_LIB_ALONE)]!,
          baseline,
          paired: true,
          details: { why: "the floor every agent task starts from, bundled as the build bundles tasks" },
        }),
      );
  });
}

const BASELINE = "node -e 0";

/** Runs a bundled script with no arguments in an empty folder; it must exit 0. */
async function timeScript(node: string, file: string): Promise<number> {
  const cwd = mkdtempSync(join(tmpdir(), "kfp-bench-script-"));
  try {
    return await timeCommand([node, file], cwd);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}
