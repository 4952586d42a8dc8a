/**
 * Figure 4, waiting: the Experiment and Run task waits for a run that stays
 * PENDING for `polls` polls; half an interval after the last of them the run
 * ends (the fake is told so directly). Measured: the requests the task made
 * per poll while waiting, and the time from the run's end to the task's end,
 * which a task polling on time keeps within one interval.
 */
import type { FakeKfp, FakeRun } from "../lib/dev/fake-kfp/mod.ts";
import { startTask } from "../lib/dev/agent/mod.ts";
import { figure, type Figure } from "./figure.ts";
import { expectResult } from "./processes.ts";
import { SAMPLE_PIPELINE } from "./packages.ts";
import { since, type Rounds } from "./stats.ts";

export interface WaitingOptions {
  /** Polls answered PENDING before the run ends. */
  polls: number;
  /** The task's pollIntervalSeconds (1 is the smallest it accepts). */
  intervalSeconds: number;
}

interface WaitSample {
  requestsPerPoll: number;
  endToTaskEndMs: number;
  polls: number;
  pollGapsMs: number[];
  /** Requests other than the run's GET between creating the run and its last poll. */
  otherRequests: string[];
  /** Requests after the poll that saw the end. */
  afterEnd: string[];
}

const PIPELINE = "bench-wait";

export async function measureWaiting(fake: FakeKfp, taskDir: string, options: WaitingOptions, rounds: Rounds): Promise<Figure[]> {
  if (!fake.state.pipelines.some((p) => p.name === PIPELINE)) await fake.seedPipeline({ name: PIPELINE, file: SAMPLE_PIPELINE });
  const samples: WaitSample[] = [];
  for (let round = 0; round < rounds.warmups + rounds.runs; round++) {
    const sample = await waitOnce(fake, taskDir, options, `bench-wait-${process.pid}-${round}`);
    if (round >= rounds.warmups) samples.push(sample);
  }
  const intervalMs = options.intervalSeconds * 1000;
  const details = {
    scenario:
      `run PENDING for ${options.polls} polls at pollIntervalSeconds ${options.intervalSeconds}, ` +
      `then SUCCEEDED half an interval after the last of them`,
    pollsPerRun: samples.map((s) => s.polls),
    pollGapsMs: samples.flatMap((s) => s.pollGapsMs).map(Math.round),
    otherRequestsWhileWaiting: [...new Set(samples.flatMap((s) => s.otherRequests))],
    requestsAfterEnd: [...new Set(samples.flatMap((s) => s.afterEnd))],
  };
  return [
    figure({
      id: "waiting/requests-per-poll",
      figure: "Waiting for a run: requests per poll",
      unit: "requests/poll",
      samples: samples.map((s) => s.requestsPerPoll),
      goal: "= 1",
      check: (value) => value <= 1,
      details,
    }),
    figure({
      id: "waiting/end-delay",
      figure: "Waiting for a run: run's end to task's end",
      unit: "ms",
      samples: samples.map((s) => s.endToTaskEndMs),
      baseline: { label: "poll interval", samples: [intervalMs] },
      goal: "<= 1 interval",
      check: (value) => value <= intervalMs,
      details,
    }),
  ];
}

async function waitOnce(fake: FakeKfp, taskDir: string, options: WaitingOptions, runName: string): Promise<WaitSample> {
  const intervalMs = options.intervalSeconds * 1000;
  const task = startTask({
    taskDir,
    inputs: {
      kubeflowEndpoint: fake.url,
      pipeline: PIPELINE,
      useDefaultVersion: "true",
      experiment: "createNewExperiment",
      experimentName: PIPELINE,
      createNewRun: "true",
      runName,
      pipelineParams: JSON.stringify({ message: "bench" }),
      waitForRunToFinish: "true",
      pollIntervalSeconds: String(options.intervalSeconds),
    },
    timeoutMs: 30_000 + (options.polls + 2) * intervalMs,
  });
  const endedEarly = task.done.then((r) => {
    expectResult(r, "Succeeded", "waiting for a run");
    throw new Error(`the Experiment and Run task ended before its run '${runName}' ended: ${r.message ?? ""}`);
  });
  endedEarly.catch(() => {}); // it also rejects when the task ends as it should, after the run
  const run = await Promise.race([fake.waitForRun((r) => r.name === runName), endedEarly]);

  // Watch the run's poll count (the fake counts each GET) to time the polls and place the end.
  const pollTimes = await watchPolls(run, options.polls, endedEarly);
  await Promise.race([Bun.sleep(Math.max(0, pollTimes.at(-1)! + intervalMs / 2 - performance.now())), endedEarly]);
  fake.setRunState(run.id, "SUCCEEDED");
  const ended = performance.now();
  expectResult(await task.done, "Succeeded", "waiting for a run");
  const endToTaskEndMs = since(ended);

  const created = fake.requests.findLastIndex((r) => r.method === "POST" && /\/runs$/.test(r.path));
  const after = fake.requests
    .slice(created + 1)
    .map((r) => ({ line: `${r.method} ${r.path}`, isPoll: r.method === "GET" && r.path.endsWith(`/runs/${run.id}`) }));
  const lastPoll = after.findLastIndex((r) => r.isPoll);
  const waiting = after.slice(0, lastPoll + 1);
  const polls = waiting.filter((r) => r.isPoll).length;
  return {
    requestsPerPoll: waiting.length / polls,
    endToTaskEndMs,
    polls,
    pollGapsMs: pollTimes.slice(1).map((t, i) => t - pollTimes[i]!),
    otherRequests: waiting.filter((r) => !r.isPoll).map((r) => r.line),
    afterEnd: after.slice(lastPoll + 1).map((r) => r.line),
  };
}

/** Resolves with the time each of the first `count` polls was seen (checked every millisecond). */
async function watchPolls(run: FakeRun, count: number, endedEarly: Promise<never>): Promise<number[]> {
  const times: number[] = [];
  let seen = run.polls;
  for (let i = 0; i < seen; i++) times.push(performance.now());
  while (times.length < count) {
    await Promise.race([Bun.sleep(1), endedEarly]);
    for (; seen < run.polls; seen++) times.push(performance.now());
  }
  return times;
}
