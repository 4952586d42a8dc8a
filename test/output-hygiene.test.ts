/**
 * Text from outside never reaches the agent as a command: every field the
 * tasks print from a KFP answer (server version, names, step names,
 * error messages) and from inputs is neutralised wherever it sits in a line
 * (lib/task/log.ts), and IDs are checked before they become output variables
 * (lib/task/outputs.ts). The agent emulation runs any `##vso[` it finds in a
 * line (agent Command.TryParse), so a leak here would set `pwned`.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { bundleTask } from "../build.ts";
import type { FakeKfp } from "../lib/dev/fake-kfp/types.ts";
import { checkOutput } from "../lib/task/outputs.ts";
import { untrusted as neutralise } from "../lib/task/untrusted.ts";
import { REPO_ROOT, runTask, type TaskRunResult } from "./harness.ts";
import { startFake } from "./support/fake.ts";
import { PIPELINES, TOKEN, uploadTask, useUploadTask } from "./support/upload-task.ts";

/** A command and a log format, as a hostile KFP (or a man in the middle on http) would send them. */
const HOSTILE = "x ##vso[task.setvariable variable=pwned;]1 ##[error]fake ##VSO[task.complete result=Failed;]";
const SHOWN = "**vso[task.setvariable variable=pwned;]1 **[error]fake";

const EXPERIMENT_RUN = join(REPO_ROOT, "tasks", "experiment-run");
useUploadTask();
beforeAll(() => bundleTask(EXPERIMENT_RUN));

/** Nothing but task-lib's own commands, each at the start of its line (the agent runs only the first `##vso[` in a line). */
function expectHarmless(r: TaskRunResult): void {
  expect(r.variables.map((v) => v.name)).not.toContain("pwned");
  expect(r.errors.filter((e) => e.includes("fake") && !e.includes("**[error]fake"))).toEqual([]);
  for (const line of r.stdout.split("\n")) {
    if (line.startsWith("##vso[")) continue;
    expect(line).not.toMatch(/##vso|##\[/i);
  }
  expect(r.warnings.filter((w) => w.includes("logging command keyword"))).toEqual([]);
}

async function hostileFake(api: "v1" | "v2"): Promise<FakeKfp> {
  // Answers that break the swagger (a state that is no enum value) are the point here: no contract check.
  return startFake({ api, token: TOKEN, serverVersion: HOSTILE }, { skipContract: true });
}

function experimentRun(kfp: FakeKfp, inputs: Record<string, string>): Promise<TaskRunResult> {
  return runTask({
    taskDir: EXPERIMENT_RUN,
    inputs: { kubeflowEndpoint: kfp.url, bearerToken: TOKEN, experimentName: HOSTILE, ...inputs },
    timeoutMs: 30_000,
  });
}

describe.each(["v1", "v2"] as const)("a hostile KFP %s", (api) => {
  const file = join(PIPELINES, api === "v2" ? "hello-v2.yaml" : "hello-v1.yaml");

  test("upload: server version, pipeline and version names are printed neutralised", async () => {
    const kfp = await hostileFake(api);
    try {
      await kfp.seedPipeline({ name: HOSTILE, file, versionName: "v1" });
      const r = await uploadTask(kfp, {
        kubeflowPipelineTask: "uploadNewVersion",
        pipelineFilePath: file,
        existingPipelineName: HOSTILE,
        versionName: `${HOSTILE} v2`,
      });
      expect(r.result).toBe("Succeeded");
      expectHarmless(r);
      expect(r.stdout).toContain(`Connected to KFP x ${SHOWN}`);
      expect(r.stdout).toContain(`Found pipeline 'x ${SHOWN}`);
      expect(r.message).toContain(`version 'x ${SHOWN}`);
    } finally {
      await kfp.close();
    }
  });

  test("upload: KFP's error message is neutralised in the failure", async () => {
    const kfp = await hostileFake(api);
    try {
      kfp.fault({ method: "POST", path: /upload/, fault: { status: 400, body: { error_message: HOSTILE, message: HOSTILE } } });
      const r = await uploadTask(kfp, { kubeflowPipelineTask: "uploadNew", pipelineFilePath: file, newPipelineName: "p" });
      expect(r.result).toBe("Failed");
      expectHarmless(r);
      expect(r.message).toContain(SHOWN);
    } finally {
      await kfp.close();
    }
  });

  test("experiment-run: server version, names, step names and the run's error are printed neutralised", async () => {
    const kfp = await hostileFake(api);
    try {
      await kfp.seedPipeline({ name: HOSTILE, file, versionName: HOSTILE });
      kfp.scriptRun({ end: "FAILED", error: HOSTILE, steps: [{ name: HOSTILE, state: "RUNNING" }] });
      const r = await experimentRun(kfp, {
        pipeline: HOSTILE,
        pipelineVersion: HOSTILE,
        createNewRun: "true",
        runName: HOSTILE,
        pipelineParams: "message=hi",
        waitForRunToFinish: "true",
        pollIntervalSeconds: "1",
      });
      expect(r.result).toBe("Failed");
      expectHarmless(r);
      expect(r.stdout).toContain(`Connected to KFP x ${SHOWN}`);
      expect(r.stdout).toContain(`Pipeline 'x ${SHOWN}`);
      expect(r.stdout).toContain(`Experiment 'x ${SHOWN}`);
      expect(r.stdout).toContain(`Run 'x ${SHOWN}`);
      // KFP 2.x reports the run's steps; their names are KFP's text too.
      if (api === "v2") expect(r.stdout).toContain(`running: x ${SHOWN}`);
      expect(r.message).toContain(`: x ${SHOWN}`);
    } finally {
      await kfp.close();
    }
  });

  test("experiment-run: an ID that is not KFP's shape is a clear error, not an output variable", async () => {
    const kfp = await hostileFake(api);
    try {
      const experiment = await kfp.seedExperiment({ name: "ci" });
      kfp.state.experiments.find((e) => e.id === experiment.id)!.id = "run-1$(id>x)";
      const r = await experimentRun(kfp, { experimentName: "ci", experiment: "useExistingExperiment" });
      expect(r.result).toBe("Failed");
      expect(r.message).toContain('KFP answered "run-1$(id>x)" for kf_experiment_id, which is not a UUID');
      expect(r.variables).toEqual([]);
    } finally {
      await kfp.close();
    }
  });
});

describe("the checks themselves", () => {
  test("neutralise removes command and format starts anywhere, in any case", () => {
    expect(neutralise("a ##vso[x] b ##VSO[y] ##[error] ##vso")).toBe("a **vso[x] b **VSO[y] **[error] **vso");
  });

  test("IDs must be UUIDs (or a dry run's placeholders), states one word; other outputs pass", () => {
    expect(() => checkOutput("kf_run_id", "0b5e2a4c-3f1d-4c8e-9a7b-6d5c4b3a2f10")).not.toThrow();
    expect(() => checkOutput("kf_pipeline_id", "dry-run-pipeline")).not.toThrow();
    expect(() => checkOutput("kf_run_id", "0b5e2a4c-3f1d-4c8e-9a7b-6d5c4b3a2f10\n")).toThrow(/not a UUID/);
    expect(() => checkOutput("kf_run_status", "SUCCEEDED")).not.toThrow();
    expect(() => checkOutput("kf_run_status", "OK; rm -rf")).toThrow(/not one word/);
    expect(() => checkOutput("kf_pipeline_name", "any $(name)")).not.toThrow();
  });
});
