/**
 * The reliability suite's view of the agentless task and its exit handler: a
 * fake KFP holding the callback pipeline and an experiment, the variables Azure
 * DevOps gives an agentless job, the task's request sent through the server-task
 * executor, and the exit handler run as its KFP component runs it against a
 * fake Azure DevOps.
 */
import { join } from "node:path";
import { startFakeAzdo, type FakeAzdo } from "../../lib/dev/fake-azdo/mod.ts";
import type { FakeApi, FakeExperiment, FakeKfp, FakePipeline, FakeVersion } from "../../lib/dev/fake-kfp/types.ts";
import { REPO_ROOT } from "../harness.ts";
import { executeServerTask, type ServerTaskEndpoint, type ServerTaskResult } from "../server-task-executor.ts";
import { runComponent, type ComponentSpec, type ExitHandlerResult } from "./exit-handler-run.ts";
import { startFake } from "./fake.ts";

export const ASYNC_TASK_DIR = join(REPO_ROOT, "tasks", "experiment-run-async");
export const ASYNC_CONNECTION_ID = "5d7c2a10-4b3e-4f6a-9c8d-7e6f5a4b3c2d";
/** What Azure DevOps puts in System.AccessToken: only passed to the run when the user opts in. */
export const JOB_TOKEN = "job-access-token-0a1b2c3d4e";

export interface AsyncWorld {
  api: FakeApi;
  kfp: FakeKfp;
  pipeline: FakePipeline;
  version: FakeVersion;
  experiment: FakeExperiment;
  token: string;
}

/**
 * A fake KFP (with `token`, under /pipeline as behind the Kubeflow dashboard) holding the callback pipeline and the
 * experiment `ci`. A KFP 2.x fake is 2.14, the first release that runs a pipeline whose exit task takes the final status.
 */
export async function asyncWorld(api: FakeApi, token: string, options: { skipContract?: boolean } = {}): Promise<AsyncWorld> {
  const kfp = await startFake({ api, token, prefix: "/pipeline", serverVersion: api === "v2" ? "2.14.0" : undefined }, options);
  const { pipeline, version } = await kfp.seedPipeline({
    name: "callback pipeline",
    file: join(REPO_ROOT, "test", "fixtures", "async", `callback-${api}.yaml`),
  });
  const experiment = kfp.seedExperiment({ name: "ci" });
  return { api, kfp, pipeline, version, experiment, token };
}

/** The variables of an agentless job; `kfpToken` is the user's secret variable holding the KFP token. */
export function agentlessVariables(w: AsyncWorld, collectionUri = "https://dev.azure.com/contoso/"): Record<string, string> {
  return {
    "System.CollectionUri": collectionUri,
    "System.TeamProjectId": "7a1f4c2e-3b5d-4e6f-8a9b-0c1d2e3f4a5b",
    "System.HostType": "build",
    "System.PlanId": "1b2c3d4e-5f60-4718-92a3-b4c5d6e7f809",
    "System.JobId": "2c3d4e5f-6071-4829-a3b4-c5d6e7f8091a",
    "System.TimelineId": "4e5f6071-8293-4a4b-b5c6-d7e8f9012a3b",
    "System.TaskInstanceId": "3d4e5f60-7182-493a-b4c5-d6e7f8091a2b",
    "System.AccessToken": JOB_TOKEN,
    kfpToken: w.token,
  };
}

/** The run inputs for the world's pipeline through its own API version. */
export function runInputs(w: AsyncWorld, extra: Record<string, string> = {}): Record<string, string> {
  const base = { pipelineVersionID: w.version.id, experimentID: w.experiment.id, runName: "nightly" };
  return w.api === "v2"
    ? { ...base, apiVersion: "v2beta1", pipelineID: w.pipeline.id, ...extra }
    : { ...base, apiVersion: "v1beta1", ...extra };
}

export type AsyncCredentialWay = "service connection" | "secret variable" | "plain text";

/** Connection inputs and endpoints for each way of giving the task its KFP credential. */
export function asyncConnection(
  w: AsyncWorld,
  via: AsyncCredentialWay,
): { inputs: Record<string, string>; endpoints: ServerTaskEndpoint[] } {
  if (via === "service connection") {
    return {
      inputs: { kfpConnection: ASYNC_CONNECTION_ID },
      endpoints: [
        { id: ASYNC_CONNECTION_ID, type: "kubeflow-pipelines", url: w.kfp.url, scheme: "Token", parameters: { apitoken: w.token } },
      ],
    };
  }
  // The 2021 form: the Kubeflow base URL with its slash; the task appends pipeline/apis/...
  return {
    inputs: { kubeflowEndpoint: w.kfp.url.replace(/pipeline$/, ""), bearerToken: via === "secret variable" ? "$(kfpToken)" : w.token },
    endpoints: [],
  };
}

/** Sends the agentless task's request as Azure DevOps would; a transport failure comes back as `error`. */
export async function runAsyncTask(
  w: AsyncWorld,
  inputs: Record<string, string>,
  options: { via?: AsyncCredentialWay; variables?: Record<string, string> } = {},
): Promise<{ result?: ServerTaskResult; error?: Error }> {
  const connection = asyncConnection(w, options.via ?? "service connection");
  try {
    const result = await executeServerTask({
      taskDir: ASYNC_TASK_DIR,
      inputs: { ...connection.inputs, ...inputs },
      variables: { ...agentlessVariables(w), ...options.variables },
      endpoints: connection.endpoints,
    });
    return { result };
  } catch (error) {
    return { error: error as Error };
  }
}

// ---------------------------------------------------------------------------
// The exit handler

export const PAT = "azdo-pat-5e6f7a8b9c";
export const PLAN = {
  projectId: "7a1f4c2e-3b5d-4e6f-8a9b-0c1d2e3f4a5b",
  hubName: "build",
  planId: "1b2c3d4e-5f60-4718-92a3-b4c5d6e7f809",
  jobId: "2c3d4e5f-6071-4829-a3b4-c5d6e7f8091a",
  taskInstanceId: "3d4e5f60-7182-493a-b4c5-d6e7f8091a2b",
  timelineId: "4e5f6071-8293-4a4b-b5c6-d7e8f9012a3b",
};

/** A fake Azure DevOps that accepts PAT and JOB_TOKEN and knows PLAN. */
export async function fakeAzdo(): Promise<FakeAzdo> {
  const azdo = await startFakeAzdo({ pats: [PAT], tokens: [JOB_TOKEN] });
  azdo.addPlan(PLAN);
  return azdo;
}

/** The azdocallbackinfo our server task sends, pointing at `collectionUri`. */
export function callbackInfo(collectionUri: string, extra: Record<string, string> = {}): string {
  return JSON.stringify({
    PlanUri: collectionUri,
    ProjectId: PLAN.projectId,
    HubName: PLAN.hubName,
    PlanId: PLAN.planId,
    JobId: PLAN.jobId,
    TimelineId: PLAN.timelineId,
    TaskInstanceId: PLAN.taskInstanceId,
    ...extra,
  });
}

/**
 * Runs the exit handler component; few, fast retries unless the values say otherwise. Unless they say
 * otherwise too, the pipeline is pinned (azure_devops_url) to the collection its callback info names.
 */
export function runExitHandler(
  component: ComponentSpec,
  values: Record<string, string>,
  env: Record<string, string> = { AZDO_PAT: PAT },
): Promise<ExitHandlerResult> {
  const defaults = { run_status: "Succeeded", run_id: "run-7", attempts: "3", retry_delay_seconds: "0.05" };
  return runComponent(component, { ...defaults, azure_devops_url: planUriOf(values.azdocallbackinfo), ...values }, env);
}

function planUriOf(info: string | undefined): string {
  try {
    const planUri = JSON.parse(info ?? "").PlanUri;
    if (typeof planUri === "string" && planUri) return planUri;
  } catch {}
  return "https://dev.azure.com/contoso/";
}
