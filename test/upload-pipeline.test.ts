/**
 * The Kubeflow Upload Pipeline task, run from its bundle as the agent runs it,
 * against the fake KFP: every mode on KFP 1.8 (v1beta1) and 2.x (v2beta1), with
 * and without the /pipeline prefix, through a service connection and through the
 * 2021 inputs; the re-run case, outputs, summary, dry run and secrets.
 * Bad input and KFP's refusals: test/upload-pipeline-errors.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DRY_RUN_IDS } from "../lib/kfp/client.ts";
import type { FakeApi, FakeKfp } from "../lib/dev/fake-kfp/types.ts";
import { REPO_ROOT, runTask } from "./harness.ts";
import {
  BUILD_VERSION_NAME,
  PIPELINES,
  TOKEN,
  apiPath,
  fakeKfp,
  newRequests,
  outputVariables,
  packageFor,
  uploadNew,
  uploadTask,
  useUploadTask,
  withFake,
} from "./support/upload-task.ts";
import { ownedByAgentTask } from "./support/owner.ts";

useUploadTask();

const MATRIX: [FakeApi, "" | "/pipeline", "2021 inputs" | "service connection"][] = [];
for (const api of ["v1", "v2"] as const) {
  for (const prefix of ["", "/pipeline"] as const) {
    for (const via of ["2021 inputs", "service connection"] as const) MATRIX.push([api, prefix, via]);
  }
}

describe.each(MATRIX)("on KFP %s, prefix '%s', through the %s", (api, prefix, via) => {
  let kfp: FakeKfp;
  beforeAll(async () => {
    kfp = await fakeKfp({ api, prefix });
  });
  afterAll(() => kfp.close());

  const file = packageFor(api);
  const upload = (inputs: Record<string, string>) => uploadTask(kfp, inputs, { via });

  test("uploadNew creates the pipeline and its first version and sets every output", async () => {
    const since = kfp.requests.length;
    const r = await upload({ ...uploadNew("train", api), newPipelineDescription: "CI build" });

    expect(r.result).toBe("Succeeded");
    // npm run test:node24 turns the agent's knob on: the Node24 handler then runs on Node 24.
    expect(r.node).toMatchObject({ handler: "Node24", major: process.env.AGENT_USE_NODE24_WITH_HANDLER_DATA === "true" ? 24 : 20 });
    const pipeline = kfp.state.pipelines.find((p) => p.name === "train")!;
    const version = kfp.state.versions.find((v) => v.pipelineId === pipeline.id)!;
    expect(pipeline.description).toBe(ownedByAgentTask("CI build"));
    expect(version.name).toBe("train");
    const writes = newRequests(kfp, since).filter((q) => q.method === "POST");
    expect(writes.map((w) => [w.path, w.query.name])).toEqual([[apiPath(api, "pipelines/upload"), "train"]]);
    expect(writes[0]!.body).toMatchObject({ multipart: { field: "uploadfile" } });
    expect(writes.every((w) => w.authorized)).toBe(true);

    expect(r.outputs).toMatchObject({
      kf_pipeline_id: pipeline.id,
      kf_pipeline_name: "train",
      kf_pipeline_version_id: version.id,
      kf_pipeline_version_name: "train",
    });
    expect(r.outputs.kf_pipeline_url).toBe(`${kfp.url}/#/pipelines/details/${pipeline.id}`);
    expect(r.outputs.kf_pipeline_version_url).toBe(`${kfp.url}/#/pipelines/details/${pipeline.id}/version/${version.id}`);
    expect(outputVariables(r)).toEqual([
      "kf_pipeline_id",
      "kf_pipeline_name",
      "kf_pipeline_version_id",
      "kf_pipeline_version_name",
      "kf_pipeline_url",
      "kf_pipeline_version_url",
    ]);
    // A later step reads $(kf_pipeline_id) as in 2021, or $(kfpStep.kf_pipeline_id); another job dependencies...outputs[...].
    expect(Object.keys(r.recordVariables)).toEqual(outputVariables(r));
    for (const name of outputVariables(r)) expect([name, r.outputs[`kfpStep.${name}`]]).toEqual([name, r.outputs[name]!]);
    expect(r.log).toContain(
      `Connected to KFP ${api === "v1" ? "1.8.5" : "2.5.0"} at ${kfp.url} (API ${api === "v1" ? "v1beta1" : "v2beta1"}, single-user).`,
    );
    expect(r.log).toContain(`Created pipeline 'train' (${pipeline.id}) with its first version 'train' (${version.id}).`);
    expect(r.log).toContain(r.outputs.kf_pipeline_version_url!);
    expect(r.log).not.toContain(TOKEN);
  });

  test("uploadNewVersion adds the named version, with its description, to the existing pipeline", async () => {
    const { pipeline } = await kfp.seedPipeline({ name: "serve", file, versionName: "v1" });
    const since = kfp.requests.length;
    const r = await upload({
      kubeflowPipelineTask: "uploadNewVersion",
      pipelineFilePath: file,
      existingPipelineName: "serve",
      versionName: "v2",
      versionDescription: "second",
    });

    expect(r.result).toBe("Succeeded");
    const version = kfp.state.versions.find((v) => v.pipelineId === pipeline.id && v.name === "v2")!;
    expect(version.description).toBe(ownedByAgentTask("second"));
    const writes = newRequests(kfp, since).filter((q) => q.method === "POST");
    expect(writes.map((w) => [w.path, w.query.pipelineid, w.query.name])).toEqual([
      [apiPath(api, "pipelines/upload_version"), pipeline.id, "v2"],
    ]);
    expect(r.outputs).toMatchObject({
      kf_pipeline_id: pipeline.id,
      kf_pipeline_name: "serve",
      kf_pipeline_version_id: version.id,
      kf_pipeline_version_name: "v2",
    });
    expect(r.outputs.kf_pipeline_version_url).toEndWith(`/version/${version.id}`);
    expect(r.log).toContain(`Added version 'v2' (${version.id}) to pipeline 'serve' (${pipeline.id}).`);
  });

  test("uploadNewOrVersion creates the pipeline when missing, then adds a version named after the build", async () => {
    const inputs = { kubeflowPipelineTask: "uploadNewOrVersion", pipelineFilePath: file, newPipelineName: "nightly" };
    const first = await upload(inputs);
    expect(first.result).toBe("Succeeded");
    const pipeline = kfp.state.pipelines.find((p) => p.name === "nightly")!;
    expect(first.outputs).toMatchObject({ kf_pipeline_id: pipeline.id, kf_pipeline_version_name: "nightly" });
    expect(first.log).toContain("Pipeline 'nightly' does not exist yet: creating it.");

    const since = kfp.requests.length;
    const second = await upload(inputs);
    expect(second.result).toBe("Succeeded");
    const version = kfp.state.versions.find((v) => v.pipelineId === pipeline.id && v.name === BUILD_VERSION_NAME)!;
    expect(version).toBeDefined();
    expect(
      newRequests(kfp, since)
        .filter((q) => q.method === "POST")
        .map((w) => w.path),
    ).toEqual([apiPath(api, "pipelines/upload_version")]);
    expect(second.outputs).toMatchObject({
      kf_pipeline_id: pipeline.id,
      kf_pipeline_version_id: version.id,
      kf_pipeline_version_name: BUILD_VERSION_NAME,
    });
  });
});

describe.each(["v1", "v2"] as const)("a re-run on KFP %s", (api) => {
  let kfp: FakeKfp;
  beforeAll(async () => {
    kfp = await fakeKfp({ api });
  });
  afterAll(() => kfp.close());

  test("with ifVersionExists reuse, takes the version the failed attempt uploaded and uploads nothing", async () => {
    const file = packageFor(api);
    const { pipeline } = await kfp.seedPipeline({ name: "rerun", file, versionName: "first" });
    // The failed attempt got as far as uploading the build's version.
    await uploadTask(kfp, { kubeflowPipelineTask: "uploadNewVersion", pipelineFilePath: file, existingPipelineName: "rerun" });
    const uploaded = kfp.state.versions.find((v) => v.pipelineId === pipeline.id && v.name === BUILD_VERSION_NAME)!;
    const writesBefore = kfp.writes().length;

    const r = await uploadTask(kfp, {
      kubeflowPipelineTask: "uploadNewOrVersion",
      pipelineFilePath: file,
      newPipelineName: "rerun",
      ifVersionExists: "reuse",
    });

    expect(r.result).toBe("Succeeded");
    expect(kfp.writes()).toHaveLength(writesBefore);
    expect(r.outputs).toMatchObject({
      kf_pipeline_id: pipeline.id,
      kf_pipeline_version_id: uploaded.id,
      kf_pipeline_version_name: BUILD_VERSION_NAME,
    });
    expect(r.outputs.kf_pipeline_version_url).toEndWith(`/version/${uploaded.id}`);
    expect(outputVariables(r)).toHaveLength(6);
    expect(r.log).toContain(`Version '${BUILD_VERSION_NAME}' (${uploaded.id}) of pipeline 'rerun' already exists: reusing it`);
    expect(r.summaries[0]!.content).toContain("Reused version");
  });
});

test("the 2021 task's documented inputs run unchanged: uploadNew, then uploadNewVersion", async () => {
  // KFP 1.8 behind the Kubeflow dashboard, addressed as the 2021 task wanted it: the
  // dashboard's base URL with a trailing slash, the token from a secret variable.
  await withFake({ api: "v1", prefix: "/pipeline" }, async (kfp) => {
    const step = (kubeflowPipelineTask: string) => ({
      kubeflowEndpoint: `${new URL(kfp.url).origin}/`,
      bearerToken: "$(kfpToken)",
      kubeflowPipelineTask,
      pipelineFilePath: join(PIPELINES, "hello-v1.tar.gz"),
      newPipelineName: "legacy",
      newPipelineDescription: "uploaded by the 2021 YAML",
      existingPipelineName: "legacy",
      versionName: "legacy-2",
    });
    const secretVariables = { kfpToken: TOKEN };

    const created = await runTask({ taskDir: uploadTaskDir(), inputs: step("uploadNew"), secretVariables });
    expect(created.result).toBe("Succeeded");
    const pipeline = kfp.state.pipelines.find((p) => p.name === "legacy")!;
    expect(pipeline.description).toBe(ownedByAgentTask("uploaded by the 2021 YAML"));
    const first = kfp.state.versions.find((v) => v.pipelineId === pipeline.id)!;
    // The 2021 task left kf_pipeline_version_id and kf_pipeline_version_name unset here.
    expect(created.outputs).toMatchObject({
      kf_pipeline_id: pipeline.id,
      kf_pipeline_name: "legacy",
      kf_pipeline_version_id: first.id,
      kf_pipeline_version_name: "legacy",
    });
    expect(outputVariables(created)).toHaveLength(6);
    expect(created.log).toContain("versionName is not used with uploadNew: KFP names the first version like the pipeline.");

    const versioned = await runTask({ taskDir: uploadTaskDir(), inputs: step("uploadNewVersion"), secretVariables });
    expect(versioned.result).toBe("Succeeded");
    const second = kfp.state.versions.find((v) => v.pipelineId === pipeline.id && v.name === "legacy-2")!;
    expect(versioned.outputs).toMatchObject({
      kf_pipeline_id: pipeline.id,
      kf_pipeline_version_id: second.id,
      kf_pipeline_version_name: "legacy-2",
    });
    expect(kfp.writes().map((w) => w.path)).toEqual(["/apis/v1beta1/pipelines/upload", "/apis/v1beta1/pipelines/upload_version"]);
  });
});

describe("on KFP 2.x", () => {
  let kfp: FakeKfp;
  beforeAll(async () => {
    kfp = await fakeKfp({ api: "v2" });
  });
  afterAll(() => kfp.close());

  test.each(["hello-v2.zip", "hello-v2.json", "hello-v2.tar.gz", "hello-v1.yaml"])("uploads %s", async (name) => {
    const pipelineName = `pkg-${name}`;
    const r = await uploadTask(kfp, {
      kubeflowPipelineTask: "uploadNew",
      pipelineFilePath: join(PIPELINES, name),
      newPipelineName: pipelineName,
    });
    expect(r.result).toBe("Succeeded");
    const upload = kfp.writes().find((w) => w.query.name === pipelineName)!;
    expect(upload.body).toMatchObject({ multipart: { field: "uploadfile", filename: name } });
  });

  test.each([
    ["hello-v2.tar.gz", "hello.tgz", "hello.tar.gz"],
    ["hello-v2.yaml", "hello.yml", "hello.yml"],
  ])("uploads %s renamed %s, sent as %s", async (source, renamed, sentAs) => {
    const folder = mkdtempSync(join(tmpdir(), "upload-ext-"));
    const file = join(folder, renamed);
    copyFileSync(join(PIPELINES, source), file);
    const r = await uploadTask(kfp, { kubeflowPipelineTask: "uploadNew", pipelineFilePath: file, newPipelineName: renamed });
    rmSync(folder, { recursive: true, force: true });
    expect(r.result).toBe("Succeeded");
    expect(kfp.writes().find((w) => w.query.name === renamed)!.body).toMatchObject({ multipart: { filename: sentAs } });
  });

  test("uploadNewOrVersion takes existingPipelineName when newPipelineName is empty (2021 YAML switched to the new mode)", async () => {
    const { pipeline } = await kfp.seedPipeline({ name: "switched", file: packageFor("v2") });
    const r = await uploadTask(kfp, {
      kubeflowPipelineTask: "uploadNewOrVersion",
      pipelineFilePath: packageFor("v2"),
      existingPipelineName: "switched",
      versionName: "v9",
    });
    expect(r.result).toBe("Succeeded");
    expect(r.outputs).toMatchObject({ kf_pipeline_id: pipeline.id, kf_pipeline_version_name: "v9" });
  });

  test("uploads a summary with the pipeline, the version and their links", async () => {
    const r = await uploadTask(kfp, uploadNew("summarised", "v2"));
    expect(r.summaries).toHaveLength(1);
    const content = r.summaries[0]!.content;
    expect(content).toContain("### Kubeflow pipeline upload");
    expect(content).toContain(`| Pipeline | [summarised](${r.outputs.kf_pipeline_url}) |`);
    expect(content).toContain(`| Version | [summarised](${r.outputs.kf_pipeline_version_url}) |`);
    expect(content).toContain(`| Pipeline ID | \`${r.outputs.kf_pipeline_id}\` |`);
    expect(content).toContain(`| Version ID | \`${r.outputs.kf_pipeline_version_id}\` |`);
  });

  test("uploadNew makes the fewest requests the API allows: healthz, the upload, the new pipeline's versions", async () => {
    const since = kfp.requests.length;
    const r = await uploadTask(kfp, uploadNew("frugal", "v2"));
    expect(r.result).toBe("Succeeded");
    expect(newRequests(kfp, since).map((q) => `${q.method} ${q.path}`)).toEqual([
      "GET /apis/v2beta1/healthz",
      "POST /apis/v2beta1/pipelines/upload",
      `GET /apis/v2beta1/pipelines/${r.outputs.kf_pipeline_id}/versions`,
    ]);
  });

  test("forced to v1beta1 by apiVersion, uploads through the v1beta1 API", async () => {
    const r = await uploadTask(kfp, { ...uploadNew("forced-v1", "v2"), apiVersion: "v1beta1" });
    expect(r.result).toBe("Succeeded");
    expect(kfp.writes().find((w) => w.query.name === "forced-v1")!.path).toBe("/apis/v1beta1/pipelines/upload");
    expect(r.log).toContain("(API v1beta1, single-user)");
  });

  test("with a session cookie instead of a token, authenticates with the cookie and masks it", async () => {
    await withFake({ api: "v2", token: undefined, cookie: "authservice_session=c00kie-value-42" }, async (cookieKfp) => {
      const r = await runTask({
        taskDir: uploadTaskDir(),
        inputs: {
          kubeflowEndpoint: cookieKfp.url,
          sessionCookie: "authservice_session=c00kie-value-42",
          kubeflowPipelineTask: "uploadNew",
          pipelineFilePath: packageFor("v2"),
          newPipelineName: "cookie",
        },
        variables: { "system.debug": "true" },
      });
      expect(r.result).toBe("Succeeded");
      expect(cookieKfp.state.pipelines.map((p) => p.name)).toEqual(["cookie"]);
      expect(r.log).not.toContain("c00kie-value-42");
    });
  });
});

describe("multi-user KFP", () => {
  test("uploads into the namespace given and says so", async () => {
    await withFake({ api: "v2", multiUser: true }, async (kfp) => {
      const r = await uploadTask(kfp, { ...uploadNew("team-pipeline", "v2"), namespace: "team-a" });
      expect(r.result).toBe("Succeeded");
      expect(kfp.writes()[0]!.query.namespace).toBe("team-a");
      expect(kfp.state.pipelines[0]).toMatchObject({ name: "team-pipeline", namespace: "team-a" });
      expect(r.log).toContain("(API v2beta1, multi-user, namespace team-a)");
    });
  });
});

describe("dry run", () => {
  let kfp: FakeKfp;
  beforeAll(async () => {
    kfp = await fakeKfp({ api: "v2" });
  });
  afterAll(() => kfp.close());
  /** Every step here is a dry run uploading the v2 package. */
  const dryRun = (inputs: Record<string, string>) => uploadTask(kfp, { pipelineFilePath: packageFor("v2"), dryRun: "true", ...inputs });

  test("creating a pipeline: reads, logs the upload it would make with its body, writes nothing, outputs placeholders", async () => {
    const since = kfp.requests.length;
    const r = await dryRun({ kubeflowPipelineTask: "uploadNewOrVersion", newPipelineName: "planned", newPipelineDescription: "not yet" });

    expect(r.result).toBe("Succeeded");
    expect(kfp.writes()).toEqual([]);
    expect(kfp.state.pipelines).toEqual([]);
    expect(newRequests(kfp, since).some((q) => q.method === "GET" && q.path === "/apis/v2beta1/pipelines")).toBe(true);
    expect(r.log).toContain("Dry run: would POST /apis/v2beta1/pipelines/upload?name=planned&");
    expect(r.log).toContain("description=not yet");
    expect(r.log).toContain('"name":"hello-v2.yaml"');
    expect(r.outputs).toMatchObject({
      kf_pipeline_id: DRY_RUN_IDS.pipeline,
      kf_pipeline_name: "planned",
      kf_pipeline_version_id: DRY_RUN_IDS.version,
    });
    expect(r.log).toContain("the output variables hold placeholders");
    expect(r.message).toStartWith("Dry run: would have created pipeline 'planned'");
    expect(r.summaries[0]!.content).toContain("dry run: nothing was changed");
  });

  test("adding a version: finds the real pipeline, plans the version upload, writes nothing", async () => {
    const { pipeline } = await kfp.seedPipeline({ name: "existing", file: packageFor("v2"), versionName: "v1" });
    const r = await dryRun({ kubeflowPipelineTask: "uploadNewVersion", existingPipelineName: "existing", versionName: "v2" });

    expect(r.result).toBe("Succeeded");
    expect(kfp.writes()).toEqual([]);
    expect(r.log).toContain(`Dry run: would POST /apis/v2beta1/pipelines/upload_version?pipelineid=${pipeline.id}&name=v2`);
    expect(r.outputs).toMatchObject({
      kf_pipeline_id: pipeline.id,
      kf_pipeline_version_id: DRY_RUN_IDS.version,
      kf_pipeline_version_name: "v2",
    });
  });

  test("uploadNew still finds a pipeline name that is taken", async () => {
    await kfp.seedPipeline({ name: "occupied", file: packageFor("v2") });
    const r = await dryRun({ kubeflowPipelineTask: "uploadNew", newPipelineName: "occupied" });
    expect(r.result).toBe("Failed");
    expect(r.message).toStartWith("Input 'newPipelineName': names pipeline 'occupied', which already exists");
    expect(kfp.writes()).toEqual([]);
  });

  test("still fails on a version name that is taken", async () => {
    await kfp.seedPipeline({ name: "taken", file: packageFor("v2"), versionName: "v1" });
    const r = await dryRun({ kubeflowPipelineTask: "uploadNewVersion", existingPipelineName: "taken", versionName: "v1" });
    expect(r.result).toBe("Failed");
    expect(r.message).toStartWith("Input 'versionName':");
    expect(kfp.writes()).toEqual([]);
  });
});

describe("secrets", () => {
  test("the token never shows in the log, debug mode included, even when typed as plain text", async () => {
    await withFake({ api: "v2" }, async (kfp) => {
      const r = await uploadTask(kfp, uploadNew("secret", "v2"), { variables: { "system.debug": "true" } });
      expect(r.result).toBe("Succeeded");
      expect(r.log).toContain("bearerToken=***");
      expect(r.log).not.toContain(TOKEN);
      // Registered before anything printed it: the first line holding it is the setsecret command.
      const firstLine = r.stdout.split("\n").find((line) => line.includes(TOKEN));
      expect(firstLine).toBe(`##vso[task.setsecret]${TOKEN}`);
      expect(kfp.requests.every((q) => q.authorized)).toBe(true);
    });
  });

  test("the service connection's token never shows in the log, debug mode included", async () => {
    await withFake({ api: "v1" }, async (kfp) => {
      const r = await uploadTask(kfp, uploadNew("secret", "v1"), {
        via: "service connection",
        variables: { "system.debug": "true" },
      });
      expect(r.result).toBe("Succeeded");
      expect(r.stdout.split("\n").find((line) => line.includes(TOKEN))).toBe(`##vso[task.setsecret]${TOKEN}`);
      expect(r.log).not.toContain(TOKEN);
    });
  });
});

function uploadTaskDir(): string {
  return join(REPO_ROOT, "tasks", "upload-pipeline");
}

describe("task.json", () => {
  const taskJson = (name: string) => JSON.parse(readFileSync(join(REPO_ROOT, "tasks", name, "task.json"), "utf8"));
  const task = taskJson("upload-pipeline");

  test("declares no outputVariables, allows setting exactly the outputs the task sets, and names each in its help", async () => {
    await withFake({ api: "v2" }, async (kfp) => {
      const r = await uploadTask(kfp, uploadNew("declared", "v2"));
      // A declared name would exist only as <step>.<name> on a real agent, never as the 2021 plain $(kf_*).
      expect(task.outputVariables).toBeUndefined();
      expect(task.restrictions.settableVariables.allowed).toEqual(outputVariables(r));
      for (const name of outputVariables(r)) expect(task.helpMarkDown).toContain(name);
    });
  });

  test("keeps the 2021 inputs and values, each with help", () => {
    const inputs = new Map<string, { options?: Record<string, string>; helpMarkDown?: string }>(
      task.inputs.map((i: { name: string }) => [i.name, i]),
    );
    for (const name of [
      "kubeflowEndpoint",
      "bearerToken",
      "kubeflowPipelineTask",
      "pipelineFilePath",
      "newPipelineName",
      "newPipelineDescription",
      "existingPipelineName",
      "versionName",
    ]) {
      expect(inputs.has(name)).toBe(true);
    }
    expect(Object.keys(inputs.get("kubeflowPipelineTask")!.options!)).toEqual(["uploadNew", "uploadNewVersion", "uploadNewOrVersion"]);
    for (const input of inputs.values()) expect(input.helpMarkDown).toBeTruthy();
  });

  test("has the same connection inputs as Kubeflow Experiment and Run", () => {
    const connection = (t: { inputs: { name: string; groupName?: string }[] }) => t.inputs.filter((i) => i.groupName === "connection");
    expect(connection(task)).toEqual(connection(taskJson("experiment-run")));
    expect(connection(task).map((i) => i.name)).toEqual([
      "kfpConnection",
      "kubeflowEndpoint",
      "bearerToken",
      "sessionCookie",
      "kubeflowUserId",
      "namespace",
      "apiVersion",
    ]);
  });
});
