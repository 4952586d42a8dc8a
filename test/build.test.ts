/**
 * The build: each check fails on a bad input (in temp folders), a complete
 * fixture extension builds into a vsix holding exactly what should ship, and the
 * real build's bundles each run alone under Node.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, sep } from "node:path";
import {
  BuildError,
  TASK_ALLOWED_REQUIRES,
  build,
  bundleFile,
  NOTICES_FILE,
  bundleTask,
  buildExitHandler,
  foreignRequires,
  handlerTargets,
  listZip,
  loadTaskSchemas,
  packageVsix,
  stageExtension,
  stubFunctions,
  taskDirs,
  validateTaskJson,
  type BuildReport,
} from "../build.ts";
import { REPO_ROOT, runTask } from "./harness.ts";

const FIXTURES = join(import.meta.dir, "fixtures");
const ICON = join(REPO_ROOT, "icon.png");
/** What tfx itself adds to every vsix. */
const TFX_FILES = ["[Content_Types].xml", "extension.vsixmanifest", "extension.vsomanifest"];
/**
 * The goal is 150 KB (bench/size.ts prints it). The extension was at 130.7 KB before the
 * recurring-run task, whose bundle adds about 42 KB compressed (each agent task carries its
 * own task-lib, valibot and KFP client), so it is at about 177 KB. This holds the line
 * there until the bundles shrink; lower it as they do.
 */
const MAX_VSIX_BYTES = 180 * 1024;

const schemas = loadTaskSchemas();
let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "build-test-"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A fresh folder under the test's temp folder. */
function folder(name: string): string {
  const dir = join(work, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

function readJson(file: string): any {
  return JSON.parse(readFileSync(file, "utf8"));
}

/** A copy of a fixture task folder whose task.json `edit` may change. */
function fixtureTask(parent: string, fixture: string, edit: (task: any) => void = () => {}): string {
  const dir = join(parent, fixture);
  cpSync(join(FIXTURES, fixture), dir, { recursive: true });
  const task = readJson(join(dir, "task.json"));
  edit(task);
  writeFileSync(join(dir, "task.json"), JSON.stringify(task, null, 2));
  return dir;
}

describe("bundling", () => {
  test("fails, writing nothing, when the bundle would require a package at run time", async () => {
    const dir = join(folder("requires-package"), "bad-task");
    mkdirSync(dir);
    // An unresolvable require inside try/catch is left for run time: esbuild does not complain.
    writeFileSync(
      join(dir, "bad-task.ts"),
      `let pad: unknown;\ntry { pad = require("left-pad-not-installed"); } catch {}\nconsole.log(pad);\n`,
    );
    const error = await bundleTask(dir).catch((e) => e);
    expect(error).toBeInstanceOf(BuildError);
    expect(error.message).toContain('would require "left-pad-not-installed"');
    expect(existsSync(join(dir, "index.js"))).toBe(false);
  });

  test("fails on an import that cannot be resolved, naming it", async () => {
    const dir = join(folder("unresolved"), "bad-task");
    mkdirSync(dir);
    writeFileSync(join(dir, "bad-task.ts"), `import pad from "left-pad-not-installed";\nconsole.log(pad);\n`);
    await expect(bundleTask(dir)).rejects.toThrow(/Could not resolve "left-pad-not-installed"/);
  });

  test("allows only Node built-ins and the task's own task.json", () => {
    const code = `require("fs");require("node:path");require('./task.json');require("ofetch");require(\`valibot\`)`;
    expect(foreignRequires(code, undefined, TASK_ALLOWED_REQUIRES)).toEqual(["ofetch", "valibot"]);
    expect(foreignRequires(code, undefined)).toEqual(["./task.json", "ofetch", "valibot"]);
  });

  test("a task bundle inlines task-lib with English messages only, minified without keepNames", async () => {
    const dir = fixtureTask(folder("bundle-ok"), "fixture-task");
    const result = await bundleTask(dir);
    const code = readFileSync(result.outfile, "utf8");
    expect(result.outfile).toBe(join(dir, "index.js"));
    expect(result.bytes).toBe(Buffer.byteLength(code));
    expect(code).toContain("Input required: %s");
    expect(code).not.toContain("loc.messages.LIB_InputRequired"); // the nine other languages
    // keepNames would rename every function at each start (see build.ts); error names do not depend on it.
    expect(code).not.toContain('"name",{value:');
    // The inlined packages are listed at the end; their licence texts go to ThirdPartyNotices.txt.
    const notices = code.slice(code.lastIndexOf("/*! Includes"));
    expect(notices).toMatch(/azure-pipelines-task-lib \d+\.\d+\.\d+ \(MIT\)/);
    expect(notices).toContain("their licences are in ThirdPartyNotices.txt");
    expect(result.packages.map((p) => p.name)).toContain("azure-pipelines-task-lib");
  });

  test("the exit handler goes to dist/exit-handler with the component YAML made from it", async () => {
    const root = folder("exit-handler");
    mkdirSync(join(root, "lib", "exit-handler"), { recursive: true });
    expect(await buildExitHandler(root)).toEqual({}); // nothing to build yet
    writeFileSync(
      join(root, "lib", "exit-handler", "main.ts"),
      `import { request } from "node:https";\nimport * as v from "valibot";\nconsole.log(typeof request, v.string().type);\n`,
    );
    writeFileSync(
      join(root, "lib", "exit-handler", "component.ts"),
      `export function componentYaml(script: string): string { return "name: exit\\nscript: " + JSON.stringify(script) + "\\n"; }\n`,
    );
    const result = await buildExitHandler(root);
    const script = readFileSync(join(root, "dist", "exit-handler", "exit-handler.js"), "utf8");
    expect(result.bundle?.outfile).toBe(join(root, "dist", "exit-handler", "exit-handler.js"));
    expect(script).not.toContain('require("valibot")');
    expect(readFileSync(join(root, "dist", "exit-handler", "component.yaml"), "utf8")).toBe(
      `name: exit\nscript: ${JSON.stringify(script)}\n`,
    );
  });

  test("a task that reaches lib/dev/, even through a shipping module, fails naming the import, writing nothing", async () => {
    const root = folder("reaches-dev");
    const dir = join(root, "tasks", "bad-task");
    for (const sub of ["lib/dev/agent", "lib/task"]) mkdirSync(join(root, sub), { recursive: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(root, "lib", "dev", "agent", "mod.ts"), `export const emulated = "agent";\n`);
    writeFileSync(join(root, "lib", "task", "mod.ts"), `export { emulated } from "../dev/agent/mod.ts";\n`);
    writeFileSync(join(dir, "bad-task.ts"), `import { emulated } from "../../lib/task/mod.ts";\nconsole.log(emulated);\n`);
    const error = await bundleTask(dir).catch((e) => e);
    expect(error).toBeInstanceOf(BuildError);
    expect(error.message).toContain("lib/dev/, which never ships");
    expect(error.message).toMatch(/lib\/task\/mod\.ts imports "\.\.\/dev\/agent\/mod\.ts"/);
    expect(existsSync(join(dir, "index.js"))).toBe(false);
    // The same task without the dev import bundles.
    writeFileSync(join(root, "lib", "task", "mod.ts"), `export const emulated = "shipped";\n`);
    expect((await bundleTask(dir)).bytes).toBeGreaterThan(0);
  });

  test("a task carries only the modules of ours it uses through a mod.ts; a bare import of ours that would be dropped fails", async () => {
    const root = folder("pure-modules");
    const dir = join(root, "tasks", "lean-task");
    mkdirSync(join(root, "lib", "task"), { recursive: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(root, "lib", "task", "used.ts"), `export const used = "used-value";\n`);
    writeFileSync(join(root, "lib", "task", "unused.ts"), `console.log("unused-loaded");\nexport const unused = 1;\n`);
    writeFileSync(join(root, "lib", "task", "mod.ts"), `export { used } from "./used.ts";\nexport { unused } from "./unused.ts";\n`);
    writeFileSync(join(dir, "lean-task.ts"), `import { used } from "../../lib/task/mod.ts";\nconsole.log(used);\n`);
    const code = readFileSync((await bundleTask(dir)).outfile, "utf8");
    expect(code).toContain("used-value");
    expect(code).not.toContain("unused-loaded");
    writeFileSync(join(dir, "lean-task.ts"), `import "../../lib/task/unused.ts";\n`);
    await expect(bundleTask(dir)).rejects.toThrow(/a bare import of ours would be dropped[\s\S]*lean-task\.ts/);
  });

  test("the exit handler may not reach lib/dev/ either", async () => {
    const root = folder("exit-handler-dev");
    for (const sub of ["lib/dev/fake-azdo", "lib/exit-handler"]) mkdirSync(join(root, sub), { recursive: true });
    writeFileSync(join(root, "lib", "dev", "fake-azdo", "mod.ts"), `export const fake = 1;\n`);
    writeFileSync(join(root, "lib", "exit-handler", "main.ts"), `import { fake } from "../dev/fake-azdo/mod.ts";\nconsole.log(fake);\n`);
    await expect(buildExitHandler(root)).rejects.toThrow(/main\.ts imports "\.\.\/dev\/fake-azdo\/mod\.ts"/);
    expect(existsSync(join(root, "dist", "exit-handler", "exit-handler.js"))).toBe(false);
  });

  test("the exit handler may not require a package either", async () => {
    const root = folder("exit-handler-bad");
    mkdirSync(join(root, "lib", "exit-handler"), { recursive: true });
    writeFileSync(join(root, "lib", "exit-handler", "main.ts"), `try { require("yaml-not-installed"); } catch {}\n`);
    await expect(buildExitHandler(root)).rejects.toThrow(/would require "yaml-not-installed"/);
  });
});

describe("task-lib's stand-ins for its ToolRunner, minimatch, semver and child_process, and its unused functions", () => {
  test("keep task-lib's version checks working and make unbundled features fail loudly", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kfp-standins-"));
    try {
      const entry = join(dir, "entry.ts");
      writeFileSync(
        entry,
        `import * as tl from "azure-pipelines-task-lib/task";
         const attempt = (f: () => unknown) => { try { return String(f()); } catch (e) { return "threw: " + (e as Error).message; } };
         console.log(JSON.stringify({
           newerAgent: attempt(() => tl.assertAgent("3.232.1")),
           olderAgent: attempt(() => tl.assertAgent("9.1.0")),
           match: attempt(() => tl.match(["a.txt"], "*.txt")),
           exec: attempt(() => tl.tool("node").exec()),
           toolRunner: attempt(() => new tl.ToolRunner("node")),
           externalOutput: attempt(() => tl.writeExternalOutput("x", {})),
           allowedCommands: attempt(() => tl.defaultAllowedVsoCommands),
           getInput: attempt(() => tl.getInput("kept")),
           childProcessLoaded: (process as any).moduleLoadList.includes("NativeModule child_process"),
         }));`,
      );
      const out = join(dir, "index.js");
      await bundleFile(entry, out);
      const child = Bun.spawnSync(["node", out], {
        env: { PATH: process.env.PATH ?? "", AGENT_VERSION: "4.248.0", AGENT_TEMPDIRECTORY: dir, INPUT_KEPT: "works" },
      });
      const result = JSON.parse(
        child.stdout
          .toString()
          .split("\n")
          .find((line) => line.startsWith("{"))!,
      );
      expect(result).toEqual({
        newerAgent: "undefined",
        olderAgent: expect.stringContaining("threw:"),
        // Functions no task calls are stubs naming themselves; what the tasks use works.
        match: "threw: task-lib's match is not bundled (see build.ts)",
        exec: "threw: task-lib's tool is not bundled (see build.ts)",
        toolRunner: expect.stringContaining("ToolRunner (tool, exec, execAsync, execSync) is not bundled"),
        getInput: "works",
        externalOutput: "threw: task-lib's writeExternalOutput is not bundled (see build.ts)",
        allowedCommands: "threw: task-lib's external output (defaultAllowedVsoCommands) is not bundled (see build.ts)",
        // child_process (rmRF on Windows only) loads on first use, not when task-lib starts.
        childProcessLoaded: false,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("stubbing task-lib's unused functions", () => {
  const source = [
    "var a = 1;",
    "function used(x) {",
    "    return x;",
    "}",
    "function unused(y) {",
    "    if (y) {",
    "        return 2;",
    "    }",
    "}",
    "exports.unused = unused;",
  ].join("\n");

  test("replaces exactly the named top-level function with a stub that throws naming it", () => {
    const stubbed = stubFunctions(source, "task.js", ["unused"]);
    expect(stubbed).toContain("function used(x) {\n    return x;\n}");
    expect(stubbed).toContain(
      `function unused() { throw new Error("task-lib's unused is not bundled (see build.ts)"); }\nexports.unused = unused;`,
    );
    expect(stubbed).not.toContain("return 2");
  });

  test("fails the build when task-lib no longer has a function of the list", () => {
    expect(() => stubFunctions(source, "task.js", ["gone"])).toThrow("task.js has no top-level function gone: task-lib changed");
  });
});

describe("task-lib's in-memory vault, lazy modules and output through our one stdout writer", () => {
  /** Bundles `code` as a task and runs it under Node with `env`; returns its stdout and what is left in its temp folder. */
  async function runBundled(code: string, env: Record<string, string>) {
    const dir = mkdtempSync(join(tmpdir(), "kfp-task-lib-start-"));
    try {
      const entry = join(dir, "entry.ts");
      writeFileSync(entry, code);
      await bundleFile(entry, join(dir, "index.js"));
      const temp = join(dir, "temp");
      mkdirSync(temp);
      const child = Bun.spawnSync(["node", join(dir, "index.js")], {
        env: { PATH: process.env.PATH ?? "", AGENT_TEMPDIRECTORY: temp, ...env },
        stdout: "pipe",
        stderr: "pipe",
      });
      expect(child.stderr.toString()).toBe("");
      return { stdout: child.stdout.toString(), leftInTemp: readdirSync(temp) };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  test("inputs stay readable, leave process.env, and no key file is written", async () => {
    const { stdout, leftInTemp } = await runBundled(
      `import * as tl from "azure-pipelines-task-lib/task";
       import { writeStdoutLine } from ${JSON.stringify(join(REPO_ROOT, "lib", "task", "stdout.ts"))};
       writeStdoutLine("result " + JSON.stringify({
         input: tl.getInput("secretThing"),
         stillInEnv: process.env.INPUT_SECRETTHING ?? null,
         endpoint: tl.getEndpointAuthorization("conn", false)?.parameters.apitoken,
         emptied: tl.getInput("emptyOne") ?? null,
       }));`,
      {
        INPUT_SECRETTHING: "abc-123",
        INPUT_EMPTYONE: "",
        ENDPOINT_AUTH_CONN: JSON.stringify({ scheme: "Token", parameters: { apitoken: "t0k" } }),
      },
    );
    const result = JSON.parse(
      stdout
        .split("\n")
        .find((l) => l.startsWith("result "))!
        .slice("result ".length),
    );
    expect(result).toEqual({ input: "abc-123", stillInEnv: null, endpoint: "t0k", emptied: null });
    // task-lib's own vault writes .taskkey here; the in-memory one writes nothing.
    expect(leftInTemp).toEqual([]);
  });

  test("task-lib's commands and our lines come out in the order written, and start-up loads no stream, crypto or net", async () => {
    const { stdout } = await runBundled(
      `import * as tl from "azure-pipelines-task-lib/task";
       import { writeStdoutLine } from ${JSON.stringify(join(REPO_ROOT, "lib", "task", "stdout.ts"))};
       for (let i = 0; i < 200; i++) {
         tl.debug("task-lib " + i);
         writeStdoutLine("ours " + i);
       }
       tl.setResult(tl.TaskResult.Failed, "done");
       const loaded = (process as any).moduleLoadList.filter((m: string) => /^NativeModule (stream|crypto|net|tty|child_process)$/.test(m));
       writeStdoutLine("loaded " + JSON.stringify(loaded));`,
      {},
    );
    const lines = stdout.split("\n").filter((l) => /task-lib \d|^ours \d/.test(l));
    const expected = Array.from({ length: 200 }, (_, i) => [`##vso[task.debug]task-lib ${i}`, `ours ${i}`]).flat();
    expect(lines).toEqual(expected);
    expect(stdout).toContain("##vso[task.complete result=Failed;]done");
    // Neither task-lib nor our writer touched process.stdout (a pipe would load net), nor loaded what only rare calls need.
    expect(stdout).toContain("loaded []");
  });
});

describe("task.json validation", () => {
  test("a valid agent task and a valid server task pass", async () => {
    const parent = folder("valid");
    // The official schema forbids `_` in output variable names; kf_* names are allowed.
    const agent = fixtureTask(parent, "fixture-task", (t) => t.outputVariables.push({ name: "kf_run_id" }));
    await bundleTask(agent);
    expect(validateTaskJson(agent, schemas).name).toBe("fixture-task");
    expect(validateTaskJson(fixtureTask(parent, "fixture-server-task"), schemas).name).toBe("fixture-server-task");
  });

  test.each([
    ["a string where the schema wants a boolean", (t: any) => (t.inputs[0].required = "true"), /\/inputs\/0\/required must be boolean/],
    ["an unknown top-level property", (t: any) => (t.inputz = []), /additional properties \(inputz\)/],
    ["a bad input type", (t: any) => (t.inputs[0].type = "text"), /\/inputs\/0\/type/],
    ["an output variable name with a dash", (t: any) => (t.outputVariables[0].name = "kf-run-id"), /\/outputVariables\/0\/name must match/],
    [
      "an agentless handler in an agent task",
      (t: any) => (t.execution.HttpRequest = { Execute: {} }),
      /additional properties \(HttpRequest\)/,
    ],
    ["an id that is no GUID", (t: any) => (t.id = "fixture"), /id must be a GUID/],
    ["a name with a space", (t: any) => (t.name = "fixture task"), /name must match/],
    ["a friendlyName over 40 characters", (t: any) => (t.friendlyName = "x".repeat(41)), /friendlyName must be 1 to 40 characters/],
    ["no instanceNameFormat", (t: any) => delete t.instanceNameFormat, /instanceNameFormat is missing/],
    ["a handler target that does not exist", (t: any) => (t.execution.Node24.target = "main.js"), /handler target main.js does not exist/],
  ])("an agent task with %s fails", async (_, edit, message) => {
    const dir = fixtureTask(folder("invalid-agent"), "fixture-task", edit);
    await bundleTask(dir);
    expect(() => validateTaskJson(dir, schemas)).toThrow(message);
  });

  test.each([
    ["an unknown field in Execute", (t: any) => (t.execution.HttpRequest.Execute.Url = "x"), /additional properties \(Url\)/],
    ["no EndpointUrl", (t: any) => delete t.execution.HttpRequest.Execute.EndpointUrl, /EndpointUrl/],
    ["a bad method", (t: any) => (t.execution.HttpRequest.Execute.Method = "FETCH"), /Method/],
    ["a bad event timeout", (t: any) => (t.execution.HttpRequest.Events.TaskCompleted.Timeout = "12h"), /Timeout must match/],
    [
      "a Node handler beside HttpRequest",
      (t: any) => (t.execution.Node20_1 = { target: "index.js" }),
      /additional properties \(Node20_1\)/,
    ],
  ])("a server task with %s fails", (_, edit, message) => {
    const dir = fixtureTask(folder("invalid-server"), "fixture-server-task", edit);
    expect(() => validateTaskJson(dir, schemas)).toThrow(message);
  });

  test("a missing task.json or schema fails with a clear message", () => {
    expect(() => validateTaskJson(folder("no-task-json"), schemas)).toThrow(/task\.json is missing/);
    expect(() => loadTaskSchemas(join(work, "missing", "task.schema.json"))).toThrow(/schema not found .*missing\/task\.schema\.json/);
  });
});

/** A complete extension in a temp root: the fixture agent task, the fixture server task, the real manifest's endpoint. */
function fixtureExtension(name: string): string {
  const root = folder(name);
  const tasks = join(root, "tasks");
  mkdirSync(tasks);
  for (const fixture of ["fixture-task", "fixture-server-task"]) {
    fixtureTask(tasks, fixture);
    cpSync(ICON, join(tasks, fixture, "icon.png"));
  }
  const manifest = readJson(join(REPO_ROOT, "vss-extension.json"));
  const taskContributions = ["fixture-task", "fixture-server-task"].map((t) => ({
    id: t,
    type: "ms.vss-distributed-task.task",
    targets: ["ms.vss-distributed-task.tasks"],
    properties: { name: `tasks/${t}` },
  }));
  manifest.contributions = [...manifest.contributions.filter((c: any) => c.type !== "ms.vss-distributed-task.task"), ...taskContributions];
  manifest.files = taskContributions.map((c) => ({ path: c.properties.name }));
  writeFileSync(join(root, "vss-extension.json"), JSON.stringify(manifest, null, 2));
  writeFileSync(join(root, manifest.content.details.path), "# Fixture extension\n");
  cpSync(join(REPO_ROOT, "LICENSE"), join(root, "LICENSE"));
  cpSync(join(REPO_ROOT, "icon.png"), join(root, "icon.png"));
  return root;
}

/** The files that must be in the vsix, worked out from the manifest and the task.json files alone. */
function expectedVsixFiles(root: string): string[] {
  const manifest = readJson(join(root, "vss-extension.json"));
  // ThirdPartyNotices.txt: the licences of what the task bundles inline, made by the build.
  const files = [...TFX_FILES, manifest.icons.default, manifest.content.details.path, manifest.content.license.path, NOTICES_FILE];
  const taskFolders = manifest.contributions
    .filter((c: any) => c.type === "ms.vss-distributed-task.task")
    .map((c: any) => c.properties.name);
  // Files listed one by one (the Marketplace page's pictures).
  files.push(...manifest.files.map((f: any) => f.path).filter((path: string) => !taskFolders.includes(path)));
  for (const c of manifest.contributions.filter((c: any) => c.type === "ms.vss-distributed-task.task")) {
    const task = readJson(join(root, c.properties.name, "task.json"));
    const agent = Object.keys(task.execution).some((h) => h.startsWith("Node"));
    files.push(`${c.properties.name}/task.json`, `${c.properties.name}/icon.png`, ...(agent ? [`${c.properties.name}/index.js`] : []));
  }
  return files.sort();
}

describe("staging and packaging", () => {
  test("a fixture extension builds into a vsix holding exactly the files that ship", async () => {
    const root = fixtureExtension("extension");
    const lines: string[] = [];
    const report = await build({ root, log: (l) => lines.push(l) });
    expect(report.vsix.files.sort()).toEqual(expectedVsixFiles(root));
    expect(report.vsix.bytes).toBeLessThanOrEqual(MAX_VSIX_BYTES);
    const notices = readFileSync(join(root, "dist", "stage", NOTICES_FILE), "utf8");
    expect(notices).toContain("azure-pipelines-task-lib");
    expect(notices).toContain("Permission is hereby granted, free of charge");
    expect(
      listZip(report.vsix.vsix)
        .filter((e) => !e.name.endsWith("/"))
        .map((e) => e.name)
        .sort(),
    ).toEqual(expectedVsixFiles(root));
    expect(lines.some((l) => /^tasks\/fixture-task\/index\.js\s+\d+\.\d KB$/.test(l))).toBe(true);
    const vsixLine = new RegExp(`\\.vsix\\s+\\d+\\.\\d KB, ${expectedVsixFiles(root).length} files$`);
    expect(lines.some((l) => vsixLine.test(l))).toBe(true);
  });

  test("a recorded release holds the versions: " +
    "a task changed since then fails the build until its and the extension's versions move", async () => {
    const root = fixtureExtension("released");
    writeFileSync(join(root, "CHANGELOG.md"), "# Changelog\n\n## 1.0.0\n\n- first\n");
    const manifest = readJson(join(root, "vss-extension.json"));
    writeFileSync(join(root, "vss-extension.json"), JSON.stringify({ ...manifest, version: "1.0.0" }, null, 2));
    await build({ root, recordRelease: true, log: () => {} });
    expect(readJson(join(root, "releases.json")).releases.map((r: any) => r.version)).toEqual(["1.0.0"]);

    const taskJson = join(root, "tasks", "fixture-task", "task.json");
    writeFileSync(taskJson, JSON.stringify({ ...readJson(taskJson), helpMarkDown: "changed" }, null, 2));
    await expect(build({ root, log: () => {} })).rejects.toThrow("tasks/fixture-task changed since 1.0.0 was released");

    const task = readJson(taskJson);
    writeFileSync(taskJson, JSON.stringify({ ...task, version: { ...task.version, Patch: task.version.Patch + 1 } }, null, 2));
    writeFileSync(join(root, "vss-extension.json"), JSON.stringify({ ...manifest, version: "1.0.1" }, null, 2));
    await expect(build({ root, log: () => {} })).rejects.toThrow('CHANGELOG.md has no "## 1.0.1" section');
    writeFileSync(join(root, "CHANGELOG.md"), "# Changelog\n\n## 1.0.1\n\n- changed help\n\n## 1.0.0\n\n- first\n");
    expect((await build({ root, log: () => {} })).vsix.vsix).toEndWith("-1.0.1.vsix");
  }, 60_000); // four builds, three of them packaged by tfx: seconds each on a loaded machine

  test("a task folder the manifest does not contribute fails the build", async () => {
    const root = fixtureExtension("uncontributed");
    cpSync(join(root, "tasks", "fixture-task"), join(root, "tasks", "stray-task"), { recursive: true });
    expect(() => stageExtension(root, join(root, "dist", "stage"))).toThrow(/tasks\/stray-task is not contributed/);
  });

  test("a file the manifest names but the repository lacks fails the build", () => {
    const root = fixtureExtension("no-page");
    const page = readJson(join(root, "vss-extension.json")).content.details.path;
    rmSync(join(root, page));
    expect(() => stageExtension(root, join(root, "dist", "stage"))).toThrow(`${page} is missing (needed by content.details`);
  });

  test.each([
    [
      "a handler target is missing",
      (stage: string) => rmSync(join(stage, "tasks", "fixture-task", "index.js")),
      /target references file that does not exist/,
    ],
    [
      "a friendlyName is over 40 characters",
      (stage: string) => editJson(join(stage, "tasks", "fixture-task", "task.json"), (t) => (t.friendlyName = "x".repeat(41))),
      /friendlyName/,
    ],
  ])("any tfx warning fails packaging: %s", async (_, breakStage, message) => {
    const root = fixtureExtension("tfx-warning");
    await bundleTask(join(root, "tasks", "fixture-task"));
    const stage = join(root, "dist", "stage");
    stageExtension(root, stage);
    breakStage(stage);
    const error = (() => {
      try {
        packageVsix(stage, join(root, "dist"));
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error).toBeInstanceOf(BuildError);
    expect(error!.message).toMatch(/tfx extension create warned/);
    expect(error!.message).toMatch(message);
  });
});

function editJson(file: string, edit: (json: any) => void): void {
  const json = readJson(file);
  edit(json);
  writeFileSync(file, JSON.stringify(json));
}

/**
 * Runs a built task folder's index.js alone (only task.json beside it) with no
 * inputs: it must fail cleanly, with one task.complete whose message names an input.
 */
async function expectCleanFailureWithoutInputs(dir: string): Promise<void> {
  const task = readJson(join(dir, "task.json"));
  const inputNames: string[] = (task.inputs ?? []).map((i: any) => i.name);
  const r = await runTask({ taskDir: dir, timeoutMs: 30_000 });
  const what = {
    task: basename(dir),
    result: r.result,
    stderr: r.stderr.slice(0, 500),
    completions: r.stdout.match(/##vso\[task\.complete /g)?.length ?? 0,
  };
  expect(what).toEqual({ task: basename(dir), result: "Failed", stderr: "", completions: 1 });
  const named = inputNames.filter((name) => new RegExp(`\\b${name}\\b`, "i").test(r.message ?? ""));
  expect({ task: basename(dir), message: r.message, namesAnInput: named.length > 0 }).toEqual({
    task: basename(dir),
    message: r.message,
    namesAnInput: true,
  });
}

describe("the real build", () => {
  let report: BuildReport | undefined;
  let failure: Error | undefined;

  beforeAll(async () => {
    // Built into a temp dist so a concurrent `npm run build` is not disturbed.
    try {
      report = await build({ distDir: join(work, "real-dist"), log: () => {} });
    } catch (error) {
      failure = error as Error;
    }
  });

  const real = (): BuildReport => {
    if (failure) throw new Error(`the real build failed: ${failure.message}`);
    return report!;
  };

  test("the vsix holds only the files that ship", () => {
    expect(real().vsix.files.sort()).toEqual(expectedVsixFiles(REPO_ROOT));
  });

  test(`the vsix is at most ${MAX_VSIX_BYTES / 1024} KB`, () => {
    const { vsix } = real();
    const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
    const entries = listZip(vsix.vsix)
      .filter((e) => e.compressedSize > 4096)
      .map((e) => `${e.name} ${kb(e.compressedSize)}`);
    expect(`vsix ${kb(vsix.bytes)} (${entries.join(", ")})`).toBe(
      vsix.bytes <= MAX_VSIX_BYTES ? `vsix ${kb(vsix.bytes)} (${entries.join(", ")})` : `vsix <= ${kb(MAX_VSIX_BYTES)}`,
    );
  });

  test("every agent task's index.js runs alone with its task.json and fails cleanly without inputs", async () => {
    real();
    const agentTasks = taskDirs(REPO_ROOT).filter((dir) => handlerTargets(readJson(join(dir, "task.json"))).length > 0);
    if (agentTasks.length === 0) throw new Error("no agent task is built (tasks/*/index.js): nothing to check");
    for (const dir of agentTasks) await expectCleanFailureWithoutInputs(dir);
  });

  test("every task registers credentials as secrets first, before task-lib's first line, whatever the task file imports", async () => {
    const tasks = real().bundles.filter((b) => b.outfile.endsWith(`${sep}index.js`));
    // The build puts lib/task/early-secrets.ts ahead of each task's own file.
    for (const bundle of tasks)
      expect({ bundle: bundle.outfile, registers: readFileSync(bundle.outfile, "utf8").includes("task.setsecret") }).toEqual({
        bundle: bundle.outfile,
        registers: true,
      });
    const withToken = tasks.filter((b) =>
      readJson(join(dirname(b.outfile), "task.json")).inputs?.some((i: any) => i.name === "bearerToken"),
    );
    if (withToken.length === 0) throw new Error("no task takes a bearerToken: nothing to run");
    const token = "early-secret-7f3a9c";
    for (const bundle of withToken) {
      const r = await runTask({ taskDir: dirname(bundle.outfile), inputs: { bearerToken: token }, variables: { "system.debug": "true" } });
      const lines = r.stdout.split("\n");
      const secret = lines.findIndex((l) => l.startsWith("##vso[task.setsecret]") && l.includes(token));
      const taskLib = lines.findIndex((l) => l.startsWith("##vso[task.debug]"));
      expect({ task: basename(dirname(bundle.outfile)), secretFirst: secret >= 0 && taskLib > secret }).toEqual({
        task: basename(dirname(bundle.outfile)),
        secretFirst: true,
      });
    }
  });

  test("the fixture task's bundle also runs alone and fails cleanly without inputs", async () => {
    const dir = fixtureTask(folder("alone"), "fixture-task");
    await bundleTask(dir);
    await expectCleanFailureWithoutInputs(dir);
  });
});
