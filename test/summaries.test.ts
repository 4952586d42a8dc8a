/**
 * Summaries as the agent handles them: it reads each file when it uploads the
 * attachment, after the step has moved on, and uploads it unmasked
 * (TaskAddAttachmentCommand). So every step writes its own file, and no
 * summary holds a value that could be a secret.
 */
import { afterEach, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { bundleExperimentRun, runHello, seedHello } from "./support/experiment-run-task.ts";
import { packageFor, uploadTask, useUploadTask, withFake } from "./support/upload-task.ts";

useUploadTask();
beforeAll(bundleExperimentRun);

const jobs: string[] = [];
afterEach(() => {
  for (const dir of jobs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

test("two uploads in one job each keep their own summary file until the agent reads it", async () => {
  const jobTempDir = mkdtempSync(join(tmpdir(), "job-temp-"));
  jobs.push(jobTempDir);
  await withFake({ api: "v2" }, async (kfp) => {
    const step = (name: string) =>
      uploadTask(kfp, { kubeflowPipelineTask: "uploadNew", pipelineFilePath: packageFor("v2"), newPipelineName: name }, { jobTempDir });
    const first = await step("first");
    const second = await step("second");
    const [a, b] = [first.summaries[0]!, second.summaries[0]!];
    expect(a.path).not.toBe(b.path);
    expect([basename(a.path), basename(b.path)]).toEqual(["kubeflow-upload-pipeline.md", "kubeflow-upload-pipeline.md"]);
    // What the agent would upload for the first step, read after the second step ran.
    expect(readFileSync(a.path, "utf8")).toBe(a.content);
    expect(a.content).toContain("first");
    expect(a.content).not.toContain("second");
  });
});

test("a secret variable passed in pipelineParams reaches the run, but no summary or file the task leaves", async () => {
  const secret = "s3cr3t-param-7d1c";
  await withFake({ api: "v2" }, async (kfp) => {
    await seedHello(kfp);
    const r = await runHello(kfp, { pipelineParams: "message=$(apiKey)" }, { secretVariables: { apiKey: secret } });
    expect(r.result).toBe("Succeeded");
    expect(kfp.state.runs[0]!.parameters).toMatchObject({ message: secret });
    expect(r.summaries).toHaveLength(1);
    expect(r.summaries[0]!.content).toContain("message");
    for (const summary of r.summaries) expect(summary.content).not.toContain(secret);
    for (const [path, content] of Object.entries(r.files)) expect([path, content.includes(secret)]).toEqual([path, false]);
  });
});
