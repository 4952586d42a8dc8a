/**
 * Figure 1b, cold start as CPU time: each agent task's bundle run straight
 * under Node to its failure on a missing input, its user + system CPU time
 * read from the process's resource usage, paired with `node -e 0`'s in the
 * same round. Wall time is what the goal is about; CPU time is what other
 * work on the machine disturbs far less, so it is the figure to compare
 * between runs on a busy machine. No goal of its own.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import type { Artefacts } from "./artefacts.ts";
import { figure, type Figure } from "./figure.ts";
import type { NodeRuntime } from "./runtimes.ts";
import { interleaved, type Rounds } from "./stats.ts";

/** CPU milliseconds (user + system) of `node args` run in `cwd`; it must end with `expect` in its stdout, if given. */
async function cpuMs(node: string, args: string[], cwd: string, env: Record<string, string>, expect?: string): Promise<number> {
  const child = Bun.spawn([node, ...args], { cwd, env, stdout: "pipe", stderr: "pipe" });
  const [stdout] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (expect && !stdout.includes(expect)) throw new Error(`${args.join(" ")} did not print ${expect}:\n${stdout.slice(-2000)}`);
  const usage = child.resourceUsage();
  if (!usage) throw new Error(`no resource usage for ${node} ${args.join(" ")}`);
  return Number(usage.cpuTime.user + usage.cpuTime.system) / 1000;
}

export async function measureColdStartCpu(artefacts: Artefacts, rounds: Rounds, runtimes: NodeRuntime[]): Promise<Figure[]> {
  const work = mkdtempSync(join(tmpdir(), "kfp-bench-cpu-"));
  try {
    const temp = join(work, "temp");
    mkdirSync(temp);
    // Each task in a folder of its own with its task.json beside it, as the agent lays it out.
    const folders = artefacts.agentTasks.map((task) => {
      const dir = join(work, task.name);
      mkdirSync(dir);
      for (const file of ["task.json", "index.js"]) copyFileSync(join(task.dir, file), join(dir, file));
      return { name: task.name, dir };
    });
    const subjects: Record<string, () => Promise<number>> = {};
    for (const runtime of runtimes) {
      const env = {
        PATH: `${runtime.pathDir}${delimiter}${process.env.PATH ?? ""}`,
        HOME: process.env.HOME ?? "",
        AGENT_TEMPDIRECTORY: temp,
      };
      subjects[`${runtime.label}|node -e 0`] = () => cpuMs(runtime.node, ["-e", "0"], work, { PATH: env.PATH, HOME: env.HOME });
      for (const task of folders) {
        // No inputs at all: each task fails on its first required input.
        subjects[`${runtime.label}|${task.name}`] = () => cpuMs(runtime.node, ["index.js"], task.dir, env, "result=Failed");
      }
    }
    const samples = await interleaved(rounds, subjects);
    return runtimes.flatMap((runtime, index) => {
      const idPrefix = index === 0 ? "cold-start-cpu" : `cold-start-cpu/node${runtime.label.replace(/^Node (\d+).*$/, "$1")}`;
      const baseline = { label: `node -e 0, ${runtime.label}`, samples: samples[`${runtime.label}|node -e 0`]! };
      return folders.map((task) =>
        figure({
          id: `${idPrefix}/${task.name}`,
          figure: `Cold start CPU time, ${runtime.label}: ${task.name} to a clean failure on a missing input`,
          unit: "ms",
          samples: samples[`${runtime.label}|${task.name}`]!,
          baseline,
          paired: true,
          details: { why: "user + system CPU time of the node process: the figure other work on the machine disturbs least" },
        }),
      );
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
