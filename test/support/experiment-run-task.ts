/**
 * Running the experiment-run task in tests outside its own test file: a fake
 * KFP seeded with the `hello` pipeline, and the inputs that start one run of it.
 */
import { join } from "node:path";
import { bundleTask } from "../../build.ts";
import type { FakeKfp } from "../../lib/dev/fake-kfp/types.ts";
import { REPO_ROOT, runTask, type TaskRunRequest, type TaskRunResult } from "../harness.ts";
import { PIPELINES, TOKEN } from "./upload-task.ts";

export const EXPERIMENT_RUN_DIR = join(REPO_ROOT, "tasks", "experiment-run");

/** Builds tasks/experiment-run/index.js (call from beforeAll). */
export const bundleExperimentRun = () => bundleTask(EXPERIMENT_RUN_DIR);

/** Seeds `hello` (version v1.0, compiled for KFP 2.x) into a v2 fake. */
export async function seedHello(kfp: FakeKfp): Promise<void> {
  await kfp.seedPipeline({ name: "hello", file: join(PIPELINES, "hello-v2.yaml"), versionName: "v1.0" });
}

/** The request that starts one run of `hello` in experiment `ci`; `inputs` add to or override those. */
export function helloRequest(kfp: FakeKfp, inputs: Record<string, string> = {}, token = TOKEN): TaskRunRequest {
  return {
    taskDir: EXPERIMENT_RUN_DIR,
    inputs: {
      kubeflowEndpoint: kfp.url,
      bearerToken: token,
      pipeline: "hello",
      useDefaultVersion: "true",
      experimentName: "ci",
      createNewRun: "true",
      pipelineParams: "message=hi",
      ...inputs,
    },
    timeoutMs: 30_000,
  };
}

/** Runs that request; `extra` adds to it (secret variables, ...). */
export function runHello(kfp: FakeKfp, inputs: Record<string, string>, extra: Partial<TaskRunRequest> = {}): Promise<TaskRunResult> {
  return runTask({ ...helloRequest(kfp, inputs), ...extra });
}
