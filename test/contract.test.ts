/**
 * The swagger contract checker: it passes what KFP documents and catches wrong
 * paths, methods, query parameters, body fields, enums, upload fields and
 * responses; and startFake fails the test that made such requests.
 */

import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { RecordedRequest } from "../lib/dev/fake-kfp/types.ts";
import { apiOfPath, contractViolations } from "./support/contract.ts";
import { startFake } from "./support/fake.ts";

function request(method: string, path: string, extra: Partial<RecordedRequest> = {}): RecordedRequest {
  return { method, path, query: {}, headers: {}, status: 200, authorized: false, ...extra };
}

const ID = "0f9d1c2e-2b7a-4d8e-9a55-1c2d3e4f5a6b";

describe("valid requests pass", () => {
  test("v2beta1: upload, list with filter, create run, terminate, get with response", () => {
    const violations = contractViolations("v2beta1", [
      request("POST", "/apis/v2beta1/pipelines/upload", {
        query: { name: "p", display_name: "p", namespace: "team" },
        body: { multipart: { field: "uploadfile", filename: "p.yaml", size: 10 } },
        response: { pipeline_id: ID, display_name: "p", created_at: "2024-01-01T00:00:00Z" },
      }),
      request("GET", "/apis/v2beta1/pipelines", {
        query: { filter: "%7B%7D", page_size: "200", sort_by: "created_at desc", namespace: "" },
      }),
      request("POST", "/apis/v2beta1/runs", {
        body: {
          display_name: "r",
          experiment_id: ID,
          pipeline_version_reference: { pipeline_id: ID, pipeline_version_id: ID },
          runtime_config: { parameters: { n: 3, s: "x", l: [1], o: { a: 1 } } },
        },
      }),
      request("POST", `/apis/v2beta1/runs/${ID}:terminate`),
      request("GET", `/apis/v2beta1/runs/${ID}`, {
        response: {
          run_id: ID,
          state: "RUNNING",
          error: { code: 2, message: "x" },
          run_details: { pipeline_context_id: "12", task_details: [{ display_name: "t", state: "SUCCEEDED" }] },
        },
      }),
    ]);
    expect(violations).toEqual([]);
  });

  test("v1beta1: run with resource references, versions by resource_key, terminate", () => {
    const violations = contractViolations("v1beta1", [
      request("POST", "/apis/v1beta1/runs", {
        body: {
          name: "r",
          pipeline_spec: { parameters: [{ name: "a", value: "1" }] },
          resource_references: [
            { key: { type: "EXPERIMENT", id: ID }, relationship: "OWNER" },
            { key: { type: "PIPELINE_VERSION", id: ID }, relationship: "CREATOR" },
          ],
        },
      }),
      request("GET", "/apis/v1beta1/pipeline_versions", {
        query: { "resource_key.type": "PIPELINE", "resource_key.id": ID, page_size: "1" },
      }),
      request("POST", `/apis/v1beta1/runs/${ID}/terminate`),
      request("GET", "/apis/v1beta1/namespaces/-/pipelines/my%20pipeline"),
    ]);
    expect(violations).toEqual([]);
  });
});

describe("wrong requests are caught", () => {
  test("paths and methods that do not exist", () => {
    expect(contractViolations("v2beta1", [request("POST", `/apis/v2beta1/runs/${ID}/terminate`)])).toEqual([
      expect.stringContaining("no such operation"),
    ]);
    expect(contractViolations("v1beta1", [request("POST", `/apis/v1beta1/runs/${ID}:terminate`)])).toHaveLength(1);
    expect(contractViolations("v2beta1", [request("PUT", "/apis/v2beta1/experiments")])).toHaveLength(1);
    expect(contractViolations("v1beta1", [request("GET", "/apis/v2beta1/healthz")])).toHaveLength(1);
  });

  test("unknown query parameters and bad enum or integer values", () => {
    const violations = contractViolations("v1beta1", [
      request("GET", "/apis/v1beta1/pipelines", { query: { namespace: "team" } }),
      request("GET", "/apis/v1beta1/runs", { query: { "resource_reference_key.type": "EXPERIMENTS" } }),
      request("GET", "/apis/v1beta1/experiments", { query: { page_size: "ten" } }),
    ]);
    expect(violations).toEqual([
      expect.stringContaining('unknown query parameter "namespace"'),
      expect.stringContaining('"resource_reference_key.type" must be one of'),
      expect.stringContaining('"page_size" must be an integer'),
    ]);
  });

  test("body fields of the other API version, camelCase names, wrong enums and types", () => {
    const v2 = contractViolations("v2beta1", [
      request("POST", "/apis/v2beta1/experiments", { body: { name: "e" } }),
      request("POST", "/apis/v2beta1/runs", { body: { displayName: "r" } }),
      request("POST", "/apis/v2beta1/runs", { body: { display_name: "r", pipeline_version_reference: { pipeline_id: ID, version: ID } } }),
      request("POST", "/apis/v2beta1/runs", { body: { display_name: "r", runtime_config: { parameters: [{ name: "a", value: "1" }] } } }),
    ]);
    expect(v2).toEqual([
      expect.stringContaining('additional properties "name"'),
      expect.stringContaining('additional properties "displayName"'),
      expect.stringContaining('/pipeline_version_reference must NOT have additional properties "version"'),
      expect.stringContaining("/runtime_config/parameters must be object"),
    ]);
    const v1 = contractViolations("v1beta1", [
      request("POST", "/apis/v1beta1/runs", {
        body: { name: "r", resource_references: [{ key: { type: "VERSION", id: ID }, relationship: "CREATOR" }] },
      }),
      request("POST", "/apis/v1beta1/runs", { body: { name: "r", pipeline_spec: { parameters: [{ name: "n", value: 3 }] } } }),
    ]);
    expect(v1).toEqual([
      expect.stringContaining("/resource_references/0/key/type must be equal to one of the allowed values"),
      expect.stringContaining("must be string"),
    ]);
  });

  test("uploads must be multipart with the uploadfile part", () => {
    const violations = contractViolations("v2beta1", [
      request("POST", "/apis/v2beta1/pipelines/upload", { body: { multipart: { field: "file", filename: "p.yaml", size: 1 } } }),
      request("POST", "/apis/v2beta1/pipelines/upload_version", { query: { pipelineid: ID }, body: { name: "p" } }),
    ]);
    expect(violations).toEqual([
      expect.stringContaining('part is "file", expected "uploadfile"'),
      expect.stringContaining("multipart/form-data"),
    ]);
  });

  test("200 answers must fit the response schema (int64 as strings, enums)", () => {
    const violations = contractViolations("v2beta1", [
      request("GET", `/apis/v2beta1/runs/${ID}`, { response: { run_id: ID, state: "DONE", run_details: { pipeline_context_id: 12 } } }),
      request("GET", `/apis/v2beta1/runs/${ID}`, { status: 404, response: { code: 5, message: "not found" } }),
    ]);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toContain("/state must be equal to one of the allowed values");
    expect(violations[0]).toContain("/run_details/pipeline_context_id must be string");
  });

  test("apiOfPath sorts requests by API version", () => {
    expect([apiOfPath("/apis/v1beta1/runs"), apiOfPath("/apis/v2beta1/healthz"), apiOfPath("/dex/auth")]).toEqual([
      "v1beta1",
      "v2beta1",
      undefined,
    ]);
  });
});

describe("startFake", () => {
  test("close() throws listing the violations of the requests the fake received", async () => {
    const fake = await startFake();
    await fetch(`${fake.url}/apis/v2beta1/experiments`, { method: "POST", body: JSON.stringify({ display_name: "e", name: "e" }) });
    await fetch(`${fake.url}/apis/v2beta1/runs/abc/terminate`, { method: "POST" });
    const closing = fake.close();
    await expect(closing).rejects.toThrow(/2 request\(s\) to the fake KFP break the KFP API contract/);
    await expect(fake.close()).rejects.toThrow('additional properties "name"');
  });

  test("close() passes a clean session, checking each request against its own API version", async () => {
    const fake = await startFake({ api: "v2" });
    await fake.seedPipeline({ name: "p", file: join(import.meta.dir, "fixtures", "pipelines", "hello-v2.yaml") });
    await fetch(`${fake.url}/apis/v2beta1/healthz`);
    await fetch(`${fake.url}/apis/v1beta1/pipelines`);
    await fetch(`${fake.url}/apis/v2beta1/pipelines`);
    await fake.close();
    expect(fake.requests.map((r) => r.status)).toEqual([200, 200, 200]);
  });
});
