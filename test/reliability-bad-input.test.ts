/**
 * Bad input, catalogued and counted: every way a person can get an input wrong,
 * across the agent tasks, the agentless task (as Azure DevOps validates it) and
 * the exit handler component. Each ends the task Failed with ONE message that
 * starts by naming the input (and says what was wrong and what to do), and
 * nothing is written: the fake's record shows no mutating request (the agentless
 * task and the exit handler send nothing at all).
 *
 * Names with quotes, slashes and any script are valid in KFP: those must work,
 * stored exactly as typed (not counted here as bad input).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FakeKfp, FakeKfpOptions } from "../lib/dev/fake-kfp/types.ts";
import type { TaskRunResult } from "./harness.ts";
import { buildExitHandlerForTest, type ExitHandlerBuild } from "./support/exit-handler-run.ts";
import { startFake } from "./support/fake.ts";
import { asyncWorld, callbackInfo, fakeAzdo, runAsyncTask, runExitHandler, runInputs } from "./support/reliability-async.ts";
import { packageFor, pool, problemsOf, runAgentTask, useAgentTaskBundles, type AgentTask } from "./support/reliability.ts";
import { tarGzBomb } from "./fixtures/pipelines/make.ts";

useAgentTaskBundles();

const TOKEN = "kfp-bad-input-token-6b2f81";
const HELLO = packageFor("v2");

const tally = { tried: 0, clear: 0, writes: 0 };
afterAll(() => {
  console.log(`bad inputs tried ${tally.tried}, clear errors ${tally.clear}, writes ${tally.writes}`);
});

const scratch = mkdtempSync(join(tmpdir(), "reliability-bad-input-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
function scratchFile(name: string, content: string | Uint8Array): string {
  const file = join(scratch, name);
  writeFileSync(file, content);
  return file;
}

/** The first half of a real package: its magic bytes are right, the rest is cut off. */
function truncated(name: string, source: string): string {
  const bytes = readFileSync(join(packageFor("v2"), "..", source));
  return scratchFile(name, bytes.subarray(0, Math.floor(bytes.length / 2)));
}

interface AgentCase {
  task: AgentTask;
  /** What is wrong, in words. */
  what: string;
  /** The input (or variable) the message must start by naming. */
  input: string;
  inputs?: Record<string, string>;
  variables?: Record<string, string>;
  /** The 2021 inputs (default) or a service connection, possibly with another URL. */
  connection?: { url?: string; via?: "service connection" };
  fake?: FakeKfpOptions;
  /** The credential given (default: the one the fake expects). */
  token?: string;
  /** What the message must also say. */
  says?: RegExp;
}

const UPLOAD_BASE = { kubeflowPipelineTask: "uploadNew", pipelineFilePath: HELLO, newPipelineName: "new pipeline" };
const RUN_BASE = { pipeline: "hello", useDefaultVersion: "true", experimentName: "ci", createNewRun: "true", pipelineParams: "message=hi" };

function agentCases(): AgentCase[] {
  const bigFile = join(scratch, "big.yaml");
  writeFileSync(bigFile, "");
  truncateSync(bigFile, 32 * 1024 * 1024 + 1); // sparse: nothing written
  const directory = join(scratch, "compiled.yaml");
  mkdirSync(directory, { recursive: true });

  /** A case of `task`: its inputs are `base` with `inputs` over them. */
  const caseOf =
    (task: AgentCase["task"], base: Record<string, string>) =>
    (what: string, input: string, inputs: Record<string, string>, more: Partial<AgentCase> = {}): AgentCase => ({
      task,
      what,
      input,
      inputs: { ...base, ...inputs },
      ...more,
    });
  const upload = caseOf("upload-pipeline", UPLOAD_BASE);
  const run = caseOf("experiment-run", RUN_BASE);
  const newVersion = { kubeflowPipelineTask: "uploadNewVersion", existingPipelineName: "hello", versionName: "v2" };

  return [
    // Names
    upload("an empty pipeline name", "newPipelineName", { newPipelineName: "" }),
    upload("a pipeline name of spaces", "newPipelineName", { newPipelineName: "   " }),
    upload("a pipeline name with a line break", "newPipelineName", { newPipelineName: "first\nsecond" }),
    upload("a pipeline name over 128 characters", "newPipelineName", { newPipelineName: "p".repeat(129) }),
    upload("no pipeline to add a version to", "existingPipelineName", { ...newVersion, existingPipelineName: " " }),
    upload("a pipeline to add a version to that does not exist", "existingPipelineName", {
      ...newVersion,
      existingPipelineName: "nowhere",
    }),
    upload("a version name with a tab", "versionName", { ...newVersion, versionName: "v\t2" }),
    upload("a version name that is taken", "versionName", { ...newVersion, versionName: "v1.0" }),
    run("an empty experiment name", "experimentName", { experimentName: "" }),
    run("an experiment name of spaces", "experimentName", { experimentName: "  \t " }),
    run("a run name with a line break", "runName", { runName: "nightly\r\nrun" }),
    // Files
    upload("a file that does not exist", "pipelineFilePath", { pipelineFilePath: join(scratch, "nowhere.yaml") }),
    upload("a directory", "pipelineFilePath", { pipelineFilePath: directory }),
    upload("an empty file", "pipelineFilePath", { pipelineFilePath: scratchFile("empty.yaml", "") }),
    upload("a file of 32 MiB + 1 byte", "pipelineFilePath", { pipelineFilePath: bigFile }),
    upload("an extension KFP refuses", "pipelineFilePath", { pipelineFilePath: scratchFile("pipeline.py", "from kfp import dsl\n") }),
    upload("a corrupt .tar.gz (cut off)", "pipelineFilePath", { pipelineFilePath: truncated("cut.tar.gz", "hello-v2.tar.gz") }),
    upload("a corrupt .zip (cut off)", "pipelineFilePath", { pipelineFilePath: truncated("cut.zip", "hello-v2.zip") }),
    upload(
      "a 32 MiB .tar.gz bomb (unpacks to 32 GiB)",
      "pipelineFilePath",
      { pipelineFilePath: scratchFile("bomb.tar.gz", tarGzBomb(32 * 1024 * 1024)) },
      { says: /unpacks to more than 200 times its packed size/ },
    ),
    upload("a .yaml that is a zip archive", "pipelineFilePath", {
      pipelineFilePath: scratchFile("zipped.yaml", readFileSync(join(packageFor("v2"), "..", "hello-v2.zip"))),
    }),
    // Choices and switches
    upload("an upload mode that does not exist", "kubeflowPipelineTask", { kubeflowPipelineTask: "uploadAll" }),
    upload("an ifVersionExists that does not exist", "ifVersionExists", { ...newVersion, ifVersionExists: "overwrite" }),
    upload("a dry run that is neither true nor false", "dryRun", { dryRun: "maybe" }),
    run("an experiment choice that does not exist", "experiment", { experiment: "newExperiment" }),
    run("waitForRunToFinish as yes", "waitForRunToFinish", { waitForRunToFinish: "yes" }),
    // Pipeline parameters: each form malformed, then well-formed but not what the pipeline declares
    run("name=value lines with a line that has no '='", "pipelineParams", { pipelineParams: "message=hi\nepochs 5" }),
    run("a JSON object with a trailing comma", "pipelineParams", { pipelineParams: '{"message": "hi",}' }),
    run("a JSON array item without a value", "pipelineParams", { pipelineParams: '[{"name": "message"}]' }),
    run("the 2021 list form with a broken second item", "pipelineParams", {
      pipelineParams: '{"name": "message", "value": "hi"}, {"name": "epochs", "value": }',
    }),
    run("a parameter given twice", "pipelineParams", { pipelineParams: "message=a\nmessage=b" }),
    run("JSON nested 30 000 levels deep", "pipelineParams", { pipelineParams: `{"tags": ${"[".repeat(30_000)}${"]".repeat(30_000)}}` }),
    run("an integer parameter given a word", "pipelineParams", { pipelineParams: "message=hi\nepochs=many" }),
    run("a list parameter given plain text", "pipelineParams", { pipelineParams: "message=hi\ntags=a,b" }),
    run("a parameter the pipeline does not declare", "pipelineParams", { pipelineParams: "message=hi\nlearning_rat=0.1" }),
    run("a required parameter left out", "pipelineParams", { pipelineParams: "epochs=5" }),
    // Intervals and timeouts
    run("a poll interval of 0", "pollIntervalSeconds", { waitForRunToFinish: "true", pollIntervalSeconds: "0" }),
    run("a negative poll interval", "pollIntervalSeconds", { waitForRunToFinish: "true", pollIntervalSeconds: "-5" }),
    run("an absurd poll interval", "pollIntervalSeconds", { waitForRunToFinish: "true", pollIntervalSeconds: "999999999" }),
    run("a run timeout of 0", "runTimeoutMinutes", { waitForRunToFinish: "true", runTimeoutMinutes: "0" }),
    run("a negative run timeout", "runTimeoutMinutes", { waitForRunToFinish: "true", runTimeoutMinutes: "-1" }),
    run("an absurd run timeout", "runTimeoutMinutes", { waitForRunToFinish: "true", runTimeoutMinutes: "99999999" }),
    upload("a request timeout of 0", "KFP.RequestTimeoutSeconds", {}, { variables: { "KFP.RequestTimeoutSeconds": "0" } }),
    run("an absurd retry budget", "KFP.RetrySeconds", {}, { variables: { "KFP.RetrySeconds": "86400000" } }),
    // What the run refers to
    run("a pipeline that does not exist", "pipeline", { pipeline: "nowhere" }),
    run("a version name that does not exist", "pipelineVersion", { useDefaultVersion: "false", pipelineVersion: "v9" }),
    run("a pipeline id that does not exist", "pipelineId", {
      pipeline: "",
      pipelineId: "0b0e7b4a-0000-4000-8000-000000000000",
      pipelineVersionId: "0b0e7b4a-0000-4000-8000-000000000001",
    }),
    run("an existing experiment that does not exist", "experimentName", { experiment: "useExistingExperiment", experimentName: "nowhere" }),
    // Where KFP is
    upload("an endpoint without a scheme", "kubeflowEndpoint", {}, { connection: { url: "kubeflow.example.com/pipeline" } }),
    upload("an endpoint that is not a URL", "kubeflowEndpoint", {}, { connection: { url: "my kubeflow" } }),
    run("an ftp endpoint", "kubeflowEndpoint", {}, { connection: { url: "ftp://kubeflow.example.com/" } }),
    run("a password in the endpoint", "kubeflowEndpoint", {}, { connection: { url: "https://admin:hunter2@kubeflow.example.com/" } }),
    upload("a login page (HTML) instead of KFP", "kubeflowEndpoint", {}, { fake: { loginPage: "html" } }),
    run("a login redirect instead of KFP", "kubeflowEndpoint", {}, { fake: { loginPage: "redirect" } }),
    upload(
      "an http endpoint redirected to https",
      "kubeflowEndpoint",
      {},
      { fake: { redirect: "https" }, says: /redirected to https .*Write the endpoint with https/ },
    ),
    run(
      "an endpoint redirected to another host",
      "kubeflowEndpoint",
      {},
      {
        fake: { redirect: "https://kfp.example.com" },
        says: /redirected to another host, kfp\.example\.com/,
      },
    ),
    run("a login redirect says log in, not https", "kubeflowEndpoint", {}, { fake: { loginPage: "redirect" }, says: /login page/ }),
    run("a bearer token with a line break says so", "bearerToken", { bearerToken: "abc\ndef" }, { says: /line break \(character 4\)/ }),
    run(
      "deep JSON says how deep",
      "pipelineParams",
      { pipelineParams: `[${"[".repeat(500)}${"]".repeat(500)}]` },
      { says: /nested more than 100/ },
    ),
    upload(
      "a service connection and kubeflowEndpoint that disagree",
      "kubeflowEndpoint",
      { kubeflowEndpoint: "https://other.example.com/pipeline" },
      { connection: { via: "service connection" } },
    ),
    run(
      "a service connection and bearerToken that disagree",
      "bearerToken",
      { bearerToken: "another-token" },
      { connection: { via: "service connection" } },
    ),
    upload(
      "a service connection this job cannot read",
      "kfpConnection",
      { kfpConnection: "not-authorized" },
      { connection: { via: "service connection" } },
    ),
    run("a session cookie that is not name=value", "sessionCookie", { bearerToken: "", sessionCookie: "abcdef123456" }),
    // Values sent as HTTP headers
    run("a bearer token with a line break inside", "bearerToken", { bearerToken: "eyJhbGciOi\r\nJSUzI1NiJ9.abc" }),
    upload("a session cookie with a line break inside", "sessionCookie", {
      bearerToken: "",
      sessionCookie: "oauth2_proxy_kubeflow=abc\ndef",
    }),
    run("a kubeflow user id with a control character", "kubeflowUserId", { kubeflowUserId: "alice@example.com\u0007" }),
    run("a kubeflow user id with an emoji", "kubeflowUserId", { kubeflowUserId: "alice\u{1F600}@example.com" }),
    upload(
      "a service connection token with a line break inside",
      "kfpConnection",
      {},
      { connection: { via: "service connection" }, token: "line-one\nline-two" },
    ),
    upload("an API version that does not exist", "apiVersion", { apiVersion: "v3" }),
  ];
}

/** The message starts with the input's name, then says what was wrong and how to fix it: at least two sentences. */
function clarityProblems(r: TaskRunResult, input: string): string[] {
  const problems: string[] = [];
  const message = r.message ?? "";
  if (r.result !== "Failed") problems.push(`ended ${r.result}: ${message}`);
  if (!message.startsWith(`Input '${input}': `) && !message.startsWith(`Variable '${input}': `))
    problems.push(`the message does not start by naming ${input}: ${message}`);
  else if (!/[.!?:]\s+\S.*\S/.test(message.slice(message.indexOf(": ") + 2)))
    problems.push(`the message says what is wrong but not what to do: ${message}`);
  if (r.errors.length !== 1) problems.push(`${r.errors.length} error lines`);
  if (message.includes(TOKEN)) problems.push("the message holds the token");
  return problems;
}

describe("agent tasks", () => {
  test("each bad input fails the task with one message naming the input, and nothing is written", async () => {
    const cases = agentCases();
    expect(cases.length).toBeGreaterThanOrEqual(50);
    const problems = await pool(cases, 8, async (c) => {
      const kfp = await startFake({ api: "v2", token: TOKEN, ...c.fake });
      await kfp.seedPipeline({ name: "hello", file: HELLO, versionName: "v1.0" });
      kfp.seedExperiment({ name: "ci" });
      const url = c.connection?.url ?? kfp.url;
      const r = await runAgentTask({
        task: c.task,
        url,
        token: c.token ?? TOKEN,
        via: c.connection?.via,
        inputs: c.inputs ?? {},
        variables: c.variables,
      });
      const found = clarityProblems(r, c.input);
      if (c.says && !c.says.test(r.message ?? "")) found.push(`the message does not say ${c.says}: ${r.message}`);
      const writes = kfp.writes().length;
      tally.tried++;
      tally.writes += writes;
      if (writes > 0)
        found.push(
          `${writes} write(s): ${kfp
            .writes()
            .map((w) => `${w.method} ${w.path}`)
            .join(", ")}`,
        );
      if (found.length === 0) tally.clear++;
      await kfp.close();
      return problemsOf(`${c.task}: ${c.what}`, found);
    });
    expect(problems.flat()).toEqual([]);
  }, 120_000);
});

describe("the agentless task", () => {
  test("a required input left empty is refused by Azure DevOps, naming it, before any request", async () => {
    const w = await asyncWorld("v2", TOKEN);
    const problems: string[] = [];
    for (const input of ["runName", "experimentID", "pipelineVersionID"]) {
      const sent = await runAsyncTask(w, runInputs(w, { [input]: " " }));
      tally.tried++;
      const found: string[] = [];
      if (!sent.error?.message.includes(`input ${input} is required`))
        found.push(`not refused naming ${input}: ${sent.error ?? sent.result?.status}`);
      if (found.length === 0) tally.clear++;
      problems.push(...problemsOf(input, found));
    }
    expect(w.kfp.requests).toEqual([]);
    expect(problems).toEqual([]);
    await w.kfp.close();
  });
});

describe("the exit handler component", () => {
  let build: ExitHandlerBuild;
  beforeAll(async () => {
    build = await buildExitHandlerForTest();
  });
  afterAll(() => build.cleanup());

  test("each bad input exits 2 with one error naming the component input, and nothing is sent", async () => {
    const azdo = await fakeAzdo();
    const info = callbackInfo(azdo.collectionUri);
    const emptyPat = scratchFile("empty-pat", "\n");
    const cases: { what: string; input: string; values: Record<string, string>; env?: Record<string, string> }[] = [
      {
        what: "callback info that is not JSON",
        input: "azdocallbackinfo",
        values: { azdocallbackinfo: "PlanUri=https://dev.azure.com/x" },
      },
      {
        what: "callback info without PlanId",
        input: "azdocallbackinfo",
        values: { azdocallbackinfo: callbackInfo(azdo.collectionUri, { PlanId: "" }) },
      },
      {
        what: "callback info with a PlanUri that is not http(s)",
        input: "azdocallbackinfo",
        values: { azdocallbackinfo: callbackInfo("ftp://dev.azure.com/x/") },
      },
      {
        what: "callback info with a path in an id",
        input: "azdocallbackinfo",
        values: { azdocallbackinfo: callbackInfo(azdo.collectionUri, { JobId: "../../other" }) },
      },
      { what: "an empty azure_devops_url", input: "azure_devops_url", values: { azdocallbackinfo: info, azure_devops_url: "" } },
      {
        what: "a PlanUri outside azure_devops_url",
        input: "azure_devops_url",
        values: { azdocallbackinfo: info, azure_devops_url: "https://dev.azure.com/contoso/" },
      },
      { what: "zero attempts", input: "attempts", values: { azdocallbackinfo: info, attempts: "0" } },
      { what: "a negative retry delay", input: "retry_delay_seconds", values: { azdocallbackinfo: info, retry_delay_seconds: "-1" } },
      { what: "an absurd retry delay", input: "retry_delay_seconds", values: { azdocallbackinfo: info, retry_delay_seconds: "86400" } },
      { what: "a PAT file that does not exist", input: "pat_file", values: { azdocallbackinfo: info, pat_file: join(scratch, "no-pat") } },
      { what: "an empty PAT file", input: "pat_file", values: { azdocallbackinfo: info, pat_file: emptyPat } },
      { what: "no credential at all", input: "pat_file", values: { azdocallbackinfo: info }, env: {} },
    ];
    const problems = await pool(cases, 5, async (c) => {
      const exit = await runExitHandler(build.component, c.values, c.env);
      tally.tried++;
      const found: string[] = [];
      const errors = exit.stderr.split("\n").filter((line) => line.startsWith("error: "));
      if (exit.code !== 2) found.push(`exit ${exit.code}`);
      if (errors.length !== 1) found.push(`${errors.length} error lines: ${exit.stderr.trim()}`);
      else if (!errors[0]!.includes(c.input)) found.push(`the error does not name ${c.input}: ${errors[0]}`);
      if (found.length === 0) tally.clear++;
      return problemsOf(c.what, found);
    });
    tally.writes += azdo.requests.length;
    expect(azdo.requests).toEqual([]);
    expect(problems.flat()).toEqual([]);
    await azdo.close();
  });
});

describe("names with quotes, slashes and any script are valid KFP names: stored exactly as typed", () => {
  const NAME = `Team "A" / ünïcødé 名前 🚀 'x' \\ y`;

  let kfp: FakeKfp;
  beforeAll(async () => {
    kfp = await startFake({ api: "v2", token: TOKEN });
  });
  afterAll(() => kfp.close());

  test("a new pipeline, and a version of it", async () => {
    const created = await runAgentTask({
      task: "upload-pipeline",
      url: kfp.url,
      token: TOKEN,
      inputs: { ...UPLOAD_BASE, newPipelineName: NAME },
    });
    expect(created.message).toStartWith("Created pipeline");
    const versioned = await runAgentTask({
      task: "upload-pipeline",
      url: kfp.url,
      token: TOKEN,
      inputs: { ...UPLOAD_BASE, kubeflowPipelineTask: "uploadNewVersion", existingPipelineName: NAME, versionName: `v2 ${NAME}` },
    });
    expect(versioned.message).toStartWith("Added version");
    expect(kfp.state.pipelines.map((p) => p.name)).toEqual([NAME]);
    expect(kfp.state.versions.map((v) => v.name)).toEqual([NAME, `v2 ${NAME}`]);
    expect(versioned.outputs).toMatchObject({ kf_pipeline_name: NAME, kf_pipeline_version_name: `v2 ${NAME}` });
  });

  test("an experiment and a run, found again by name on the next run", async () => {
    const inputs = { ...RUN_BASE, pipeline: NAME, experimentName: `exp ${NAME}`, runName: `run ${NAME}` };
    const first = await runAgentTask({ task: "experiment-run", url: kfp.url, token: TOKEN, inputs });
    expect(first.result).toBe("Succeeded");
    const again = await runAgentTask({ task: "experiment-run", url: kfp.url, token: TOKEN, inputs });
    expect(again.result).toBe("Succeeded");
    expect(kfp.state.experiments.map((e) => e.name)).toEqual([`exp ${NAME}`]);
    expect(kfp.state.runs.map((r) => r.name)).toEqual([`run ${NAME}`, `run ${NAME}`]);
  });

  test("the agentless task: a run name with slashes and any script (its help rules out quotes and backslashes)", async () => {
    const w = await asyncWorld("v2", TOKEN);
    const name = "nightly / ünïcødé 名前 🚀 'x'";
    const sent = await runAsyncTask(w, runInputs(w, { runName: name }));
    expect(sent.result?.outcome).toBe("waiting");
    expect(w.kfp.state.runs.map((r) => r.name)).toEqual([name]);
    await w.kfp.close();
  });
});
