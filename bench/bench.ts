/**
 * `npm run bench`: builds, then measures the shipping artefacts side by side
 * with a baseline in the same run (cold start, upload, memory, waiting,
 * throughput, size), prints a Markdown table and writes bench/results.json.
 *
 *   bun bench/bench.ts [--no-build] [--quick]
 *
 * --no-build measures what the last build left; --quick takes few samples (a
 * smoke run, not figures to quote). Progress goes to stderr, the table to
 * stdout. It exits 1 only when something could not be measured; a missed
 * goal is a result, not an error.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { startFakeKfp, type FakeKfp } from "../lib/dev/fake-kfp/mod.ts";
import { findArtefacts, REPO_ROOT, runBuild, type Artefacts } from "./artefacts.ts";
import { measureColdStart } from "./cold-start.ts";
import { measureColdStartCpu } from "./cold-start-cpu.ts";
import type { Figure, Unmeasured } from "./figure.ts";
import { MiB, writePaddedPipeline, writePaddedTarGz } from "./packages.ts";
import { peakRssMeter } from "./processes.ts";
import { describeCommit, describeMachine, idlePercent, machineLine, markdownTable, writeResults, type Results } from "./report.ts";
import { nodeRuntimes } from "./runtimes.ts";
import { measureSize } from "./size.ts";
import type { Rounds } from "./stats.ts";
import { measureThroughput, measureUpload, measureUploadMemory } from "./upload.ts";
import { measureWaiting, type WaitingOptions } from "./waiting.ts";

export interface BenchSettings {
  coldStart: Rounds;
  upload: Rounds;
  memory: Rounds;
  waiting: Rounds & WaitingOptions;
  throughput: Rounds & { concurrency: number };
  /** Package sizes for the upload and memory figures. */
  smallMiB: number;
  largeMiB: number;
}

/** The figures to quote: about a minute on 2 cores. */
export const FULL: BenchSettings = {
  coldStart: { runs: 40, warmups: 3 },
  upload: { runs: 40, warmups: 3 },
  memory: { runs: 5, warmups: 1 },
  waiting: { runs: 3, warmups: 1, polls: 3, intervalSeconds: 1 },
  throughput: { runs: 3, warmups: 1, concurrency: 20 },
  smallMiB: 1,
  largeMiB: 32,
};

const ONE_SAMPLE: Rounds = { runs: 1, warmups: 0 };

/** One sample of everything, small and fast: for the test and smoke runs. */
export const QUICK: BenchSettings = {
  coldStart: ONE_SAMPLE,
  upload: ONE_SAMPLE,
  memory: ONE_SAMPLE,
  waiting: { ...ONE_SAMPLE, polls: 1, intervalSeconds: 1 },
  throughput: { ...ONE_SAMPLE, concurrency: 3 },
  smallMiB: 1,
  largeMiB: 2,
};

export interface BenchOutcome {
  figures: Figure[];
  unmeasured: Unmeasured[];
}

/** Measures every figure of the built artefacts; a group that fails is listed as unmeasured, the rest go on. */
export async function runBenchmarks(
  artefacts: Artefacts,
  settings: BenchSettings,
  log: (line: string) => void = () => {},
): Promise<BenchOutcome> {
  const figures: Figure[] = [];
  const unmeasured: Unmeasured[] = [];
  const work = mkdtempSync(join(tmpdir(), "kfp-bench-"));
  const task = (name: string) => {
    const found = artefacts.agentTasks.find((t) => t.name === name);
    if (!found) throw new Error(`tasks/${name} is not built`);
    return found.dir;
  };
  /** Runs one group of figures against a fresh fake KFP; its failure is recorded, not thrown. */
  const group = async (id: string, measure: (fake: FakeKfp) => Promise<Figure[]> | Figure[]) => {
    log(`measuring ${id}...`);
    const fake = await startFakeKfp({ api: "v2" });
    try {
      figures.push(...(await measure(fake)));
    } catch (error) {
      unmeasured.push({ id, reason: error instanceof Error ? error.message : String(error) });
      log(`  could not measure ${id}: ${error instanceof Error ? error.message : error}`);
    } finally {
      await fake.close();
    }
  };

  try {
    const small = { file: writePaddedPipeline(work, "small", settings.smallMiB * MiB), label: `${settings.smallMiB} MiB` };
    const large = { file: writePaddedPipeline(work, "large", settings.largeMiB * MiB), label: `${settings.largeMiB} MiB` };
    const archive = { file: writePaddedTarGz(work, "archive", settings.smallMiB * MiB), label: `${settings.smallMiB} MiB .tar.gz` };
    const upload = (fake: FakeKfp) => ({ fake, taskDir: task("upload-pipeline") });
    const meter = peakRssMeter(work);

    await group("size", () => measureSize(artefacts));
    const { runtimes, missing } = nodeRuntimes();
    if (missing) unmeasured.push({ id: "cold-start/node24", reason: missing });
    await group("cold-start", () => measureColdStart(artefacts, settings.coldStart, work, runtimes));
    await group("cold-start-cpu", () => measureColdStartCpu(artefacts, settings.coldStart, runtimes));
    await group("upload", (fake) => measureUpload(upload(fake), archive.file, archive.label, settings.upload));
    await group("upload-memory", (fake) => measureUploadMemory(upload(fake), meter, small, large, settings.memory));
    await group("waiting", (fake) => measureWaiting(fake, task("experiment-run"), settings.waiting, settings.waiting));
    await group("throughput", async (fake) => [
      await measureThroughput(upload(fake), small.file, settings.throughput.concurrency, settings.throughput),
    ]);
    meter.close();
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return { figures, unmeasured };
}

async function main(argv: string[]): Promise<number> {
  const unknown = argv.filter((a) => a !== "--no-build" && a !== "--quick");
  if (unknown.length) {
    console.error(`unknown argument ${unknown[0]} (usage: bun bench/bench.ts [--no-build] [--quick])`);
    return 2;
  }
  const settings = argv.includes("--quick") ? QUICK : FULL;
  const log = (line: string) => console.error(line);
  const started = performance.now();
  let artefacts: Artefacts;
  try {
    if (!argv.includes("--no-build")) {
      log("building (bun build.ts)...");
      runBuild();
    }
    artefacts = findArtefacts();
  } catch (error) {
    console.error(`bench: could not measure: ${error instanceof Error ? error.message : error}`);
    return 1;
  }

  const loadAtStart = loadavg();
  const idleAtStart = await idlePercent();
  if (idleAtStart !== undefined && idleAtStart < 90)
    log(`warning: the CPUs were only ${idleAtStart}% idle before the run: other work will skew the figures`);
  const { figures, unmeasured } = await runBenchmarks(artefacts, settings, log);
  const machine = describeMachine(idleAtStart, loadAtStart);
  const results: Results = {
    date: new Date().toISOString(),
    commit: describeCommit(REPO_ROOT),
    machine,
    settings,
    figures,
    unmeasured,
  };
  const file = join(REPO_ROOT, "bench", "results.json");
  writeResults(file, results);

  console.log(markdownTable(figures, unmeasured));
  console.log();
  console.log(`Machine: ${machineLine(machine)}. Commit ${results.commit}, ${results.date}.`);
  console.log(
    "Each figure is the median of the samples in bench/results.json, taken after warm-up rounds, " +
      "with the baseline interleaved in the same rounds; " +
      "cold-start and upload ratios are paired (the median of each round's ratio to node -e 0 run in that round). " +
      "KB and MB are 1024-based.",
  );
  log(`bench done in ${((performance.now() - started) / 1000).toFixed(0)} s; results in bench/results.json`);
  return unmeasured.length ? 1 : 0;
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
