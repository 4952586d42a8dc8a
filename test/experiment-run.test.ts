/**
 * The Kubeflow Experiment and Run task, run from its bundle as the agent runs
 * it, against the fake KFP (both API versions): resolving, running, waiting,
 * every ending, timeout and cancel, outputs and summary.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { FakeApi, FakeKfp, RecordedRequest, RunScript } from "../lib/dev/fake-kfp/types.ts";
import { runTask, startTask, type TaskRunRequest } from "./harness.ts";
import { helloRequest } from "./support/experiment-run-task.ts";
import { taskSuite } from "./support/task-suite.ts";
import { ownedByAgentTask } from "./support/owner.ts";

export const TOKEN = "kfp-test-token-5d1e9c";
const PIPELINES = join(import.meta.dir, "fixtures", "pipelines");
const APIS: FakeApi[] = ["v1", "v2"];
/** Waiting inputs that keep tests fast: one poll a second. */
export const WAIT = { waitForRunToFinish: "true", pollIntervalSeconds: "1" };

const suite = taskSuite("experiment-run", TOKEN);
export const fakeKfp = suite.fake;
/** A fake with the `hello` pipeline (one version, `v1.0`) compiled for its API. */
export const seeded = suite.seeded;

/** A run request with the inputs most tests share. */
export function request(kfp: FakeKfp, inputs: Record<string, string> = {}): TaskRunRequest {
  return helloRequest(kfp, inputs, TOKEN);
}

const run = (kfp: FakeKfp, inputs: Record<string, string> = {}) => runTask(request(kfp, inputs));

/** Starts the task, lets it create the run and start waiting, then cancels it as the agent does. */
async function cancelWhileWaiting(kfp: FakeKfp, inputs: Record<string, string> = {}, signals: ("SIGINT" | "SIGTERM")[] = ["SIGINT"]) {
  const task = startTask(request(kfp, { ...WAIT, ...inputs }));
  await kfp.waitForRun();
  await task.waitForStdout("Waiting for the run to finish");
  for (const signal of signals) task.signal(signal);
  return task.done;
}

const terminateCalls = (kfp: FakeKfp): RecordedRequest[] => kfp.requests.filter((r) => r.method === "POST" && /terminate$/.test(r.path));
const _runCreations = (kfp: FakeKfp): RecordedRequest[] => kfp.writes().filter((r) => /\/runs$/.test(r.path));

describe.each(APIS)("on KFP %s", (api) => {
  test("creates the experiment and the run, waits for success and sets every output", async () => {
    const { kfp, pipeline, version } = await seeded(api);
    kfp.scriptRun({ states: ["PENDING", "RUNNING"], end: "SUCCEEDED" });
    const r = await run(kfp, WAIT);

    expect(r.result).toBe("Succeeded");
    // npm run test:node24 turns the agent's knob on: the Node24 handler then runs on Node 24.
    expect(r.node).toMatchObject({ handler: "Node24", major: process.env.AGENT_USE_NODE24_WITH_HANDLER_DATA === "true" ? 24 : 20 });
    const [created] = kfp.state.runs;
    expect(created).toMatchObject({ pipelineId: pipeline.id, versionId: version.id, experimentId: kfp.state.experiments[0]!.id });
    expect(kfp.state.experiments.map((e) => e.name)).toEqual(["ci"]);
    const finalState = api === "v2" ? "SUCCEEDED" : "Succeeded";
    expect(r.outputs).toMatchObject({
      kf_pipeline_id: pipeline.id,
      kf_pipeline_version_id: version.id,
      kf_experiment_id: created!.experimentId,
      kf_run_id: created!.id,
      kf_run_status: finalState,
    });
    expect(r.outputs.kf_run_url).toContain(created!.id);
    for (const name of ["kf_pipeline_id", "kf_pipeline_version_id", "kf_experiment_id", "kf_run_id", "kf_run_status", "kf_run_url"]) {
      expect(r.variables.filter((v) => v.name === name).map((v) => v.isOutput)).toEqual([false, true]);
      // Both forms a later step can read on a real agent: $(kf_run_id) as in 2021, and $(kfpStep.kf_run_id).
      expect([name, r.outputs[`kfpStep.${name}`], r.recordVariables[name]]).toEqual([name, r.outputs[name]!, r.outputs[name]!]);
    }
    // One line per change of state, not one per poll.
    expect(r.stdout.match(/Run state: /g)).toHaveLength(3);
    expect(r.log).not.toContain(TOKEN);
  });

  test("registers the token as a secret before anything else, so even debug output never shows it", async () => {
    const { kfp } = await seeded(api);
    kfp.scriptRun({ end: "SUCCEEDED" });
    const r = await runTask({ ...request(kfp, WAIT), variables: { "system.debug": "true" } });
    expect(r.result).toBe("Succeeded");
    expect(r.stdout.split("\n")[0]).toBe(`##vso[task.setsecret]${TOKEN}`);
    expect(r.log).toContain("##[debug]");
    expect(r.log).not.toContain(TOKEN);
  });

  test("sends parameters as the API wants them: typed on v2, text on v1", async () => {
    const { kfp } = await seeded(api);
    kfp.scriptRun({ end: "SUCCEEDED" });
    const r = await run(kfp, { pipelineParams: "message=hi\nepochs=5" });
    expect(r.result).toBe("Succeeded");
    expect(kfp.state.runs[0]!.parameters).toEqual(api === "v2" ? { message: "hi", epochs: 5 } : { message: "hi", epochs: "5" });
  });

  test.each([
    ["SUCCEEDED", "Succeeded"],
    ["FAILED", "Failed"],
    ["ERROR", "Failed"],
    ["CANCELED", "Failed"],
    ["SKIPPED", "SucceededWithIssues"],
  ] as const)("a run that ends %s ends the task %s", async (end, result) => {
    const { kfp } = await seeded(api);
    const error = end === "FAILED" || end === "ERROR" ? "step train: OOMKilled" : undefined;
    kfp.scriptRun({ end, error });
    const r = await run(kfp, WAIT);

    expect(r.result).toBe(result);
    const runId = kfp.state.runs[0]!.id;
    expect(r.outputs.kf_run_id).toBe(runId);
    expect(r.outputs.kf_run_status).toBeTruthy();
    expect(r.outputs.kf_run_status!.toUpperCase()).not.toBe("RUNNING");
    if (result === "Failed") {
      expect(r.message).toContain(r.outputs.kf_run_url!);
      if (error) expect(r.message).toContain(error);
      expect(r.errors).toHaveLength(1);
    }
    if (result === "SucceededWithIssues") expect(r.warnings.some((w) => /skipped/i.test(w))).toBe(true);
    expect(terminateCalls(kfp)).toEqual([]);
  });

  test("on timeout terminates the run by default and fails with the last state", async () => {
    const { kfp } = await seeded(api);
    const r = await run(kfp, { ...WAIT, runTimeoutMinutes: "0.03" });
    expect(r.result).toBe("Failed");
    expect(r.message).toMatch(/did not finish within 1.8s/);
    expect(r.message).toContain("terminated");
    expect(terminateCalls(kfp)).toHaveLength(1);
    expect(kfp.state.runs[0]!.terminated).toBe(true);
    expect(r.outputs.kf_run_status).toBe(api === "v2" ? "PENDING" : "Pending");
  });

  test("on timeout with leaveRunning leaves the run alone", async () => {
    const { kfp } = await seeded(api);
    const r = await run(kfp, { ...WAIT, runTimeoutMinutes: "0.03", onTimeoutOrCancel: "leaveRunning" });
    expect(r.result).toBe("Failed");
    expect(r.message).toContain("left running");
    expect(terminateCalls(kfp)).toEqual([]);
    expect(kfp.state.runs[0]!.terminated).toBe(false);
  });

  test("cancelled by the agent (SIGINT), terminates the run before it exits", async () => {
    const { kfp } = await seeded(api);
    const r = await cancelWhileWaiting(kfp);

    expect(r.result).toBe("Cancelled");
    expect(terminateCalls(kfp)).toHaveLength(1);
    expect(kfp.state.runs[0]!.terminated).toBe(true);
    expect(r.outputs.kf_run_id).toBe(kfp.state.runs[0]!.id);
    expect(r.outputs.kf_run_status).toBeTruthy();
    expect(r.summaries).toHaveLength(1);
  });

  test("cancelled with leaveRunning, exits without terminating the run", async () => {
    const { kfp } = await seeded(api);
    const r = await cancelWhileWaiting(kfp, { onTimeoutOrCancel: "leaveRunning" });

    expect(r.result).toBe("Cancelled");
    expect(r.message).toContain("left running");
    expect(terminateCalls(kfp)).toEqual([]);
    expect(kfp.state.runs[0]!.terminated).toBe(false);
  });
});

describe("cancel", () => {
  test("the agent's SIGTERM after SIGINT does not cut the terminate short, and terminate is sent once", async () => {
    const { kfp } = await seeded("v2");
    const r = await cancelWhileWaiting(kfp, {}, ["SIGINT", "SIGTERM"]);
    expect(r.result).toBe("Cancelled");
    expect(terminateCalls(kfp)).toHaveLength(1);
  });

  test("when KFP keeps failing the terminate, the task gives up within the agent's cancel window " +
    "and says the run may still run", async () => {
    const { kfp } = await seeded("v2");
    kfp.fault({ method: "POST", path: /:terminate$/, fault: { status: 503 }, times: Infinity });
    const task = startTask(request(kfp, WAIT));
    await kfp.waitForRun();
    await task.waitForStdout("Waiting for the run to finish");
    const cancelledAt = Date.now();
    task.signal("SIGINT");
    const r = await task.done;
    // The agent kills the task about 10 s after SIGINT; the task must have ended on its own before that.
    expect(Date.now() - cancelledAt).toBeLessThan(9_000);
    expect(r.result).toBe("Cancelled");
    expect(r.message).toContain("could not be terminated");
    expect(terminateCalls(kfp).length).toBeGreaterThan(1);
  }, 15_000);

  test("a cancel while the run is being created terminates the run once KFP answers with it", async () => {
    const { kfp } = await seeded("v2");
    kfp.fault({ method: "POST", path: "/apis/v2beta1/runs", fault: { delayMs: 1000 } });
    const task = startTask(request(kfp, WAIT));
    const created = await kfp.waitForRun();
    task.signal("SIGINT");
    const r = await task.done;
    expect(r.result).toBe("Cancelled");
    expect(r.stdout).not.toContain("Waiting for the run to finish");
    expect(terminateCalls(kfp).map((q) => q.path)).toEqual([`/apis/v2beta1/runs/${created.id}:terminate`]);
    expect(r.outputs.kf_run_id).toBe(created.id);
  });
});

describe("while waiting", () => {
  test("reports the steps KFP reports (v2) and puts them in the summary", async () => {
    const { kfp } = await seeded("v2");
    const script: RunScript = {
      states: ["RUNNING", "RUNNING"],
      end: "SUCCEEDED",
      steps: [
        { name: "preprocess", state: "SUCCEEDED" },
        { name: "train", state: "RUNNING" },
        { name: "evaluate", state: "PENDING" },
      ],
    };
    kfp.scriptRun(script);
    const r = await run(kfp, WAIT);
    expect(r.result).toBe("Succeeded");
    expect(r.stdout).toMatch(/\d\/3 steps done/);
    const summary = r.summaries[0]!.content;
    expect(summary).toContain("### Steps");
    expect(summary).toContain("preprocess");
  });
});

describe("the summary", () => {
  test("links the run and names experiment, pipeline, version, parameter names, state and duration", async () => {
    const { kfp } = await seeded("v2");
    kfp.scriptRun({ end: "SUCCEEDED" });
    const r = await run(kfp, { ...WAIT, pipelineParams: "message=hello there\nepochs=4" });
    expect(r.summaries).toHaveLength(1);
    const summary = r.summaries[0]!.content;
    expect(summary).toContain(`](${r.outputs.kf_run_url})`);
    for (const text of ["ci", "hello", "v1.0", "Parameters (values on the run's page in KFP): message, epochs", "SUCCEEDED", "Duration"])
      expect(summary).toContain(text);
    // Parameter values may be secrets, and summaries are uploaded unmasked: names only.
    expect(summary).not.toContain("hello there");
  });
});

describe("pipeline parameters", () => {
  const forms: [string, string][] = [
    ["name=value lines", 'message=hi\n# a comment\nepochs=5\nflag=true\ntags=["a","b"]\nconfig={"k": 1}\nlearning_rate=0.5'],
    ["a JSON object", '{"message": "hi", "epochs": 5, "flag": true, "tags": ["a", "b"], "config": {"k": 1}, "learning_rate": 0.5}'],
    [
      "a JSON array of name/value objects",
      '[{"name":"message","value":"hi"},{"name":"epochs","value":"5"},{"name":"flag","value":"true"},' +
        '{"name":"tags","value":"[\\"a\\",\\"b\\"]"},{"name":"config","value":"{\\"k\\": 1}"},{"name":"learning_rate","value":"0.5"}]',
    ],
    [
      "the 2021 form (no brackets)",
      '{"name":"message","value":"hi"}, {"name":"epochs","value":"5"}, {"name":"flag","value":"true"}, ' +
        '{"name":"tags","value":"[\\"a\\",\\"b\\"]"}, {"name":"config","value":"{\\"k\\": 1}"}, {"name":"learning_rate","value":"0.5"}',
    ],
  ];
  test.each(forms)("accepts %s and converts values to the declared types", async (_form, text) => {
    const { kfp } = await seeded("v2");
    kfp.scriptRun({ end: "SUCCEEDED" });
    const r = await run(kfp, { pipelineParams: text });
    expect(r.result).toBe("Succeeded");
    expect(kfp.state.runs[0]!.parameters).toEqual({
      message: "hi",
      epochs: 5,
      flag: true,
      tags: ["a", "b"],
      config: { k: 1 },
      learning_rate: 0.5,
    });
  });

  test.each([
    ["a value that does not convert", "message=hi\nepochs=many", /epochs.*NUMBER_INTEGER/],
    ["an unknown name", "message=hi\nepoch=5", /no parameter "epoch"/],
    ["a missing required parameter", "epochs=5", /required parameter message/],
  ])("rejects %s before anything is created", async (_what, text, problem) => {
    const { kfp } = await seeded("v2");
    const r = await run(kfp, { pipelineParams: text });
    expect(r.result).toBe("Failed");
    expect(r.message).toStartWith("Input 'pipelineParams':");
    expect(r.message).toMatch(problem);
    expect(kfp.writes()).toEqual([]);
  });

  test("rejects malformed text, saying where it broke, before connecting", async () => {
    const kfp = await fakeKfp();
    const r = await run(kfp, { pipelineParams: '{"name":"message","value":"hi"}, {"name":"epochs" "value":"5"}' });
    expect(r.result).toBe("Failed");
    expect(r.message).toStartWith("Input 'pipelineParams':");
    expect(r.message).toMatch(/line 1, column \d+/);
    expect(kfp.requests).toEqual([]);
  });
});

describe("choosing the pipeline, version and experiment", () => {
  test("uses the IDs from the upload task's outputs without looking names up", async () => {
    const { kfp, pipeline, version } = await seeded("v2");
    kfp.scriptRun({ end: "SUCCEEDED" });
    const r = await run(kfp, { pipeline: "", useDefaultVersion: "false", pipelineId: pipeline.id, pipelineVersionId: version.id });
    expect(r.result).toBe("Succeeded");
    expect(kfp.state.runs[0]).toMatchObject({ pipelineId: pipeline.id, versionId: version.id });
    expect(kfp.requests.filter((q) => q.method === "GET" && /\/pipelines$/.test(q.path))).toEqual([]);
  });

  test("finds a version by name", async () => {
    const { kfp, pipeline } = await seeded("v2");
    const other = await kfp.seedPipeline({ name: "hello", file: join(PIPELINES, "hello-v2.yaml"), versionName: "v2.0" });
    kfp.scriptRun({ end: "SUCCEEDED" });
    const r = await run(kfp, { useDefaultVersion: "false", pipelineVersion: "v1.0" });
    expect(r.result).toBe("Succeeded");
    expect(other.pipeline.id).toBe(pipeline.id);
    expect(kfp.state.runs[0]!.versionId).toBe(kfp.state.versions.find((v) => v.name === "v1.0")!.id);
  });

  test("reuses an experiment that exists under createNewExperiment, and says so", async () => {
    const { kfp } = await seeded("v2");
    const existing = kfp.seedExperiment({ name: "ci" });
    kfp.scriptRun({ end: "SUCCEEDED" });
    const r = await run(kfp);
    expect(r.result).toBe("Succeeded");
    expect(r.stdout).toContain("already exists");
    expect(kfp.writes().filter((q) => /experiments$/.test(q.path))).toEqual([]);
    expect(r.outputs.kf_experiment_id).toBe(existing.id);
    expect(kfp.state.runs[0]!.experimentId).toBe(existing.id);
  });

  test("names the run after the build by default, and passes description and service account", async () => {
    const { kfp } = await seeded("v2");
    kfp.scriptRun({ end: "SUCCEEDED" });
    const r = await run(kfp, { runDescription: "nightly", serviceAccount: "sa-ci" });
    expect(r.result).toBe("Succeeded");
    expect(kfp.state.runs[0]).toMatchObject({
      name: "kfp-ci 20261126.1",
      description: ownedByAgentTask("nightly"),
      serviceAccount: "sa-ci",
    });
  });

  test("without createNewRun resolves everything, sets the outputs it can and starts nothing", async () => {
    const { kfp, pipeline, version } = await seeded("v2");
    const r = await run(kfp, { createNewRun: "false" });
    expect(r.result).toBe("Succeeded");
    expect(kfp.state.runs).toEqual([]);
    expect(r.outputs).toMatchObject({
      kf_pipeline_id: pipeline.id,
      kf_pipeline_version_id: version.id,
      kf_experiment_id: kfp.state.experiments[0]!.id,
    });
    expect(r.outputs.kf_run_id).toBeUndefined();
  });

  test.each([
    ["pipeline", { pipeline: "nope" }],
    ["pipelineVersion", { useDefaultVersion: "false", pipelineVersion: "nope" }],
    ["pipelineId", { pipeline: "", pipelineId: "00000000-0000-4000-8000-000000000000" }],
    ["experimentName", { experiment: "useExistingExperiment", experimentName: "nope" }],
  ])("fails naming %s when it is not found, creating nothing", async (input, inputs) => {
    const { kfp } = await seeded("v2");
    const r = await run(kfp, inputs);
    expect(r.result).toBe("Failed");
    expect(r.message).toStartWith(`Input '${input}':`);
    expect(kfp.writes()).toEqual([]);
  });
});

describe("bad input fails before any request, naming the input", () => {
  /** One case for each bad value of `input`: [the input named, the inputs given]. */
  const badValues = (input: string, ...values: string[]) =>
    values.map((value): [string, Record<string, string>] => [input, { [input]: value }]);
  test.each([
    ...badValues("pollIntervalSeconds", "0", "-1", "601", "soon"),
    ...badValues("runTimeoutMinutes", "0", "-5", "10081", "1h"),
    ["runTimeoutMinutes", { runTimeoutMinutes: "0.1", pollIntervalSeconds: "15" }],
    ...badValues("onTimeoutOrCancel", "explode"),
    ...badValues("experiment", "maybe"),
    ...badValues("experimentName", ""),
    ...badValues("pipeline", ""),
    ["pipelineVersion", { useDefaultVersion: "false" }],
    ["pipelineVersionId", { pipeline: "", pipelineVersionId: "abc" }],
    ...badValues("createNewRun", "yes"),
    ...badValues("runName", "x".repeat(129)),
  ])("%s %j", async (input, inputs) => {
    const kfp = await fakeKfp();
    const r = await run(kfp, inputs);
    expect(r.result).toBe("Failed");
    expect(r.message).toStartWith(`Input '${input}':`);
    expect(r.errors).toHaveLength(1);
    expect(kfp.requests).toEqual([]);
  });
});

describe("connection errors", () => {
  test("no KFP given names kfpConnection", async () => {
    const kfp = await fakeKfp();
    const r = await run(kfp, { kubeflowEndpoint: "", bearerToken: "" });
    expect(r.result).toBe("Failed");
    expect(r.message).toStartWith("Input 'kfpConnection':");
  });

  test("a rejected token names bearerToken and never shows it", async () => {
    const kfp = await fakeKfp();
    const r = await run(kfp, { bearerToken: "wrong-token-7f3a" });
    expect(r.result).toBe("Failed");
    expect(r.message).toStartWith("Input 'bearerToken':");
    expect(r.log).not.toContain("wrong-token-7f3a");
    expect(kfp.writes()).toEqual([]);
  });

  test("a login page names kubeflowEndpoint", async () => {
    const kfp = await fakeKfp({ loginPage: "redirect" });
    const r = await run(kfp);
    expect(r.result).toBe("Failed");
    expect(r.message).toStartWith("Input 'kubeflowEndpoint':");
  });

  test("works through a service connection", async () => {
    const { kfp } = await seeded("v2");
    kfp.scriptRun({ end: "SUCCEEDED" });
    const id = "9a8b7c6d-0000-4000-8000-000000000001";
    const r = await runTask({
      ...request(kfp, { kubeflowEndpoint: "", bearerToken: "", kfpConnection: id }),
      connections: [{ id, url: kfp.url, scheme: "Token", parameters: { apitoken: TOKEN } }],
    });
    expect(r.result).toBe("Succeeded");
    expect(kfp.requests.every((q) => q.authorized || /healthz/.test(q.path))).toBe(true);
  });
});

describe("multi-user KFP", () => {
  test("creates the experiment and the run in the namespace given", async () => {
    const kfp = await fakeKfp({ api: "v2", multiUser: true });
    await kfp.seedPipeline({ name: "hello", file: join(PIPELINES, "hello-v2.yaml"), versionName: "v1.0", namespace: "team-a" });
    kfp.scriptRun({ end: "SUCCEEDED" });
    const r = await run(kfp, { namespace: "team-a" });
    expect(r.result).toBe("Succeeded");
    expect(kfp.state.experiments[0]!.namespace).toBe("team-a");
    expect(kfp.state.runs[0]!.namespace).toBe("team-a");
  });

  test("without a namespace fails naming it, creating nothing", async () => {
    const { kfp } = await seeded("v2", { multiUser: true });
    const r = await run(kfp);
    expect(r.result).toBe("Failed");
    expect(r.message).toStartWith("Input 'namespace':");
    expect(kfp.writes()).toEqual([]);
  });
});

describe("dry run", () => {
  test("makes every check and logs each write with its body, making none", async () => {
    const { kfp } = await seeded("v2");
    const r = await run(kfp, { dryRun: "true", pipelineParams: "message=hi\nepochs=7", ...WAIT });
    expect(r.result).toBe("Succeeded");
    expect(kfp.writes()).toEqual([]);
    expect(r.stdout).toMatch(/Dry run: would POST \S*experiments/);
    expect(r.stdout).toMatch(/Dry run: would POST \S*runs .*"epochs":7/);
    expect(r.stdout).toContain("Experiment 'ci' does not exist; it would be created.");
    // Real IDs only: the pipeline and version exist, the experiment does not.
    expect(r.outputs.kf_pipeline_id).toBe(kfp.state.pipelines[0]!.id);
    expect(r.outputs.kf_experiment_id).toBeUndefined();
    expect(r.outputs.kf_run_id).toBeUndefined();
    expect(r.summaries[0]!.content).toContain("ci (would be created)");
  });

  test("still fails on parameters that do not fit", async () => {
    const { kfp } = await seeded("v2");
    const r = await run(kfp, { dryRun: "true", pipelineParams: "message=hi\nepochs=seven" });
    expect(r.result).toBe("Failed");
    expect(r.message).toStartWith("Input 'pipelineParams':");
  });
});

describe("2021 YAML", () => {
  test("the 2021 task's documented inputs work unchanged (KFP 1.8 behind /pipeline, endpoint with trailing slash)", async () => {
    const { kfp, pipeline, version } = await seeded("v1", { prefix: "/pipeline" });
    kfp.scriptRun({ end: "SUCCEEDED" });
    const origin = new URL(kfp.url).origin;
    // As the 2021 README shows it: no connection group, no wait settings.
    const r = await runTask({
      taskDir: suite.dir,
      inputs: {
        kubeflowEndpoint: `${origin}/`,
        bearerToken: TOKEN,
        pipeline: "hello",
        useDefaultVersion: "false",
        pipelineVersion: "v1.0",
        experiment: "createNewExperiment",
        experimentName: "ci-2021",
        experimentDescription: "made by the 2021 YAML",
        createNewRun: "true",
        runName: "run-2021",
        pipelineParams: '{"name":"message","value":"hi"}, {"name":"epochs","value":"2"}',
        runDescription: "2021 style",
        waitForRunToFinish: "true",
      },
      timeoutMs: 30_000,
    });
    expect(r.result).toBe("Succeeded");
    expect(kfp.state.runs[0]).toMatchObject({
      name: "run-2021",
      description: ownedByAgentTask("2021 style"),
      versionId: version.id,
      parameters: { message: "hi", epochs: "2" },
    });
    expect(kfp.state.experiments[0]).toMatchObject({ name: "ci-2021", description: ownedByAgentTask("made by the 2021 YAML") });
    expect(r.outputs).toMatchObject({ kf_pipeline_id: pipeline.id, kf_pipeline_version_id: version.id, kf_run_status: "Succeeded" });
  });
});

test(
  "KFP before 2.14 refuses a pipeline whose exit task takes the final status: " + "the task fails at once saying 2.14 is needed",
  async () => {
    const kfp = await fakeKfp({ api: "v2", serverVersion: "2.13.0" });
    const file = join(import.meta.dir, "fixtures", "async", "sdk-2.17-exit-handler.yaml");
    await kfp.seedPipeline({ name: "hello", file });
    const r = await run(kfp, { pipelineParams: "" });
    expect(r.result).toBe("Failed");
    expect(r.message).toContain("task final status not supported yet");
    expect(r.message).toContain("KFP 2.14");
    expect(kfp.state.runs).toHaveLength(0);
    // A compile error is final: sending the run again cannot change it.
    expect(kfp.writes().filter((w) => /\/runs$/.test(w.path))).toHaveLength(1);
  },
);
