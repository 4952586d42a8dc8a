/**
 * `npm run demo` (lib/dev/local/demo.ts): the newcomer's first command runs every task
 * end to end against the fakes and exits 0; a step that goes wrong stops it
 * with a non-zero exit naming the step.
 */
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { AZDO_PAT, KFP_TOKEN, LocalLog, runDemo, type DemoFakes } from "../lib/dev/local/mod.ts";
import { REPO_ROOT } from "./harness.ts";

/** Runs the demo in this process, its log kept in `lines`; `prepare` may break a fake. */
async function demoWith(prepare: (fakes: DemoFakes) => void) {
  const lines: string[] = [];
  let fakes: DemoFakes | undefined;
  const result = await runDemo({
    log: new LocalLog({ write: (line) => lines.push(line), color: false }),
    prepare: (f) => {
      fakes = f;
      prepare(f);
    },
  });
  return { result, lines, fakes: fakes! };
}

describe("npm run demo", () => {
  test("builds, runs every task end to end against the fakes, and ends with the vsix", () => {
    const run = spawnSync("npm", ["run", "--silent", "demo"], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1" },
      timeout: 60_000,
    });
    const out = run.stdout;

    expect(run.status).toBe(0);
    for (let step = 1; step <= 9; step++) expect(out).toContain(`[${step}/9] `);
    expect(out).toMatch(/Created pipeline 'hello-demo'/);
    expect(out).toMatch(/Added version 'v2'/);
    expect(out).toMatch(/\[\ds\] Run state: RUNNING/);
    expect(out).toMatch(/kf_run_status +SUCCEEDED/);
    expect(out).toContain("fake KFP 1.8 received 0 writes during the dry run");
    expect(out).toMatch(/"azdocallbackinfo": "\{\\"PlanUri\\":\\"http:\/\/127\.0\.0\.1:\d+\/org\/\\"/);
    expect(out).toContain("Azure DevOps received TaskCompleted (result succeeded)");
    expect(out).not.toContain(KFP_TOKEN);
    expect(out).not.toContain(AZDO_PAT);
    const last = out.trimEnd().split("\n").at(-1)!;
    const vsix = /: (dist\/\S+\.vsix)$/.exec(last)?.[1];
    expect(vsix).toBeDefined();
    expect(existsSync(join(REPO_ROOT, vsix!))).toBe(true);
  }, 60_000);

  test("a task that fails stops the demo at its step, and the fakes are shut", async () => {
    const { result, lines, fakes } = await demoWith(({ kfp2 }) =>
      kfp2.fault({
        method: "POST",
        path: "/apis/v2beta1/pipelines/upload",
        fault: { status: 400, body: { message: "bad package" } },
        times: Infinity,
      }),
    );

    expect(result).toMatchObject({ ok: false, step: 2 });
    expect(!result.ok && result.problem).toMatch(/^upload-pipeline ended Failed: Input 'pipelineFilePath'/);
    expect(lines.join("\n")).not.toContain("[3/9]");
    await expect(fetch(`${fakes.kfp2.url}/apis/v2beta1/healthz`)).rejects.toThrow();
  }, 60_000);

  test("an exit handler that cannot reach Azure DevOps fails the last step", async () => {
    const { result } = await demoWith(({ azdo }) => azdo.fault({ on: "events", fault: { status: 404 }, times: Infinity }));

    expect(result).toMatchObject({ ok: false, step: 9, problem: "the exit handler exited 1" });
  }, 60_000);
});
