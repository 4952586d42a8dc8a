/**
 * A step input no input of the task declares still reaches the task (the
 * agent passes it as INPUT_<NAME>); a misspelt one gets a warning naming the
 * input meant, and the task goes on.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { bundleTask } from "../build.ts";
import { closestInput, editDistance } from "../lib/task/misspelt-inputs.ts";
import { REPO_ROOT, runTask } from "./harness.ts";
import { PIPELINES, packageFor, TOKEN, uploadTask, useUploadTask, withFake } from "./support/upload-task.ts";

const EXPERIMENT_RUN = join(REPO_ROOT, "tasks", "experiment-run");
useUploadTask();
beforeAll(() => bundleTask(EXPERIMENT_RUN));

describe("closestInput", () => {
  const declared = ["waitForRunToFinish", "runName", "pipeline", "pipelineId", "dryRun"];

  test("a name one or two edits from an input is that input (names as the agent passes them)", () => {
    expect(closestInput("WAITFORRUNTOFINSH", declared)).toBe("waitForRunToFinish");
    expect(closestInput("PIEPLINEID", declared)).toBe("pipelineId");
    expect(editDistance("AB", "BA")).toBe(1);
  });

  test("a short or unrelated name is no misspelling: agents and pipeline variables pass INPUT_* of their own", () => {
    expect(closestInput("RUN", declared)).toBeUndefined();
    expect(closestInput("CUSTOM_FLAG", declared)).toBeUndefined();
    expect(closestInput("DRYRUN", declared)).toBeUndefined();
  });
});

test("experiment-run with waitForRunToFinsh warns, naming waitForRunToFinish, and still succeeds", async () => {
  await withFake({ api: "v2" }, async (kfp) => {
    await kfp.seedPipeline({ name: "hello", file: join(PIPELINES, "hello-v2.yaml"), versionName: "v1.0" });
    const r = await runTask({
      taskDir: EXPERIMENT_RUN,
      inputs: {
        kubeflowEndpoint: kfp.url,
        bearerToken: TOKEN,
        pipeline: "hello",
        useDefaultVersion: "true",
        experimentName: "ci",
        createNewRun: "true",
        pipelineParams: "message=hi",
        waitForRunToFinsh: "true",
        myOwnSetting: "x",
      },
      timeoutMs: 30_000,
    });
    expect(r.result).toBe("Succeeded");
    expect(r.warnings).toEqual([
      "The step sets an input this task does not have, WAITFORRUNTOFINSH (as the agent passes it): it is ignored. Did you mean waitForRunToFinish?",
    ]);
    expect(kfp.state.runs).toHaveLength(1);
  });
});

test("upload with a misspelt connection input warns, naming it", async () => {
  await withFake({ api: "v2" }, async (kfp) => {
    const r = await uploadTask(kfp, {
      kubeflowPipelineTask: "uploadNew",
      pipelineFilePath: packageFor("v2"),
      newPipelineName: "p",
      namespce: "team-a",
    });
    expect(r.result).toBe("Succeeded");
    expect(r.warnings).toEqual([expect.stringContaining("NAMESPCE (as the agent passes it): it is ignored. Did you mean namespace?")]);
  });
});
