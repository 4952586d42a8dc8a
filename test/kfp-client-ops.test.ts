/**
 * Every KfpClient operation against the fake KFP server, on KFP 1.8 (`v1`,
 * v1beta1) and KFP 2.x (`v2`, v2beta1), at the root and under the dashboard's
 * /pipeline prefix. Assertions are on what the fake received and holds.
 */

import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { FakeApi, FakeKfp, FakeKfpOptions } from "../lib/dev/fake-kfp/types.ts";
import { connectKfp, DRY_RUN_IDS } from "../lib/kfp/client.ts";
import type { KfpError } from "../lib/kfp/error.ts";
import type { KfpClient, KfpConnectOptions, PlannedWrite, RequestLogLine, Run } from "../lib/kfp/types.ts";
import { convertParameters, parsePipelineParams } from "../lib/kfp/params.ts";
import { HELLO_V2_PARAMETERS } from "./fixtures/pipelines/make.ts";
import { startFake } from "./support/fake.ts";
import { rejection } from "./support/rejection.ts";
import { checkPipelineFile } from "../lib/kfp/pipeline-file.ts";

const PIPELINES = join(import.meta.dir, "fixtures", "pipelines");
const fixture = (name: string) => join(PIPELINES, name);
/** The pipeline each fake version can hold: 1.8 only runs Argo (v1) specs. */
const packageFor = (api: FakeApi) => fixture(api === "v1" ? "hello-v1.yaml" : "hello-v2.yaml");
const fast = { attempts: 4, totalMs: 5_000, baseDelayMs: 1 };
/** The owner marker every object these clients create ends its description with. */
const OWNER = "[azp:0123456789abcdef]";
const owned = (description?: string) => (description ? `${description}\n\n${OWNER}` : OWNER);

let fakes: FakeKfp[] = [];
afterEach(async () => {
  const closing = fakes;
  fakes = [];
  for (const fake of closing) await fake.close();
});

async function setup(api: FakeApi, prefix: string, fakeOptions: FakeKfpOptions = {}, clientOptions: Partial<KfpConnectOptions> = {}) {
  const fake = await startFake({ api, prefix, ...fakeOptions });
  fakes.push(fake);
  // The user writes the host only; the client finds /pipeline itself.
  const endpoint = `${prefix ? fake.url.slice(0, -prefix.length) : fake.url}/`;
  const log: RequestLogLine[] = [];
  const client = await connectKfp({ endpoint, retry: fast, owner: OWNER, onRequest: (line) => log.push(line), ...clientOptions });
  return { fake, client, log };
}

const apiPath = (api: FakeApi) => (api === "v1" ? "/apis/v1beta1" : "/apis/v2beta1");

async function runFor(
  client: KfpClient,
  api: FakeApi,
  name = "run-1",
  parameters: Record<string, unknown> = { message: "hi" },
): Promise<Run> {
  const { pipeline, version } = await client.uploadPipeline({ file: await checkPipelineFile(packageFor(api)), name: `pipe-for-${name}` });
  const { experiment } = await client.getOrCreateExperiment({ name: "exp" });
  return client.createRun({ name, experimentId: experiment.id, pipelineId: pipeline.id, versionId: version.id, parameters });
}

for (const api of ["v1", "v2"] as const) {
  for (const prefix of ["", "/pipeline"]) {
    describe(`${api} ${prefix || "(root)"}`, () => {
      test("connect finds the base, the API version and single-user mode", async () => {
        const { fake, client } = await setup(api, prefix);
        expect(client.baseUrl).toBe(fake.url);
        expect(client.apiVersion).toBe(api === "v1" ? "v1beta1" : "v2beta1");
        expect(client.multiUser).toBe(false);
        expect(client.serverVersion).toBe(api === "v1" ? "1.8.5" : "2.5.0");
        expect(fake.writes()).toEqual([]);
      });

      test("upload a pipeline: one pipeline, one version named like it, as the fake holds them", async () => {
        const { fake, client } = await setup(api, prefix);
        const { pipeline, version } = await client.uploadPipeline({
          file: await checkPipelineFile(packageFor(api)),
          name: "hello",
          description: "from CI",
        });
        expect(fake.state.pipelines.map((p) => [p.id, p.name, p.description])).toEqual([[pipeline.id, "hello", owned("from CI")]]);
        expect(fake.state.versions.map((v) => [v.id, v.pipelineId, v.name])).toEqual([[version.id, pipeline.id, "hello"]]);
        expect(pipeline.name).toBe("hello");
        expect(version.name).toBe("hello");
        const [upload] = fake.writes();
        expect(upload!.path).toBe(`${apiPath(api)}/pipelines/upload`);
        expect(upload!.body).toEqual({ multipart: { field: "uploadfile", filename: `hello-${api}.yaml`, size: expect.any(Number) } });
        const expectedQuery: Record<string, string> =
          api === "v1"
            ? { name: "hello", description: owned("from CI") }
            : { name: "hello", display_name: "hello", description: owned("from CI") };
        expect(upload!.query).toEqual(expectedQuery);
        expect(await client.findPipeline("hello")).toEqual(pipeline);
        expect(await client.getPipeline(pipeline.id)).toEqual(pipeline);
      });

      test("archives upload too; .tgz goes as .tar.gz", async () => {
        const { fake, client } = await setup(api, prefix);
        const tarGz = fixture(api === "v1" ? "hello-v1.tar.gz" : "hello-v2.tar.gz");
        const tgz = join(await tmp(), "packed.tgz");
        await Bun.write(tgz, Bun.file(tarGz));
        await client.uploadPipeline({ file: await checkPipelineFile(tgz), name: "from-tgz" });
        await client.uploadPipeline({
          file: await checkPipelineFile(fixture(api === "v1" ? "hello-v1.zip" : "hello-v2.zip")),
          name: "from-zip",
        });
        expect(fake.writes().map((w) => (w.body as { multipart: { filename: string } }).multipart.filename)).toEqual([
          "packed.tar.gz",
          `hello-${api}.zip`,
        ]);
        expect(fake.state.pipelines.map((p) => p.name)).toEqual(["from-tgz", "from-zip"]);
      });

      test("find by exact name: missing is undefined; +, % and spaces survive the double encoding", async () => {
        const { fake, client } = await setup(api, prefix);
        expect(await client.findPipeline("nothing")).toBeUndefined();
        const odd = "a+b 100% [ci]";
        await fake.seedPipeline({ name: odd, file: packageFor(api) });
        await fake.seedPipeline({ name: "a b 100% [ci]", file: packageFor(api) });
        expect((await client.findPipeline(odd))?.name).toBe(odd);
        const list = fake.requests.filter((r) => r.method === "GET" && r.path === `${apiPath(api)}/pipelines`).at(-1)!;
        expect(list.query.page_size).toBe("200");
        const predicate = JSON.parse(decodeURIComponent(list.query.filter!)).predicates[0];
        expect(predicate).toEqual(
          api === "v1" ? { key: "name", op: "EQUALS", string_value: odd } : { key: "name", operation: "EQUALS", string_value: odd },
        );
      });

      test("duplicate pipeline name: a conflict error with a hint, nothing created", async () => {
        const { fake, client } = await setup(api, prefix);
        await client.uploadPipeline({ file: await checkPipelineFile(packageFor(api)), name: "dup" });
        const error = await rejection(client.uploadPipeline({ file: await checkPipelineFile(packageFor(api)), name: "dup" }));
        expect(error.kind).toBe("conflict");
        expect(error.status).toBe(api === "v1" ? 500 : 409);
        expect(error.message).toContain('A pipeline named "dup" already exists');
        expect(error.hint).toContain("new version");
        expect(fake.state.pipelines.length).toBe(1);
      });

      test("versions: upload, find, get, default, parameters; duplicate version is a conflict", async () => {
        const { fake, client } = await setup(api, prefix);
        const { pipeline, version: first } = await client.uploadPipeline({ file: await checkPipelineFile(packageFor(api)), name: "multi" });
        const second = await client.uploadVersion({
          file: await checkPipelineFile(packageFor(api)),
          pipelineId: pipeline.id,
          name: "multi-2",
          description: "second",
        });
        expect(second).toMatchObject({ name: "multi-2", pipelineId: pipeline.id });
        expect(fake.state.versions.map((v) => v.name)).toEqual(["multi", "multi-2"]);
        const upload = fake.writes()[1]!;
        expect(upload.path).toBe(`${apiPath(api)}/pipelines/upload_version`);
        expect(upload.query).toEqual({ pipelineid: pipeline.id, name: "multi-2", description: owned("second") });
        expect((await client.findVersion(pipeline.id, "multi-2"))?.id).toBe(second.id);
        expect(await client.findVersion(pipeline.id, "nope")).toBeUndefined();
        expect((await client.getVersion(pipeline.id, first.id)).name).toBe("multi");
        expect((await client.defaultVersion(pipeline.id))?.id).toBe(second.id);
        const specs = await client.versionParameters(pipeline.id, second.id);
        if (api === "v1") {
          expect(specs).toEqual([
            { name: "message", type: "STRING", optional: false, defaultValue: undefined },
            { name: "epochs", type: "STRING", optional: true, defaultValue: "3" },
          ]);
        } else {
          expect(specs?.map((s) => [s.name, s.type, s.optional])).toEqual(HELLO_V2_PARAMETERS);
        }
        const error = await rejection(
          client.uploadVersion({ file: await checkPipelineFile(packageFor(api)), pipelineId: pipeline.id, name: "multi-2" }),
        );
        expect(error.kind).toBe("conflict");
        expect(error.hint).toContain("unique per pipeline");
        expect(fake.state.versions.length).toBe(2);
      });

      test("unknown ids: not-found errors naming the object", async () => {
        const { client } = await setup(api, prefix);
        for (const [call, words] of [
          [() => client.getPipeline("no-such-pipeline"), "pipeline no-such-pipeline"],
          [() => client.getExperiment("no-such-exp"), "experiment no-such-exp"],
          [() => client.getRun("no-such-run"), "run no-such-run"],
        ] as const) {
          const error = await rejection(call());
          expect(error.kind).toBe("not-found");
          expect(error.message).toContain(`${words} was not found`);
          expect(error.status).toBe(404);
        }
      });

      test("experiments: getOrCreate creates once, then finds it", async () => {
        const { fake, client } = await setup(api, prefix);
        const first = await client.getOrCreateExperiment({ name: "ci", description: "CI runs" });
        const again = await client.getOrCreateExperiment({ name: "ci" });
        expect(first.created).toBe(true);
        expect(again).toEqual({ experiment: first.experiment, created: false });
        expect(fake.state.experiments.map((e) => [e.id, e.name, e.description])).toEqual([[first.experiment.id, "ci", owned("CI runs")]]);
        expect(fake.writes()[0]!.body).toEqual(
          api === "v1" ? { name: "ci", description: owned("CI runs") } : { display_name: "ci", description: owned("CI runs") },
        );
        expect((await client.getExperiment(first.experiment.id)).name).toBe("ci");
        const error = await rejection(client.createExperiment({ name: "ci" }));
        expect(error.kind).toBe("conflict");
      });

      test("getOrCreate loses a race: the create's 409 means someone else made it; use theirs", async () => {
        const { fake, client } = await setup(api, prefix);
        // The lookup sees nothing (as if just before the other creator), then the create collides.
        const theirs = fake.seedExperiment({ name: "raced" });
        fake.fault({ method: "GET", path: `${apiPath(api)}/experiments`, fault: { status: 200, body: {} } });
        const result = await client.getOrCreateExperiment({ name: "raced" });
        expect(result).toEqual({ experiment: expect.objectContaining({ id: theirs.id, name: "raced" }), created: false });
        expect(fake.state.experiments.length).toBe(1);
      });

      test("runs: create with the server's ids, read back, terminate", async () => {
        const { fake, client } = await setup(api, prefix);
        const { pipeline, version } = await client.uploadPipeline({ file: await checkPipelineFile(packageFor(api)), name: "p" });
        const { experiment } = await client.getOrCreateExperiment({ name: "exp" });
        const specs = await client.versionParameters(pipeline.id, version.id);
        const parameters = convertParameters(parsePipelineParams("message=hello\nepochs=5"), specs, client.apiVersion);
        const run = await client.createRun({
          name: "run-1",
          description: "d",
          experimentId: experiment.id,
          pipelineId: pipeline.id,
          versionId: version.id,
          parameters,
          serviceAccount: "pipeline-runner",
        });
        const stored = fake.state.runs[0]!;
        expect(run).toMatchObject({ id: stored.id, name: "run-1", experimentId: experiment.id, state: "" });
        expect(stored).toMatchObject({ experimentId: experiment.id, versionId: version.id, serviceAccount: "pipeline-runner" });
        expect(stored.parameters).toEqual(api === "v1" ? { message: "hello", epochs: "5" } : { message: "hello", epochs: 5 });
        const body = fake.writes().at(-1)!.body;
        if (api === "v1") {
          expect(body).toEqual({
            name: "run-1",
            description: owned("d"),
            pipeline_spec: {
              parameters: [
                { name: "message", value: "hello" },
                { name: "epochs", value: "5" },
              ],
            },
            resource_references: [
              { key: { type: "EXPERIMENT", id: experiment.id }, relationship: "OWNER" },
              { key: { type: "PIPELINE_VERSION", id: version.id }, relationship: "CREATOR" },
            ],
            service_account: "pipeline-runner",
          });
        } else {
          expect(body).toEqual({
            display_name: "run-1",
            description: owned("d"),
            experiment_id: experiment.id,
            pipeline_version_reference: { pipeline_id: pipeline.id, pipeline_version_id: version.id },
            runtime_config: { parameters: { message: "hello", epochs: 5 } },
            service_account: "pipeline-runner",
          });
        }
        expect((await client.getRun(run.id)).state).toBe(api === "v1" ? "Pending" : "PENDING");
        await client.terminateRun(run.id);
        expect(fake.writes().at(-1)!.path).toBe(
          api === "v1" ? `/apis/v1beta1/runs/${run.id}/terminate` : `/apis/v2beta1/runs/${run.id}:terminate`,
        );
        expect(fake.state.runs[0]!.terminated).toBe(true);
      });

      test("dry run: reads are made, no write is sent, each planned write is reported", async () => {
        const planned: PlannedWrite[] = [];
        const { fake, client } = await setup(api, prefix, {}, { dryRun: true, onPlannedWrite: (w) => planned.push(w) });
        const { pipeline, version } = await client.uploadPipeline({ file: await checkPipelineFile(packageFor(api)), name: "dry" });
        expect(pipeline.id).toBe(DRY_RUN_IDS.pipeline);
        expect(version.id).toBe(DRY_RUN_IDS.version);
        expect(await client.getPipeline(pipeline.id)).toEqual(pipeline);
        expect(await client.versionParameters(pipeline.id, version.id)).toBeUndefined();
        const { experiment, created } = await client.getOrCreateExperiment({ name: "dry-exp" });
        expect([experiment.id, created]).toEqual([DRY_RUN_IDS.experiment, true]);
        const run = await client.createRun({
          name: "dry-run",
          experimentId: experiment.id,
          pipelineId: pipeline.id,
          versionId: version.id,
          parameters: {},
        });
        expect(run.id).toBe(DRY_RUN_IDS.run);
        expect(await client.waitForRun(run.id, { intervalMs: 1, timeoutMs: 10 })).toEqual({ timedOut: true, run });
        expect(fake.writes()).toEqual([]);
        expect(fake.state.pipelines).toEqual([]);
        expect(planned.map((w) => `${w.method} ${w.path.split("?")[0]}`)).toEqual([
          `POST ${prefix}${apiPath(api)}/pipelines/upload`,
          `POST ${prefix}${apiPath(api)}/experiments`,
          `POST ${prefix}${apiPath(api)}/runs`,
        ]);
        expect(planned[0]!.body).toEqual({ file: packageFor(api), size: expect.any(Number), name: `hello-${api}.yaml` });
        expect(planned[1]!.body).toEqual(
          api === "v1" ? { name: "dry-exp", description: OWNER } : { display_name: "dry-exp", description: OWNER },
        );
      });

      test("log lines carry the prefix, method, status and attempt, and no credentials", async () => {
        const { log, client } = await setup(api, prefix, { token: "tok-123456789" }, { auth: { kind: "bearer", token: "tok-123456789" } });
        await client.findPipeline("x");
        expect(log.at(-1)).toMatchObject({ method: "GET", status: 200, attempt: 1 });
        expect(log.at(-1)!.path.startsWith(`${prefix}${apiPath(api)}/pipelines?filter={"predicates"`)).toBe(true);
        expect(JSON.stringify(log)).not.toContain("tok-123456789");
      });
    });
  }
}

for (const api of ["v1", "v2"] as const) {
  describe(`${api} run states`, () => {
    /** Each end state as each API reports it: [its state word, the outcome]. */
    const expected = {
      SUCCEEDED: { v1: ["Succeeded", "succeeded"], v2: ["SUCCEEDED", "succeeded"] },
      FAILED: { v1: ["Failed", "failed"], v2: ["FAILED", "failed"] },
      SKIPPED: { v1: ["Skipped", "skipped"], v2: ["SKIPPED", "skipped"] },
      CANCELED: { v1: ["Failed", "failed"], v2: ["CANCELED", "canceled"] },
      ERROR: { v1: ["Error", "failed"], v2: ["FAILED", "failed"] },
    } as const;

    for (const end of ["SUCCEEDED", "FAILED", "SKIPPED", "CANCELED", "ERROR"] as const) {
      test(`a run ending ${end}: waitForRun returns it with its outcome; one GET per poll`, async () => {
        const { fake, client } = await setup(api, "");
        const failing = end === "FAILED" || end === "ERROR";
        fake.scriptRun({ states: ["", "PENDING", "RUNNING", "RUNNING"], end, ...(failing ? { error: "step train failed: exit 1" } : {}) });
        const run = await runFor(client, api);
        const changes: string[] = [];
        let polls = 0;
        const result = await client.waitForRun(run.id, {
          intervalMs: 1,
          timeoutMs: 10_000,
          onPoll: (r) => {
            polls++;
            if (changes.at(-1) !== r.state) changes.push(r.state);
          },
        });
        const [state, outcome] = expected[end][api];
        expect(result).toMatchObject({ id: run.id, state, outcome });
        expect(changes).toEqual(api === "v1" ? ["", "Pending", "Running", state] : ["", "PENDING", "RUNNING", state]);
        expect(fake.requests.filter((r) => r.method === "GET" && r.path.endsWith(`/runs/${run.id}`)).length).toBe(polls);
        if (failing) expect((result as Run).error).toBe("step train failed: exit 1");
        if (!("timedOut" in result) && result.finishedAt) expect(Date.parse(result.finishedAt)).toBeGreaterThan(0);
      });
    }

    test("a bad poll (503, then a reset) is retried and the wait goes on", async () => {
      const { fake, client } = await setup(api, "");
      fake.scriptRun({ states: ["RUNNING"], end: "SUCCEEDED" });
      const run = await runFor(client, api);
      const path = `${apiPath(api)}/runs/${run.id}`;
      fake.fault({ method: "GET", path, fault: { status: 503 } });
      fake.fault({ method: "GET", path, fault: { reset: "before-read" } });
      const result = await client.waitForRun(run.id, { intervalMs: 1, timeoutMs: 10_000 });
      expect(result).toMatchObject({ outcome: "succeeded" });
    });

    test(
      "a persistent fault outlasts the retry budget but not the wait: " +
        "it fails once the run's timeout passed, saying the run may still be running",
      async () => {
        const { fake, client } = await setup(api, "");
        const run = await runFor(client, api);
        const path = `${apiPath(api)}/runs/${run.id}`;
        fake.fault({ method: "GET", path, fault: { status: 503 }, times: Infinity });
        const error = await rejection(client.waitForRun(run.id, { intervalMs: 1, timeoutMs: 300 }));
        expect(error.status).toBe(503);
        expect(error.message).toMatch(
          new RegExp(`^wait for run ${run.id} gave up: KFP has not answered for \\d+ms and the run's timeout has passed`),
        );
        expect(error.message).toContain(`get run ${run.id} failed: HTTP 503 from GET ${path}`);
        expect(error.message).toContain(`The run may still be running: ${fake.url}/#/runs/details/${run.id} (run ${run.id}).`);
        // Polled past the retry budget of one poll (4 attempts).
        expect(fake.requests.filter((r) => r.path === path).length).toBeGreaterThan(fast.attempts);
      },
    );

    test("the wait times out with the last state", async () => {
      const { client } = await setup(api, "");
      const run = await runFor(client, api);
      const result = await client.waitForRun(run.id, { intervalMs: 5, timeoutMs: 40 });
      expect(result).toMatchObject({ timedOut: true, run: { id: run.id, state: api === "v1" ? "Pending" : "PENDING" } });
    });

    test("an abort ends the wait at once and leaves the run alone", async () => {
      const { fake, client } = await setup(api, "");
      const run = await runFor(client, api);
      const controller = new AbortController();
      const waiting = client.waitForRun(run.id, {
        intervalMs: 60_000,
        timeoutMs: 600_000,
        signal: controller.signal,
        onPoll: () => controller.abort(new Error("pipeline canceled")),
      });
      await expect(waiting).rejects.toThrow("pipeline canceled");
      expect(fake.state.runs[0]!.polls).toBe(1);
      expect(fake.state.runs[0]!.terminated).toBe(false);
    });

    test("terminate while running: the run ends canceled (v1: Failed, 'terminated')", async () => {
      const { client } = await setup(api, "");
      const run = await runFor(client, api);
      await client.getRun(run.id);
      await client.terminateRun(run.id);
      const result = await client.waitForRun(run.id, { intervalMs: 1, timeoutMs: 10_000 });
      expect(result).toMatchObject(
        api === "v1" ? { state: "Failed", outcome: "failed", error: "terminated" } : { state: "CANCELED", outcome: "canceled" },
      );
    });
  });
}

describe("v2 specifics", () => {
  test("steps from task details, without the root DAG and drivers", async () => {
    const { fake, client } = await setup("v2", "");
    fake.scriptRun({
      states: ["RUNNING"],
      end: "FAILED",
      steps: [
        { name: "root", state: "RUNNING" },
        { name: "root-driver", state: "SUCCEEDED" },
        { name: "preprocess", state: "SUCCEEDED" },
        { name: "train-driver", state: "SUCCEEDED" },
        { name: "train", state: "FAILED" },
        { name: "evaluate", state: "RUNNING" },
      ],
    });
    const run = await runFor(client, "v2");
    const seen = await client.getRun(run.id);
    expect(seen.steps).toEqual({
      total: 3,
      done: 2,
      running: ["evaluate"],
      failed: ["train"],
      list: [
        { name: "preprocess", state: "SUCCEEDED" },
        { name: "train", state: "FAILED" },
        { name: "evaluate", state: "RUNNING" },
      ],
    });
  });

  test("typed parameters: wrong types and unknown names fail before the run is created", async () => {
    const { fake, client } = await setup("v2", "");
    const { pipeline, version } = await client.uploadPipeline({ file: await checkPipelineFile(packageFor("v2")), name: "typed" });
    const specs = await client.versionParameters(pipeline.id, version.id);
    const params = parsePipelineParams('{"message": "m", "epochs": "3.5", "flag": "maybe", "tagz": "[1]"}');
    let error: KfpError | undefined;
    try {
      convertParameters(params, specs, "v2beta1");
    } catch (e) {
      error = e as KfpError;
    }
    expect(error?.kind).toBe("invalid");
    expect(error?.message).toContain('no parameter "tagz"');
    expect(error?.message).toContain('"epochs" is NUMBER_INTEGER');
    expect(error?.message).toContain('"flag" is BOOLEAN');
    const ok = convertParameters(
      parsePipelineParams('message=m\nepochs=3\nlearning_rate=0.01\nflag=true\ntags=["a"]\nconfig={"k":1}'),
      specs,
      "v2beta1",
    );
    const { experiment } = await client.getOrCreateExperiment({ name: "e" });
    await client.createRun({
      name: "typed-run",
      experimentId: experiment.id,
      pipelineId: pipeline.id,
      versionId: version.id,
      parameters: ok,
    });
    expect(fake.state.runs[0]!.parameters).toEqual({
      message: "m",
      epochs: 3,
      learning_rate: 0.01,
      flag: true,
      tags: ["a"],
      config: { k: 1 },
    });
  });

  test("the server's own type check still shows KFP's message (unconverted values)", async () => {
    const { fake, client } = await setup("v2", "");
    const { pipeline, version } = await client.uploadPipeline({ file: await checkPipelineFile(packageFor("v2")), name: "p" });
    const { experiment } = await client.getOrCreateExperiment({ name: "e" });
    const error = await rejection(
      client.createRun({
        name: "r",
        experimentId: experiment.id,
        pipelineId: pipeline.id,
        versionId: version.id,
        parameters: { message: "m", nope: 1 },
      }),
    );
    expect(error.status).toBe(400);
    expect(error.kfpMessage).toContain("not required by pipeline");
    expect(error.message).toContain('create run "r" failed');
    expect(fake.state.runs).toEqual([]);
  });

  test("KFP 2.0 answers a duplicate upload with 500 'already exist': still a conflict", async () => {
    const { fake, client } = await setup("v2", "", { serverVersion: "2.0.5" });
    await client.uploadPipeline({ file: await checkPipelineFile(packageFor("v2")), name: "dup" });
    const error = await rejection(client.uploadPipeline({ file: await checkPipelineFile(packageFor("v2")), name: "dup" }));
    expect([error.kind, error.status]).toEqual(["conflict", 500]);
    expect(fake.state.pipelines.length).toBe(1);
  });

  test("KFP 2.14+ (strict bodies, separate display names) works the same", async () => {
    const { fake, client } = await setup("v2", "/pipeline", { serverVersion: "2.16.0" });
    const run = await runFor(client, "v2");
    expect(fake.state.runs[0]!.id).toBe(run.id);
    expect(fake.state.pipelines[0]!.displayName).toBe("pipe-for-run-1");
  });
});

describe("request headers", () => {
  test("every request names the client in User-Agent and asks for JSON", async () => {
    const { fake, client } = await setup("v2", "");
    await client.getOrCreateExperiment({ name: "ua" });
    expect(fake.requests.length).toBeGreaterThan(1);
    for (const request of fake.requests) {
      expect(request.headers["user-agent"]).toStartWith("kubeflow-pipelines-azure-devops-tasks/");
      expect(request.headers.accept).toBe("application/json");
    }
  });
});

describe("multi-user", () => {
  for (const api of ["v1", "v2"] as const) {
    test(`${api}: namespace scopes lookups and writes; another namespace's objects are not seen`, async () => {
      const { fake, client } = await setup(api, "/pipeline", { multiUser: true }, { namespace: "team-a", userId: "alice@example.com" });
      expect(client.multiUser).toBe(true);
      expect(client.namespace).toBe("team-a");
      fake.seedExperiment({ name: "shared-name", namespace: "team-b" });
      const { experiment, created } = await client.getOrCreateExperiment({ name: "shared-name" });
      expect(created).toBe(true);
      expect(fake.state.experiments.find((e) => e.id === experiment.id)?.namespace).toBe("team-a");
      const { pipeline } = await client.uploadPipeline({ file: await checkPipelineFile(packageFor(api)), name: "private" });
      expect(fake.state.pipelines[0]).toMatchObject({ id: pipeline.id, namespace: "team-a" });
      expect((await client.findPipeline("private"))?.id).toBe(pipeline.id);
      const lookups = fake.requests.filter((r) => r.method === "GET" && /\/(experiments|pipelines)$/.test(r.path));
      for (const lookup of lookups) {
        if (api === "v1")
          expect(lookup.query).toMatchObject({ "resource_reference_key.type": "NAMESPACE", "resource_reference_key.id": "team-a" });
        else expect(lookup.query.namespace).toBe("team-a");
      }
      expect(fake.requests.every((r) => r.headers["kubeflow-userid"] === "alice@example.com")).toBe(true);
      const create = fake.writes().find((w) => w.path.endsWith("/experiments"))!;
      expect(create.body).toEqual(
        api === "v1"
          ? {
              name: "shared-name",
              description: OWNER,
              resource_references: [{ key: { type: "NAMESPACE", id: "team-a" }, relationship: "OWNER" }],
            }
          : { display_name: "shared-name", description: OWNER, namespace: "team-a" },
      );
      const run = await client.createRun({
        name: "r",
        experimentId: experiment.id,
        pipelineId: pipeline.id,
        versionId: (await client.defaultVersion(pipeline.id))!.id,
        parameters: { message: "x" },
      });
      expect(fake.state.runs[0]).toMatchObject({ id: run.id, namespace: "team-a" });
    });
  }

  for (const api of ["v1", "v2"] as const) {
    test(`${api}: a pipeline not in the namespace is found among shared pipelines, never in another namespace`, async () => {
      const { fake, client } = await setup(api, "", { multiUser: true }, { namespace: "team-a", userId: "alice@example.com" });
      const file = packageFor(api);
      const shared = await fake.seedPipeline({ name: "shared-pipe", file, namespace: "" });
      await fake.seedPipeline({ name: "their-pipe", file, namespace: "team-b" });
      expect((await client.findPipeline("shared-pipe"))?.id).toBe(shared.pipeline.id);
      expect(await client.findPipeline("their-pipe")).toBeUndefined();
      const lookups = fake.requests.filter((r) => r.method === "GET" && r.path.endsWith("/pipelines"));
      // Each name: the namespace first, then the shared pipelines.
      expect(lookups.length).toBe(4);
    });
  }

  test("without identity the server says so; the error names credentials", async () => {
    const { client } = await setup("v2", "", { multiUser: true }, { namespace: "team-a" });
    const error = await rejection(client.findPipeline("x"));
    expect(error.status).toBe(401);
    expect(error.message).toContain("credentials rejected");
  });

  test("a single-user server ignores the namespace (it would hide everything)", async () => {
    const { fake, client } = await setup("v1", "", {}, { namespace: "team-a" });
    expect(client.namespace).toBeUndefined();
    await client.getOrCreateExperiment({ name: "e" });
    expect(fake.requests.some((r) => "resource_reference_key.type" in r.query)).toBe(false);
  });
});

describe("auth against the fake", () => {
  test("bearer token and cookie are accepted; wrong ones are credentials errors without the secret", async () => {
    const { client } = await setup("v2", "", { token: "right-token-1" }, { auth: { kind: "bearer", token: "right-token-1" } });
    expect(await client.findPipeline("x")).toBeUndefined();
    const cookie = await setup(
      "v2",
      "",
      { cookie: "authservice_session=sess-42424242" },
      { auth: { kind: "cookie", cookie: "authservice_session=sess-42424242" } },
    );
    expect(await cookie.client.findPipeline("x")).toBeUndefined();
    const fake = await startFake({ api: "v2", token: "right-token-1" });
    fakes.push(fake);
    const error = await rejection(
      connectKfp({ endpoint: fake.url, retry: fast, auth: { kind: "bearer", token: "wrong-token-9" } }).then((c) => c.findPipeline("x")),
    );
    expect(error.status).toBe(401);
    expect(error.message).not.toContain("wrong-token-9");
  });

  for (const loginPage of ["redirect", "html"] as const) {
    test(`a Dex login page (${loginPage}) is reported as an auth proxy`, async () => {
      const fake = await startFake({ api: "v2", prefix: "/pipeline", loginPage, token: "t" });
      fakes.push(fake);
      const error = await rejection(connectKfp({ endpoint: fake.url, retry: fast }));
      expect(error.kind).toBe("login-page");
      expect(error.message).toContain("authentication proxy");
      expect(fake.writes()).toEqual([]);
    });
  }
});

describe("paging", () => {
  for (const api of ["v1", "v2"] as const) {
    test(`${api}: a lost run answer pages through 250 same-named runs (same filter with page_token) to adopt the right one`, async () => {
      const { fake, client } = await setup(api, "");
      // Earlier nights: the same run name, from other jobs.
      const earlier = await connectKfp({ endpoint: fake.url, retry: fast, owner: "[azp:fedcba9876543210]" });
      const { pipeline, version } = await client.uploadPipeline({ file: await checkPipelineFile(packageFor(api)), name: "p" });
      const { experiment } = await client.getOrCreateExperiment({ name: "nightly" });
      const req = {
        name: "nightly",
        experimentId: experiment.id,
        pipelineId: pipeline.id,
        versionId: version.id,
        parameters: { message: "x" },
      };
      for (let i = 0; i < 250; i++) await earlier.createRun(req);
      fake.fault({ method: "POST", path: `${apiPath(api)}/runs`, fault: { reset: "after-read" } });
      const run = await client.createRun(req);
      expect(fake.state.runs.length).toBe(251);
      expect(run.id).toBe(fake.state.runs[250]!.id);
      const pages = fake.requests.filter((r) => r.method === "GET" && r.path === `${apiPath(api)}/runs`);
      expect(pages.length).toBe(2);
      expect(pages[1]!.query.page_token).toBeTruthy();
      expect(pages[1]!.query.filter).toBe(pages[0]!.query.filter);
    });
  }
});

/** Folders made by tmp(), removed when the file's tests end. */
const tmpFolders: string[] = [];
afterAll(async () => {
  const { rm } = await import("node:fs/promises");
  await Promise.all(tmpFolders.map((folder) => rm(folder, { recursive: true, force: true })));
});

async function tmp(): Promise<string> {
  const { mkdtemp } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  const folder = await mkdtemp(join(tmpdir(), "kfp-client-"));
  tmpFolders.push(folder);
  return folder;
}
