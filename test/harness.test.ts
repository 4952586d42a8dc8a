/**
 * The agent emulation and test harness, on a small fixture task bundled here
 * with the build's own bundler.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleTask } from "../build.ts";
import { agentEnvironment, agentEnvName, connectionEnv, expandMacros, taskInputs } from "../lib/dev/agent/env.ts";
import { parseCommand } from "../lib/dev/agent/commands.ts";
import { REPO_ROOT, maskSecrets, parseAgentOutput, runTask, startTask, taskDir, type ServiceConnection } from "./harness.ts";

const TOKEN = "tok-0123456789abcdef";
const CONNECTION: ServiceConnection = {
  id: "11111111-2222-4333-8444-555555555555",
  url: "https://kfp.example.test/pipeline",
  scheme: "Token",
  parameters: { apitoken: TOKEN },
  data: { namespace: "team-a" },
};

let work: string;
let fixture: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "harness-test-"));
  fixture = join(work, "fixture-task");
  cpSync(join(import.meta.dir, "fixtures", "fixture-task"), fixture, { recursive: true });
  await bundleTask(fixture);
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

const run = (extra: Partial<Parameters<typeof runTask>[0]> = {}) =>
  runTask({
    taskDir: fixture,
    inputs: { message: "world", connection: CONNECTION.id },
    connections: [CONNECTION],
    timeoutMs: 20_000,
    ...extra,
  });

describe("running a task as the agent does", () => {
  test("reads inputs and the connection, and reports result, variables, summary and warning", async () => {
    const r = await run();
    expect(r.result).toBe("Succeeded");
    expect(r.message).toBe("Hello, world!");
    expect(r.exitCode).toBe(0);
    expect(r.timedOut).toBe(false);
    expect(r.stdout).toContain(`connection ${CONNECTION.url} token length ${TOKEN.length}`);
    // Declared in the fixture's outputVariables: the agent keeps it only as <step>.greetingText.
    expect(r.outputs["kfpStep.greetingText"]).toBe("Hello, world!");
    expect(r.outputs.greetingText).toBeUndefined();
    expect(r.variables.find((v) => v.name === "greetingText")).toEqual({
      name: "greetingText",
      value: "Hello, world!",
      isOutput: true,
      isSecret: false,
    });
    expect(r.variables.find((v) => v.name === "secretOut")).toEqual({
      name: "secretOut",
      value: "out-world-secret",
      isOutput: true,
      isSecret: true,
    });
    expect(r.summaries).toHaveLength(1);
    expect(r.summaries[0]!.content).toBe("# Fixture\n\nHello, world!\n");
    expect(r.warnings).toEqual(["fixture warning"]);
    expect(r.errors).toEqual([]);
    expect(r.log).toContain("##[warning]fixture warning");
  });

  test("unescapes variable values as task-lib escaped them", async () => {
    const r = await run();
    expect(r.recordVariables.special).toBe("a;b]c%d\r\ne");
  });

  test("fills inputs from task.json defaults, expanding variable macros; given inputs and variables win", async () => {
    const defaults = await run();
    expect(defaults.message).toBe("Hello, world!");
    expect(defaults.stdout).toContain("label: build 20261126.1");
    const given = await run({
      inputs: { message: "there", greeting: "Hi", connection: CONNECTION.id },
      variables: { "Build.BuildNumber": "42" },
    });
    expect(given.message).toBe("Hi, there!");
    expect(given.stdout).toContain("label: build 42");
  });

  test("a missing required input fails the task with a message naming it", async () => {
    const r = await runTask({ taskDir: fixture, timeoutMs: 20_000 });
    expect(r.result).toBe("Failed");
    expect(r.message).toBe("Input required: message");
    expect(r.errors).toEqual(["Input required: message"]);
    expect(r.log).toContain("##[error]Input required: message");
  });

  test("collects the files the task left behind, not its own task.json and index.js", async () => {
    const r = await run();
    expect(r.files["work/left-behind.txt"]).toBe("left by world");
    expect(r.files["temp/summary.md"]).toContain("Hello, world!");
    // Exactly these: task-lib's vault would also leave its key in temp/.taskkey, the build's in-memory one writes none.
    expect(Object.keys(r.files).sort()).toEqual(["temp/summary.md", "work/left-behind.txt"]);
    expect(Object.keys(r.files).filter((f) => f.endsWith("index.js") || f.endsWith("task.json"))).toEqual([]);
  });

  test("times the task's process apart from the whole run (the run folder made before, files read back after)", async () => {
    const r = await run();
    expect(r.processMs).toBeGreaterThan(0);
    expect(r.processMs).toBeLessThan(r.ms);
  });

  test("a bundle that needs node_modules fails: the run folder holds only task.json and index.js", async () => {
    // Inside the repository, require("valibot") would resolve through its node_modules.
    const dir = join(REPO_ROOT, "dist", "hidden-dependency-task");
    mkdirSync(dir, { recursive: true });
    cpSync(join(fixture, "task.json"), join(dir, "task.json"));
    writeFileSync(
      join(dir, "index.js"),
      `try { require("valibot"); console.log("##vso[task.complete result=Succeeded;]found"); }\n` +
        `catch { console.log("##vso[task.complete result=Failed;]no node_modules"); }\n`,
    );
    try {
      const r = await runTask({ taskDir: dir, timeoutMs: 20_000 });
      expect(r.message).toBe("no node_modules");
      expect(r.result).toBe("Failed");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the log the user sees", () => {
  test("connection secrets and secret variables are masked from the first line", async () => {
    const r = await run({ secretVariables: { pipelineSecret: "pipe-secret-value" } });
    expect(r.stdout).toContain(`token in clear (masked by the agent): ${TOKEN}`);
    expect(r.log).toContain("token in clear (masked by the agent): ***");
    expect(r.log).toContain("pipeline secret: ***");
    expect(r.stdout).toContain("pipeline secret: pipe-secret-value");
    expect(r.log).not.toContain(TOKEN);
    expect(r.log).not.toContain("pipe-secret-value");
  });

  test("a value is masked only after its task.setsecret line", async () => {
    const r = await run();
    expect(r.secrets).toEqual(["gen-world-secret"]);
    expect(r.log).toContain("before setSecret: gen-world-secret");
    expect(r.log).toContain("after setSecret: ***");
    expect(r.log).toContain("secret output: ***");
  });

  test("onLog streams the same masked lines as they arrive", async () => {
    const streamed: string[] = [];
    const r = await run({ onLog: (line) => streamed.push(line) });
    expect(streamed.join("\n")).toBe(r.log);
    expect(streamed).toContain("token in clear (masked by the agent): ***");
  });

  test("debug lines appear only with system.debug, and stay masked", async () => {
    const quiet = await run();
    expect(quiet.log).not.toContain("##[debug]");
    expect(quiet.stdout).toContain("##vso[task.debug]debug detail for world");
    const verbose = await run({ variables: { "system.debug": "true" } });
    expect(verbose.log).toContain("##[debug]debug detail for world");
    expect(verbose.log).toContain("##[debug]Processed: ##vso[task.complete");
    // task-lib debug-prints the endpoint's auth parameter; the agent masks it.
    expect(verbose.stdout).toContain(TOKEN);
    expect(verbose.log).toContain("auth param apitoken = ***");
    expect(verbose.log).not.toContain(TOKEN);
    expect(verbose.log).not.toContain("out-world-secret");
  });
});

describe("controlling a running task", () => {
  test("SIGINT reaches the task, which ends Cancelled", async () => {
    const running = startTask({ taskDir: fixture, inputs: { message: "world", mode: "wait" }, timeoutMs: 20_000 });
    expect(running.pid).toBeGreaterThan(0);
    await running.waitForStdout("waiting for a signal");
    running.signal("SIGINT");
    const r = await running.done;
    expect(r.result).toBe("Cancelled");
    expect(r.message).toBe("cancelled by SIGINT");
    expect(r.timedOut).toBe(false);
  });

  test("SIGTERM ends a task that does not handle it", async () => {
    const running = startTask({ taskDir: fixture, inputs: { message: "world", mode: "hang" }, timeoutMs: 20_000 });
    await running.waitForStdout(/hanging/);
    running.signal("SIGTERM");
    const r = await running.done;
    expect(r.signal).toBe("SIGTERM");
    expect(r.result).toBeUndefined();
  });

  test("timeoutMs kills the task with SIGKILL and says so", async () => {
    const r = await runTask({ taskDir: fixture, inputs: { message: "world", mode: "hang" }, timeoutMs: 500 });
    expect(r.timedOut).toBe(true);
    expect(r.signal).toBe("SIGKILL");
    expect(r.result).toBeUndefined();
  });

  test("waitForStdout rejects when the task ends first", async () => {
    const running = startTask({ taskDir: fixture, timeoutMs: 20_000 });
    await expect(running.waitForStdout("never printed")).rejects.toThrow(/ended before its stdout matched/);
    expect((await running.done).result).toBe("Failed");
  });

  test("a task folder without a bundle is refused with a hint", () => {
    const dir = join(work, "unbuilt");
    mkdirSync(dir, { recursive: true });
    cpSync(join(fixture, "task.json"), join(dir, "task.json"));
    expect(() => startTask({ taskDir: dir })).toThrow(/run `npm run build` first/);
    expect(() => taskDir("no-such-task")).toThrow(/no-such-task/);
  });
});

describe("agent environment", () => {
  test("mangles names as the agent does", () => {
    expect(agentEnvName("system.debug")).toBe("SYSTEM_DEBUG");
    expect(agentEnvName("my input.name")).toBe("MY_INPUT_NAME");
  });

  test("exports a connection as ENDPOINT_* variables", () => {
    const env = connectionEnv([CONNECTION]);
    const id = CONNECTION.id;
    expect(env[`ENDPOINT_URL_${id}`]).toBe(CONNECTION.url);
    expect(JSON.parse(env[`ENDPOINT_AUTH_${id}`]!)).toEqual({ parameters: { apitoken: TOKEN }, scheme: "Token" });
    expect(env[`ENDPOINT_AUTH_SCHEME_${id}`]).toBe("Token");
    expect(env[`ENDPOINT_AUTH_PARAMETER_${id}_APITOKEN`]).toBe(TOKEN);
    expect(env[`ENDPOINT_DATA_${id}_NAMESPACE`]).toBe("team-a");
  });

  test("takes only PATH and HOME from the host, plus what the request gives", () => {
    const env = agentEnvironment({
      inputs: { "my.input": "v" },
      variables: { "system.debug": "false" },
      secretVariables: { "my.secret": "s" },
      env: { NODE_EXTRA_CA_CERTS: "/ca.pem" },
      host: { PATH: "/bin", HOME: "/home/x", AWS_SECRET_ACCESS_KEY: "leak", INPUT_STRAY: "leak" },
    });
    expect(env).toEqual({
      PATH: "/bin",
      HOME: "/home/x",
      SYSTEM_DEBUG: "false",
      VSTS_PUBLIC_VARIABLES: '["system.debug"]',
      SECRET_MY_SECRET: "s",
      VSTS_SECRET_VARIABLES: '["my.secret"]',
      INPUT_MY_INPUT: "v",
      NODE_EXTRA_CA_CERTS: "/ca.pem",
    });
  });

  test("merges input defaults case-insensitively and expands known macros only", () => {
    const inputs = taskInputs(
      [{ name: "flag", defaultValue: true }, { name: "path", defaultValue: " $(System.DefaultWorkingDirectory)/x " }, { name: "empty" }],
      { FLAG: "false" },
      { "system.defaultWorkingDirectory": "/src" },
    );
    expect(inputs).toEqual({ FLAG: "false", path: "/src/x", empty: "" });
    expect(expandMacros("$(unknown.var) $(BUILD.BUILDID)", { "build.buildId": "7" })).toBe("$(unknown.var) 7");
  });
});

describe("reading logging commands", () => {
  test("parses a command anywhere in a line, properties case-insensitively", () => {
    expect(parseCommand("prefix ##vso[task.setvariable variable=x;isOutput=True;issecret=false;]v%3Bx%AZP250A")).toEqual({
      name: "task.setvariable",
      properties: { variable: "x", isoutput: "True", issecret: "false" },
      // %3B is undone in messages too; %AZP25 last, so %AZP250A is a literal %0A.
      message: "v;x%0A",
    });
    expect(parseCommand("no command here")).toBeUndefined();
  });

  test("the worst task.complete wins, the last message stays; issues are rendered as the agent shows them", () => {
    const out = parseAgentOutput(
      [
        "##vso[task.logissue type=warning]careful",
        "##vso[task.complete result=SucceededWithIssues;]first",
        "##vso[task.logissue type=error;]broken%0Aline two",
        "##vso[task.complete result=Failed;]second",
      ].join("\n"),
    );
    expect(out.result).toBe("Failed");
    expect(out.message).toBe("second");
    expect(out.errors).toEqual(["broken\nline two"]);
    expect(out.log).toBe("##[warning]careful\n##[error]broken\nline two");
  });

  test("masks the longest secret first", () => {
    expect(maskSecrets("abc abcdef", ["abc", "abcdef"])).toBe("*** ***");
  });
});

describe("task.json restrictions, enforced as the agent does", () => {
  const out = [
    "##vso[task.setvariable variable=kf_run_id;isOutput=true;]r1",
    "##vso[task.setvariable variable=PATH;]/evil",
    "##vso[task.uploadsummary]/tmp/summary.md",
    "##vso[task.complete result=Succeeded;]done",
  ].join("\n");

  test("restricted mode refuses commands outside the agent's allowed set, such as uploadsummary", () => {
    const result = parseAgentOutput(out, { restrictions: { commands: { mode: "restricted" } }, readSummary: () => "# s" });
    expect(result.summaries).toEqual([]);
    expect(result.warnings.some((w) => w.includes("##vso[task.uploadsummary] is not allowed in this step"))).toBe(true);
    expect(result.result).toBe("Succeeded");
  });

  test("settableVariables lets only the listed names (globs, any case) be set", () => {
    const result = parseAgentOutput(out, { restrictions: { settableVariables: { allowed: ["KF_*"] } }, readSummary: () => "# s" });
    expect(result.outputs).toEqual({ "kfpStep.kf_run_id": "r1" });
    expect(result.warnings).toContain("Setting variable 'PATH' has been disabled by the task or build definition.");
    expect(result.summaries.map((s) => s.path)).toEqual(["/tmp/summary.md"]);
  });

  test("the shipped agent tasks can upload their summaries and set their kf_* outputs both ways", async () => {
    const { readFileSync } = await import("node:fs");
    for (const name of ["upload-pipeline", "experiment-run"]) {
      const task = JSON.parse(readFileSync(join(REPO_ROOT, "tasks", name, "task.json"), "utf8"));
      const lines = [
        ...task.restrictions.settableVariables.allowed.flatMap((o: string) => [
          `##vso[task.setvariable variable=${o};isOutput=false;]x`,
          `##vso[task.setvariable variable=${o};isOutput=true;]x`,
        ]),
        "##vso[task.uploadsummary]/tmp/s.md",
      ].join("\n");
      const result = parseAgentOutput(lines, { restrictions: task.restrictions, readSummary: () => "# s" });
      expect({ name, warnings: result.warnings }).toEqual({ name, warnings: [] });
    }
  });
});
