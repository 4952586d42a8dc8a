/**
 * The wait log of the Experiment and Run task (lib/task/run-progress.ts): one line
 * per change, step progress, and a heartbeat only after a silence.
 */
import { describe, expect, test } from "bun:test";
import type { Run } from "../lib/kfp/types.ts";
import { formatDuration } from "../lib/net/mod.ts";
import { describeSteps, RunProgress } from "../lib/task/run-progress.ts";

const run = (state: string, steps?: Run["steps"]): Run => ({ id: "r1", name: "run", state, steps });
const MIN = 60_000;

function recorder(heartbeatMs = 5 * MIN) {
  const lines: string[] = [];
  return { lines, progress: new RunProgress((line) => lines.push(line), heartbeatMs) };
}

describe("run progress", () => {
  test("says each change of state once, with the elapsed time, not once per poll", () => {
    const { lines, progress } = recorder();
    progress.observe(run(""), 0);
    progress.observe(run("PENDING"), 1000);
    progress.observe(run("PENDING"), 2000);
    progress.observe(run("PENDING"), 3000);
    progress.observe(run("RUNNING"), 65_000);
    progress.observe(run("RUNNING"), 66_000);
    progress.observe(run("SUCCEEDED"), 3_723_000);
    expect(lines).toEqual([
      "[0s] Run state: not reported yet",
      "[1s] Run state: PENDING",
      "[1m 05s] Run state: RUNNING",
      "[1h 02m 03s] Run state: SUCCEEDED",
    ]);
  });

  test("is harmless when told the same poll twice", () => {
    const { lines, progress } = recorder();
    progress.observe(run("RUNNING"), 1000);
    progress.observe(run("RUNNING"), 1000);
    expect(lines).toHaveLength(1);
  });

  test("reports step progress when it changes, with the running steps", () => {
    const { lines, progress } = recorder();
    const steps = (done: number, running: string[]) => ({ total: 7, done, running, failed: [], list: [] });
    progress.observe(run("RUNNING", steps(3, ["train"])), 1000);
    progress.observe(run("RUNNING", steps(3, ["train"])), 2000);
    progress.observe(run("RUNNING", steps(4, ["train", "eval"])), 3000);
    expect(lines).toEqual(["[1s] Run state: RUNNING (3/7 steps done; running: train)", "[3s] 4/7 steps done; running: train, eval"]);
  });

  test("sends a heartbeat after the heartbeat time without news, and not before", () => {
    const { lines, progress } = recorder(5 * MIN);
    progress.observe(run("RUNNING"), 0);
    for (let t = 15_000; t < 5 * MIN; t += 15_000) progress.observe(run("RUNNING"), t);
    expect(lines).toHaveLength(1);
    progress.observe(run("RUNNING"), 5 * MIN);
    progress.observe(run("RUNNING"), 5 * MIN + 15_000);
    progress.observe(run("RUNNING"), 10 * MIN);
    expect(lines).toEqual(["[0s] Run state: RUNNING", "[5m 00s] Still RUNNING", "[10m 00s] Still RUNNING"]);
  });

  test("a change of state resets the heartbeat clock", () => {
    const { lines, progress } = recorder(5 * MIN);
    progress.observe(run("PENDING"), 0);
    progress.observe(run("RUNNING"), 4 * MIN);
    progress.observe(run("RUNNING"), 5 * MIN);
    expect(lines).toEqual(["[0s] Run state: PENDING", "[4m 00s] Run state: RUNNING"]);
  });
});

describe("durations and steps in words", () => {
  test("formats milliseconds, seconds, minutes and hours", () => {
    expect(formatDuration(0)).toBe("0s");
    expect(formatDuration(30)).toBe("30ms");
    expect(formatDuration(999.6)).toBe("1s");
    expect(formatDuration(1_000)).toBe("1s");
    expect(formatDuration(1_540)).toBe("1.5s");
    expect(formatDuration(59_400)).toBe("59.4s");
    expect(formatDuration(59_960)).toBe("1m 00s");
    expect(formatDuration(60_000)).toBe("1m 00s");
    expect(formatDuration(7_265_000)).toBe("2h 01m 05s");
  });

  test("names failed steps", () => {
    expect(describeSteps({ total: 3, done: 2, running: [], failed: ["lint"], list: [] })).toBe("2/3 steps done; failed: lint");
  });
});
