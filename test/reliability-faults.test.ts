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
 * Never a duplicate. The agent tasks run with a 1 s request timeout and 3 s of
 * retries (pipeline variables KFP.RequestTimeoutSeconds and KFP.RetrySeconds; FAST_BUDGET says why 3).
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
  wrongAdoptionsIn,
} from "./support/reliability.ts";
import { agentOwner } from "./support/owner.ts";

useAgentTaskBundles();

const TOKEN = "kfp-faults-token-3a9d7e";

interface Fault {
  name: string;
  fault: FaultKind;
}

const HOUR = 3_600_000;
/** KFP acts on a write this long after receiving it: after the client's 1 s timeout, within its in-flight window. */
const SLOW_ACCEPT_MS = 1_300;

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

const tally = { injected: 0, recovered: 0, failedClearly: 0, duplicates: 0, wrongAdoptions: 0 };
afterAll(() => {
  console.log(
    `faults injected ${tally.injected}, recovered ${tally.recovered}, failed clearly ${tally.failedClearly}, ` +
      `duplicates ${tally.duplicates}, wrong adoptions ${tally.wrongAdoptions}`,
  );
});

/** A task run with the emulated agent's variables: its objects carry this marker. */
const OWNER = agentOwner();

/** What the message must say about the fault itself. */
function faultWords(fault: FaultKind): RegExp {
  if ("status" in fault) return new RegExp(`HTTP ${fault.status}\\b`);
  if ("reset" in fault) return /connection was closed before KFP answered/;
  return /no answer within 1s/;
}

/** The request was handled by KFP, so a write's first attempt created the object and is adopted. */
const reachedKfp = (fault: FaultKind) => ("reset" in fault && fault.reset === "after-read") || "delayMs" in fault;

/**
 * The Node 24 pass (npm run test:node24) runs the agent tasks on KFP 2.x only: what the Node version changes is the
 * transport under the client (timeouts, resets, aborts, sockets), the same for both API versions, and the v1
 * routes would add half the file's time (about 65 s at load 15 on 2 cores). The agentless task and the exit
 * handler never run on the agent's Node: the first pass covers them.
 */
const NODE24_PASS = process.env.AGENT_USE_NODE24_WITH_HANDLER_DATA === "true";
const AGENT_APIS: FakeApi[] = NODE24_PASS ? ["v2"] : ["v2", "v1"];

/** Agent cases run side by side: most of their time is spent waiting out faults. */
const AGENT_CONCURRENCY = 12;

describe.each(AGENT_APIS)("agent tasks on fake KFP %s", (api) => {
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
      expect(r.node.major).toBe(NODE24_PASS ? 24 : 20);
      expect([...scenario.check(r, kfp), ...(scenario.always?.(kfp) ?? [])]).toEqual([]);
      for (const route of routesOf(kfp.requests, kfp.state)) {
        if (seen.has(`${scenario.task} ${route.name}`)) continue;
        seen.add(`${scenario.task} ${route.name}`);
        cases.push({ scenario, route });
      }
      await kfp.close();
    }
    return cases;
  }

  test("every fault kind on every route of every agent task, once and persistently: " +
    "recovered exactly once, or failed clearly", async () => {
    const routes = await routeCases();
    // The routes the scenarios reach today; more are covered automatically when a task starts using them.
    expect(routes.filter((c) => c.scenario.task === "upload-pipeline").length).toBeGreaterThanOrEqual(5);
    expect(routes.filter((c) => c.scenario.task === "experiment-run").length).toBeGreaterThanOrEqual(8);
    expect(routes.filter((c) => c.scenario.task === "recurring-run").map((c) => c.route.name)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^GET .*\/(jobs|recurringruns)$/),
        expect.stringMatching(/^POST .*\/(jobs|recurringruns)$/),
        expect.stringMatching(/^POST .*\{id\}[:/]disable$/),
        expect.stringMatching(/^POST .*\{id\}[:/]enable$/),
        expect.stringMatching(/^DELETE .*\{id\}$/),
      ]),
    );

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
      found.push(...(scenario.always?.(kfp) ?? []));

      const shouldRecover = times.times === 1 || (route.mutating && reachedKfp(fault.fault));
      if (r.result === "Succeeded") {
        found.push(...scenario.check(r, kfp));
        const wrong = wrongAdoptionsIn(r, kfp, scenario.task, OWNER);
        tally.wrongAdoptions += wrong;
        if (wrong > 0) found.push(`reported ${wrong} object(s) of another owner as its own`);
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
            [
              /\b(connect to KFP|find|get|upload|create|enable|disable|delete) [^:]*failed\b/.test(message),
              "the message names no operation",
            ],
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

  test("slow accept on each write, gateway clocks an hour off, two legs at once, " +
    "an outage while waiting, an oversized answer on each read", async () => {
    const routes = await routeCases();
    const runScenario = scenarios(api).find((s) => s.task === "experiment-run")!;
    const cases: { name: string; run: () => Promise<string[]> }[] = [
      ...routes
        .filter((c) => c.route.mutating)
        .map((c) => ({ name: `${c.scenario.task} ${c.route.name}, slow accept`, run: () => slowAccept(c) })),
      ...routes
        .filter((c) => !c.route.mutating)
        .map((c) => ({ name: `${c.scenario.task} ${c.route.name}, 100 MiB answer`, run: () => oversized(c) })),
      ...[HOUR, -HOUR].map((skew) => ({
        name: `gateway clock ${skew > 0 ? "an hour ahead" : "an hour behind"}, a re-run's lost answer`,
        run: () => rerunWithSkew(runScenario, skew),
      })),
      { name: "two matrix legs, one run name, both answers lost", run: () => twoLegs(runScenario) },
      { name: "an outage of twice the retry budget while waiting", run: () => outageWhileWaiting(runScenario) },
      { name: "an outage past the run's timeout", run: () => outagePastTimeout(runScenario) },
    ];
    const problems = await pool(cases, AGENT_CONCURRENCY, async (c) => problemsOf(c.name, await c.run()));
    expect(problems.flat()).toEqual([]);
  }, 240_000);

  /** Counts a finished case: duplicates and wrong adoptions found, and whether it ended as it should. */
  function count(found: string[], kfp: FakeKfp, ended: "recovered" | "failedClearly"): string[] {
    tally.injected++;
    const duplicates = duplicatesIn(kfp.state);
    tally.duplicates += duplicates;
    if (duplicates > 0) found.push(`${duplicates} duplicate object(s)`);
    if (found.length === 0) tally[ended]++;
    return found;
  }

  /** KFP acts on the write only after the client's timeout: the task waits for it (looking by marker) and never sends it twice. */
  async function slowAccept({ scenario, route }: { scenario: Scenario; route: Route }): Promise<string[]> {
    const kfp = await fakeFor(scenario);
    kfp.fault({ method: route.method, path: route.path, fault: { slowAcceptMs: SLOW_ACCEPT_MS } });
    const r = await runAgentTask({ task: scenario.task, url: kfp.url, token: TOKEN, inputs: scenario.inputs, variables: FAST_BUDGET });
    const found = r.result === "Succeeded" ? scenario.check(r, kfp) : [`ended ${r.result}: ${r.message}`];
    const sent = kfp.requests.filter((q) => q.method === route.method && route.path.test(q.path)).length;
    if (sent !== 1) found.push(`the write was sent ${sent} times`);
    const wrong = r.result === "Succeeded" ? wrongAdoptionsIn(r, kfp, scenario.task, OWNER) : 0;
    tally.wrongAdoptions += wrong;
    if (wrong > 0) found.push("reported another owner's object as its own");
    await kfp.close();
    return count(found, kfp, "recovered");
  }

  /** A 100 MiB answer is refused unread: the task fails at once, naming the request, and retries nothing. */
  async function oversized({ scenario, route }: { scenario: Scenario; route: Route }): Promise<string[]> {
    const kfp = await fakeFor(scenario);
    kfp.fault({ method: route.method, path: route.path, fault: { oversizedAnswerBytes: 100 * 1024 * 1024 }, times: Infinity });
    const r = await runAgentTask({ task: scenario.task, url: kfp.url, token: TOKEN, inputs: scenario.inputs, variables: FAST_BUDGET });
    const message = r.message ?? "";
    const request = new RegExp(`${route.method} ${route.path.source.slice(1, -1)} answered with more than 64 MiB`);
    const found: string[] = [];
    if (r.result !== "Failed" || r.timedOut) found.push(`ended ${r.result}${r.timedOut ? " (killed)" : ""}: ${message}`);
    else if (!request.test(message)) found.push(`the message does not name the request and the cap: ${message}`);
    const sent = kfp.requests.filter((q) => q.method === route.method && route.path.test(q.path)).length;
    if (sent !== 1) found.push(`the read was sent ${sent} times`);
    await kfp.close();
    return count(found, kfp, "failedClearly");
  }

  /**
   * A re-run of the job (System.JobAttempt 2) after attempt 1 started its run, with the answer to
   * its own create lost and the gateway's Date an hour off KFP's clock: it adopts its own run, not
   * attempt 1's, and does not create a third.
   */
  async function rerunWithSkew(scenario: Scenario, skewMs: number): Promise<string[]> {
    const kfp = await startFake({ api, token: TOKEN, gatewayClockSkewMs: skewMs });
    await scenario.seed(kfp);
    const attempt = (n: number) => ({ ...FAST_BUDGET, "System.JobAttempt": String(n) });
    const first = await runAgentTask({ task: scenario.task, url: kfp.url, token: TOKEN, inputs: scenario.inputs, variables: attempt(1) });
    const found = first.result === "Succeeded" ? [] : [`attempt 1 ended ${first.result}: ${first.message}`];
    kfp.scriptRun({ end: "SUCCEEDED" });
    kfp.fault({ method: "POST", path: /\/runs$/, fault: { delayMs: PAST_TIMEOUT_MS } });
    const r = await runAgentTask({ task: scenario.task, url: kfp.url, token: TOKEN, inputs: scenario.inputs, variables: attempt(2) });
    if (r.result !== "Succeeded") found.push(`attempt 2 ended ${r.result}: ${r.message}`);
    if (kfp.state.runs.length !== 2) found.push(`${kfp.state.runs.length} runs, expected one per attempt`);
    if (r.outputs.kf_run_id === first.outputs.kf_run_id) found.push("attempt 2 reported attempt 1's run");
    const wrong = wrongAdoptionsIn(r, kfp, scenario.task, agentOwner({ "System.JobAttempt": "2" }));
    tally.wrongAdoptions += wrong;
    if (wrong > 0) found.push("attempt 2 reported another owner's run as its own");
    await kfp.close();
    return count(found, kfp, "recovered");
  }

  /** Two matrix legs (two System.JobId) start runs of one name at once, and both answers are lost: each finds its own. */
  async function twoLegs(scenario: Scenario): Promise<string[]> {
    const kfp = await startFake({ api, token: TOKEN, runs: "auto", autoMs: 1_500 });
    await scenario.seed(kfp);
    kfp.fault({ method: "POST", path: /\/runs$/, fault: { delayMs: PAST_TIMEOUT_MS }, times: 2 });
    const legs = ["6a1e0c2d-1111-4a5b-8c9d-0e1f2a3b4c5d", "6a1e0c2d-2222-4a5b-8c9d-0e1f2a3b4c5d"];
    const results = await Promise.all(
      legs.map((jobId) =>
        runAgentTask({
          task: scenario.task,
          url: kfp.url,
          token: TOKEN,
          inputs: scenario.inputs,
          variables: { ...FAST_BUDGET, "System.JobId": jobId },
        }),
      ),
    );
    const found: string[] = [];
    results.forEach((r, i) => {
      if (r.result !== "Succeeded") found.push(`leg ${i + 1} ended ${r.result}: ${r.message}`);
      const wrong = wrongAdoptionsIn(r, kfp, scenario.task, agentOwner({ "System.JobId": legs[i]! }));
      tally.wrongAdoptions += wrong;
      if (wrong > 0) found.push(`leg ${i + 1} reported the other leg's run as its own`);
    });
    if (kfp.state.runs.length !== 2) found.push(`${kfp.state.runs.length} runs, expected one per leg`);
    if (kfp.requests.filter((q) => q.fault).length !== 2) found.push("the fault did not hit both legs");
    await kfp.close();
    return count(found, kfp, "recovered");
  }

  /**
   * KFP stops answering polls for good: the task gives up at the run's timeout, saying the run may still be running,
   * with its link and id.
   */
  async function outagePastTimeout(scenario: Scenario): Promise<string[]> {
    const kfp = await fakeFor(scenario);
    kfp.fault({ method: "GET", path: /\/runs\/[^/]+$/, fault: { reset: "before-read" }, times: Infinity });
    const inputs = { ...scenario.inputs, runTimeoutMinutes: "0.1" };
    const r = await runAgentTask({ task: scenario.task, url: kfp.url, token: TOKEN, inputs, variables: FAST_BUDGET });
    const id = kfp.state.runs[0]?.id ?? "(none)";
    const message = r.message ?? "";
    const found: string[] = [];
    if (r.result !== "Failed" || r.timedOut) found.push(`ended ${r.result}${r.timedOut ? " (killed)" : ""}: ${message}`);
    else if (!message.includes(`The run may still be running: ${kfp.url}/#/runs/details/${id} (run ${id})`))
      found.push(`the message does not say the run may still be running, with its link and id: ${message}`);
    if (r.outputs.kf_run_id !== id) found.push(`kf_run_id is ${r.outputs.kf_run_id}, expected ${id}`);
    await kfp.close();
    return count(found, kfp, "failedClearly");
  }

  /**
   * KFP answers 503 to every poll for twice the retry budget: the wait goes on, says so once with the outage's length,
   * and ends with the run.
   */
  async function outageWhileWaiting(scenario: Scenario): Promise<string[]> {
    const kfp = await fakeFor(scenario);
    const outageMs = 2 * Number(FAST_BUDGET["KFP.RetrySeconds"]) * 1000;
    kfp.fault({ method: "GET", path: /\/runs\/[^/]+$/, fault: { status: 503 }, times: Infinity, forMs: outageMs });
    const inputs = { ...scenario.inputs, runTimeoutMinutes: "1" };
    const r = await runAgentTask({ task: scenario.task, url: kfp.url, token: TOKEN, inputs, variables: FAST_BUDGET });
    const found = r.result === "Succeeded" ? scenario.check(r, kfp) : [`ended ${r.result}: ${r.message}`];
    const lines = r.stdout.split("\n").filter((l) => l.startsWith("KFP could not be reached for "));
    const length = Number(/for (\d+(?:\.\d+)?)s while waiting/.exec(lines[0] ?? "")?.[1]);
    if (lines.length !== 1) found.push(`${lines.length} outage lines: ${JSON.stringify(lines)}`);
    else if (!(length * 1000 >= outageMs)) found.push(`the outage line does not say how long it was: ${lines[0]}`);
    await kfp.close();
    return count(found, kfp, "recovered");
  }
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
  if (!NODE24_PASS) agentless = agentlessMatrix();
});

describe.skipIf(NODE24_PASS)("the agentless task (one request, sent once by Azure DevOps)", () => {
  test("every fault on the run it creates, on KFP 1.8 and 2.x: " +
    "the task fails with KFP's status or the network error, and never two runs", async () => {
    expect(await agentless).toEqual([]);
  }, 60_000);
});

describe.skipIf(NODE24_PASS)("the exit handler's calls to Azure DevOps", () => {
  test("every fault but a late answer on the log feed and on TaskCompleted, once and persistently: " +
    "the task is completed, or the handler fails naming the call", async () => {
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
