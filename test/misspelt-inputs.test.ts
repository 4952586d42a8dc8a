/**
 * A step input no input of the task declares still reaches the task (the
 * agent passes it as INPUT_<NAME>); a misspelt one gets a warning naming the
 * input meant, and the task goes on.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { closestInput, editDistance } from "../lib/task/misspelt-inputs.ts";
import { bundleExperimentRun, runHello, seedHello } from "./support/experiment-run-task.ts";
import { uploadNew, uploadTask, useUploadTask, withFake } from "./support/upload-task.ts";

useUploadTask();
beforeAll(bundleExperimentRun);

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
    await seedHello(kfp);
    const r = await runHello(kfp, { waitForRunToFinsh: "true", myOwnSetting: "x" });
    expect(r.result).toBe("Succeeded");
    expect(r.warnings).toEqual([
      "The step sets an input this task does not have, WAITFORRUNTOFINSH (as the agent passes it): " +
        "it is ignored. Did you mean waitForRunToFinish?",
    ]);
    expect(kfp.state.runs).toHaveLength(1);
  });
});

test("upload with a misspelt connection input warns, naming it", async () => {
  await withFake({ api: "v2" }, async (kfp) => {
    const r = await uploadTask(kfp, { ...uploadNew("p", "v2"), namespce: "team-a" });
    expect(r.result).toBe("Succeeded");
    expect(r.warnings).toEqual([expect.stringContaining("NAMESPCE (as the agent passes it): it is ignored. Did you mean namespace?")]);
  });
});
