/**
 * Figures 2, 3 and 5: the upload task end to end against the fake KFP on
 * loopback (wall time and requests), its peak memory with a small and a
 * 32 MiB package, and 20 uploads at once against one fake server.
 *
 * Every upload is `uploadNew` of a fresh pipeline name with `apiVersion`
 * left at `auto`, as a first-time user's YAML would be.
 */
import { availableParallelism } from "node:os";
import { type TaskRunRequest, type TaskRunResult, startTask } from "../lib/dev/agent/mod.ts";
import type { FakeKfp } from "../lib/dev/fake-kfp/mod.ts";
import { figure, ratioAtMost, type Figure } from "./figure.ts";
import { cpuMsSoFar, expectResult, timeNodeBaseline, timeTask, type PeakRssMeter } from "./processes.ts";
import { interleaved, median, since, type Rounds } from "./stats.ts";

export const UPLOAD_GOAL = 3;
/** The 32 MiB upload may use at most this much more memory (MB) than the small one. */
export const UPLOAD_MEMORY_GOAL_MB = 16;

/**
 * The fewest requests `uploadNew` with `apiVersion: auto` can make on KFP 2.x:
 * one healthz to learn the API version, the upload itself, and one list of the
 * new pipeline's versions, because the v2beta1 upload answer carries no
 * version id. (A name taken is reported by the upload itself: 409, or 500
 * "already exist" on 2.0, so no look-up before it is needed.)
 */
export const FEWEST_UPLOAD_REQUESTS = 3;

export interface UploadSetup {
  fake: FakeKfp;
  taskDir: string;
}

let uploads = 0;

/** An `uploadNew` of `file` under a pipeline name not used before. */
export function uploadRequest(setup: UploadSetup, file: string): TaskRunRequest {
  return {
    taskDir: setup.taskDir,
    inputs: {
      kubeflowEndpoint: setup.fake.url,
      kubeflowPipelineTask: "uploadNew",
      pipelineFilePath: file,
      newPipelineName: `bench-upload-${process.pid}-${++uploads}`,
    },
    timeoutMs: 60_000,
  };
}

/** The requests the fake received while `run` ran, as `METHOD /path` (runs must not overlap). */
async function requestsDuring<T>(fake: FakeKfp, run: () => Promise<T>): Promise<{ value: T; requests: string[] }> {
  const before = fake.requests.length;
  const value = await run();
  return { value, requests: fake.requests.slice(before).map((r) => `${r.method} ${r.path}`) };
}

/** Figure 2: one upload of a 1 MiB package, wall time and requests. */
export async function measureUpload(setup: UploadSetup, file: string, sizeLabel: string, rounds: Rounds): Promise<Figure[]> {
  const counts: number[] = [];
  let lastRequests: string[] = [];
  const samples = await interleaved(rounds, {
    baseline: timeNodeBaseline,
    upload: async () => {
      const { value, requests } = await requestsDuring(setup.fake, () =>
        timeTask(uploadRequest(setup, file), "Succeeded", `upload of a ${sizeLabel} package`),
      );
      counts.push(requests.length);
      lastRequests = requests;
      return value.ms;
    },
  });
  const kept = counts.slice(-rounds.runs);
  return [
    figure({
      id: "upload/wall",
      figure: `Upload task end to end, ${sizeLabel} package, fake KFP on loopback`,
      unit: "ms",
      samples: samples.upload,
      baseline: { label: "node -e 0", samples: samples.baseline },
      paired: true,
      ...ratioAtMost(UPLOAD_GOAL),
    }),
    figure({
      id: "upload/requests",
      figure: "Upload task: requests made (uploadNew, apiVersion auto, KFP 2.x)",
      unit: "requests",
      samples: kept,
      baseline: { label: "fewest the API allows", samples: [FEWEST_UPLOAD_REQUESTS] },
      goal: `= ${FEWEST_UPLOAD_REQUESTS} (fewest)`,
      check: (value) => value <= FEWEST_UPLOAD_REQUESTS,
      details: { requests: lastRequests },
    }),
  ];
}

/** Figure 3: peak RSS of the upload task with a small and a large package, and of node -e 0. */
export async function measureUploadMemory(
  setup: UploadSetup,
  meter: PeakRssMeter,
  small: { file: string; label: string },
  large: { file: string; label: string },
  rounds: Rounds,
): Promise<Figure[]> {
  const uploadPeakMb = async (file: string, label: string) => {
    const { peakKb, result } = await meter.task(uploadRequest(setup, file));
    expectResult(result, "Succeeded", `upload of a ${label} package`);
    return peakKb / 1024;
  };
  const samples = await interleaved(rounds, {
    baseline: async () => (await meter.nodeBaseline()) / 1024,
    small: () => uploadPeakMb(small.file, small.label),
    large: () => uploadPeakMb(large.file, large.label),
  });
  const details = { method: meter.method };
  return [
    figure({
      id: "upload/memory-small",
      figure: `Upload task peak RSS, ${small.label} package`,
      unit: "MB",
      samples: samples.small,
      baseline: { label: "node -e 0", samples: samples.baseline },
      details,
    }),
    figure({
      id: "upload/memory-large",
      figure: `Upload task peak RSS, ${large.label} package`,
      unit: "MB",
      samples: samples.large,
      baseline: { label: `${small.label} upload`, samples: samples.small },
      goal: `<= +${UPLOAD_MEMORY_GOAL_MB} MB over ${small.label}`,
      check: (value, _ratio, baseline) => baseline !== undefined && value - baseline <= UPLOAD_MEMORY_GOAL_MB,
      details,
    }),
  ];
}

/** Figure 5: `concurrency` uploads at once against one fake server, against one upload alone. */
export async function measureThroughput(setup: UploadSetup, file: string, concurrency: number, rounds: Rounds): Promise<Figure> {
  const failures: string[] = [];
  let succeeded = 0;
  let started = 0;
  const cpuMs: number[] = [];
  const samples = await interleaved(rounds, {
    // The whole run, the emulation's set-up included, as the batch below is timed.
    alone: async () => (await timeTask(uploadRequest(setup, file), "Succeeded", "upload alone")).result.ms,
    together: async () => {
      const t0 = performance.now();
      const cpu0 = cpuMsSoFar();
      const results = await Promise.all(Array.from({ length: concurrency }, () => startTask(uploadRequest(setup, file)).done));
      const ms = since(t0);
      const cpu1 = cpuMsSoFar();
      if (cpu0 !== undefined && cpu1 !== undefined) cpuMs.push(cpu1 - cpu0);
      started += results.length;
      for (const r of results) {
        if (r.result === "Succeeded" && !r.timedOut) succeeded++;
        else failures.push(describeFailure(r));
      }
      return ms;
    },
  });
  const cpus = availableParallelism();
  const batchCpuMs = cpuMs.length ? median(cpuMs) : undefined;
  return figure({
    id: "throughput/together",
    figure: `${concurrency} upload tasks at once against one fake KFP`,
    unit: "ms",
    samples: samples.together,
    baseline: { label: "one upload alone", samples: samples.alone },
    goal: `all ${concurrency} succeed`,
    check: () => failures.length === 0,
    details: {
      tasksStarted: started,
      tasksSucceeded: succeeded,
      failures: failures.slice(0, 5),
      cpus,
      ...(batchCpuMs !== undefined
        ? {
            batchCpuMs: Math.round(batchCpuMs),
            // All the CPU the batch needed (tasks, fake, agent emulation) spread over every CPU: no schedule beats it.
            cpuFloorMs: Math.round(batchCpuMs / cpus),
          }
        : {}),
    },
  });
}

function describeFailure(r: TaskRunResult): string {
  return r.timedOut
    ? "timed out"
    : `${r.result ?? `no result (exit ${r.exitCode})`}: ${r.message ?? r.stderr.trim().split("\n").at(-1) ?? ""}`;
}
