/**
 * The agent emulation follows the real agent (microsoft/azure-pipelines-agent)
 * where a task could tell the difference. Each test names the agent source it
 * models; a task test run through the emulation would catch the behaviour.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseCommand } from "../lib/dev/agent/commands.ts";
import { taskInputs } from "../lib/dev/agent/env.ts";
import { chooseNode, hostNode } from "../lib/dev/agent/node.ts";
import { mergeResults } from "../lib/dev/agent/output.ts";
import { parseAgentOutput, runTask } from "./harness.ts";

const lines = (...l: string[]) => l.join("\n");
/** The agent reading `line`, then a task.complete that says Succeeded: a command the agent refuses must still fail the step. */
const thenSucceeded = (line: string, options?: Parameters<typeof parseAgentOutput>[1]) =>
  parseAgentOutput(lines(line, "##vso[task.complete result=Succeeded;]ok"), options);

/** The agent refuses `command` with `error`, and so the step fails. */
function expectRefused(command: string, error: string): void {
  const r = thenSucceeded(command);
  expect(r.result).toBe("Failed");
  expect(r.errors).toContain(error);
}

describe("output variables (ExecutionContext.SetVariable, TaskRunner.cs)", () => {
  const declared = { outputVariables: ["kf_run_id"], stepName: "start" };

  test("a name declared in task.json outputVariables is only <step>.<name>, even with isOutput=false", () => {
    const r = parseAgentOutput("##vso[task.setvariable variable=kf_run_id;isOutput=false;]r1", declared);
    expect(r.outputs).toEqual({ "start.kf_run_id": "r1" });
    expect(r.recordVariables).toEqual({ kf_run_id: "r1" });
  });

  test("declared names match in any case (OrdinalIgnoreCase)", () => {
    const r = parseAgentOutput("##vso[task.setvariable variable=KF_RUN_ID;]r1", declared);
    expect(r.outputs).toEqual({ "start.KF_RUN_ID": "r1" });
  });

  test("an undeclared name is a plain job variable, and also <step>.<name> when set with isOutput=true", () => {
    const r = parseAgentOutput(
      lines("##vso[task.setvariable variable=kf_run_url;]u", "##vso[task.setvariable variable=kf_run_url;isOutput=true;]u"),
      declared,
    );
    expect(r.outputs).toEqual({ kf_run_url: "u", "start.kf_run_url": "u" });
    expect(r.recordVariables).toEqual({ kf_run_url: "u" });
  });

  test("a setvariable without a name fails the command, and so the step", () => {
    expectRefused("##vso[task.setvariable isOutput=true;]v", "Required field 'variable' is missing in ##vso[task.setvariable] command.");
  });
});

describe("inputs (TaskRunner.cs)", () => {
  test("the step's input names and values are trimmed, like defaults", () => {
    expect(taskInputs([{ name: "a", defaultValue: " d " }, { name: "b" }], { " b ": "  v \n" })).toEqual({ a: "d", b: "v" });
  });

  test("a step input no input declares still reaches the task", () => {
    expect(taskInputs([{ name: "waitForRunToFinish" }], { waitForRunToFinsh: "true" })).toEqual({
      waitForRunToFinish: "",
      waitForRunToFinsh: "true",
    });
  });
});

describe("reading commands (Command.TryParse, CommandStringConvertor.Unescape)", () => {
  test("property values and the message are unescaped alike: %3B %0D %0A %5D, then %AZP25", () => {
    expect(parseCommand("##vso[task.setvariable variable=a%3Bb%5D;x=%0D%0A]m%3B%5D%0D%0A%AZP25")).toEqual({
      name: "task.setvariable",
      properties: { variable: "a;b]", x: "\r\n" },
      message: "m;]\r\n%",
    });
  });

  test("%AZP25 is undone last, so an escaped %3B stays literal; a bare %25 is not an escape", () => {
    expect(parseCommand("##vso[task.debug]%AZP253B %25")?.message).toBe("%3B %25");
  });

  test("##vso[ anywhere in a line is a command, case-sensitively", () => {
    expect(parseAgentOutput("Run name: x ##vso[task.complete result=Failed;]pwned").result).toBe("Failed");
    expect(parseAgentOutput("##VSO[task.complete result=Failed;]x").result).toBeUndefined();
  });

  test("area.event must be exactly two non-empty parts; a line with ##vso that is no command gets the agent's warning", () => {
    expect(parseCommand("##vso[task..complete result=Failed]")?.name).toBe("task.complete");
    expect(parseCommand("##vso[task.complete.now result=Failed]")).toBeUndefined();
    const r = parseAgentOutput("see ##vso[nonsense]");
    expect(r.warnings[0]).toStartWith("'see ##vso[nonsense]' contains logging command keyword '##vso'");
  });

  test("property pairs need a name and a value; names are not trimmed", () => {
    expect(parseCommand("##vso[task.setvariable variable=;=v; isOutput=true;a==b]m")?.properties).toEqual({ " isoutput": "true", a: "=b" });
  });
});

describe("the step's result (TaskCompleteCommand, TaskResultUtil.MergeTaskResults)", () => {
  test("the worst task.complete wins; a later Succeeded cannot undo a Failed", () => {
    const r = parseAgentOutput(lines("##vso[task.complete result=Failed;]bad", "##vso[task.complete result=Succeeded;]fine"));
    expect(r.result).toBe("Failed");
    expect(r.message).toBe("fine");
  });

  test("results worse than Failed stick", () => {
    expect(mergeResults("Cancelled", "Failed")).toBe("Cancelled");
    expect(mergeResults("Failed", "Cancelled")).toBe("Cancelled");
    expect(mergeResults("SucceededWithIssues", "Succeeded")).toBe("SucceededWithIssues");
    expect(mergeResults(undefined, "Succeeded")).toBe("Succeeded");
  });

  test("a task.complete without a valid result fails the command and the step", () => {
    expectRefused("##vso[task.complete result=Great;]x", "Command doesn't have valid result value.");
  });
});

describe("summaries (TaskUploadSummaryCommand, TaskAddAttachmentCommand.AddAttachment)", () => {
  test("a summary file that is missing when the agent reads it fails the step", () => {
    const r = thenSucceeded("##vso[task.uploadsummary]/tmp/gone.md", { readSummary: () => undefined });
    expect(r.result).toBe("Failed");
    expect(r.summaries).toEqual([]);
    expect(r.errors.at(-1)).toContain("attachment file does not exist on disk");
  });

  test("a summary is attached as it is: secrets are masked in log lines only", () => {
    const r = parseAgentOutput(lines("secret s3cr3t-value", "##vso[task.uploadsummary]/tmp/s.md"), {
      secrets: ["s3cr3t-value"],
      readSummary: () => "param: s3cr3t-value",
    });
    expect(r.log).toBe("secret ***");
    expect(r.summaries[0]!.content).toBe("param: s3cr3t-value");
  });
});

describe("Node handlers (NodeHandler.GetNodeLocation, AgentKnobs.cs)", () => {
  const both = { Node20_1: {}, Node24: {} };
  const bins = { 20: "/node20", 24: "/node24" };

  test("a Node24 handler runs on Node 20 unless AGENT_USE_NODE24_WITH_HANDLER_DATA is on", () => {
    expect(chooseNode(both, {}, {}, bins)).toEqual({ handler: "Node24", major: 20, binary: "/node20" });
    expect(chooseNode(both, {}, { AGENT_USE_NODE24_WITH_HANDLER_DATA: "true" }, bins)).toEqual({
      handler: "Node24",
      major: 24,
      binary: "/node24",
    });
  });

  test("a pipeline variable sets a knob before the agent's environment does", () => {
    const off = chooseNode(both, { agent_use_node24_with_handler_data: "false" }, { AGENT_USE_NODE24_WITH_HANDLER_DATA: "true" }, bins);
    expect(off.major).toBe(20);
  });

  test("Node20_1 runs on Node 20, or on Node 24 with AGENT_USE_NODE24; older handlers are not emulated", () => {
    expect(chooseNode({ Node20_1: {} }, {}, { AGENT_USE_NODE24_WITH_HANDLER_DATA: "true" }, bins).major).toBe(20);
    expect(chooseNode({ Node20_1: {} }, { AGENT_USE_NODE24: "true" }, {}, bins)).toEqual({
      handler: "Node20_1",
      major: 24,
      binary: "/node24",
    });
    expect(() => chooseNode({ Node16: {} }, {}, {}, bins)).toThrow(/Node24 and Node20_1 only/);
  });

  test("the host's Node is found past node_modules/.bin, where npm links Node 24", () => {
    const dir = mkdtempSync(join(tmpdir(), "host-node-"));
    try {
      for (const sub of ["repo/node_modules/.bin", "usr/bin"]) {
        mkdirSync(join(dir, sub), { recursive: true });
        writeFileSync(join(dir, sub, "node"), "");
      }
      expect(hostNode({ PATH: `${join(dir, "repo/node_modules/.bin")}:${join(dir, "usr/bin")}` })).toBe(join(dir, "usr/bin", "node"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe("end to end", () => {
    let task: string;
    beforeAll(() => {
      task = mkdtempSync(join(tmpdir(), "node-version-task-"));
      writeFileSync(join(task, "task.json"), JSON.stringify({ name: "v", execution: both }));
      writeFileSync(join(task, "index.js"), "console.log('##vso[task.complete result=Succeeded;]' + process.versions.node);\n");
    });
    afterAll(() => rmSync(task, { recursive: true, force: true }));

    test.each([
      ["false", 20],
      ["true", 24],
    ])("with the knob %s the task runs on Node %d", async (knob, major) => {
      const r = await runTask({ taskDir: task, variables: { AGENT_USE_NODE24_WITH_HANDLER_DATA: knob }, timeoutMs: 20_000 });
      expect(r.node.major).toBe(major as 20 | 24);
      expect(Number(r.message!.split(".")[0])).toBe(major);
    });
  });
});
