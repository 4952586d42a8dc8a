/**
 * Kubeflow Exit Handler Component: its bundle, run as an agent runs it, writes
 * the exit handler's KFP component exactly as the build generated it from
 * lib/exit-handler (one source), says where, and fails on a bad path with one
 * message naming the input.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, mkdirSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildExitHandler, bundleTask } from "../build.ts";
import { REPO_ROOT, runTask, taskDir } from "./harness.ts";

const TASK = join(REPO_ROOT, "tasks", "exit-handler-component");
const taskJson = JSON.parse(readFileSync(join(TASK, "task.json"), "utf8"));
let generated = "";
const temps: string[] = [];

beforeAll(async () => {
  const dist = mkdtempSync(join(tmpdir(), "exit-handler-dist-"));
  temps.push(dist);
  const { componentFile } = await buildExitHandler(REPO_ROOT, dist);
  generated = readFileSync(componentFile!, "utf8");
  await bundleTask(TASK, generated);
});
afterAll(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), "exit-handler-ws-"));
  temps.push(dir);
  return dir;
}

function run(outputFile: string, work: string) {
  return runTask({
    taskDir: taskDir("exit-handler-component"),
    inputs: { outputFile },
    variables: { "System.DefaultWorkingDirectory": work },
    timeoutMs: 30_000,
  });
}

describe("Kubeflow Exit Handler Component", () => {
  test("writes the component the build generated, under the checkout, and sets its path as an output", async () => {
    const work = workspace();
    const r = await run("pipelines/component.yaml", work);

    const file = join(work, "pipelines", "component.yaml");
    expect(r.result).toBe("Succeeded");
    const written = readFileSync(file, "utf8");
    const { Major, Minor, Patch } = taskJson.version;
    expect(written.split("\n")[0]).toContain(`written by KubeflowExitHandlerComponent ${Major}.${Minor}.${Patch}`);
    expect(written.endsWith(generated)).toBe(true);
    expect(written.split("\n").slice(2).join("\n")).toBe(generated);
    expect(r.outputs.kf_exit_handler_component).toBe(file);
    expect(r.variables.filter((v) => v.name === "kf_exit_handler_component").map((v) => v.isOutput)).toEqual([false, true]);
    // Undeclared in task.json, so a real agent keeps the plain $(kf_exit_handler_component) too (ExecutionContext.SetVariable).
    expect(r.outputs["kfpStep.kf_exit_handler_component"]).toBe(file);
    expect(r.message).toBe(
      `Wrote the Kubeflow exit handler component (KubeflowExitHandlerComponent ${Major}.${Minor}.${Patch}) to ${file}.`,
    );
  });

  test("an absolute path is written where it says", async () => {
    const work = workspace();
    const target = join(workspace(), "azdo_callback.yaml");
    const r = await run(target, work);
    expect(r.result).toBe("Succeeded");
    expect(readFileSync(target, "utf8").endsWith(generated)).toBe(true);
  });

  test("a folder fails naming outputFile, and writes nothing", async () => {
    const work = workspace();
    mkdirSync(join(work, "component.yaml"));
    const r = await run("component.yaml", work);
    expect(r.result).toBe("Failed");
    expect(r.errors).toEqual([
      `Input 'outputFile': is a folder (${join(work, "component.yaml")}). Give a file name in it, e.g. component.yaml.`,
    ]);
    expect(r.outputs.kf_exit_handler_component).toBeUndefined();
  });

  test("an empty path fails naming outputFile", async () => {
    const work = workspace();
    const r = await run("  ", work);
    expect(r.result).toBe("Failed");
    expect(r.errors).toEqual(["Input 'outputFile': is empty. Give the file to write, e.g. component.yaml."]);
    expect(existsSync(join(work, "component.yaml"))).toBe(false);
  });

  test("the bundle carries no task-lib, and stays small", () => {
    const code = readFileSync(join(TASK, "index.js"), "utf8");
    expect(code).not.toContain("_vsts_task_lib_loaded"); // task-lib marks itself loaded under this global
    expect(Buffer.byteLength(code)).toBeLessThan(generated.length + 16 * 1024);
  });
});
