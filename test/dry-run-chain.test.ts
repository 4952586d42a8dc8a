/**
 * The pull-request use README recommends: upload in dry run, then
 * experiment-run in dry run fed the upload's outputs. Both succeed without a
 * single write to KFP and say what they would do.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { bundleTask } from "../build.ts";
import { REPO_ROOT, runTask } from "./harness.ts";
import { packageFor, TOKEN, uploadTask, useUploadTask, withFake } from "./support/upload-task.ts";

const EXPERIMENT_RUN = join(REPO_ROOT, "tasks", "experiment-run");
useUploadTask();
beforeAll(() => bundleTask(EXPERIMENT_RUN));

const experimentRun = (url: string, inputs: Record<string, string>) =>
  runTask({
    taskDir: EXPERIMENT_RUN,
    inputs: {
      kubeflowEndpoint: url,
      bearerToken: TOKEN,
      experimentName: "ci",
      createNewRun: "true",
      pipelineParams: "message=hi",
      ...inputs,
    },
    timeoutMs: 30_000,
  });

describe.each(["v1", "v2"] as const)("on KFP %s", (api) => {
  test("upload then experiment-run, both in dry run, fed the upload's outputs: no write, and each says what it would do", async () => {
    await withFake({ api }, async (kfp) => {
      const upload = await uploadTask(kfp, {
        kubeflowPipelineTask: "uploadNew",
        pipelineFilePath: packageFor(api),
        newPipelineName: "train",
        dryRun: "true",
      });
      expect(upload.result).toBe("Succeeded");
      const r = await experimentRun(kfp.url, {
        pipelineId: upload.outputs.kf_pipeline_id!,
        pipelineVersionId: upload.outputs.kf_pipeline_version_id!,
        dryRun: "true",
      });
      expect([r.result, r.message]).toEqual(["Succeeded", "Dry run: every check passed; nothing was created."]);
      expect(kfp.writes()).toEqual([]);
      expect(r.stdout).toContain("are an upload dry run's placeholders");
      expect(r.stdout).toMatch(/Dry run: would POST \S+\/experiments with /);
      expect(r.stdout).toMatch(/Dry run: would POST \S+\/runs with .*dry-run-version/);
      expect(r.outputs).toMatchObject({ kf_pipeline_id: "dry-run-pipeline", kf_pipeline_version_id: "dry-run-version" });
    });
  });
});

test("fed an upload dry run's placeholders without dryRun, experiment-run fails naming pipelineId, before any request", async () => {
  await withFake({ api: "v2" }, async (kfp) => {
    const r = await experimentRun(kfp.url, { pipelineId: "dry-run-pipeline", pipelineVersionId: "dry-run-version" });
    expect(r.result).toBe("Failed");
    expect(r.message).toBe(
      "Input 'pipelineId': is 'dry-run-pipeline', the placeholder an upload in dry run outputs: nothing was uploaded. " +
        "Set dryRun: true on this step too, or run the upload for real.",
    );
    expect(kfp.requests).toEqual([]);
  });
});
