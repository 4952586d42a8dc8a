/**
 * What the reliability suite (test/reliability-*.test.ts) shares: the agent
 * tasks' bundles, one successful scenario per thing a task does (seed, inputs,
 * and what "done right" means in the fake's state), the routes a run used as
 * the fake recorded them, a bounded pool for running cases side by side, and
 * the count lines the suite prints.
 */
import { beforeAll } from "bun:test";
import { join } from "node:path";
import { bundleTask } from "../../build.ts";
import type { FakeApi, FakeKfp, FakeKfpState, RecordedRequest } from "../../lib/dev/fake-kfp/types.ts";
import { markerOf } from "../../lib/kfp/ownership.ts";
import { REPO_ROOT, runTask, type ServiceConnection, type TaskRunResult } from "../harness.ts";
import { mostEnabledAtOnce } from "./recurring.ts";

export type AgentTask = "upload-pipeline" | "experiment-run" | "recurring-run";
export const AGENT_TASKS: AgentTask[] = ["upload-pipeline", "experiment-run", "recurring-run"];
export const taskFolder = (task: AgentTask) => join(REPO_ROOT, "tasks", task);
export const PIPELINES = join(REPO_ROOT, "test", "fixtures", "pipelines");
export const packageFor = (api: FakeApi) => join(PIPELINES, api === "v1" ? "hello-v1.yaml" : "hello-v2.yaml");

/** Builds the agent tasks' index.js before the file's tests run. */
export function useAgentTaskBundles(): void {
  beforeAll(async () => {
    await Promise.all(AGENT_TASKS.map((task) => bundleTask(taskFolder(task))));
  });
}

/**
 * The pipeline variables that bound how long a task waits for KFP (lib/task/budget.ts,
 * not imported: task-lib would initialise itself in the test process):
 * 1 s per request and 3 s of retries, so a persistent fault fails a task in about three seconds.
 * The third second is for the test machine, not for KFP: the fakes share one process with the
 * harness, which a loaded machine stalls for more than a second now and then (a 1 s timeout on a
 * fault-free request). With 2 s, a 500 then such a stall used the budget (500, 0.25-0.5 s backoff,
 * 1 s timeout, then a 0.5-1 s backoff past 2 s): a fault injected once ended Failed, on Node 20 and 24 alike.
 */
export const FAST_BUDGET = { "KFP.RequestTimeoutSeconds": "1", "KFP.RetrySeconds": "3" };
/** Longer than FAST_BUDGET's request timeout: the "answer too late" fault. */
export const PAST_TIMEOUT_MS = 1_500;

/** How a task is given its credential. */
export type CredentialWay = "service connection" | "secret variable" | "plain text";
export const CREDENTIAL_WAYS: CredentialWay[] = ["service connection", "secret variable", "plain text"];
export const CONNECTION_ID = "kfp-reliability";

export interface AgentRun {
  task: AgentTask;
  url: string;
  inputs: Record<string, string>;
  token?: string;
  /** Default: the 2021 inputs with the token in a secret variable. */
  via?: CredentialWay;
  variables?: Record<string, string>;
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** Runs an agent task's bundle against `url`, with the credential passed the way `via` says. */
export function runAgentTask(run: AgentRun): Promise<TaskRunResult> {
  const { via = "secret variable", token } = run;
  let connection: { inputs: Record<string, string>; connections?: ServiceConnection[]; secretVariables?: Record<string, string> };
  if (via === "service connection") {
    connection = {
      inputs: { kfpConnection: CONNECTION_ID },
      connections: [{ id: CONNECTION_ID, url: run.url, scheme: token ? "Token" : "None", parameters: token ? { apitoken: token } : {} }],
    };
  } else if (via === "secret variable") {
    connection = {
      inputs: { kubeflowEndpoint: run.url, ...(token ? { bearerToken: "$(kfpToken)" } : {}) },
      secretVariables: token ? { kfpToken: token } : {},
    };
  } else {
    connection = { inputs: { kubeflowEndpoint: run.url, ...(token ? { bearerToken: token } : {}) } };
  }
  return runTask({
    taskDir: taskFolder(run.task),
    inputs: { ...connection.inputs, ...run.inputs },
    connections: connection.connections,
    secretVariables: connection.secretVariables,
    variables: run.variables,
    env: run.env,
    timeoutMs: run.timeoutMs ?? 30_000,
  });
}

// ---------------------------------------------------------------------------
// Scenarios: one successful thing per task, and what "done right" means.

export interface Scenario {
  name: string;
  task: AgentTask;
  /** Puts what the run needs into a fresh fake. */
  seed(kfp: FakeKfp): Promise<void>;
  inputs: Record<string, string>;
  /** What is wrong with a finished run: outputs that do not match the fake's state, objects missing or twice. Empty when right. */
  check(r: TaskRunResult, kfp: FakeKfp): string[];
  /** What must hold however the run ended, faults included. */
  always?(kfp: FakeKfp): string[];
}

/** Problems when `actual` differs from `expected`, one line each. */
function differences(what: string, actual: Record<string, unknown>, expected: Record<string, unknown>): string[] {
  return Object.entries(expected)
    .filter(([key, value]) => actual[key] !== value)
    .map(([key, value]) => `${what} ${key} is ${JSON.stringify(actual[key])}, expected ${JSON.stringify(value)}`);
}

function counts(state: FakeKfpState) {
  return {
    pipelines: state.pipelines.length,
    versions: state.versions.length,
    experiments: state.experiments.length,
    runs: state.runs.length,
  };
}

export function scenarios(api: FakeApi): Scenario[] {
  const file = packageFor(api);
  const seedHello = async (kfp: FakeKfp) => {
    await kfp.seedPipeline({ name: "hello", file, versionName: "v1.0" });
  };
  return [
    {
      name: "upload a new pipeline",
      task: "upload-pipeline",
      seed: async () => {},
      inputs: { kubeflowPipelineTask: "uploadNew", pipelineFilePath: file, newPipelineName: "hello" },
      check(r, kfp) {
        const [pipeline] = kfp.state.pipelines;
        const [version] = kfp.state.versions;
        return [
          ...differences("state:", counts(kfp.state), { pipelines: 1, versions: 1 }),
          ...differences("output", r.outputs, {
            kf_pipeline_id: pipeline?.id,
            kf_pipeline_name: "hello",
            kf_pipeline_version_id: version?.id,
          }),
        ];
      },
    },
    {
      name: "upload a new version",
      task: "upload-pipeline",
      seed: seedHello,
      inputs: { kubeflowPipelineTask: "uploadNewVersion", pipelineFilePath: file, existingPipelineName: "hello", versionName: "v2.0" },
      check(r, kfp) {
        const added = kfp.state.versions.filter((v) => v.name === "v2.0");
        return [
          ...differences("state:", counts(kfp.state), { pipelines: 1, versions: 2 }),
          ...differences("state: versions named v2.0", { count: added.length }, { count: 1 }),
          ...differences("output", r.outputs, {
            kf_pipeline_id: kfp.state.pipelines[0]?.id,
            kf_pipeline_version_id: added[0]?.id,
            kf_pipeline_version_name: "v2.0",
          }),
        ];
      },
    },
    {
      name: "create an experiment, start a run and wait for it",
      task: "experiment-run",
      seed: async (kfp) => {
        await seedHello(kfp);
        kfp.scriptRun({ end: "SUCCEEDED" });
      },
      inputs: {
        pipeline: "hello",
        useDefaultVersion: "true",
        experimentName: "ci",
        createNewRun: "true",
        runName: "nightly",
        pipelineParams: "message=hi",
        waitForRunToFinish: "true",
        pollIntervalSeconds: "1",
        // Waiting outlasts KFP outages up to the run's timeout: 6 s keeps a persistent fault's failure short.
        runTimeoutMinutes: "0.1",
      },
      check(r, kfp) {
        const [run] = kfp.state.runs;
        return [
          ...differences("state:", counts(kfp.state), { experiments: 1, runs: 1 }),
          ...differences("output", r.outputs, {
            kf_pipeline_id: kfp.state.pipelines[0]?.id,
            kf_experiment_id: kfp.state.experiments[0]?.id,
            kf_run_id: run?.id,
            kf_run_status: api === "v2" ? "SUCCEEDED" : "Succeeded",
          }),
        ];
      },
    },
    {
      name: "replace a schedule with one on a new version",
      task: "recurring-run",
      seed: async (kfp) => {
        await seedHello(kfp);
        const { version } = await kfp.seedPipeline({ name: "hello", file, versionName: "v2.0" });
        const experiment = kfp.seedExperiment({ name: "schedules" });
        const at = new Date(Date.now() - 60_000).toISOString();
        kfp.state.recurringRuns.push({
          ...{ id: "old-schedule", name: "nightly", description: "", experimentId: experiment.id, namespace: "" },
          ...{ pipelineId: version.pipelineId, versionId: kfp.state.versions[0]!.id, parameters: { message: "hi" }, typed: api === "v2" },
          ...{ serviceAccount: "pipeline-runner", maxConcurrency: 1, noCatchup: true, enabled: true },
          ...{ trigger: { cron: "0 0 2 * * *" }, createdAt: at, updatedAt: at },
        });
      },
      inputs: {
        pipeline: "hello",
        pipelineVersion: "v2.0",
        experimentName: "schedules",
        recurringRunName: "nightly",
        schedule: "0 0 2 * * *",
        pipelineParams: "message=hi",
      },
      check(r, kfp) {
        const [schedule, ...more] = kfp.state.recurringRuns;
        const v2 = kfp.state.versions.find((v) => v.name === "v2.0");
        return [
          ...differences("state:", { recurringRuns: 1 + more.length }, { recurringRuns: 1 }),
          ...differences("state: recurring run", { ...schedule }, { name: "nightly", versionId: v2?.id, enabled: true }),
          ...differences("output", r.outputs, { kf_recurring_run_id: schedule?.id, kf_pipeline_version_id: v2?.id }),
        ];
      },
      always: (kfp) => differences("most enabled at once:", { count: mostEnabledAtOnce(kfp, 0, ["old-schedule"]) }, { count: 1 }),
    },
  ];
}

/**
 * Objects that exist more than once under one name (runs: in one experiment, from one owner: two
 * jobs may each start a run of the same name): what a retry must never cause.
 */
export function duplicatesIn(state: FakeKfpState): number {
  const extra = (keys: string[]) => keys.length - new Set(keys).size;
  return (
    extra(state.pipelines.map((p) => `${p.namespace}/${p.name}`)) +
    extra(state.versions.map((v) => `${v.pipelineId}/${v.name}`)) +
    extra(state.experiments.map((e) => `${e.namespace}/${e.name}`)) +
    extra(state.runs.map((r) => `${r.experimentId}/${r.name}/${markerOf(r.description) ?? ""}`)) +
    // Recurring runs of one name may be two while one replaces another: a duplicate is the same one twice.
    extra(state.recurringRuns.map((r) => JSON.stringify([r.experimentId, r.name, r.versionId, r.trigger, r.parameters])))
  );
}

/**
 * Objects a task reported as the ones it created that carry another owner's
 * marker (another job, leg or attempt): what adoption after a lost answer must
 * never cause. The run task creates the run; the upload task the version (and
 * with uploadNew, the pipeline).
 */
export function wrongAdoptionsIn(r: TaskRunResult, kfp: FakeKfp, task: AgentTask, owner: string): number {
  const created =
    task === "experiment-run"
      ? kfp.state.runs.filter((run) => run.id === r.outputs.kf_run_id)
      : kfp.state.versions.filter((v) => v.id === r.outputs.kf_pipeline_version_id && v.description !== "");
  return created.filter((object) => markerOf(object.description) !== owner).length;
}

// ---------------------------------------------------------------------------
// Routes

export interface Route {
  method: string;
  /** Matches the path with any object id in place of the one recorded. */
  path: RegExp;
  /** `GET /apis/v2beta1/pipelines/{id}/versions`. */
  name: string;
  mutating: boolean;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The distinct routes in `requests`, in first-use order: each segment that is an id the fake holds becomes `{id}`. */
export function routesOf(requests: RecordedRequest[], state: FakeKfpState): Route[] {
  // Objects deleted during the run count too: the IDs the fake handed out in its answers.
  const ids = new Set<string>(
    [...state.pipelines, ...state.versions, ...state.experiments, ...state.runs, ...state.recurringRuns].map((o) => o.id),
  );
  for (const request of requests) for (const id of idsIn(request.response)) ids.add(id);
  const routes = new Map<string, Route>();
  for (const request of requests) {
    // KFP's custom methods put the verb after the ID: `{id}:enable`.
    const segments = request.path.split("/").map((segment) => {
      const [id, verb] = decodeURIComponent(segment).split(":");
      return ids.has(id!) ? { verb } : segment;
    });
    const name = `${request.method} ${segments.map((s) => (typeof s === "string" ? s : `{id}${s.verb ? `:${s.verb}` : ""}`)).join("/")}`;
    if (routes.has(name)) continue;
    const pattern = segments.map((s) => (typeof s === "string" ? escapeRegExp(s) : `[^/:]+${s.verb ? `:${s.verb}` : ""}`)).join("/");
    routes.set(name, { method: request.method, path: new RegExp(`^${pattern}$`), name, mutating: request.method !== "GET" });
  }
  return [...routes.values()];
}

/** Every `id` or `*_id` string in an answer. */
function idsIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(idsIn);
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([key, v]) => (typeof v === "string" && /(^|_)id$/.test(key) ? [v] : idsIn(v)));
}

// ---------------------------------------------------------------------------

/** Runs `fn` over `items`, at most `limit` at a time, keeping the order of results. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** A case's problems, prefixed with its name, for one readable assertion over a whole table. */
export function problemsOf(name: string, problems: string[]): string[] {
  return problems.map((problem) => `${name}: ${problem}`);
}
