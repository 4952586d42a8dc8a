/**
 * Reliability under faults, counted. For each task and each route it calls on
 * KFP 2.x and 1.8 (taken from the fake's record of a successful run, so a new
 * route is covered without touching this file), each fault kind is injected
 * once and persistently:
 * - once: the task recovers, with the right outputs and every object exactly once;
 * - persistently: the task fails within a bound (the harness's kill timer never
 *   fires), with one message naming the operation, the request and the status;
 *   except where the request did reach KFP (reset after reading, answer too late):
 *   a write then finds and adopts what its first attempt created.
 * Never a duplicate. The agent tasks run with a 1 s request timeout and 2 s of
 * retries (pipeline variables KFP.RequestTimeoutSeconds and KFP.RetrySeconds).
 *
 * The agentless task is one request that Azure DevOps sends once: no fault can be
 * recovered from, so it must fail visibly and never leave two runs. The exit
 * handler's calls to Azure DevOps go through a fault proxy; its "answer too late"
 * fault is left out because its 30 s request timeout is not configurable.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { FakeApi, FakeKfp, FaultKind } from "../lib/dev/fake-kfp/types.ts";
import { INITIAL_REQUEST_TIMEOUT_MS } from "./server-task-executor.ts";
import { buildExitHandlerForTest } from "./support/exit-handler-run.ts";
import { startFake } from "./support/fake.ts";
import { startFaultProxy } from "./support/reliability-proxy.ts";
import { asyncWorld, callbackInfo, fakeAzdo, PLAN, runAsyncTask, runExitHandler, runInputs } from "./support/reliability-async.ts";
import {
  duplicatesIn,
  FAST_BUDGET,
  PAST_TIMEOUT_MS,
  pool,
  problemsOf,
  routesOf,
  runAgentTask,
  scenarios,
  useAgentTaskBundles,
  type Route,
  type Scenario,
} from "./support/reliability.ts";

useAgentTaskBundles();

const TOKEN = "kfp-faults-token-3a9d7e";

interface Fault {
  name: string;
  fault: FaultKind;
}

const FAULTS: Fault[] = [
  ...[500, 502, 503, 504].map((status) => ({ name: `HTTP ${status}`, fault: { status } })),
  { name: "HTTP 429 with Retry-After", fault: { status: 429, retryAfterSeconds: 1 } },
  { name: "reset before the request is read", fault: { reset: "before-read" } },
  { name: "reset after the request is read", fault: { reset: "after-read" } },
  { name: "an answer after the client's timeout", fault: { delayMs: PAST_TIMEOUT_MS } },
];

const TIMES = [
  { name: "once", times: 1 },
  { name: "persistently", times: Infinity },
] as const;

const tally = { injected: 0, recovered: 0, failedClearly: 0, duplicates: 0 };
afterAll(() => {
  console.log(
    `faults injected ${tally.injected}, recovered ${tally.recovered}, failed clearly ${tally.failedClearly}, duplicates ${tally.duplicates}`,
  );
});

/** What the message must say about the fault itself. */
function faultWords(fault: FaultKind): RegExp {
  if ("status" in fault) return new RegExp(`HTTP ${fault.status}\\b`);
  if ("reset" in fault) return /connection was closed before KFP answered/;
  return /no answer within 1s/;
}

/** The request was handled by KFP, so a write's first attempt created the object and is adopted. */
const reachedKfp = (fault: FaultKind) => ("reset" in fault && fault.reset === "after-read") || "delayMs" in fault;

/** Agent cases run side by side: most of their time is spent waiting out faults. */
const AGENT_CONCURRENCY = 12;

describe.each(["v2", "v1"] as FakeApi[])("agent tasks on fake KFP %s", (api) => {
  async function fakeFor(scenario: Scenario): Promise<FakeKfp> {
    const kfp = await startFake({ api, token: TOKEN });
    await scenario.seed(kfp);
    return kfp;
  }

  /** Each route of each task once, with the first scenario that uses it. */
  async function routeCases(): Promise<{ scenario: Scenario; route: Route }[]> {
    const seen = new Set<string>();
    const cases: { scenario: Scenario; route: Route }[] = [];
    for (const scenario of scenarios(api)) {
      const kfp = await fakeFor(scenario);
      const r = await runAgentTask({ task: scenario.task, url: kfp.url, token: TOKEN, inputs: scenario.inputs, variables: FAST_BUDGET });
      expect(`${scenario.name}: ${r.result}: ${r.message}`).toBe(`${scenario.name}: Succeeded: ${r.message}`);
      expect(scenario.check(r, kfp)).toEqual([]);
      for (const route of routesOf(kfp.requests, kfp.state)) {
        if (seen.has(`${scenario.task} ${route.name}`)) continue;
        seen.add(`${scenario.task} ${route.name}`);
        cases.push({ scenario, route });
      }
      await kfp.close();
    }
    return cases;
  }

  test("every fault kind on every route of both tasks, once and persistently: recovered exactly once, or failed clearly", async () => {
    const routes = await routeCases();
    // The routes the scenarios reach today; more are covered automatically when a task starts using them.
    expect(routes.filter((c) => c.scenario.task === "upload-pipeline").length).toBeGreaterThanOrEqual(5);
    expect(routes.filter((c) => c.scenario.task === "experiment-run").length).toBeGreaterThanOrEqual(8);

    const cases = routes.flatMap(({ scenario, route }) =>
      FAULTS.flatMap((fault) => TIMES.map((times) => ({ scenario, route, fault, times }))),
    );
    const problems = await pool(cases, AGENT_CONCURRENCY, async ({ scenario, route, fault, times }) => {
      const name = `${scenario.task} ${route.name}, ${fault.name} ${times.name}`;
      const kfp = await fakeFor(scenario);
      kfp.fault({ method: route.method, path: route.path, fault: fault.fault, times: times.times });
      const r = await runAgentTask({ task: scenario.task, url: kfp.url, token: TOKEN, inputs: scenario.inputs, variables: FAST_BUDGET });
      const found: string[] = [];
      tally.injected++;
      if (!kfp.requests.some((q) => q.fault)) found.push("the fault never hit: the route was not called");
      const duplicates = duplicatesIn(kfp.state);
      tally.duplicates += duplicates;
      if (duplicates > 0) found.push(`${duplicates} duplicate object(s)`);

      const shouldRecover = times.times === 1 || (route.mutating && reachedKfp(fault.fault));
      if (r.result === "Succeeded") {
        found.push(...scenario.check(r, kfp));
        if (!shouldRecover) found.push("succeeded, though every attempt failed");
        else if (found.length === 0) tally.recovered++;
      } else {
        const message = r.message ?? "";
        if (shouldRecover) found.push(`expected to recover, but ended ${r.result}: ${message}`);
        else {
          const request = new RegExp(`${route.method} ${route.path.source.slice(1, -1)}`);
          const clear = [
            [r.result === "Failed", `ended ${r.result}`],
            [!r.timedOut, "was killed by the harness: no bounded failure"],
            [r.errors.length === 1, `${r.errors.length} error lines`],
            [/\b(connect to KFP|find|get|upload|create) [^:]*failed\b/.test(message), "the message names no operation"],
            [request.test(message), `the message does not name the request ${route.name}`],
            [faultWords(fault.fault).test(message), `the message does not say ${faultWords(fault.fault)}`],
          ] as const;
          const unclear = clear.filter(([ok]) => !ok).map(([, problem]) => `${problem}: ${message}`);
          found.push(...unclear);
          if (unclear.length === 0 && found.length === 0) tally.failedClearly++;
        }
      }
      try {
        await kfp.close();
      } catch (error) {
        found.push((error as Error).message);
      }
      return problemsOf(name, found);
    });
    expect(problems.flat()).toEqual([]);
  }, 240_000);
});

/**
 * The agentless task's cases, started before the agent tasks' matrix and awaited by
 * their own test: the late answer has to outwait Azure DevOps' ~20 s cut-off, time
 * the other cases can use.
 */
async function agentlessMatrix(): Promise<string[]> {
  const cases = (["v1", "v2"] as FakeApi[]).flatMap((api) =>
    FAULTS.map((f) => ({ api, ...("delayMs" in f.fault ? { name: f.name, fault: { delayMs: INITIAL_REQUEST_TIMEOUT_MS + 1_000 } } : f) })),
  );
  const problems = await pool(cases, cases.length, async ({ api, name, fault }) => {
    const found: string[] = [];
    const w = await asyncWorld(api, TOKEN);
    try {
      const baseline = await runAsyncTask(w, runInputs(w, { runName: "baseline" }));
      if (baseline.result?.outcome !== "waiting")
        found.push(`the task does not work without faults: ${baseline.error ?? baseline.result?.status}`);
      const [route] = routesOf(w.kfp.writes(), w.kfp.state);
      w.kfp.fault({ method: route!.method, path: route!.path, fault });
      const faulted = await runAsyncTask(w, runInputs(w));
      tally.injected++;
      const runs = w.kfp.state.runs.filter((r) => r.name === "nightly").length;
      if (runs > 1) {
        tally.duplicates += runs - 1;
        found.push(`${runs} runs`);
      }
      if ("status" in fault && runs !== 0) found.push("a run was created though KFP answered an error");
      if (faulted.result?.outcome === "waiting" || faulted.result?.outcome === "succeeded")
        found.push("the task went on as if the run started");
      else if ("status" in fault ? faulted.result?.status !== fault.status : !faulted.error)
        found.push(`not the fault's own failure: ${faulted.error ?? faulted.result?.status}`);
      else if (found.length === 0) tally.failedClearly++;
      await w.kfp.close();
    } catch (error) {
      found.push(String(error));
    }
    return problemsOf(`${api} POST runs, ${name}`, found);
  });
  return problems.flat();
}

let agentless: Promise<string[]>;
beforeAll(() => {
  agentless = agentlessMatrix();
});

describe("the agentless task (one request, sent once by Azure DevOps)", () => {
  test("every fault on the run it creates, on KFP 1.8 and 2.x: the task fails with KFP's status or the network error, and never two runs", async () => {
    expect(await agentless).toEqual([]);
  }, 60_000);
});

describe("the exit handler's calls to Azure DevOps", () => {
  test("every fault but a late answer on the log feed and on TaskCompleted, once and persistently: the task is completed, or the handler fails naming the call", async () => {
    const build = await buildExitHandlerForTest();
    try {
      const azdo = await fakeAzdo();
      const baseline = await runExitHandler(build.component, { azdocallbackinfo: callbackInfo(azdo.collectionUri) });
      expect(baseline.code).toBe(0);
      const ids = new Set([PLAN.projectId, PLAN.planId, PLAN.jobId, PLAN.timelineId]);
      const routes = [
        ...new Set(
          azdo.requests.map(
            (r) =>
              `${r.method} ${r.path
                .split("/")
                .map((s) => (ids.has(s) ? "{id}" : s))
                .join("/")}`,
          ),
        ),
      ];
      expect(routes).toEqual([
        "POST /org/{id}/_apis/distributedtask/hubs/build/plans/{id}/timelines/{id}/records/{id}/feed",
        "POST /org/{id}/_apis/distributedtask/hubs/build/plans/{id}/events",
      ]);
      await azdo.close();

      const faults = FAULTS.filter((f) => !("delayMs" in f.fault));
      const cases = routes.flatMap((route) => faults.flatMap((fault) => TIMES.map((times) => ({ route, fault, times }))));
      const problems = await pool(cases, 8, async ({ route, fault, times }) => {
        const azdo = await fakeAzdo();
        const proxy = await startFaultProxy(azdo.url);
        const [method, pattern] = route.split(" ") as [string, string];
        proxy.fault({ method, path: new RegExp(`^${pattern.replace(/\{id\}/g, "[^/]+")}$`), fault: fault.fault, times: times.times });
        const exit = await runExitHandler(build.component, { azdocallbackinfo: callbackInfo(`${proxy.url}/org/`) });
        tally.injected++;
        const found: string[] = [];
        if (proxy.injected === 0) found.push("the fault never hit");
        const completions = azdo.events.filter((e) => e.name === "TaskCompleted");
        if (completions.some((e) => e.result !== "succeeded"))
          found.push(`TaskCompleted with another result: ${JSON.stringify(completions)}`);
        const onEvents = route.endsWith("/events");
        // The log line is a courtesy: losing it must not keep the task from completing.
        const shouldComplete = times.times === 1 || !onEvents;
        if (shouldComplete) {
          if (exit.code !== 0 || completions.length === 0)
            found.push(`expected TaskCompleted, got exit ${exit.code}: ${exit.stderr.trim()}`);
          else if (found.length === 0) tally.recovered++;
        } else if (exit.code !== 1) {
          found.push(`expected exit 1, got ${exit.code}`);
        } else {
          const says = "status" in fault.fault ? `HTTP ${fault.fault.status}` : "the connection was closed before Azure DevOps answered";
          if (!new RegExp(`POST \\S+/events failed after 3 tries: (${says})`).test(exit.stderr))
            found.push(`unclear: ${exit.stderr.trim()}`);
          else if (found.length === 0) tally.failedClearly++;
        }
        await proxy.close();
        await azdo.close();
        return problemsOf(`${route.replace(/^POST \S+\//, "POST .../")}, ${fault.name} ${times.name}`, found);
      });
      expect(problems.flat()).toEqual([]);
    } finally {
      build.cleanup();
    }
  }, 60_000);
});
