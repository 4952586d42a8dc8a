/**
 * Figure 1, cold start: each bundle run to its first decision with an input
 * missing (an agent task ends Failed naming the input; the exit handler,
 * given no callback info, says there is nothing to report), against
 * `node -e 0`. Reading the bundle, task-lib's start-up and input parsing are
 * what is measured: no request is made.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleFile } from "../build.ts";
import type { Artefacts } from "./artefacts.ts";
import { figure, ratioAtMost, type Figure } from "./figure.ts";
import { timeCommand, timeNodeBaseline, timeTask } from "./processes.ts";
import { interleaved, type Rounds } from "./stats.ts";

export const COLD_START_GOAL = 1.5;

const TASK_LIB_ALONE = "task-lib alone";

/**
 * A task that only loads task-lib and fails, bundled as the build bundles
 * tasks: the floor every agent task starts from, measured as a control.
 */
async function buildTaskLibAlone(workDir: string): Promise<string> {
  const dir = join(workDir, "task-lib-alone");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "task.json"), JSON.stringify({ inputs: [] }));
  writeFileSync(
    join(dir, "task-lib-alone.ts"),
    'import * as tl from "azure-pipelines-task-lib/task";\ntl.setResult(tl.TaskResult.Failed, "control");\n',
  );
  await bundleFile(join(dir, "task-lib-alone.ts"), join(dir, "index.js"));
  return dir;
}

export async function measureColdStart(artefacts: Artefacts, rounds: Rounds, workDir: string): Promise<Figure[]> {
  const messages: Record<string, string> = {};
  const controlDir = await buildTaskLibAlone(workDir);
  const subjects: Record<string, () => Promise<number>> = {
    "node -e 0": timeNodeBaseline,
    [TASK_LIB_ALONE]: async () => (await timeTask({ taskDir: controlDir }, "Failed", "the task-lib-only control")).ms,
  };
  for (const task of artefacts.agentTasks) {
    subjects[task.name] = async () => {
      // No inputs: task.json defaults only, so the connection input is missing.
      const { ms, result } = await timeTask({ taskDir: task.dir, timeoutMs: 30_000 }, "Failed", `${task.name} with no inputs`);
      messages[task.name] = result.message ?? "";
      return ms;
    };
  }
  const exitHandler = artefacts.exitHandler;
  if (exitHandler) subjects["exit-handler"] = () => timeScript(exitHandler);

  const samples = await interleaved(rounds, subjects);
  const baseline = { label: "node -e 0", samples: samples["node -e 0"]! };
  const control = figure({
    id: "cold-start/task-lib-alone",
    figure: "Cold start, control: a bundle that only loads task-lib and fails",
    unit: "ms",
    samples: samples[TASK_LIB_ALONE]!,
    baseline,
    details: { why: "the floor every agent task starts from, bundled as the build bundles tasks" },
  });
  return Object.keys(subjects)
    .filter((name) => name !== "node -e 0" && name !== TASK_LIB_ALONE)
    .map((name) =>
      figure({
        id: `cold-start/${name}`,
        figure: `Cold start: ${name} to a clean failure on a missing input`,
        unit: "ms",
        samples: samples[name]!,
        baseline,
        ...ratioAtMost(COLD_START_GOAL),
        details: name in messages ? { message: messages[name] } : { arguments: "none (no callback info)" },
      }),
    )
    .concat(control);
}

/** Runs a bundled script with no arguments in an empty folder; it must exit 0. */
async function timeScript(file: string): Promise<number> {
  const cwd = mkdtempSync(join(tmpdir(), "kfp-bench-script-"));
  try {
    return await timeCommand(["node", file], cwd);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}
