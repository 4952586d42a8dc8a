/**
 * Start-up: what an agent task loads before it has checked its inputs. A bad
 * input must fail at about Node's own start-up cost (the figure itself is
 * `npm run bench`'s, never a timed test), so the Node modules that only
 * sending, reading a package or rare task-lib calls need load after, and the
 * bundle reaches task-lib through one module.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { REPO_ROOT, runTask, taskDir } from "./harness.ts";

/** Node modules no agent task may load before its inputs are checked. */
const LOADED_AFTER_INPUTS = ["crypto", "stream", "net", "tty", "http", "https", "tls", "zlib", "child_process", "fs/promises"];

const AGENT_TASKS = readdirSync(join(REPO_ROOT, "tasks")).filter((name) => {
  const task = JSON.parse(readFileSync(join(REPO_ROOT, "tasks", name, "task.json"), "utf8")) as { execution?: object };
  return Object.keys(task.execution ?? {}).some((handler) => handler.startsWith("Node"));
});

let work: string;
let recorder: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "start-up-test-"));
  // Preloaded into the task: on exit, writes the Node modules it loaded where the harness collects files.
  recorder = join(work, "record-modules.cjs");
  writeFileSync(
    recorder,
    `process.on("exit", () => require("node:fs").writeFileSync(require("node:path").join(process.env.AGENT_TEMPDIRECTORY, "modules.txt"),` +
      ` process.moduleLoadList.filter((m) => m.startsWith("NativeModule ")).map((m) => m.slice(13)).join("\\n")));\n`,
  );
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("an agent task failing on its inputs", () => {
  test.each(AGENT_TASKS)("%s loads none of the Node modules only later steps need", async (name) => {
    const r = await runTask({ taskDir: taskDir(name), env: { NODE_OPTIONS: `--require ${recorder}` }, timeoutMs: 30_000 });
    expect(r.result).toBe("Failed");
    const loaded = (r.files["temp/modules.txt"] ?? "").split("\n");
    expect(loaded).toContain("fs");
    expect(loaded.filter((m) => LOADED_AFTER_INPUTS.includes(m))).toEqual([]);
  });
});

describe("the shipped sources", () => {
  const shipped = ["lib/task", "lib/kfp", "lib/net", "tasks"].flatMap((dir) =>
    (readdirSync(join(REPO_ROOT, dir), { recursive: true }) as string[])
      .filter((f) => f.endsWith(".ts"))
      .map((f) => relative(REPO_ROOT, join(REPO_ROOT, dir, f))),
  );

  test("import task-lib in one module only (each other import would copy its exports at start)", () => {
    const importers = shipped.filter((f) => /from "azure-pipelines-task-lib/.test(readFileSync(join(REPO_ROOT, f), "utf8")));
    expect(importers).toEqual(["lib/task/task-lib.ts"]);
  });

  test("import Node's modules by name, not as a namespace (a namespace copies every export at start)", () => {
    const namespaces = shipped.filter((f) => /^import \* as \w+ from "node:/m.test(readFileSync(join(REPO_ROOT, f), "utf8")));
    expect(namespaces).toEqual([]);
  });
});

describe("the bundles", () => {
  test("load later modules with require, never import() (it starts Node's ESM loader: ~2 ms on Node 20, ~15 ms on Node 24)", () => {
    const bundles = [...AGENT_TASKS.map((name) => join("tasks", name, "index.js")), join("dist", "exit-handler", "exit-handler.js")];
    const importing = bundles.filter((f) => /\bimport\(/.test(readFileSync(join(REPO_ROOT, f), "utf8")));
    expect(importing).toEqual([]);
  });
});
