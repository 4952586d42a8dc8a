/**
 * Kubeflow Experiment Run Async: the server task's request as Azure DevOps
 * would build and send it (test/server-task-executor.ts) against the fake KFP,
 * and end to end with the exit handler run as its component runs it, reporting
 * to the fake Azure DevOps.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadTaskSchemas, validateTaskJson } from "../build.ts";
import { parseCallbackInfo } from "../lib/exit-handler/callback-info.ts";
import { startFakeAzdo, type FakeAzdo } from "../lib/dev/fake-azdo/mod.ts";
import type { FakeApi, FakeExperiment, FakeKfp, FakePipeline, FakeVersion } from "../lib/dev/fake-kfp/types.ts";
import { REPO_ROOT } from "./harness.ts";
import {
  executeServerTask,
  expandServerTask,
  MAX_EVENT_TIMEOUT_MS,
  type ServerTaskEndpoint,
  type ServerTaskRun,
} from "./server-task-executor.ts";
import { buildExitHandlerForTest, runComponent, type ExitHandlerBuild } from "./support/exit-handler-run.ts";
import { startFake } from "./support/fake.ts";

const TASK_DIR = join(REPO_ROOT, "tasks", "experiment-run-async");
const TASK = JSON.parse(readFileSync(join(TASK_DIR, "task.json"), "utf8"));
const KFP_TOKEN = "kfp-token-123";
const JOB_TOKEN = "job-access-token-456";
const PAT = "azdo-pat-789";
const CONNECTION_ID = "3f0e8d1c-2b4a-4c6d-9e8f-1a2b3c4d5e6f";

interface World {
  kfp: FakeKfp;
  azdo: FakeAzdo;
  pipeline: FakePipeline;
  version: FakeVersion;
  experiment: FakeExperiment;
  ids: { projectId: string; planId: string; jobId: string; taskInstanceId: string; timelineId: string };
}

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const server of open.splice(0)) await server.close();
});

/** A KFP with the callback pipeline (served under /pipeline, as behind the Kubeflow dashboard) and an Azure DevOps plan. */
/** KFP 2.14 is the first release that runs a pipeline whose exit task takes the final status. */
async function world(
  api: FakeApi,
  pipelineApi: FakeApi = api,
  options: { skipContract?: boolean; serverVersion?: string } = {},
): Promise<World> {
  const serverVersion = options.serverVersion ?? (api === "v2" ? "2.14.0" : undefined);
  const kfp = await startFake({ api, prefix: "/pipeline", token: KFP_TOKEN, serverVersion }, options);
  const azdo = await startFakeAzdo({ pats: [PAT], tokens: [JOB_TOKEN] });
  open.push(kfp, azdo);
  const { pipeline, version } = await kfp.seedPipeline({
    name: "callback pipeline",
    file: join(REPO_ROOT, "test", "fixtures", "async", `callback-${pipelineApi}.yaml`),
  });
  const experiment = kfp.seedExperiment({ name: "ci" });
  const ids = { projectId: uuid(), planId: uuid(), jobId: uuid(), taskInstanceId: uuid(), timelineId: uuid() };
  azdo.addPlan({ ...ids, hubName: "build" });
  return { kfp, azdo, pipeline, version, experiment, ids };
}

const uuid = () => crypto.randomUUID();

/** The variables Azure DevOps gives an agentless job, plus the user's secret holding the KFP token. */
function variables(w: World): Record<string, string> {
  return {
    "System.CollectionUri": w.azdo.collectionUri,
    "System.TeamProjectId": w.ids.projectId,
    "System.HostType": "build",
    "System.PlanId": w.ids.planId,
    "System.JobId": w.ids.jobId,
    "System.TimelineId": w.ids.timelineId,
    "System.TaskInstanceId": w.ids.taskInstanceId,
    "System.AccessToken": JOB_TOKEN,
    "Build.BuildNumber": "20260101.7",
    kfpToken: KFP_TOKEN,
  };
}

/** The 2021 way to say where KFP is: the Kubeflow base URL with its slash, and the token from a secret variable. */
const legacy = (w: World) => ({ kubeflowEndpoint: w.kfp.url.replace(/pipeline$/, ""), bearerToken: "$(kfpToken)" });
const connection = (w: World, url = w.kfp.url): ServerTaskEndpoint => ({
  id: CONNECTION_ID,
  type: "kubeflow-pipelines",
  url,
  scheme: "Token",
  parameters: { apitoken: KFP_TOKEN },
});

function runTask(w: World, inputs: Record<string, string>): Promise<Awaited<ReturnType<typeof executeServerTask>>> {
  return executeServerTask({ taskDir: TASK_DIR, inputs, variables: variables(w), endpoints: [connection(w)] });
}

/** Inputs for a run of the seeded pipeline through the v1beta1 or v2beta1 API. */
function runInputs(w: World, api: "v1beta1" | "v2beta1", extra: Record<string, string> = {}): Record<string, string> {
  const base = { pipelineVersionID: w.version.id, experimentID: w.experiment.id, runName: "nightly", apiVersion: api };
  return api === "v2beta1" ? { ...base, pipelineID: w.pipeline.id, ...extra } : { ...base, ...extra };
}

function expectedCallback(w: World) {
  return {
    planUri: w.azdo.collectionUri,
    projectId: w.ids.projectId,
    hubName: "build",
    planId: w.ids.planId,
    jobId: w.ids.jobId,
    taskInstanceId: w.ids.taskInstanceId,
    timelineId: w.ids.timelineId,
  };
}

function onlyRun(w: World) {
  expect(w.kfp.state.runs).toHaveLength(1);
  return w.kfp.state.runs[0]!;
}

describe("task.json", () => {
  test("validates against the official schema with the server-task overlay (build.ts's validator)", () => {
    expect(() => validateTaskJson(TASK_DIR, loadTaskSchemas())).not.toThrow();
  });

  test("runs on the server only: a gate would start a run each time it is evaluated", () => {
    expect(TASK.runsOn).toEqual(["Server"]);
    expect(TASK.execution.HttpRequest.Execute.WaitForCompletion).toBe("$(waitForCompletion)");
  });

  test("the task folder ships no code: only task.json and the icon", () => {
    expect(readdirSync(TASK_DIR).sort()).toEqual(["icon.png", "task.json"]);
  });

  test("keeps the 2021 input names and adds the v2 ones", () => {
    const names = TASK.inputs.map((i: { name: string }) => i.name);
    for (const name of [
      "kubeflowEndpoint",
      "bearerToken",
      "pipelineVersionID",
      "experimentID",
      "runName",
      "pipelineParams",
      "runDescription",
      "waitForCompletion",
    ]) {
      expect(names).toContain(name);
    }
    for (const name of ["kfpConnection", "apiVersion", "pipelineID", "pipelineParamsMap", "passAccessToken"]) expect(names).toContain(name);
  });

  test("waits for TaskCompleted at most the documented 72 hours", async () => {
    const w = await world("v1");
    const request = expandServerTask({ taskDir: TASK_DIR, inputs: { ...legacy(w), ...runInputs(w, "v1beta1") }, variables: variables(w) });
    expect(request.completedTimeoutMs).toBe(MAX_EVENT_TIMEOUT_MS);
  });

  test("help texts say which endpoint form to use and what passing the job token exposes", () => {
    const help = (name: string) => TASK.inputs.find((i: { name: string }) => i.name === name).helpMarkDown as string;
    expect(help("kfpConnection")).toContain("with or without a trailing slash");
    expect(help("kubeflowEndpoint")).toContain("with or without its trailing slash");
    expect(help("runName")).toContain("JSON-escaped");
    expect(help("pipelineParamsMap")).toContain("must not hold");
    expect(help("passAccessToken")).toContain("anyone who can read runs");
  });
});

describe("the server task's request", () => {
  test(
    "2021 inputs on KFP 1.8: the 2021 body goes to <kubeflowEndpoint>pipeline/apis/v1beta1/runs " +
      "with the bearer token and the callback info",
    async () => {
      const w = await world("v1");
      const inputs = {
        ...legacy(w),
        pipelineVersionID: w.version.id,
        experimentID: w.experiment.id,
        runName: "nightly",
        pipelineParams: '{"name":"epochs","value":"5"}',
      };
      const result = await runTask(w, inputs);

      expect(result.request.url).toBe(`${w.kfp.url}/apis/v1beta1/runs`);
      expect(result.request.headers.Authorization).toBe(`Bearer ${KFP_TOKEN}`);
      expect(result.outcome).toBe("waiting");
      const run = onlyRun(w);
      expect(run).toMatchObject({ name: "nightly", experimentId: w.experiment.id, versionId: w.version.id });
      expect(Object.keys(run.parameters).sort()).toEqual(["azdocallbackinfo", "epochs"]);
      expect(run.parameters.epochs).toBe("5");
      expect(parseCallbackInfo(String(run.parameters.azdocallbackinfo))).toEqual(expectedCallback(w));
      expect(w.kfp.requests.every((r) => r.authorized)).toBe(true);
    },
  );

  test("service connection on KFP 2.x: v2beta1 body with typed parameters, authorized by the connection's Bearer header", async () => {
    const w = await world("v2");
    const result = await runTask(w, {
      kfpConnection: CONNECTION_ID,
      ...runInputs(w, "v2beta1", { pipelineParamsMap: '"epochs": 5, "message": "hi"' }),
    });

    expect(result.request.url).toBe(`${w.kfp.url}/apis/v2beta1/runs`);
    expect(result.request.headers.Authorization).toBe(`Bearer ${KFP_TOKEN}`);
    expect(result.outcome).toBe("waiting");
    const run = onlyRun(w);
    expect(run).toMatchObject({ name: "nightly", experimentId: w.experiment.id, pipelineId: w.pipeline.id, versionId: w.version.id });
    expect(run.parameters.epochs).toBe(5);
    expect(run.parameters.message).toBe("hi");
    expect(parseCallbackInfo(String(run.parameters.azdocallbackinfo))).toEqual(expectedCallback(w));
  });

  test("v1beta1 through a service connection to KFP 2.x (a v1 pipeline), and v2beta1 through kubeflowEndpoint", async () => {
    const a = await world("v2", "v1");
    expect((await runTask(a, { kfpConnection: CONNECTION_ID, ...runInputs(a, "v1beta1") })).outcome).toBe("waiting");
    expect(a.kfp.requests.at(-1)!.path).toBe("/apis/v1beta1/runs");
    expect(Object.keys(onlyRun(a).parameters)).toEqual(["azdocallbackinfo"]);

    const b = await world("v2");
    expect((await runTask(b, { ...legacy(b), ...runInputs(b, "v2beta1") })).outcome).toBe("waiting");
    expect(b.kfp.requests.at(-1)!.path).toBe("/apis/v2beta1/runs");
    expect(Object.keys(onlyRun(b).parameters)).toEqual(["azdocallbackinfo"]);
  });

  for (const api of ["v1beta1", "v2beta1"] as const) {
    const fake: FakeApi = api === "v1beta1" ? "v1" : "v2";

    test(`${api}: waitForCompletion false sends no azdocallbackinfo and the task ends on KFP's answer`, async () => {
      const w = await world(fake);
      const params: Record<string, string> =
        api === "v1beta1" ? { pipelineParams: '{"name":"message","value":"x"}' } : { pipelineParamsMap: '"message": "x"' };
      const result = await runTask(w, { ...legacy(w), ...runInputs(w, api, { ...params, waitForCompletion: "false" }) });
      expect(result.outcome).toBe("succeeded");
      expect(onlyRun(w).parameters).toEqual({ message: "x" });
      expect(result.request.body).not.toContain("azdocallbackinfo");
    });

    test(`${api}: empty parameters are valid, with or without the callback info`, async () => {
      const w = await world(fake);
      expect((await runTask(w, { ...legacy(w), ...runInputs(w, api) })).outcome).toBe("waiting");
      expect(Object.keys(onlyRun(w).parameters)).toEqual(["azdocallbackinfo"]);

      const none = await world(fake);
      const result = await runTask(none, { ...legacy(none), ...runInputs(none, api, { waitForCompletion: "false" }) });
      expect(result.outcome).toBe("succeeded");
      expect(onlyRun(none).parameters).toEqual({});
    });

    test(`${api}: names with spaces and any script reach KFP unchanged, variables expanded`, async () => {
      const w = await world(fake);
      const runName = "Nächtlicher Lauf 夜间运行 ✓ #$(Build.BuildNumber)";
      await runTask(w, { ...legacy(w), ...runInputs(w, api, { runName, runDescription: "Ünïcödé — built by CI 🚀" }) });
      expect(onlyRun(w)).toMatchObject({
        name: "Nächtlicher Lauf 夜间运行 ✓ #20260101.7",
        description: "Ünïcödé — built by CI 🚀",
      });
    });

    test(`${api}: the job access token goes into the run only when passAccessToken is true`, async () => {
      const w = await world(fake);
      const kept = await runTask(w, { ...legacy(w), ...runInputs(w, api) });
      expect(kept.request.body).not.toContain(JOB_TOKEN);
      expect(parseCallbackInfo(String(onlyRun(w).parameters.azdocallbackinfo))!.authToken).toBeUndefined();

      const opted = await world(fake);
      await runTask(opted, { ...legacy(opted), ...runInputs(opted, api, { passAccessToken: "true" }) });
      expect(parseCallbackInfo(String(onlyRun(opted).parameters.azdocallbackinfo))!.authToken).toBe(JOB_TOKEN);
    });
  }

  for (const api of ["v1beta1", "v2beta1"] as const) {
    test(`${api}: quotes, backslashes, line breaks and braces in the run name and description arrive exactly`, async () => {
      const w = await world(api === "v1beta1" ? "v1" : "v2");
      const runName = 'say "hi" \\ C:\\temp {{x}} $(Build.BuildNumber)';
      const runDescription = 'line one\nline two\ttabbed "quoted" {{{y}}}';
      const result = await runTask(w, { ...legacy(w), ...runInputs(w, api, { runName, runDescription }) });
      expect(result.outcome).toBe("waiting");
      expect(onlyRun(w)).toMatchObject({ name: runName.replace("$(Build.BuildNumber)", "20260101.7"), description: runDescription });
    });
  }

  test("waitForCompletion and passAccessToken as YAML writes them (True) add the callback info and the token", async () => {
    const w = await world("v2");
    const result = await runTask(w, { ...legacy(w), ...runInputs(w, "v2beta1", { waitForCompletion: "True", passAccessToken: "True" }) });
    expect(result.outcome).toBe("waiting");
    expect(parseCallbackInfo(String(onlyRun(w).parameters.azdocallbackinfo))!.authToken).toBe(JOB_TOKEN);
  });

  test("apiVersion is compared without regard to case, in the body and the URL", async () => {
    const w = await world("v2");
    const result = await runTask(w, { kfpConnection: CONNECTION_ID, ...runInputs(w, "v2beta1"), apiVersion: "V2beta1" });
    expect(result.request.url).toEndWith("/apis/v2beta1/runs");
    expect(result.outcome).toBe("waiting");
    expect(onlyRun(w).pipelineId).toBe(w.pipeline.id);
  });

  test("a run KFP refuses (an undeclared parameter) fails the task instead of waiting for a callback that never comes", async () => {
    const w = await world("v2");
    const result = await runTask(w, { ...legacy(w), ...runInputs(w, "v2beta1", { pipelineParamsMap: '"nope": 1' }) });
    expect(result.status).toBe(400);
    expect(result.outcome).toBe("failed");
  });

  test("every endpoint form, with or without a path and a trailing slash, gives a URL without '//'", async () => {
    const w = await world("v2");
    const expand = (inputs: Record<string, string>, url = w.kfp.url) =>
      expandServerTask({
        taskDir: TASK_DIR,
        inputs: { ...runInputs(w, "v2beta1"), ...inputs },
        variables: variables(w),
        endpoints: [connection(w, url)],
      } satisfies ServerTaskRun).url;
    const host = new URL(w.kfp.url).origin;
    for (const url of [host, `${host}/`, w.kfp.url, `${w.kfp.url}/`]) {
      const sent = expand({ kfpConnection: CONNECTION_ID }, url);
      expect(sent).toBe(`${url.replace(/\/$/, "")}/apis/v2beta1/runs`);
    }
    for (const base of [host, `${host}/`, `${host}/kubeflow`, `${host}/kubeflow/`]) {
      expect(expand({ kubeflowEndpoint: base })).toBe(`${base.replace(/\/$/, "")}/pipeline/apis/v2beta1/runs`);
    }
    // And the request reaches KFP behind the dashboard's /pipeline both ways.
    for (const url of [w.kfp.url, `${w.kfp.url}/`]) {
      const result = await executeServerTask({
        taskDir: TASK_DIR,
        inputs: { kfpConnection: CONNECTION_ID, ...runInputs(w, "v2beta1", { runName: url }) },
        variables: variables(w),
        endpoints: [connection(w, url)],
      });
      expect(result.outcome).toBe("waiting");
    }
  });
});

describe("end to end: server task, run, exit handler, TaskCompleted", () => {
  let exitHandler: ExitHandlerBuild;
  beforeAll(async () => {
    exitHandler = await buildExitHandlerForTest();
  });
  afterAll(() => exitHandler.cleanup());

  for (const api of ["v1", "v2"] as const) {
    for (const end of ["SUCCEEDED", "FAILED"] as const) {
      const result = end === "SUCCEEDED" ? "succeeded" : "failed";
      test(`KFP ${api === "v1" ? "1.8" : "2.x"}: a run that ends ${end} completes the waiting task as ${result}`, async () => {
        const w = await world(api);
        const apiVersion = api === "v1" ? "v1beta1" : "v2beta1";
        const task = await runTask(w, { kfpConnection: CONNECTION_ID, ...runInputs(w, apiVersion, { runName: "e2e run" }) });
        expect(task.outcome).toBe("waiting");
        const run = await w.kfp.waitForRun((r) => r.name === "e2e run");
        expect(w.azdo.events).toHaveLength(0);

        w.kfp.setRunState(run.id, end);
        const exit = await runComponent(
          exitHandler.component,
          {
            azdocallbackinfo: String(run.parameters.azdocallbackinfo),
            azure_devops_url: w.azdo.collectionUri,
            run_status: w.kfp.exitTaskStatus(run.id),
            run_id: run.id,
            kfp_ui_url: w.kfp.url,
            retry_delay_seconds: "0.01",
          },
          { AZDO_PAT: PAT },
        );

        expect(exit.code).toBe(0);
        expect(w.azdo.events).toEqual([
          {
            projectId: w.ids.projectId,
            hubName: "build",
            planId: w.ids.planId,
            name: "TaskCompleted",
            taskId: w.ids.taskInstanceId,
            jobId: w.ids.jobId,
            result,
            auth: "basic",
            apiVersion: "2.0-preview.1",
          },
        ]);
        expect(w.azdo.feed).toHaveLength(1);
        const said = api === "v1" ? (end === "SUCCEEDED" ? "Succeeded" : "Failed") : end === "SUCCEEDED" ? "COMPLETE" : "FAILED";
        // KFP OSS never fills the final status's error: only the state is reported.
        expect(w.azdo.feed[0]!.lines).toEqual([`Kubeflow run ${run.id} ended ${said}. ${w.kfp.url}/#/runs/details/${run.id}`]);
        expect(w.azdo.requests.every((r) => r.status === 200 && !r.path.includes("//"))).toBe(true);
        expect(exit.stdout + exit.stderr).not.toContain(PAT);
      });
    }
  }

  test("the job token, when the user opts in, completes the task as Bearer without any PAT", async () => {
    const w = await world("v2");
    await runTask(w, { ...legacy(w), ...runInputs(w, "v2beta1", { passAccessToken: "true" }) });
    const run = onlyRun(w);
    w.kfp.setRunState(run.id, "SUCCEEDED");
    const exit = await runComponent(exitHandler.component, {
      azdocallbackinfo: String(run.parameters.azdocallbackinfo),
      azure_devops_url: w.azdo.collectionUri,
      run_status: w.kfp.exitTaskStatus(run.id),
      run_id: run.id,
      retry_delay_seconds: "0.01",
    });
    expect(exit.code).toBe(0);
    expect(w.azdo.events.map((e) => [e.result, e.auth])).toEqual([["succeeded", "bearer"]]);
    expect(exit.stdout + exit.stderr).not.toContain(JOB_TOKEN);
  });

  test("KFP before 2.14 refuses, at run creation, a pipeline whose exit task takes the final status: the task fails at once", async () => {
    const w = await world("v2", "v2", { serverVersion: "2.13.0" });
    const result = await runTask(w, { kfpConnection: CONNECTION_ID, ...runInputs(w, "v2beta1") });
    expect(result.status).toBe(500);
    expect(result.outcome).toBe("failed");
    expect(result.responseText).toContain("task final status not supported yet");
    expect(w.kfp.state.runs).toHaveLength(0);
  });

  test("a run started without waiting carries no callback info: the exit handler reports nothing and succeeds", async () => {
    const w = await world("v1");
    await runTask(w, { ...legacy(w), ...runInputs(w, "v1beta1", { waitForCompletion: "false" }) });
    const run = onlyRun(w);
    // The pipeline's default for the parameter it declares: empty.
    const values = { azure_devops_url: w.azdo.collectionUri, run_status: "Succeeded", run_id: run.id };
    const exit = await runComponent(exitHandler.component, values, { AZDO_PAT: PAT });
    expect(exit.code).toBe(0);
    expect(exit.stdout).toContain("nothing to report");
    expect(w.azdo.requests).toHaveLength(0);
  });
});

test("the fixtures declare azdocallbackinfo, as every pipeline the task starts must", () => {
  for (const api of ["v1", "v2"]) {
    const file = join(REPO_ROOT, "test", "fixtures", "async", `callback-${api}.yaml`);
    expect(existsSync(file)).toBe(true);
    expect(readFileSync(file, "utf8")).toContain("azdocallbackinfo");
  }
});
