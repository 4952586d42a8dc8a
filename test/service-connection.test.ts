/**
 * The Kubeflow Pipelines service connection's Verify button: the manifest's
 * TestConnection data source, rendered as Azure DevOps renders it
 * (lib/dev/server-task/data-source.ts) and sent with the connection's own
 * credential to the fake KFP 1.8 and 2.x, with and without a path prefix.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { dataSourceRequest, renderDataSourceUrl, type ServerTaskEndpoint, verifyConnection } from "../lib/dev/server-task/mod.ts";
import { REPO_ROOT } from "./harness.ts";
import { startFake } from "./support/fake.ts";

const MANIFEST = JSON.parse(readFileSync(join(REPO_ROOT, "vss-extension.json"), "utf8"));
const TYPE = "kubeflow-pipelines";
const TOKEN = "verify-token-5e21c9";

function connection(url: string, token?: string): ServerTaskEndpoint {
  return token
    ? { id: "c", type: TYPE, url, scheme: "Token", parameters: { apitoken: token } }
    : { id: "c", type: TYPE, url, scheme: "None" };
}

describe("the manifest's TestConnection data source", () => {
  test("is declared once on our endpoint type, asks KFP's healthz and selects a field KFP always answers", () => {
    const type = MANIFEST.contributions.find((c: any) => c.properties?.name === TYPE).properties;
    const sources = type.dataSources.filter((d: any) => d.name === "TestConnection");
    expect(sources).toHaveLength(1);
    expect(sources[0].endpointUrl).toEndWith("apis/v1beta1/healthz");
    expect(sources[0].resultSelector).toBe("jsonpath:$.tag_name");
  });

  test.each([
    ["http://ml-pipeline.kubeflow:8888", "http://ml-pipeline.kubeflow:8888/apis/v1beta1/healthz"],
    ["https://kubeflow.example.com/pipeline", "https://kubeflow.example.com/pipeline/apis/v1beta1/healthz"],
    ["https://kubeflow.example.com/pipeline/", "https://kubeflow.example.com/pipeline/apis/v1beta1/healthz"],
  ])("%s: one slash before /apis whether or not the URL ends with one", (url, expected) => {
    expect(dataSourceRequest(MANIFEST, connection(url), "TestConnection").url).toBe(expected);
  });

  test("the model renders only what it knows", () => {
    expect(() => renderDataSourceUrl("{{#other endpoint.url}}x{{/other}}", "http://h")).toThrow("no helper other is registered");
  });
});

describe.each(["v1", "v2"] as const)("Verify against a fake KFP %s", (api) => {
  test.each(["", "/pipeline"])("prefix %p: the connection's token reaches healthz and the connection verifies", async (prefix) => {
    const kfp = await startFake({ api, token: TOKEN, prefix: prefix || undefined });
    try {
      const result = await verifyConnection(MANIFEST, connection(kfp.url, TOKEN));
      expect(result).toEqual({ verified: true, status: 200, selected: api === "v1" ? "1.8.5" : "2.5.0" });
      expect(kfp.requests.map((r) => [r.method, r.path, r.authorized])).toEqual([["GET", "/apis/v1beta1/healthz", true]]);
    } finally {
      await kfp.close();
    }
  });

  test("a wrong token does not verify", async () => {
    const kfp = await startFake({ api, token: TOKEN });
    try {
      const result = await verifyConnection(MANIFEST, connection(kfp.url, "not-it"));
      expect(result.verified).toBe(false);
      expect(result.status).toBe(401);
    } finally {
      await kfp.close();
    }
  });

  test("a connection without authentication (scheme None) verifies against an open KFP, sending no credential", async () => {
    const kfp = await startFake({ api });
    try {
      const result = await verifyConnection(MANIFEST, connection(kfp.url));
      expect(result.verified).toBe(true);
      expect(kfp.requests.map((r) => r.headers.authorization)).toEqual([undefined]);
    } finally {
      await kfp.close();
    }
  });
});
