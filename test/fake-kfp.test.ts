/**
 * Raw-HTTP tests of the fake KFP server: what it answers in both API modes, with
 * and without a path prefix, where clients commonly go wrong, and how tests
 * drive it (run scripts, faults, recording).
 */

import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import type { FakeKfp, FakeKfpOptions } from "../lib/dev/fake-kfp/types.ts";
import { readPipelinePackage } from "../lib/dev/fake-kfp/package.ts";
import { readPipelinePackageCached } from "../lib/dev/fake-kfp/package-cache.ts";
import { HELLO_V2_PARAMETERS, tar, zip } from "./fixtures/pipelines/make.ts";
import { startFake } from "./support/fake.ts";
import { makePki, OPENSSL } from "./support/pki.ts";

const FIXTURES = join(import.meta.dir, "fixtures", "pipelines");
const V2_YAML = join(FIXTURES, "hello-v2.yaml");
const V1_TGZ = join(FIXTURES, "hello-v1.tar.gz");

const fakes: FakeKfp[] = [];
afterEach(async () => {
  for (const fake of fakes.splice(0)) await fake.close();
});

/** A fake closed (and contract-checked) after the test; `bad` skips the check for deliberately wrong requests. */
async function fake(options: FakeKfpOptions = {}, bad = false): Promise<FakeKfp> {
  const started = await startFake(options, { skipContract: bad });
  fakes.push(started);
  return started;
}

interface Reply {
  status: number;
  body: any;
  headers: Headers;
}

async function call(f: FakeKfp, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(`${f.url}${path}`, {
    method,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    redirect: "manual",
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: res.status, body: parsed, headers: res.headers };
}

const get = (f: FakeKfp, path: string, headers?: Record<string, string>) => call(f, "GET", path, undefined, headers);
const post = (f: FakeKfp, path: string, body: unknown = {}, headers?: Record<string, string>) => call(f, "POST", path, body, headers);

async function upload(
  f: FakeKfp,
  path: string,
  file: { name: string; bytes: Uint8Array } | string,
  field = "uploadfile",
  headers: Record<string, string> = {},
): Promise<Reply> {
  const { name, bytes } = typeof file === "string" ? { name: file.split("/").pop()!, bytes: readFileSync(file) } : file;
  const form = new FormData();
  form.append(field, new Blob([bytes]), name);
  const res = await fetch(`${f.url}${path}`, { method: "POST", body: form, headers });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

/** The filter as the KFP UI sends it: JSON, encodeURIComponent, then query-encoded again. */
function filterQuery(predicates: object[], extra: Record<string, string> = {}): string {
  return new URLSearchParams({ filter: encodeURIComponent(JSON.stringify({ predicates })), ...extra }).toString();
}

const nameIs = (api: "v1" | "v2", name: string) => [{ key: "name", [api === "v1" ? "op" : "operation"]: "EQUALS", string_value: name }];

/** Uploads hello-v2.yaml on a v2 fake and returns pipeline and version ids. */
async function v2Pipeline(f: FakeKfp, name = "hello"): Promise<{ pipelineId: string; versionId: string }> {
  const up = await upload(f, `/apis/v2beta1/pipelines/upload?name=${name}`, V2_YAML);
  expect(up.status).toBe(200);
  const versions = await get(f, `/apis/v2beta1/pipelines/${up.body.pipeline_id}/versions?sort_by=created_at%20desc&page_size=1`);
  return { pipelineId: up.body.pipeline_id, versionId: versions.body.pipeline_versions[0].pipeline_version_id };
}

async function v2Experiment(f: FakeKfp, name = "exp", namespace?: string, headers?: Record<string, string>): Promise<string> {
  const res = await post(f, "/apis/v2beta1/experiments", { display_name: name, ...(namespace ? { namespace } : {}) }, headers);
  expect(res.status).toBe(200);
  return res.body.experiment_id;
}

function v2RunBody(
  experimentId: string,
  ids: { pipelineId: string; versionId: string },
  parameters: Record<string, unknown>,
  name = "run-1",
) {
  return {
    display_name: name,
    experiment_id: experimentId,
    pipeline_version_reference: { pipeline_id: ids.pipelineId, pipeline_version_id: ids.versionId },
    runtime_config: { parameters },
  };
}

function v1RunBody(experimentId: string, versionId: string, parameters: Record<string, string>, name = "run-1", relationship = "CREATOR") {
  return {
    name,
    pipeline_spec: { parameters: Object.entries(parameters).map(([n, value]) => ({ name: n, value })) },
    resource_references: [
      { key: { type: "EXPERIMENT", id: experimentId }, relationship: "OWNER" },
      { key: { type: "PIPELINE_VERSION", id: versionId }, relationship },
    ],
  };
}

describe("healthz and API modes", () => {
  test("v2 mode (KFP 2.x) serves both APIs, v2 healthz names the pipeline store", async () => {
    const f = await fake();
    const v2 = await get(f, "/apis/v2beta1/healthz");
    const v1 = await get(f, "/apis/v1beta1/healthz");
    expect(v2).toMatchObject({ status: 200, body: { tag_name: "2.5.0", multi_user: false, pipeline_store: "database" } });
    expect(v1.status).toBe(200);
    expect(v1.body).toEqual({ commit_sha: expect.any(String), tag_name: "2.5.0", multi_user: false });
  });

  test("v1 mode (KFP 1.8) serves v1beta1 only", async () => {
    const f = await fake({ api: "v1" });
    expect((await get(f, "/apis/v2beta1/healthz")).status).toBe(404);
    expect((await get(f, "/apis/v2beta1/pipelines")).status).toBe(404);
    expect(await get(f, "/apis/v1beta1/healthz")).toMatchObject({ status: 200, body: { tag_name: "1.8.5", multi_user: false } });
  });

  test("with a prefix the API lives under it and is recorded without it", async () => {
    const f = await fake({ prefix: "/pipeline", multiUser: true });
    expect(f.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/pipeline$/);
    expect(await get(f, "/apis/v2beta1/healthz")).toMatchObject({ status: 200, body: { multi_user: true } });
    const outside = await fetch(f.url.replace(/\/pipeline$/, "/apis/v2beta1/healthz"));
    expect(outside.status).toBe(404);
    expect(f.requests.map((r) => r.path)).toEqual(["/apis/v2beta1/healthz", "/apis/v2beta1/healthz"]);
    expect(f.requests.map((r) => r.status)).toEqual([200, 404]);
  });

  test("serverVersion is reported and picks the error body shape", async () => {
    const old = await fake({ serverVersion: "2.5.0" });
    const recent = await fake({ serverVersion: "2.14.0" });
    const oldError = await get(old, "/apis/v2beta1/runs/nope");
    const newError = await get(recent, "/apis/v2beta1/runs/nope");
    expect(oldError.status).toBe(404);
    expect(oldError.body).toEqual({
      error: expect.stringContaining("nope"),
      code: 5,
      message: expect.stringContaining("nope"),
      details: [],
    });
    expect(newError.body).toEqual({ code: 5, message: expect.stringContaining("nope"), details: [] });
    expect((await get(recent, "/apis/v2beta1/healthz")).body.tag_name).toBe("2.14.0");
  });
});

describe.skipIf(!OPENSSL)("TLS", () => {
  test("serves https with the given key and certificate", async () => {
    // Made at test time: no private key is committed (secret scanners would flag it).
    const pki = makePki();
    try {
      const f = await fake({ tls: { key: pki.key, cert: pki.cert }, prefix: "/pipeline" });
      expect(f.url).toStartWith("https://127.0.0.1:");
      const res = await fetch(`${f.url}/apis/v2beta1/healthz`, { tls: { ca: readFileSync(pki.ca, "utf8") } } as RequestInit);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { pipeline_store?: string }).pipeline_store).toBe("database");
    } finally {
      rmSync(pki.dir, { recursive: true, force: true });
    }
  });
});

describe("pipeline upload", () => {
  test("v2 upload creates pipeline and first version atomically and returns only the pipeline", async () => {
    const f = await fake();
    const res = await upload(f, "/apis/v2beta1/pipelines/upload?name=hello&description=from%20CI", V2_YAML);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      pipeline_id: expect.any(String),
      display_name: "hello",
      description: "from CI",
      created_at: expect.any(String),
    });
    expect(f.state.pipelines).toHaveLength(1);
    expect(f.state.versions).toEqual([
      expect.objectContaining({ pipelineId: res.body.pipeline_id, name: "hello", fileName: "hello-v2.yaml" }),
    ]);
    expect(f.state.versions[0]!.parameters.map((p) => [p.name, p.type, p.optional])).toEqual(HELLO_V2_PARAMETERS);
    expect(f.requests[0]!.body).toEqual({
      multipart: { field: "uploadfile", filename: "hello-v2.yaml", size: readFileSync(V2_YAML).length },
    });
  });

  test("v2 on >= 2.14 reports name and display_name separately", async () => {
    const f = await fake({ serverVersion: "2.14.0" });
    const res = await upload(f, "/apis/v2beta1/pipelines/upload?name=unique&display_name=Pretty", V2_YAML);
    expect(res.body).toMatchObject({ name: "unique", display_name: "Pretty" });
    const byDisplay = await upload(f, "/apis/v2beta1/pipelines/upload?display_name=only-display", V2_YAML);
    expect(byDisplay.body).toMatchObject({ name: "only-display", display_name: "only-display" });
  });

  test("v1 upload returns the pipeline with the created version as default_version", async () => {
    const f = await fake({ api: "v1" });
    const res = await upload(f, "/apis/v1beta1/pipelines/upload?name=hello", V1_TGZ);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: f.state.pipelines[0]!.id,
      name: "hello",
      parameters: [{ name: "message" }, { name: "epochs", value: "3" }],
      default_version: {
        id: f.state.versions[0]!.id,
        name: "hello",
        resource_references: [{ key: { type: "PIPELINE", id: res.body.id }, relationship: "OWNER" }],
      },
    });
  });

  test("without name the pipeline is named after the file, extension included", async () => {
    const f = await fake();
    const res = await upload(f, "/apis/v2beta1/pipelines/upload", V2_YAML);
    expect(res.body.display_name).toBe("hello-v2.yaml");
  });

  test.each(["hello-v2.json", "hello-v2.zip", "hello-v2.tar.gz"])("reads %s like the YAML", async (file) => {
    const f = await fake();
    const res = await upload(f, `/apis/v2beta1/pipelines/upload?name=${file}`, join(FIXTURES, file));
    expect(res.status).toBe(200);
    expect(f.state.versions[0]!.parameters.map((p) => p.name)).toEqual(["message", "epochs", "learning_rate", "flag", "tags", "config"]);
  });

  test.each(["hello-v1.tar.gz", "hello-v1.zip", "hello-v1.yaml"])("reads the Argo workflow in %s with string parameters", async (file) => {
    const f = await fake({ api: "v1" });
    expect((await upload(f, `/apis/v1beta1/pipelines/upload?name=p`, join(FIXTURES, file))).status).toBe(200);
    expect(f.state.versions[0]!.parameters).toEqual([
      { name: "message", type: "STRING", optional: false },
      { name: "epochs", type: "STRING", optional: true, defaultValue: "3" },
    ]);
  });

  test("the file part must be called uploadfile", async () => {
    const f = await fake({}, true);
    const res = await upload(f, "/apis/v2beta1/pipelines/upload?name=x", V2_YAML, "file");
    expect(res.status).toBe(400);
    expect(res.body.error_message).toContain("Failed to read pipeline from file");
    expect(f.state.pipelines).toHaveLength(0);
  });

  test("unknown file types, unparsable specs and non-pipelines are 400", async () => {
    const f = await fake();
    const text = await upload(f, "/apis/v2beta1/pipelines/upload?name=a", { name: "notes.txt", bytes: new TextEncoder().encode("hello") });
    expect(text.status).toBe(400);
    expect(text.body.error_message).toContain("Unexpected pipeline file format");
    const broken = await upload(f, "/apis/v2beta1/pipelines/upload?name=b", {
      name: "p.yaml",
      bytes: new TextEncoder().encode("a: [1,\n  b: {"),
    });
    expect(broken.status).toBe(400);
    expect(broken.body.error_message).toMatch(/^Invalid input error: Failed to parse/);
    const notPipeline = await upload(f, "/apis/v2beta1/pipelines/upload?name=c", {
      name: "p.yaml",
      bytes: new TextEncoder().encode("a: 1\n"),
    });
    expect(notPipeline.status).toBe(400);
    expect(notPipeline.body.error_message).toContain("unknown template format");
    expect(f.state.pipelines).toHaveLength(0);
  });

  test("KFP 1.8 refuses a KFP v2 pipeline spec", async () => {
    const f = await fake({ api: "v1" });
    const res = await upload(f, "/apis/v1beta1/pipelines/upload?name=x", V2_YAML);
    expect(res.status).toBe(400);
    expect(res.body.error_message).toContain("unknown template format");
  });

  test("files over 32 MiB are refused", async () => {
    const f = await fake();
    const big = new Uint8Array((32 << 20) + 1).fill(0x61);
    const res = await upload(f, "/apis/v2beta1/pipelines/upload?name=big", { name: "big.yaml", bytes: big });
    expect(res.status).toBe(400);
    expect(res.body.error_message).toContain("File size too large");
  });

  test.each([
    ["2.5.0", 409],
    ["2.1.0", 409],
    ["2.0.5", 500],
  ])("duplicate pipeline names on %s give %i", async (serverVersion, status) => {
    const f = await fake({ serverVersion });
    await upload(f, "/apis/v2beta1/pipelines/upload?name=dup", V2_YAML);
    const again = await upload(f, "/apis/v2beta1/pipelines/upload?name=dup", V2_YAML);
    expect(again.status).toBe(status);
    if (status === 500) expect(again.body.error_message).toMatch(/already exist/i);
    expect(Object.keys(again.body).sort()).toEqual(["error_details", "error_message"]);
    expect(f.state.pipelines).toHaveLength(1);
    expect(f.state.versions).toHaveLength(1);
  });

  test("KFP 1.8 answers a duplicate with 500 already exist", async () => {
    const f = await fake({ api: "v1" });
    await upload(f, "/apis/v1beta1/pipelines/upload?name=dup", V1_TGZ);
    const again = await upload(f, "/apis/v1beta1/pipelines/upload?name=dup", V1_TGZ);
    expect(again.status).toBe(500);
    expect(again.body.error_message).toContain("already exist");
  });
});

describe("pipeline versions", () => {
  test("v2 upload_version, list and get (with the parsed pipeline_spec)", async () => {
    const f = await fake();
    const { pipelineId } = await v2Pipeline(f);
    const res = await upload(f, `/apis/v2beta1/pipelines/upload_version?pipelineid=${pipelineId}&name=v2`, join(FIXTURES, "hello-v2.zip"));
    expect(res.status).toBe(200);
    const versionId = res.body.pipeline_version_id;
    expect(versionId).toBeString();
    expect(res.body).toMatchObject({ pipeline_id: pipelineId, display_name: "v2" });
    expect(res.body.pipeline_spec.pipelineInfo.name).toBe("hello-pipeline");
    const list = await get(f, `/apis/v2beta1/pipelines/${pipelineId}/versions?sort_by=created_at%20desc`);
    expect(list.body.pipeline_versions.map((v: any) => v.display_name)).toEqual(["v2", "hello"]);
    expect(list.body.total_size).toBe(2);
    const one = await get(f, `/apis/v2beta1/pipelines/${pipelineId}/versions/${versionId}`);
    expect(one.body.pipeline_spec.root.inputDefinitions.parameters.epochs).toEqual({
      defaultValue: 3,
      isOptional: true,
      parameterType: "NUMBER_INTEGER",
    });
  });

  test("upload_version needs a known pipelineid and a new name", async () => {
    const f = await fake();
    const { pipelineId } = await v2Pipeline(f);
    const missing = await upload(f, "/apis/v2beta1/pipelines/upload_version?name=v", V2_YAML);
    const unknown = await upload(f, "/apis/v2beta1/pipelines/upload_version?pipelineid=nope&name=v", V2_YAML);
    const duplicate = await upload(f, `/apis/v2beta1/pipelines/upload_version?pipelineid=${pipelineId}&name=hello`, V2_YAML);
    expect([missing.status, unknown.status, duplicate.status]).toEqual([400, 400, 409]);
    expect(f.state.versions).toHaveLength(1);
  });

  test("v1 upload_version and the versions list keyed by resource_key", async () => {
    const f = await fake({ api: "v1" });
    const up = await upload(f, "/apis/v1beta1/pipelines/upload?name=p", V1_TGZ);
    const v = await upload(f, `/apis/v1beta1/pipelines/upload_version?pipelineid=${up.body.id}&name=second`, V1_TGZ);
    expect(v.body).toMatchObject({
      name: "second",
      resource_references: [{ key: { type: "PIPELINE", id: up.body.id }, relationship: "OWNER" }],
    });
    const list = await get(
      f,
      `/apis/v1beta1/pipeline_versions?resource_key.type=PIPELINE&resource_key.id=${up.body.id}&sort_by=created_at%20desc`,
    );
    expect(list.body.versions.map((x: any) => x.name)).toEqual(["second", "p"]);
    expect((await get(f, `/apis/v1beta1/pipeline_versions/${v.body.id}`)).body.name).toBe("second");
    const duplicate = await upload(f, `/apis/v1beta1/pipelines/upload_version?pipelineid=${up.body.id}&name=second`, V1_TGZ);
    expect(duplicate.status).toBe(500);
    expect(duplicate.body.error_message).toContain("already exist");
  });

  test("v1 default_version: a stored pointer on 1.8, the latest version on 2.x", async () => {
    for (const api of ["v1", "v2"] as const) {
      const f = await fake({ api });
      const up = await upload(f, "/apis/v1beta1/pipelines/upload?name=p", V1_TGZ);
      const first = up.body.default_version.id;
      const second = (await upload(f, `/apis/v1beta1/pipelines/upload_version?pipelineid=${up.body.id}&name=second`, V1_TGZ)).body.id;
      expect((await get(f, `/apis/v1beta1/pipelines/${up.body.id}`)).body.default_version.id).toBe(second);
      expect((await post(f, `/apis/v1beta1/pipelines/${up.body.id}/default_version/${first}`, undefined)).status).toBe(200);
      const after = (await get(f, `/apis/v1beta1/pipelines/${up.body.id}`)).body.default_version.id;
      expect(after).toBe(api === "v1" ? first : second);
    }
  });

  test("get by name exists on 2.x only", async () => {
    const v2 = await fake();
    await upload(v2, "/apis/v2beta1/pipelines/upload?name=a%2Bb", V2_YAML);
    expect((await get(v2, "/apis/v2beta1/pipelines/names/a%2Bb")).body.display_name).toBe("a+b");
    expect((await get(v2, "/apis/v1beta1/namespaces/-/pipelines/a%2Bb")).body.name).toBe("a+b");
    expect((await get(v2, "/apis/v2beta1/pipelines/names/zzz")).status).toBe(404);
    const v1 = await fake({ api: "v1" });
    await upload(v1, "/apis/v1beta1/pipelines/upload?name=p", V1_TGZ);
    expect((await get(v1, "/apis/v1beta1/namespaces/-/pipelines/p")).status).toBe(404);
  });
});

describe("list filters and paging", () => {
  test("filters are unescaped twice: double-encoding finds names with + and %, single encoding does not", async () => {
    const f = await fake();
    await upload(f, `/apis/v2beta1/pipelines/upload?name=${encodeURIComponent("a+b 100%")}`, V2_YAML);
    const double = await get(f, `/apis/v2beta1/pipelines?${filterQuery(nameIs("v2", "a+b 100%"))}`);
    expect(double.body.pipelines.map((p: any) => p.display_name)).toEqual(["a+b 100%"]);
    const plusOnly = await upload(f, "/apis/v2beta1/pipelines/upload?name=x%2By", V2_YAML);
    expect(plusOnly.status).toBe(200);
    const single = await get(
      f,
      `/apis/v2beta1/pipelines?${new URLSearchParams({ filter: JSON.stringify({ predicates: nameIs("v2", "x+y") }) })}`,
    );
    expect(single).toMatchObject({ status: 200, body: {} });
  });

  test("the operator field is op on v1beta1 and operation on v2beta1, strictly", async () => {
    const f = await fake({}, true);
    await v2Pipeline(f, "p");
    expect((await get(f, `/apis/v2beta1/pipelines?${filterQuery(nameIs("v1", "p"))}`)).status).toBe(400);
    expect((await get(f, `/apis/v1beta1/pipelines?${filterQuery(nameIs("v2", "p"))}`)).status).toBe(400);
    expect((await get(f, `/apis/v1beta1/pipelines?${filterQuery(nameIs("v1", "p"))}`)).body.pipelines).toHaveLength(1);
    const numeric = await get(f, `/apis/v2beta1/pipelines?${filterQuery([{ key: "name", operation: 1, stringValue: "p" }])}`);
    expect(numeric.body.pipelines).toHaveLength(1);
    const unknownKey = await get(f, `/apis/v2beta1/pipelines?${filterQuery([{ key: "colour", operation: "EQUALS", string_value: "p" }])}`);
    expect(unknownKey.status).toBe(400);
    const badEnum = await get(f, `/apis/v2beta1/pipelines?${filterQuery([{ key: "name", operation: "LIKE", string_value: "p" }])}`);
    expect(badEnum.status).toBe(400);
  });

  test("NOT_EQUALS, IS_SUBSTRING and IN", async () => {
    const f = await fake();
    for (const name of ["alpha", "beta", "alphabet"]) await v2Pipeline(f, name);
    const names = async (predicate: object) =>
      (await get(f, `/apis/v2beta1/pipelines?${filterQuery([predicate])}`)).body.pipelines?.map((p: any) => p.display_name).sort() ?? [];
    expect(await names({ key: "name", operation: "NOT_EQUALS", string_value: "beta" })).toEqual(["alpha", "alphabet"]);
    expect(await names({ key: "name", operation: "IS_SUBSTRING", string_value: "bet" })).toEqual(["alphabet", "beta"]);
    expect(await names({ key: "name", operation: "IN", string_values: { values: ["beta", "alpha"] } })).toEqual(["alpha", "beta"]);
  });

  test("page_size defaults to 20 and is capped at 200; tokens page through everything once", async () => {
    const f = await fake();
    for (let i = 0; i < 450; i++) await f.seedExperiment({ name: `exp-${String(i).padStart(3, "0")}` });
    const first = await get(f, "/apis/v2beta1/experiments");
    expect(first.body.experiments).toHaveLength(20);
    expect(first.body.total_size).toBe(450);
    const seen: string[] = [];
    let token = "";
    let pages = 0;
    do {
      const page = await get(
        f,
        `/apis/v2beta1/experiments?page_size=1000&sort_by=name%20desc${token ? `&page_token=${encodeURIComponent(token)}` : ""}`,
      );
      expect(page.body.experiments.length).toBeLessThanOrEqual(200);
      seen.push(...page.body.experiments.map((e: any) => e.display_name));
      token = page.body.next_page_token ?? "";
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(450);
    expect(new Set(seen).size).toBe(450);
    expect(seen[0]).toBe("exp-449");
  });

  test("a page token only goes with the filter and sort it came from", async () => {
    const f = await fake();
    for (let i = 0; i < 3; i++) await f.seedExperiment({ name: `e${i}` });
    const filter = filterQuery([{ key: "name", operation: "IS_SUBSTRING", string_value: "e" }], { page_size: "1" });
    const first = await get(f, `/apis/v2beta1/experiments?${filter}`);
    const token = encodeURIComponent(first.body.next_page_token);
    expect((await get(f, `/apis/v2beta1/experiments?${filter.replace("page_size=1", "")}&page_token=${token}`)).status).toBe(200);
    expect((await get(f, `/apis/v2beta1/experiments?page_token=${token}`)).body.experiments[0].display_name).toBe("e1");
    const other = filterQuery([{ key: "name", operation: "IS_SUBSTRING", string_value: "x" }]);
    expect((await get(f, `/apis/v2beta1/experiments?${other}&page_token=${token}`)).status).toBe(400);
    expect((await get(f, `/apis/v2beta1/experiments?sort_by=created_at%20desc&page_token=${token}`)).status).toBe(400);
  });

  test("sort_by takes known fields only", async () => {
    const f = await fake();
    await f.seedExperiment({ name: "a" });
    await f.seedExperiment({ name: "b" });
    expect((await get(f, "/apis/v2beta1/experiments?sort_by=created_at%20desc")).body.experiments.map((e: any) => e.display_name)).toEqual([
      "b",
      "a",
    ]);
    expect((await get(f, "/apis/v2beta1/experiments?sort_by=colour")).status).toBe(400);
  });
});

describe("experiments", () => {
  test("v1 and v2 create, get, list by name over the same state; duplicates are 409", async () => {
    const f = await fake();
    const v1 = await post(f, "/apis/v1beta1/experiments", { name: "one", description: "d" });
    expect(v1.body).toEqual({
      id: f.state.experiments[0]!.id,
      name: "one",
      description: "d",
      created_at: expect.any(String),
      storage_state: "STORAGESTATE_AVAILABLE",
    });
    const v2 = await post(f, "/apis/v2beta1/experiments", { display_name: "two" });
    expect(v2.body).toEqual({
      experiment_id: f.state.experiments[1]!.id,
      display_name: "two",
      created_at: expect.any(String),
      storage_state: "AVAILABLE",
    });
    expect((await get(f, `/apis/v2beta1/experiments/${v1.body.id}`)).body.display_name).toBe("one");
    expect((await get(f, `/apis/v1beta1/experiments/${v2.body.experiment_id}`)).body.name).toBe("two");
    const found = await get(f, `/apis/v1beta1/experiments?${filterQuery(nameIs("v1", "two"))}`);
    expect(found.body.experiments.map((e: any) => e.id)).toEqual([v2.body.experiment_id]);
    const byDisplayName = await get(
      f,
      `/apis/v2beta1/experiments?${filterQuery([{ key: "display_name", operation: "EQUALS", string_value: "one" }])}`,
    );
    expect(byDisplayName.body.experiments).toHaveLength(1);
    expect((await post(f, "/apis/v2beta1/experiments", { display_name: "one" })).status).toBe(409);
    expect(f.state.experiments).toHaveLength(2);
  });

  test("unknown body fields: ignored before 2.14, 400 from 2.14", async () => {
    const old = await fake({}, true);
    expect((await post(old, "/apis/v2beta1/experiments", { display_name: "a", name: "a" })).status).toBe(200);
    const recent = await fake({ serverVersion: "2.14.0" }, true);
    const res = await post(recent, "/apis/v2beta1/experiments", { display_name: "a", name: "a" });
    expect(res.status).toBe(400);
    expect(res.body.message).toContain('unknown field "name"');
    expect(recent.state.experiments).toHaveLength(0);
    expect((await post(recent, "/apis/v2beta1/experiments", { displayName: "camel" })).status).toBe(200);
  });
});

describe("multi-user mode", () => {
  const user = { "kubeflow-userid": "alice@example.com" };

  test("requests without identity get 401 (uploads 400); healthz is open", async () => {
    const f = await fake({ multiUser: true });
    expect((await get(f, "/apis/v2beta1/healthz")).status).toBe(200);
    const anonymous = await get(f, "/apis/v2beta1/experiments?namespace=team");
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.message).toContain("User identity is empty in the request header");
    const up = await upload(f, "/apis/v2beta1/pipelines/upload?name=p&namespace=team", V2_YAML);
    expect(up.status).toBe(400);
    expect(up.body.error_message).toContain("User identity is empty");
    expect((await get(f, "/apis/v2beta1/experiments?namespace=team", user)).status).toBe(200);
    expect((await get(f, "/apis/v2beta1/experiments?namespace=team", { authorization: "Bearer sa-token" })).status).toBe(200);
  });

  test("experiments and runs need a namespace; pipelines are scoped by it", async () => {
    const f = await fake({ multiUser: true });
    const empty = await post(f, "/apis/v2beta1/experiments", { display_name: "e" }, user);
    expect(empty.status).toBe(400);
    expect(empty.body.message).toContain("empty namespace in multi-user mode");
    expect((await post(f, "/apis/v1beta1/experiments", { name: "e" }, user)).status).toBe(400);
    const v1 = await post(
      f,
      "/apis/v1beta1/experiments",
      { name: "e", resource_references: [{ key: { type: "NAMESPACE", id: "team" }, relationship: "OWNER" }] },
      user,
    );
    expect(v1.body.resource_references).toEqual([{ key: { type: "NAMESPACE", id: "team" }, relationship: "OWNER" }]);
    expect(f.state.experiments[0]!.namespace).toBe("team");
    expect((await get(f, "/apis/v2beta1/experiments", user)).status).toBe(400);

    await upload(f, "/apis/v2beta1/pipelines/upload?name=p&namespace=team", V2_YAML, "uploadfile", user);
    await upload(f, "/apis/v2beta1/pipelines/upload?name=p", V2_YAML, "uploadfile", user);
    expect(f.state.pipelines.map((p) => p.namespace)).toEqual(["team", ""]);
    const inTeam = await get(f, "/apis/v2beta1/pipelines?namespace=team", user);
    expect(inTeam.body.pipelines.map((p: any) => p.namespace)).toEqual(["team"]);
    const shared = await get(f, "/apis/v1beta1/pipelines", user);
    expect(shared.body.pipelines).toHaveLength(1);
    expect(shared.body.pipelines[0].resource_references).toBeUndefined();
    const v1Team = await get(f, "/apis/v1beta1/pipelines?resource_reference_key.type=NAMESPACE&resource_reference_key.id=team", user);
    expect(v1Team.body.pipelines[0].resource_references).toEqual([{ key: { type: "NAMESPACE", id: "team" }, relationship: "OWNER" }]);
  });

  test("single-user mode forces the namespace to empty", async () => {
    const f = await fake();
    await post(f, "/apis/v2beta1/experiments", { display_name: "e", namespace: "team" });
    expect(f.state.experiments[0]!.namespace).toBe("");
  });
});

describe("runs", () => {
  test("v2 run: created with the typed parameters, read back with the v2 shape", async () => {
    const f = await fake();
    const ids = await v2Pipeline(f);
    const experimentId = await v2Experiment(f);
    const parameters = { message: "hi", epochs: 5, learning_rate: 0.1, flag: true, tags: ["a"], config: { k: 1 } };
    const created = await post(f, "/apis/v2beta1/runs", { ...v2RunBody(experimentId, ids, parameters), service_account: "sa" });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({
      run_id: f.state.runs[0]!.id,
      display_name: "run-1",
      experiment_id: experimentId,
      pipeline_version_reference: { pipeline_id: ids.pipelineId, pipeline_version_id: ids.versionId },
      runtime_config: { parameters },
      service_account: "sa",
    });
    expect(created.body.state).toBeUndefined();
    expect(f.state.runs[0]).toMatchObject({ parameters, versionId: ids.versionId, experimentId, serviceAccount: "sa", state: "" });
    const read = await get(f, `/apis/v2beta1/runs/${created.body.run_id}`);
    expect(read.body).toMatchObject({ state: "PENDING", state_history: [{ state: "PENDING", update_time: expect.any(String) }] });
  });

  test.each([
    [{ message: "hi", epochs: "3" }, "epochs requires type NUMBER_INTEGER"],
    [{ message: "hi", epochs: 2.5 }, "epochs requires type NUMBER_INTEGER"],
    [{ message: "hi", learning_rate: "0.1" }, "learning_rate requires type NUMBER_DOUBLE"],
    [{ message: "hi", flag: "true" }, "flag requires type BOOLEAN"],
    [{ message: "hi", tags: '["a"]' }, "tags requires type LIST"],
    [{ message: "hi", config: "{}" }, "config requires type STRUCT"],
    [{ message: 42 }, "message requires type STRING"],
    [{ epochs: 3 }, "message is required"],
    [{ message: "hi", colour: "red" }, "parameter(s) provided are not required by pipeline: colour"],
  ])("v2 rejects parameters %j", async (parameters, message) => {
    const f = await fake();
    const ids = await v2Pipeline(f);
    const res = await post(f, "/apis/v2beta1/runs", v2RunBody(await v2Experiment(f), ids, parameters));
    expect(res.status).toBe(400);
    expect(res.body.message).toContain(message);
    expect(f.state.runs).toHaveLength(0);
  });

  test("v1 run on 1.8: string parameters checked by name; v1 shapes", async () => {
    const f = await fake({ api: "v1" });
    const up = await upload(f, "/apis/v1beta1/pipelines/upload?name=p", V1_TGZ);
    const experiment = await post(f, "/apis/v1beta1/experiments", { name: "e" });
    const versionId = up.body.default_version.id;
    const bad = await post(f, "/apis/v1beta1/runs", v1RunBody(experiment.body.id, versionId, { message: "hi", colour: "red" }));
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain("Unrecognized input parameter: colour");
    const created = await post(f, "/apis/v1beta1/runs", v1RunBody(experiment.body.id, versionId, { message: "hi" }));
    expect(created.status).toBe(200);
    expect(created.body.run).toMatchObject({
      id: f.state.runs[0]!.id,
      name: "run-1",
      pipeline_spec: { parameters: [{ name: "message", value: "hi" }] },
      resource_references: [
        { key: { type: "EXPERIMENT", id: experiment.body.id }, name: "e", relationship: "OWNER" },
        { key: { type: "PIPELINE_VERSION", id: versionId }, name: "p", relationship: "CREATOR" },
      ],
    });
    expect(created.body.pipeline_runtime).toEqual({});
    expect(f.state.runs[0]!.parameters).toEqual({ message: "hi" });
    const read = await get(f, `/apis/v1beta1/runs/${created.body.run.id}`);
    expect(read.body.run.status).toBe("Pending");
  });

  test("a PIPELINE_VERSION reference that is not CREATOR is ignored", async () => {
    const f = await fake({ api: "v1" }, true);
    const up = await upload(f, "/apis/v1beta1/pipelines/upload?name=p", V1_TGZ);
    const experiment = await post(f, "/apis/v1beta1/experiments", { name: "e" });
    const owner = await post(
      f,
      "/apis/v1beta1/runs",
      v1RunBody(experiment.body.id, up.body.default_version.id, { message: "m" }, "r", "OWNER"),
    );
    expect(owner.status).toBe(400);
    expect(owner.body.message).toContain("no pipeline source");
  });

  test("v1 API on 2.x: IR pipelines take runtime_config, not the string list", async () => {
    const f = await fake();
    const ids = await v2Pipeline(f);
    const experimentId = await v2Experiment(f);
    const listOnly = await post(f, "/apis/v1beta1/runs", v1RunBody(experimentId, ids.versionId, { message: "hi" }));
    expect(listOnly.status).toBe(400);
    expect(listOnly.body.message).toContain("message is required");
    const typed = {
      ...v1RunBody(experimentId, ids.versionId, {}),
      pipeline_spec: { runtime_config: { parameters: { message: "hi", epochs: 4 } } },
    };
    const created = await post(f, "/apis/v1beta1/runs", typed);
    expect(created.status).toBe(200);
    expect(created.body.run.pipeline_spec.runtime_config).toEqual({ parameters: { message: "hi", epochs: 4 } });
    expect((await get(f, `/apis/v2beta1/runs/${created.body.run.id}`)).body.runtime_config.parameters.epochs).toBe(4);
  });

  test("a run without experiment goes to Default in single-user mode", async () => {
    const f = await fake();
    const ids = await v2Pipeline(f);
    const { experiment_id: _, ...body } = v2RunBody("", ids, { message: "m" });
    const res = await post(f, "/apis/v2beta1/runs", body);
    expect(res.status).toBe(200);
    expect(f.state.experiments.map((e) => e.name)).toEqual(["Default"]);
    expect(res.body.experiment_id).toBe(f.state.experiments[0]!.id);
  });

  test("unknown pipeline version or experiment: 404, nothing created", async () => {
    const f = await fake();
    const ids = await v2Pipeline(f);
    const experimentId = await v2Experiment(f);
    expect((await post(f, "/apis/v2beta1/runs", v2RunBody(experimentId, { ...ids, versionId: "nope" }, { message: "m" }))).status).toBe(
      404,
    );
    expect((await post(f, "/apis/v2beta1/runs", v2RunBody("nope", ids, { message: "m" }))).status).toBe(404);
    expect(f.state.runs).toHaveLength(0);
  });

  test("list runs by name within an experiment, both APIs", async () => {
    const f = await fake();
    const ids = await v2Pipeline(f);
    const a = await v2Experiment(f, "a");
    const b = await v2Experiment(f, "b");
    await post(f, "/apis/v2beta1/runs", v2RunBody(a, ids, { message: "m" }, "nightly"));
    await post(f, "/apis/v2beta1/runs", v2RunBody(b, ids, { message: "m" }, "nightly"));
    await post(f, "/apis/v2beta1/runs", v2RunBody(a, ids, { message: "m" }, "other"));
    const v2 = await get(
      f,
      `/apis/v2beta1/runs?experiment_id=${a}&${filterQuery([{ key: "display_name", operation: "EQUALS", string_value: "nightly" }])}`,
    );
    expect(v2.body.runs.map((r: any) => [r.display_name, r.experiment_id])).toEqual([["nightly", a]]);
    const v1 = await get(
      f,
      `/apis/v1beta1/runs?resource_reference_key.type=EXPERIMENT&resource_reference_key.id=${b}&${filterQuery(nameIs("v1", "nightly"))}`,
    );
    expect(v1.body.runs.map((r: any) => r.resource_references[0].key.id)).toEqual([b]);
  });
});

describe("run life", () => {
  async function v2Run(f: FakeKfp): Promise<string> {
    const ids = await v2Pipeline(f);
    const res = await post(f, "/apis/v2beta1/runs", v2RunBody(await v2Experiment(f), ids, { message: "m" }));
    return res.body.run_id;
  }
  const poll = async (f: FakeKfp, id: string) => (await get(f, `/apis/v2beta1/runs/${id}`)).body;

  test("a script set before the run applies to the next run: one state per GET, then the end", async () => {
    const f = await fake();
    f.scriptRun({ states: ["PENDING", "RUNNING"], end: "FAILED", error: "step train failed", steps: [{ name: "train", state: "FAILED" }] });
    const id = await v2Run(f);
    expect((await poll(f, id)).state).toBe("PENDING");
    expect((await poll(f, id)).state).toBe("RUNNING");
    const end = await poll(f, id);
    expect(end).toMatchObject({ state: "FAILED", error: { message: "step train failed" }, finished_at: expect.any(String) });
    expect(end.run_details.task_details).toEqual([expect.objectContaining({ display_name: "train", state: "FAILED" })]);
    expect(end.state_history.map((h: any) => h.state)).toEqual(["PENDING", "RUNNING", "FAILED"]);
    expect((await poll(f, id)).state).toBe("FAILED");
    expect(f.state.runs[0]).toMatchObject({ state: "FAILED", polls: 4, error: "step train failed" });
  });

  test("scripts may name a run, and use v1 words", async () => {
    const f = await fake();
    const id = await v2Run(f);
    f.scriptRun({ states: ["Running"], end: "SUCCEEDED" }, id);
    expect((await get(f, `/apis/v1beta1/runs/${id}`)).body.run.status).toBe("Running");
    expect((await get(f, `/apis/v1beta1/runs/${id}`)).body.run.status).toBe("Succeeded");
  });

  test("setRunState moves a run now; waitForRun resolves on creation", async () => {
    const f = await fake();
    const waiting = f.waitForRun((run) => run.name === "run-1");
    const id = await v2Run(f);
    expect((await waiting).id).toBe(id);
    f.setRunState(id, "RUNNING");
    expect(f.state.runs[0]!.state).toBe("RUNNING");
    expect((await poll(f, id)).state).toBe("RUNNING");
    f.setRunState(id, "SKIPPED");
    expect((await poll(f, id)).state).toBe("SKIPPED");
  });

  test("v2 terminate: CANCELING on the next GET, then CANCELED", async () => {
    const f = await fake();
    const id = await v2Run(f);
    f.setRunState(id, "RUNNING");
    expect((await post(f, `/apis/v2beta1/runs/${id}:terminate`, undefined)).body).toEqual({});
    expect(f.state.runs[0]!.terminated).toBe(true);
    expect((await poll(f, id)).state).toBe("CANCELING");
    expect((await poll(f, id)).state).toBe("CANCELED");
  });

  test("v1 terminate on 1.8: Terminating, then Failed with error terminated", async () => {
    const f = await fake({ api: "v1" });
    const up = await upload(f, "/apis/v1beta1/pipelines/upload?name=p", V1_TGZ);
    const experiment = await post(f, "/apis/v1beta1/experiments", { name: "e" });
    const run = (await post(f, "/apis/v1beta1/runs", v1RunBody(experiment.body.id, up.body.default_version.id, { message: "m" }))).body.run;
    expect((await post(f, `/apis/v1beta1/runs/${run.id}/terminate`, undefined)).status).toBe(200);
    expect((await get(f, `/apis/v1beta1/runs/${run.id}`)).body.run.status).toBe("Terminating");
    const end = (await get(f, `/apis/v1beta1/runs/${run.id}`)).body.run;
    expect(end).toMatchObject({ status: "Failed", error: "terminated" });
    expect(end.finished_at).not.toBe("1970-01-01T00:00:00Z");
  });

  test.each([
    ["SUCCEEDED", "SUCCEEDED", "Succeeded"],
    ["FAILED", "FAILED", "Failed"],
    ["ERROR", "FAILED", "Error"],
    ["SKIPPED", "SKIPPED", "Skipped"],
    ["CANCELED", "CANCELED", "Failed"],
    ["PENDING", "PENDING", "Pending"],
    ["RUNNING", "RUNNING", "Running"],
    ["CANCELING", "CANCELING", "Terminating"],
  ])("state %s reads %s on v2beta1 and %s on v1beta1", async (state, v2Word, v1Word) => {
    const f = await fake();
    const id = await v2Run(f);
    f.setRunState(id, state);
    expect((await poll(f, id)).state).toBe(v2Word);
    expect((await get(f, `/apis/v1beta1/runs/${id}`)).body.run.status).toBe(v1Word);
  });

  test("v1 reports an unfinished run with the zero finish time and no status before the first report", async () => {
    const f = await fake();
    const id = await v2Run(f);
    const listed = await get(f, "/apis/v1beta1/runs");
    expect(listed.body.runs[0].status).toBeUndefined();
    expect(listed.body.runs[0].finished_at).toBe("1970-01-01T00:00:00Z");
    expect(f.state.runs[0]!.polls).toBe(0);
    expect(id).toBe(listed.body.runs[0].id);
  });

  test("auto runs go PENDING, RUNNING, then the end state with steps advancing", async () => {
    const f = await fake({ runs: "auto", autoMs: 150 });
    const id = await v2Run(f);
    const seen: string[] = [];
    let last: any = await poll(f, id);
    while (!["SUCCEEDED", "FAILED"].includes(last.state)) {
      if (seen.at(-1) !== last.state) seen.push(last.state);
      await Bun.sleep(10);
      last = await poll(f, id);
    }
    seen.push(last.state);
    expect(seen).toEqual(["PENDING", "RUNNING", "SUCCEEDED"]);
    expect(last.run_details.task_details.map((t: any) => t.state)).toEqual(["SUCCEEDED", "SUCCEEDED", "SUCCEEDED"]);
  });
});

describe("auth and login pages", () => {
  test("a token must come exactly as Bearer <token>; recorded headers are redacted", async () => {
    const f = await fake({ token: "s3cret" });
    expect((await get(f, "/apis/v2beta1/healthz")).status).toBe(401);
    expect((await get(f, "/apis/v2beta1/healthz", { authorization: "s3cret" })).status).toBe(401);
    expect((await get(f, "/apis/v2beta1/healthz", { authorization: "Bearer wrong" })).status).toBe(401);
    expect((await get(f, "/apis/v2beta1/healthz", { authorization: "Bearer s3cret" })).status).toBe(200);
    expect(f.requests.map((r) => r.authorized)).toEqual([false, false, false, true]);
    expect(f.requests[3]!.headers.authorization).toBe("<redacted>");
    expect(JSON.stringify(f.requests)).not.toContain("s3cret");
  });

  test("a session cookie may stand in for the token", async () => {
    const f = await fake({ token: "t", cookie: "authservice_session=abc" });
    expect((await get(f, "/apis/v2beta1/healthz", { cookie: "other=1; authservice_session=abc" })).status).toBe(200);
    expect((await get(f, "/apis/v2beta1/healthz", { cookie: "authservice_session=nope" })).status).toBe(401);
    expect(f.requests[0]!.headers.cookie).toBe("<redacted>");
  });

  test("login page: 302 to Dex, or a 200 HTML page", async () => {
    const redirect = await fake({ loginPage: "redirect" });
    const res = await get(redirect, "/apis/v2beta1/healthz");
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toStartWith("/dex/auth?");
    const html = await fake({ loginPage: "html" });
    const page = await fetch(`${html.url}/apis/v2beta1/healthz`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(await page.text()).toContain("Log in");
  });

  test("the login page answers every request, the right token included", async () => {
    const f = await fake({ loginPage: "redirect", token: "t" });
    expect((await get(f, "/apis/v2beta1/healthz", { authorization: "Bearer t" })).status).toBe(302);
    expect((await get(f, "/apis/v1beta1/pipelines")).status).toBe(302);
    expect(f.requests.map((r) => [r.status, r.response])).toEqual([
      [302, undefined],
      [302, undefined],
    ]);
  });
});

describe("faults", () => {
  test("status faults answer without processing, with Retry-After, for `times` requests", async () => {
    const f = await fake();
    f.fault({ method: "POST", path: "/apis/v2beta1/experiments", fault: { status: 503, retryAfterSeconds: 2 }, times: 2 });
    const first = await post(f, "/apis/v2beta1/experiments", { display_name: "e" });
    expect(first.status).toBe(503);
    expect(first.headers.get("retry-after")).toBe("2");
    expect((await post(f, "/apis/v2beta1/experiments", { display_name: "e" })).status).toBe(503);
    expect((await post(f, "/apis/v2beta1/experiments", { display_name: "e" })).status).toBe(200);
    expect(f.state.experiments).toHaveLength(1);
    expect(f.requests.map((r) => [r.status, r.fault !== undefined])).toEqual([
      [503, true],
      [503, true],
      [200, false],
    ]);
  });

  test("reset before read: the connection drops and nothing happens", async () => {
    const f = await fake();
    f.fault({ path: /experiments$/, fault: { reset: "before-read" } });
    await expect(post(f, "/apis/v2beta1/experiments", { display_name: "e" })).rejects.toThrow();
    expect(f.state.experiments).toHaveLength(0);
    expect(f.requests[0]).toMatchObject({ status: 0, fault: { reset: "before-read" } });
    expect(f.requests[0]!.response).toBeUndefined();
  });

  test("reset after read: the work is done but the answer is lost", async () => {
    const f = await fake();
    f.fault({ method: "POST", path: "/apis/v2beta1/experiments", fault: { reset: "after-read" } });
    await expect(post(f, "/apis/v2beta1/experiments", { display_name: "e" })).rejects.toThrow();
    expect(f.state.experiments.map((e) => e.name)).toEqual(["e"]);
    expect(f.requests[0]).toMatchObject({ status: 0, body: { display_name: "e" }, fault: { reset: "after-read" } });
    expect((await post(f, "/apis/v2beta1/experiments", { display_name: "e" })).status).toBe(409);
  });

  test("delay: the request is processed at once and answered late", async () => {
    const f = await fake();
    const ids = await v2Pipeline(f);
    const experimentId = await v2Experiment(f);
    f.fault({ method: "POST", path: "/apis/v2beta1/runs", fault: { delayMs: 300 } });
    let answered = false;
    const pending = post(f, "/apis/v2beta1/runs", v2RunBody(experimentId, ids, { message: "m" })).then((reply) => {
      answered = true;
      return reply;
    });
    const run = await f.waitForRun();
    expect(answered).toBe(false);
    const reply = await pending;
    expect(reply).toMatchObject({ status: 200, body: { run_id: run.id } });
    expect(f.requests.at(-1)).toMatchObject({ status: 200, fault: { delayMs: 300 }, response: { run_id: run.id } });
  });

  test("clearFaults removes pending faults", async () => {
    const f = await fake();
    f.fault({ path: /.*/, fault: { status: 500 }, times: Infinity });
    expect((await get(f, "/apis/v2beta1/healthz")).status).toBe(500);
    f.clearFaults();
    expect((await get(f, "/apis/v2beta1/healthz")).status).toBe(200);
  });
});

describe("recording and seeding", () => {
  test("requests record decoded query, JSON body, status and response; writes() lists the mutating ones", async () => {
    const f = await fake();
    await get(f, `/apis/v2beta1/experiments?${filterQuery(nameIs("v2", "a b"))}`);
    await post(f, "/apis/v2beta1/experiments", { display_name: "a b" });
    expect(f.requests[0]!.query.filter).toBe(encodeURIComponent(JSON.stringify({ predicates: nameIs("v2", "a b") })));
    expect(f.requests[1]).toMatchObject({ method: "POST", body: { display_name: "a b" }, status: 200, response: { display_name: "a b" } });
    expect(f.requests[1]!.headers["content-type"]).toBe("application/json");
    expect(f.writes().map((r) => r.path)).toEqual(["/apis/v2beta1/experiments"]);
  });

  test("seedPipeline and seedExperiment fill state without HTTP", async () => {
    const f = await fake();
    const { pipeline, version } = await f.seedPipeline({ name: "seeded", file: join(FIXTURES, "hello-v2.tar.gz"), versionName: "v1" });
    const experiment = f.seedExperiment({ name: "exp" });
    expect(f.requests).toHaveLength(0);
    expect(version).toMatchObject({ pipelineId: pipeline.id, name: "v1", fileName: "hello-v2.tar.gz" });
    expect((await get(f, `/apis/v2beta1/pipelines/${pipeline.id}/versions/${version.id}`)).body.display_name).toBe("v1");
    expect((await get(f, `/apis/v2beta1/experiments/${experiment.id}`)).body.display_name).toBe("exp");
    const again = await f.seedPipeline({ name: "seeded", file: V2_YAML, versionName: "v2" });
    expect(again.pipeline.id).toBe(pipeline.id);
    expect(f.state.versions.map((v) => v.name)).toEqual(["v1", "v2"]);
  });
});

describe("pipeline packages", () => {
  const yaml = readFileSync(V2_YAML);
  const names = (pkg: { parameters: { name: string }[] }) => pkg.parameters.map((p) => p.name);

  test("archives: directories are skipped, stored zip entries read, the first file must be YAML", () => {
    const tgz = gzipSync(tar([{ name: "pkg" }, { name: "pkg/pipeline.yaml", data: yaml }, { name: "pkg/other.txt", data: yaml }]));
    expect(names(readPipelinePackage("p.tar.gz", tgz))).toContain("message");
    expect(readPipelinePackage("p.zip", zip([{ name: "d" }, { name: "d/p.yml", data: yaml }], 0)).kind).toBe("ir");
    expect(() => readPipelinePackage("p.tgz", gzipSync(tar([{ name: "README.md", data: yaml }])))).toThrow(
      "Expecting a YAML file inside the tarball. Got: README.md",
    );
    expect(() => readPipelinePackage("p.zip", zip([{ name: "only-a-directory" }]))).toThrow("Empty zip file");
    expect(() => readPipelinePackage("p.gz", gzipSync(Buffer.from("not a tar")))).toThrow("Not a valid tarball");
  });

  test("the format comes from the name for YAML/JSON and from magic bytes for archives", () => {
    const tgz = gzipSync(tar([{ name: "pipeline.yaml", data: yaml }]));
    expect(readPipelinePackage("package.bin", tgz).kind).toBe("ir");
    expect(() => readPipelinePackage("pipeline.txt", yaml)).toThrow("Unexpected pipeline file format");
  });

  test("an IR file with a platform spec is returned wrapped, as KFP 2.x does", () => {
    const withPlatform = Buffer.concat([yaml, Buffer.from("---\nplatforms:\n  kubernetes: {}\n")]);
    const pkg = readPipelinePackage("p.yaml", withPlatform);
    expect(Object.keys(pkg.spec)).toEqual(["pipeline_spec", "platform_spec"]);
    expect(names(pkg)).toHaveLength(6);
  });

  test("the same bytes read again answer as a fresh read, each caller with its own copy; a refused package is read again", () => {
    const tgz = gzipSync(tar([{ name: "pipeline.yaml", data: yaml }]));
    const first = readPipelinePackageCached("p.tar.gz", tgz);
    (first.spec as { mutated?: boolean }).mutated = true;
    first.parameters.pop();
    const again = readPipelinePackageCached("p.tar.gz", Buffer.from(tgz));
    expect(again).toEqual(readPipelinePackage("p.tar.gz", tgz));
    // The name counts too: YAML read once as p.yaml is refused as p.txt.
    expect(readPipelinePackageCached("p.yaml", yaml).kind).toBe("ir");
    expect(() => readPipelinePackageCached("p.txt", yaml)).toThrow("Unexpected pipeline file format");
    const refused = gzipSync(Buffer.from("not a tar"));
    for (let i = 0; i < 2; i++) expect(() => readPipelinePackageCached("p.tar.gz", refused)).toThrow("Not a valid tarball");
  });
});

describe("command line", () => {
  test("npm run fake-kfp prints its URL and serves with auto runs", async () => {
    const cli = Bun.spawn(
      [
        "bun",
        join(import.meta.dir, "..", "lib", "dev", "fake-kfp", "cli.ts"),
        "--port",
        "0",
        "--api",
        "v1",
        "--prefix",
        "/pipeline",
        "--token",
        "T",
      ],
      {
        stdout: "pipe",
        stderr: "inherit",
      },
    );
    try {
      const reader = cli.stdout.getReader();
      let text = "";
      while (!/^https?:\/\/\S+$/m.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`fake-kfp exited early: ${text}`);
        text += new TextDecoder().decode(value);
      }
      reader.releaseLock();
      const url = /^(https?:\/\/\S+)$/m.exec(text)![1]!;
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/pipeline$/);
      const health = await fetch(`${url}/apis/v1beta1/healthz`, { headers: { authorization: "Bearer T" } });
      expect(await health.json()).toMatchObject({ tag_name: "1.8.5" });
      expect((await fetch(`${url}/apis/v1beta1/healthz`)).status).toBe(401);
    } finally {
      cli.kill();
      await cli.exited;
    }
  });
});

describe("the exit task, as the SDK 2.17 compiler wires it", () => {
  const SDK_PIPELINE = join(import.meta.dir, "fixtures", "async", "sdk-2.17-exit-handler.yaml");

  async function runOn(serverVersion: string) {
    const f = await fake({ serverVersion });
    const { pipeline, version } = await f.seedPipeline({ name: "training", file: SDK_PIPELINE });
    const experiment = f.seedExperiment({ name: "ci" });
    const reply = await post(f, "/apis/v2beta1/runs", {
      display_name: "r",
      experiment_id: experiment.id,
      pipeline_version_reference: { pipeline_id: pipeline.id, pipeline_version_id: version.id },
    });
    return { f, reply };
  }

  test("KFP 2.13 refuses to create the run (500, the compiler's words); 2.14 creates it", async () => {
    const old = await runOn("2.13.0");
    expect(old.reply.status).toBe(500);
    expect(old.reply.body.message).toContain("Failed to compile job: task final status not supported yet");
    expect(old.f.state.runs).toHaveLength(0);
    expect((await runOn("2.14.0")).reply.status).toBe(200);
  });

  test("the exit task receives the driver's JSON: MLMD state names, the ExitHandler task's name, an empty error", async () => {
    const { f, reply } = await runOn("2.14.0");
    const id = reply.body.run_id as string;
    expect(() => f.exitTaskStatus(id)).toThrow(/has not ended/);
    for (const [end, state] of [
      ["SUCCEEDED", "COMPLETE"],
      ["FAILED", "FAILED"],
      ["CANCELED", "CANCELED"],
    ] as const) {
      f.setRunState(id, end);
      expect(f.exitTaskStatus(id)).toBe(
        `{"error":{},"pipelineJobResourceName":"training-${id.slice(0, 5)}","pipelineTaskName":"exit-handler-1","state":"${state}"}`,
      );
    }
  });
});
