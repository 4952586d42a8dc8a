/**
 * The Kubeflow Upload Pipeline task's failures: each ends the task Failed with
 * one message that names the input at fault, says what was wrong and how to fix
 * it, and uploads nothing (asserted on the fake's record of writes).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FakeKfp } from "../lib/dev/fake-kfp/types.ts";
import type { TaskRunResult } from "./harness.ts";
import { BUILD_VERSION_NAME, TOKEN, fakeKfp, packageFor, uploadNew, uploadTask, useUploadTask, withFake } from "./support/upload-task.ts";

useUploadTask();

/** Failed, with one error message that starts by naming the input and holds every fragment. */
function expectFailure(r: TaskRunResult, input: string, ...fragments: string[]): void {
  expect(r.result).toBe("Failed");
  expect(r.message).toStartWith(`Input '${input}': `);
  for (const fragment of fragments) expect(r.message).toContain(fragment);
  expect(r.errors).toEqual([r.message!]);
  expect(r.log).not.toContain(TOKEN);
}

const scratch = mkdtempSync(join(tmpdir(), "upload-errors-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
function scratchFile(name: string, content: string | Uint8Array = ""): string {
  const file = join(scratch, name);
  writeFileSync(file, content);
  return file;
}

describe("bad input (one fake that is never written to)", () => {
  let kfp: FakeKfp;
  const file = packageFor("v2");
  beforeAll(async () => {
    kfp = await fakeKfp({ api: "v2" });
    await kfp.seedPipeline({ name: "existing", file, versionName: "v1" });
    await kfp.seedPipeline({ name: "built", file, versionName: BUILD_VERSION_NAME });
  });
  afterAll(async () => {
    expect(kfp.writes()).toEqual([]);
    await kfp.close();
  });

  /** Runs the task and checks it sent no request at all: input checks come first. */
  async function rejectedBeforeAnyRequest(inputs: Record<string, string>): Promise<TaskRunResult> {
    const since = kfp.requests.length;
    const r = await uploadTask(kfp, inputs);
    expect(kfp.requests.length).toBe(since);
    return r;
  }

  describe("pipelineFilePath", () => {
    const bigFile = join(scratch, "big.yaml");
    beforeAll(() => {
      writeFileSync(bigFile, "");
      truncateSync(bigFile, 32 * 1024 * 1024 + 1); // sparse: no 32 MiB written
      mkdirSync(join(scratch, "compiled.yaml"));
    });
    test.each([
      ["missing", () => join(scratch, "nowhere.yaml"), ["does not exist", "Check the path"]],
      ["a directory", () => join(scratch, "compiled.yaml"), ["is a directory"]],
      ["empty", () => scratchFile("empty.yaml"), ["is empty (0 bytes)"]],
      ["over 32 MiB", () => bigFile, ["KFP accepts at most 32 MiB"]],
      [
        "of a type KFP refuses",
        () => scratchFile("pipeline.py", "from kfp import dsl\n"),
        ["extension KFP does not accept", ".yaml, .yml, .json, .zip, .tar.gz or .tgz"],
      ],
      ["not what its name says", () => scratchFile("pipeline.zip", "not a zip"), ["is not a zip archive"]],
    ] as const)("%s: fails before any request", async (_, path, fragments) => {
      const r = await rejectedBeforeAnyRequest({ kubeflowPipelineTask: "uploadNew", pipelineFilePath: path(), newPipelineName: "new" });
      expectFailure(r, "pipelineFilePath", ...fragments);
    });
  });

  test("no connection at all: names both ways to give one", async () => {
    const r = await rejectedBeforeAnyRequest({ ...uploadNew("new", "v2"), kubeflowEndpoint: "", bearerToken: "" });
    expectFailure(r, "kfpConnection", "kubeflowEndpoint", "service connection");
  });

  test.each([
    ["ftp://kfp.example.com/", "only http and https"],
    ["kfp.example.com/pipeline", "is not a URL"],
  ])("endpoint %s is not an http(s) URL", async (endpoint, fragment) => {
    const r = await rejectedBeforeAnyRequest({ ...uploadNew("new", "v2"), kubeflowEndpoint: endpoint });
    expectFailure(r, "kubeflowEndpoint", fragment, "e.g. https://");
  });

  test.each([
    [{ kubeflowPipelineTask: "uploadNew" }, "newPipelineName", "uploadNew needs the name of the pipeline to create"],
    [{ kubeflowPipelineTask: "uploadNewVersion" }, "existingPipelineName", "uploadNewVersion needs the name of the pipeline"],
    [{ kubeflowPipelineTask: "uploadNewOrVersion" }, "newPipelineName", "and so is existingPipelineName"],
    [{ kubeflowPipelineTask: "upload" }, "kubeflowPipelineTask", "uploadNew, uploadNewVersion, uploadNewOrVersion"],
    [
      { kubeflowPipelineTask: "uploadNewVersion", existingPipelineName: "existing", ifVersionExists: "overwrite" },
      "ifVersionExists",
      "fail, reuse",
    ],
    [{ kubeflowPipelineTask: "uploadNew", newPipelineName: "new", dryRun: "yes" }, "dryRun", "true or false"],
    [{ kubeflowPipelineTask: "uploadNew", newPipelineName: "n".repeat(129) }, "newPipelineName", "longer than 128 characters"],
    [
      { kubeflowPipelineTask: "uploadNewVersion", existingPipelineName: "existing", versionName: "v\n2" },
      "versionName",
      "control character",
    ],
  ])("%j: names %s", async (inputs, input, fragment) => {
    const r = await rejectedBeforeAnyRequest({ pipelineFilePath: file, ...inputs });
    expectFailure(r, input, fragment);
  });

  // A pipeline that does not exist; a version name that is taken (says so and offers ifVersionExists reuse).
  test.each([
    ["missing", "v2", "existingPipelineName", "'missing', which does not exist", "uploadNewOrVersion"],
    ["existing", "v1", "versionName", "'v1' is already taken", "ifVersionExists to reuse"],
  ])("uploadNewVersion of pipeline '%s' named '%s': names %s", async (existingPipelineName, versionName, input, says, hint) => {
    const r = await uploadTask(kfp, {
      kubeflowPipelineTask: "uploadNewVersion",
      pipelineFilePath: file,
      existingPipelineName,
      versionName,
    });
    expectFailure(r, input, says, hint);
  });

  test("a version name derived from the build that is taken (a re-run): says where the name came from", async () => {
    const r = await uploadTask(kfp, { kubeflowPipelineTask: "uploadNewOrVersion", pipelineFilePath: file, newPipelineName: "built" });
    expectFailure(r, "versionName", `'${BUILD_VERSION_NAME}' was derived from the build number and commit`, "ifVersionExists to reuse");
  });
});

describe("authentication", () => {
  test.each(["redirect", "html"] as const)(
    "a login page (%s) instead of KFP names the endpoint and how to authenticate",
    async (loginPage) => {
      await withFake({ api: "v2", token: undefined, loginPage }, async (kfp) => {
        const r = await uploadTask(kfp, { ...uploadNew("new", "v2"), bearerToken: "" });
        expectFailure(r, "kubeflowEndpoint", "login page", "session cookie");
        expect(kfp.writes()).toEqual([]);
      });
    },
  );

  test("a rejected token (401) names bearerToken", async () => {
    await withFake({ api: "v1" }, async (kfp) => {
      const r = await uploadTask(kfp, uploadNew("new", "v1"), { token: "expired-token-123" });
      expectFailure(r, "bearerToken", "was rejected by KFP (HTTP 401");
      expect(kfp.writes()).toEqual([]);
      expect(r.log).not.toContain("expired-token-123");
    });
  });

  test("a rejected service-connection token names kfpConnection", async () => {
    await withFake({ api: "v2" }, async (kfp) => {
      const r = await uploadTask(kfp, uploadNew("new", "v2"), { via: "service connection", token: "revoked-token-456" });
      expectFailure(r, "kfpConnection", "was rejected by KFP (HTTP 401");
      expect(r.log).not.toContain("revoked-token-456");
      expect(kfp.writes()).toEqual([]);
    });
  });

  test("no token for a KFP that requires one names bearerToken", async () => {
    await withFake({ api: "v2" }, async (kfp) => {
      const r = await uploadTask(kfp, { ...uploadNew("new", "v2"), bearerToken: "" });
      expectFailure(r, "bearerToken", "is not set, and KFP requires authentication");
    });
  });

  test("a service connection without authentication (scheme None) for a KFP that requires a token says so", async () => {
    await withFake({ api: "v2" }, async (kfp) => {
      const inputs = uploadNew("new", "v2");
      const r = await uploadTask(kfp, inputs, { via: "service connection", token: "" });
      expectFailure(r, "kfpConnection", "names a service connection without authentication (scheme None)", "Token based authentication");
      expect(r.message).not.toContain("is not set");
      expect(kfp.writes()).toEqual([]);
    });
  });

  test("a service connection without authentication (scheme None) works with a KFP that needs none, sending no credential", async () => {
    await withFake({ api: "v2", token: undefined }, async (kfp) => {
      const inputs = uploadNew("open", "v2");
      const r = await uploadTask(kfp, inputs, { via: "service connection", token: "" });
      expect(r.result).toBe("Succeeded");
      expect(kfp.state.pipelines.map((p) => p.name)).toEqual(["open"]);
      expect(kfp.requests.every((q) => q.headers.authorization === undefined)).toBe(true);
    });
  });

  test("a token without access (403) names bearerToken", async () => {
    await withFake({ api: "v2" }, async (kfp) => {
      kfp.fault({
        method: "POST",
        path: "/apis/v2beta1/pipelines/upload",
        fault: { status: 403, body: { message: "User is not authorized" } },
      });
      const r = await uploadTask(kfp, uploadNew("new", "v2"));
      expectFailure(r, "bearerToken", "is not allowed to do this in KFP (HTTP 403", "User is not authorized.", "kubeflow-edit");
      expect(kfp.state.pipelines).toEqual([]);
    });
  });
});

describe.each(["v1", "v2"] as const)("KFP %s refuses", (api) => {
  let kfp: FakeKfp;
  beforeAll(async () => {
    kfp = await fakeKfp({ api });
  });
  afterAll(() => kfp.close());
  const uploadPath = `/apis/${api === "v1" ? "v1beta1" : "v2beta1"}/pipelines/upload`;

  test("a package it cannot read: names pipelineFilePath with KFP's own message", async () => {
    const notAPipeline = scratchFile(`settings-${api}.yaml`, "learning_rate: 0.1\n");
    const r = await uploadTask(kfp, { kubeflowPipelineTask: "uploadNew", pipelineFilePath: notAPipeline, newPipelineName: "unreadable" });
    expectFailure(r, "pipelineFilePath", "was rejected by KFP", "unknown template format");
    expect(kfp.state.pipelines.map((p) => p.name)).not.toContain("unreadable");
  });

  test(
    "uploadNew with a name that exists (409 on 2.x, 500 'already exist' on 1.8): " + "names newPipelineName, suggests the other modes",
    async () => {
      await kfp.seedPipeline({ name: "existing", file: packageFor(api) });
      const since = kfp.writes().length;
      const r = await uploadTask(kfp, uploadNew("existing", api));
      expectFailure(r, "newPipelineName", "'existing', which already exists (", "uploadNewVersion", "uploadNewOrVersion");
      // KFP refused the one upload: nothing was created.
      expect(
        kfp
          .writes()
          .slice(since)
          .map((w) => [w.path, w.status]),
      ).toEqual([[uploadPath, api === "v1" ? 500 : 409]]);
      expect(kfp.state.pipelines.filter((p) => p.name === "existing")).toHaveLength(1);
    },
  );

  test("KFP's text cannot issue agent commands", async () => {
    kfp.fault({
      method: "POST",
      path: uploadPath,
      fault: {
        status: 400,
        body: {
          error_message: "bad spec ##vso[task.setvariable variable=kf_pipeline_id]evil",
          message: "bad spec ##vso[task.setvariable variable=kf_pipeline_id]evil",
          code: 3,
        },
      },
    });
    const r = await uploadTask(kfp, uploadNew("injected", api));
    expectFailure(r, "pipelineFilePath", "bad spec");
    expect(r.variables).toEqual([]);
  });

  test("a lost answer to the upload is retried without creating the pipeline twice", async () => {
    kfp.fault({ method: "POST", path: uploadPath, fault: { reset: "after-read" } });
    const r = await uploadTask(kfp, uploadNew("once", api));
    expect(r.result).toBe("Succeeded");
    const created = kfp.state.pipelines.filter((p) => p.name === "once");
    expect(created).toHaveLength(1);
    expect(r.outputs.kf_pipeline_id).toBe(created[0]!.id);
  });
});

test("an endpoint that is not KFP names kubeflowEndpoint, with what was tried", async () => {
  // A web server that knows no KFP path. (Refused connections are retried for seconds: not tested here.)
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => Response.json({ message: "no such page" }, { status: 404 }) });
  try {
    const r = await uploadTask({ url: `http://127.0.0.1:${server.port}/shop` }, uploadNew("new", "v2"));
    expectFailure(r, "kubeflowEndpoint", "does not lead to the KFP API", "was not found at", "Check the endpoint");
  } finally {
    server.stop(true);
  }
});

test("a forced API version the server does not serve names apiVersion", async () => {
  await withFake({ api: "v1" }, async (kfp) => {
    const r = await uploadTask(kfp, { ...uploadNew("new", "v1"), apiVersion: "v2beta1" });
    expectFailure(r, "apiVersion", "is v2beta1, which the KFP at this endpoint does not serve", "use API version v1beta1 or auto");
    expect(kfp.writes()).toEqual([]);
  });
});
