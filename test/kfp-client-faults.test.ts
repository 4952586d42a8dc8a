/**
 * Every fault kind on every write, on both API versions: afterwards the object
 * exists exactly once and the caller holds its id, or the caller gets a clear
 * error naming the operation (and nothing was created twice).
 */

import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { FakeApi, FakeKfp, FaultKind, RecordedRequest } from "../lib/dev/fake-kfp/types.ts";
import { connectKfp } from "../lib/kfp/client.ts";
import { KfpError } from "../lib/kfp/error.ts";
import { KfpHttp } from "../lib/kfp/http.ts";
import type { KfpClient } from "../lib/kfp/types.ts";
import { startFake } from "./support/fake.ts";
import { rejection } from "./support/rejection.ts";
import { checkPipelineFile } from "../lib/kfp/pipeline-file.ts";

const PIPELINES = join(import.meta.dir, "fixtures", "pipelines");
const packageFor = (api: FakeApi) => join(PIPELINES, api === "v1" ? "hello-v1.yaml" : "hello-v2.yaml");
const retry = { attempts: 4, totalMs: 10_000, baseDelayMs: 1 };
/** Short enough that a delayed answer times out; reads that happen to be slow are retried anyway. */
const REQUEST_TIMEOUT_MS = 250;

let fakes: FakeKfp[] = [];
afterEach(async () => {
  const closing = fakes;
  fakes = [];
  for (const fake of closing) await fake.close();
});

interface World {
  fake: FakeKfp;
  client: KfpClient;
  pipelineId: string;
  versionId: string;
  experimentId: string;
}

async function world(api: FakeApi): Promise<World> {
  const fake = await startFake({ api });
  fakes.push(fake);
  const { pipeline, version } = await fake.seedPipeline({ name: "seeded", file: packageFor(api) });
  const experiment = fake.seedExperiment({ name: "seeded-exp" });
  const client = await connectKfp({ endpoint: fake.url, retry, requestTimeoutMs: REQUEST_TIMEOUT_MS });
  return { fake, client, pipelineId: pipeline.id, versionId: version.id, experimentId: experiment.id };
}

/** A run of the seeded pipeline, in the seeded experiment. */
function startRun(w: World, name: string) {
  return w.client.createRun({
    name,
    experimentId: w.experimentId,
    pipelineId: w.pipelineId,
    versionId: w.versionId,
    parameters: { message: "x" },
  });
}

interface Write {
  /** The request path after /apis/<version>. */
  path: string;
  operation: string;
  act(w: World, api: FakeApi): Promise<{ id: string }>;
  /** Stored objects this write creates, by the name it uses. */
  stored(w: World): { id: string }[];
}

const WRITES: Record<string, Write> = {
  "upload pipeline": {
    path: "/pipelines/upload",
    operation: 'upload pipeline "new-pipe"',
    act: async (w, api) => (await w.client.uploadPipeline({ file: await checkPipelineFile(packageFor(api)), name: "new-pipe" })).pipeline,
    stored: (w) => w.fake.state.pipelines.filter((p) => p.name === "new-pipe"),
  },
  "upload version": {
    path: "/pipelines/upload_version",
    operation: 'upload version "v-2"',
    act: async (w, api) =>
      w.client.uploadVersion({ file: await checkPipelineFile(packageFor(api)), pipelineId: w.pipelineId, name: "v-2" }),
    stored: (w) => w.fake.state.versions.filter((v) => v.name === "v-2"),
  },
  "create experiment": {
    path: "/experiments",
    operation: 'create experiment "new-exp"',
    act: (w) => w.client.createExperiment({ name: "new-exp" }),
    stored: (w) => w.fake.state.experiments.filter((e) => e.name === "new-exp"),
  },
  "create run": {
    path: "/runs",
    operation: 'create run "run-x"',
    act: (w) =>
      w.client.createRun({
        name: "run-x",
        experimentId: w.experimentId,
        pipelineId: w.pipelineId,
        versionId: w.versionId,
        parameters: { message: "hi" },
      }),
    stored: (w) => w.fake.state.runs.filter((r) => r.name === "run-x"),
  },
};

/** Faults where KFP may have acted: the client must look before re-sending. */
const AMBIGUOUS: Record<string, FaultKind> = {
  "500": { status: 500 },
  "502": { status: 502, body: "upstream connect error" },
  "503": { status: 503 },
  "504": { status: 504 },
  "reset before reading": { reset: "before-read" },
  "reset after processing": { reset: "after-read" },
  "answer slower than the timeout": { delayMs: REQUEST_TIMEOUT_MS * 4 },
  // KFP acts on the request only after the client gave up on it: it is still in flight when the client times out.
  "slow accept (created after the client's timeout)": { slowAcceptMs: REQUEST_TIMEOUT_MS * 1.2 },
};

/** Faults that never reached KFP: re-sent directly. */
const NEVER_REACHED: Record<string, FaultKind> = {
  "429 with Retry-After": { status: 429, retryAfterSeconds: 0 },
};

const versionPath = (api: FakeApi) => (api === "v1" ? "/apis/v1beta1" : "/apis/v2beta1");

/** The requests after connecting: what the write did. */
function sequence(fake: FakeKfp): string[] {
  return fake.requests
    .filter((r) => !r.path.endsWith("/healthz"))
    .map((r: RecordedRequest) => `${r.method} ${r.path.replace(/^\/apis\/v[12]beta1/, "")}${r.fault ? " (fault)" : ""}`);
}

for (const api of ["v1", "v2"] as const) {
  for (const [writeName, write] of Object.entries(WRITES)) {
    describe(`${api} ${writeName}`, () => {
      for (const [faultName, fault] of Object.entries(AMBIGUOUS)) {
        test(`${faultName} once: exactly one object, and its id is returned`, async () => {
          const w = await world(api);
          w.fake.fault({ method: "POST", path: versionPath(api) + write.path, fault });
          const result = await write.act(w, api);
          const stored = write.stored(w);
          expect(stored.length).toBe(1);
          expect(result.id).toBe(stored[0]!.id);
          const steps = sequence(w.fake);
          const posts = steps.filter((s) => s.startsWith(`POST ${write.path}`));
          // It looked before anything else was sent again.
          const firstLookup = steps.findIndex((s) => s.startsWith("GET "));
          expect(firstLookup).toBeGreaterThan(steps.indexOf(posts[0]!));
          const processed = "reset" in fault ? fault.reset === "after-read" : "delayMs" in fault || "slowAcceptMs" in fault;
          // When KFP did the work the answer was adopted; otherwise it was sent once more.
          expect(posts.length).toBe(processed ? 1 : 2);
        });
      }

      for (const [faultName, fault] of Object.entries(NEVER_REACHED)) {
        test(`${faultName}: re-sent without a lookup`, async () => {
          const w = await world(api);
          w.fake.fault({ method: "POST", path: versionPath(api) + write.path, fault });
          const result = await write.act(w, api);
          expect(write.stored(w).map((o) => o.id)).toEqual([result.id]);
          const steps = sequence(w.fake);
          const posts = steps.filter((s) => s.startsWith(`POST ${write.path}`));
          expect(posts.length).toBe(2);
          expect(steps.slice(steps.indexOf(posts[0]!), steps.lastIndexOf(posts[1]!)).some((s) => s.startsWith("GET"))).toBe(false);
        });
      }

      test("persistent 503: a clear error naming the operation and status, nothing created", async () => {
        const w = await world(api);
        w.fake.fault({ method: "POST", path: versionPath(api) + write.path, fault: { status: 503 }, times: Infinity });
        let error: KfpError | undefined;
        try {
          await write.act(w, api);
        } catch (e) {
          error = e as KfpError;
        }
        expect(error).toBeInstanceOf(KfpError);
        expect(error!.status).toBe(503);
        expect(error!.message).toContain(`${write.operation}`);
        expect(error!.message).toContain(`after ${retry.attempts} attempts`);
        expect(write.stored(w).length).toBe(0);
      });

      test("persistent resets after processing: the first attempt's object is adopted, never a second", async () => {
        const w = await world(api);
        w.fake.fault({ method: "POST", path: versionPath(api) + write.path, fault: { reset: "after-read" }, times: Infinity });
        const result = await write.act(w, api);
        expect(write.stored(w).map((o) => o.id)).toEqual([result.id]);
      });

      test(
        "the first lookup misses our object (lagging list): it is looked for again before any re-send, " + "and nothing is duplicated",
        async () => {
          const w = await world(api);
          w.fake.fault({ method: "POST", path: versionPath(api) + write.path, fault: { reset: "after-read" } });
          // The first look after the lost answer sees an empty list.
          w.fake.fault({
            method: "GET",
            path: new RegExp(
              `${
                write.path === "/runs"
                  ? "/runs"
                  : write.path === "/experiments"
                    ? "/experiments"
                    : write.path === "/pipelines/upload"
                      ? "/pipelines"
                      : "/pipeline_versions|/versions"
              }$`,
            ),
            fault: { status: 200, body: {} },
          });
          const result = await write.act(w, api);
          expect(write.stored(w).map((o) => o.id)).toEqual([result.id]);
          expect(w.fake.writes().filter((r) => r.path.endsWith(write.path))).toHaveLength(1);
        },
      );
    });
  }

  test(`${api}: the last allowed attempt's lost answer is still looked up, not reported as a failure`, async () => {
    const w = await world(api);
    const client = await connectKfp({ endpoint: w.fake.url, retry: { attempts: 1 }, requestTimeoutMs: REQUEST_TIMEOUT_MS });
    w.fake.fault({ method: "POST", path: `${versionPath(api)}/experiments`, fault: { reset: "after-read" } });
    const experiment = await client.createExperiment({ name: "only-once" });
    expect(w.fake.state.experiments.filter((e) => e.name === "only-once").map((e) => e.id)).toEqual([experiment.id]);
  });

  test(`${api}: an older object of the same name is not adopted after a lost answer`, async () => {
    const w = await world(api);
    // An experiment "new-exp" made long ago; our create's answer is lost, and KFP refused it (409/500).
    const old = w.fake.seedExperiment({ name: "new-exp" });
    old.createdAt = new Date(Date.now() - 3_600_000).toISOString();
    w.fake.fault({ method: "POST", path: `${versionPath(api)}/experiments`, fault: { status: 503 } });
    let error: KfpError | undefined;
    try {
      await w.client.createExperiment({ name: "new-exp" });
    } catch (e) {
      error = e as KfpError;
    }
    expect(error?.kind).toBe("conflict");
    expect(w.fake.state.experiments.filter((e) => e.name === "new-exp").length).toBe(1);
  });

  test(`${api}: terminate is re-sent after a lost answer (terminating twice is harmless)`, async () => {
    const w = await world(api);
    const run = await startRun(w, "r");
    const path = api === "v1" ? `/apis/v1beta1/runs/${run.id}/terminate` : `/apis/v2beta1/runs/${run.id}:terminate`;
    w.fake.fault({ method: "POST", path, fault: { status: 503 } });
    await w.client.terminateRun(run.id);
    expect(w.fake.state.runs[0]!.terminated).toBe(true);
  });

  test(`${api}: a 100 MiB answer is not read: the read fails at once, naming the request, and is not retried`, async () => {
    const w = await world(api);
    const run = await startRun(w, "big");
    const path = `${versionPath(api)}/runs/${run.id}`;
    w.fake.fault({ method: "GET", path, fault: { oversizedAnswerBytes: 100 * 1024 * 1024 }, times: Infinity });
    const error = await rejection(w.client.getRun(run.id));
    expect(error.kind).toBe("protocol");
    expect(error.message).toBe(
      `get run ${run.id} failed: GET ${path} answered with more than 64 MiB (it announced 100 MiB), far more than KFP sends; ` +
        "it was not read. Check that the endpoint points at Kubeflow Pipelines, not at another service or a proxy's error page.",
    );
    expect(w.fake.requests.filter((r) => r.path === path)).toHaveLength(1);
  });
}

describe("connection refused", () => {
  test("a write whose connection was refused is re-sent without a lookup", async () => {
    const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    const port = probe.port;
    probe.stop(true);
    const seen: string[] = [];
    let server: ReturnType<typeof Bun.serve> | undefined;
    const http = new KfpHttp({
      baseUrl: `http://127.0.0.1:${port}`,
      retry,
      // Bring the server up once the first attempt has been refused.
      onRequest: (line) => {
        if (line.status === "error" && !server) {
          server = Bun.serve({
            hostname: "127.0.0.1",
            port,
            fetch: (req) => (seen.push(`${req.method} ${new URL(req.url).pathname}`), Response.json({ experiment_id: "e1" })),
          });
        }
      },
    });
    let lookups = 0;
    const result = await http.write(
      { method: "POST", path: "/apis/v2beta1/experiments", json: { display_name: "x" } },
      { operation: "create experiment" },
      { parse: (body) => body, adopt: async () => (lookups++, undefined) },
    );
    server?.stop(true);
    expect(result).toEqual({ experiment_id: "e1" });
    expect(lookups).toBe(0);
    expect(seen).toEqual(["POST /apis/v2beta1/experiments"]);
  });
});
