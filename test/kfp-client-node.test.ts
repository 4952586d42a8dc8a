/**
 * The KFP client under Node 20, as the task bundles run it (the other tests run
 * it under Bun, whose node:http is its own implementation): a scenario
 * script is bundled with esbuild like the tasks and run with `node` against the
 * fake KFP server or a tiny local server.
 */

import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FakeKfp } from "../lib/dev/fake-kfp/types.ts";
import { startFake } from "./support/fake.ts";
import { bundleForNode } from "./support/node-script.ts";

const CLIENT = join(import.meta.dir, "..", "lib", "kfp", "client.ts");
const CHECK = join(import.meta.dir, "..", "lib", "kfp", "pipeline-file.ts");
const PACKAGE = join(import.meta.dir, "fixtures", "pipelines", "hello-v2.yaml");

const SCENARIO = `
import { connectKfp } from ${JSON.stringify(CLIENT)};
import { checkPipelineFile } from ${JSON.stringify(CHECK)};
async function main() {
  const [endpoint, scenario, file] = process.argv.slice(2);
  const timeout = Number(process.env.KFP_TIMEOUT_MS || 30000);
  const lines = [];
  try {
    const kfp = await connectKfp({
      endpoint,
      retry: { attempts: 4, totalMs: 10000, baseDelayMs: 1 },
      requestTimeoutMs: timeout,
      onRequest: (l) => lines.push(l),
    });
    if (scenario === "connect") return { ok: true, base: kfp.baseUrl, api: kfp.apiVersion };
    const up = await kfp.uploadPipeline({ file: await checkPipelineFile(file), name: "node-pipe" });
    if (scenario === "upload") return { ok: true, pipelineId: up.pipeline.id, versionId: up.version.id, lines };
    const exp = await kfp.createExperiment({ name: "node-exp" });
    const run = await kfp.createRun({
      name: "node-run",
      experimentId: exp.id,
      pipelineId: up.pipeline.id,
      versionId: up.version.id,
      parameters: { message: "hi", epochs: 2 },
    });
    return { ok: true, runId: run.id, lines };
  } catch (error) {
    return { ok: false, name: error.name, kind: error.kind, message: error.message, lines };
  }
}
main().then((result) => console.log(JSON.stringify(result)));
`;

let dir: string;
let script: string;
let fake: FakeKfp | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kfp-node-"));
  script = await bundleForNode(dir, "scenario", SCENARIO);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

interface Outcome {
  ok: boolean;
  kind?: string;
  message?: string;
  pipelineId?: string;
  runId?: string;
  base?: string;
  lines?: { method: string; path: string; status: number | "error" }[];
}

async function node(endpoint: string, scenario: string, env: Record<string, string> = {}): Promise<Outcome> {
  const child = Bun.spawn(["node", script, endpoint, scenario, PACKAGE], {
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
  await child.exited;
  if (!stdout.trim()) throw new Error(`node scenario printed nothing; stderr:\n${stderr}`);
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as Outcome;
}

test("connect, upload (streamed multipart), experiment and run under Node, with the /pipeline prefix found", async () => {
  fake = await startFake({ api: "v2", prefix: "/pipeline" });
  const outcome = await node(fake.url.replace(/\/pipeline$/, ""), "run");
  expect(outcome.ok).toBe(true);
  expect(fake.state.runs.map((r) => [r.id, r.parameters])).toEqual([[outcome.runId!, { message: "hi", epochs: 2 }]]);
  const upload = fake.writes()[0]!;
  expect(upload.body).toEqual({ multipart: { field: "uploadfile", filename: "hello-v2.yaml", size: Bun.file(PACKAGE).size } });
});

for (const reset of ["before-read", "after-read"] as const) {
  test(`an upload whose connection is reset ${reset} ends with exactly one pipeline under Node`, async () => {
    fake = await startFake({ api: "v2" });
    fake.fault({ method: "POST", path: "/apis/v2beta1/pipelines/upload", fault: { reset } });
    // A lost answer is looked for during one request timeout before the upload is sent again.
    const outcome = await node(fake.url, "upload", { KFP_TIMEOUT_MS: "1000" });
    expect(outcome.ok).toBe(true);
    expect(fake.state.pipelines.map((p) => p.id)).toEqual([outcome.pipelineId!]);
    // The lost answer was followed by a lookup before anything was sent again.
    const afterFault = outcome.lines!.slice(outcome.lines!.findIndex((l) => l.status === "error") + 1);
    expect(afterFault[0]!.method).toBe("GET");
  });
}

test("a create-run answer slower than the timeout is adopted, not duplicated, under Node", async () => {
  fake = await startFake({ api: "v2" });
  fake.fault({ method: "POST", path: "/apis/v2beta1/runs", fault: { delayMs: 1_000 } });
  const outcome = await node(fake.url, "run", { KFP_TIMEOUT_MS: "250" });
  expect(outcome.ok).toBe(true);
  expect(fake.state.runs.map((r) => r.id)).toEqual([outcome.runId!]);
});

test("a refused connection is a network error naming the host under Node", async () => {
  const closed = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = closed.port;
  closed.stop(true);
  const outcome = await node(`http://127.0.0.1:${port}`, "connect");
  expect(outcome).toMatchObject({ ok: false, kind: "network" });
  expect(outcome.message).toContain(`connection to 127.0.0.1:${port} was refused`);
  expect(outcome.message).toContain("after 4 attempts");
});

test("an upload redirected to a login page is reported as an auth proxy under Node", async () => {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (url.pathname.endsWith("/healthz")) return Response.json({ multi_user: false });
      await req.arrayBuffer();
      return new Response(null, { status: 302, headers: { location: "/oauth2/start?rd=%2Fpipeline" } });
    },
  });
  try {
    const outcome = await node(`http://127.0.0.1:${server.port}`, "upload");
    expect(outcome).toMatchObject({ ok: false, kind: "login-page" });
    expect(outcome.message).toContain("authentication proxy");
  } finally {
    server.stop(true);
  }
});
