/**
 * `npm run task` (lib/dev/local/cli.ts), run as a user runs it: a child process
 * against a fake KFP the test holds (so the test can read what KFP received),
 * or against the CLI's own embedded fake. Also the readable log's rendering.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { join } from "node:path";
import type { TaskRunResult } from "../lib/dev/agent/types.ts";
import type { FakeKfp, FakeKfpOptions } from "../lib/dev/fake-kfp/types.ts";
import { LocalLog } from "../lib/dev/local/mod.ts";
import { REPO_ROOT } from "./harness.ts";
import { startFake } from "./support/fake.ts";

const TOKEN = "cli-test-token-8f3a61";
const PIPELINES = join(import.meta.dir, "fixtures", "pipelines");
const CLI = join(REPO_ROOT, "lib", "dev", "local", "cli.ts");

const fakes: FakeKfp[] = [];
afterEach(async () => {
  for (const fake of fakes.splice(0)) await fake.close(); // also checks the requests against the swagger
});

async function fakeKfp(options: FakeKfpOptions = {}): Promise<FakeKfp> {
  const fake = await startFake({ token: TOKEN, ...options });
  fakes.push(fake);
  return fake;
}

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `bun lib/dev/local/cli.ts <args>` with only the given credentials in its environment. */
function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const { KFP_TOKEN: _t, KFP_SESSION_COOKIE: _c, ...host } = process.env;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env: { ...host, NO_COLOR: "1", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const UPLOAD = ["upload-pipeline", "--input", `pipelineFilePath=${join(PIPELINES, "hello-v2.yaml")}`, "--input", "newPipelineName=hello"];
const RUN = [
  "experiment-run",
  ...["--input", "pipeline=hello", "--input", "useDefaultVersion=true", "--input", "experimentName=ci"],
  ...["--input", "createNewRun=true", "--input", "pipelineParams=message=hi"],
];

describe("npm run task against a KFP", () => {
  test("runs the task through a service connection with the token from KFP_TOKEN, and logs requests, outputs and result", async () => {
    const kfp = await fakeKfp();
    const r = await cli([...UPLOAD, "--connection", kfp.url], { KFP_TOKEN: TOKEN });

    expect(r.code).toBe(0);
    const [pipeline] = kfp.state.pipelines;
    expect(pipeline?.name).toBe("hello");
    expect(kfp.requests.length).toBeGreaterThan(0);
    expect(kfp.requests.every((q) => q.authorized)).toBe(true);
    expect(r.stdout).toContain(`kfpConnection     local-kfp: ${kfp.url} (token from KFP_TOKEN)`);
    expect(r.stdout).toMatch(/KFP GET \/apis\/v2beta1\/healthz -> 200 \(\d+ ms\)/);
    expect(r.stdout).toMatch(/KFP POST \/apis\/v2beta1\/pipelines\/upload\?name=hello.* -> 200 \(\d+ ms\)/);
    expect(r.stdout).toContain(`kf_pipeline_id            ${pipeline!.id}`);
    expect(r.stdout).toMatch(/result {2}Succeeded: /);
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
  });

  test("a token without --connection goes to bearerToken as a secret variable", async () => {
    const kfp = await fakeKfp();
    const r = await cli([...UPLOAD, "--input", `kubeflowEndpoint=${kfp.url}`], { KFP_TOKEN: TOKEN });

    expect(r.code).toBe(0);
    expect(kfp.requests.every((q) => q.authorized)).toBe(true);
    expect(r.stdout).toContain("bearerToken       *** from KFP_TOKEN");
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
  });

  test("a failing task exits 1 with its message, and writes nothing", async () => {
    const kfp = await fakeKfp();
    const r = await cli([...RUN, "--connection", kfp.url], { KFP_TOKEN: TOKEN });

    expect(r.code).toBe(1);
    expect(r.stdout).toContain("ERROR Input 'pipeline': names no pipeline");
    expect(r.stdout).toMatch(/result {2}Failed /);
    expect(kfp.writes()).toEqual([]);
  });

  test("a rejected token fails naming the connection, and is never printed", async () => {
    const kfp = await fakeKfp();
    const wrong = "not-the-right-token-42";
    const r = await cli([...UPLOAD, "--connection", kfp.url], { KFP_TOKEN: wrong });

    expect(r.code).toBe(1);
    expect(r.stdout).toContain("ERROR Input 'kfpConnection': was rejected by KFP (HTTP 401");
    expect(r.stdout + r.stderr).not.toContain(wrong);
    expect(kfp.writes()).toEqual([]);
  });

  test("--dry-run makes every read, prints each write with its body, and sends none", async () => {
    const kfp = await fakeKfp();
    const { pipeline, version } = await kfp.seedPipeline({ name: "hello", file: join(PIPELINES, "hello-v2.yaml") });
    const r = await cli([...RUN, "--connection", kfp.url, "--dry-run"], { KFP_TOKEN: TOKEN });

    expect(r.code).toBe(0);
    expect(kfp.writes()).toEqual([]);
    const reads = kfp.requests.map((q) => `${q.method} ${q.path}`);
    expect(reads).toContain("GET /apis/v2beta1/pipelines");
    expect(reads).toContain(`GET /apis/v2beta1/pipelines/${pipeline.id}/versions/${version.id}`);
    expect(reads).toContain("GET /apis/v2beta1/experiments");
    expect(r.stdout).toContain("dryRun             true");
    expect(r.stdout).toMatch(/Dry run: would POST \/apis\/v2beta1\/experiments .*\{.*"display_name":"ci"/);
    expect(r.stdout).toMatch(/Dry run: would POST \/apis\/v2beta1\/runs .*\{.*"message":"hi"/);
    expect(kfp.state.experiments).toEqual([]);
    expect(kfp.state.runs).toEqual([]);
  });

  test("each run has a build number of its own, so a second default-named version does not clash; a given one is used", async () => {
    const kfp = await fakeKfp();
    const again = [...UPLOAD, "--input", "kubeflowPipelineTask=uploadNewOrVersion", "--connection", kfp.url];
    const first = await cli(again, { KFP_TOKEN: TOKEN });
    const second = await cli(again, { KFP_TOKEN: TOKEN });
    const third = await cli([...again, "--variable", "build.buildNumber=42"], { KFP_TOKEN: TOKEN });

    expect([first.code, second.code, third.code]).toEqual([0, 0, 0]);
    const names = kfp.state.versions.map((v) => v.name);
    expect(new Set(names).size).toBe(3);
    expect(names[2]).toStartWith("42-");
    expect(third.stdout).toMatch(/build {3}42\n/);
  });

  test("relative file paths are the user's, from the folder npm was started in", async () => {
    const kfp = await fakeKfp();
    const r = await cli(
      ["upload-pipeline", "--input", "pipelineFilePath=hello-v1.tar.gz", "--input", "newPipelineName=old", "--connection", kfp.url],
      {
        KFP_TOKEN: TOKEN,
        INIT_CWD: PIPELINES,
      },
    );

    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`pipelineFilePath  ${join(PIPELINES, "hello-v1.tar.gz")}`);
    expect(kfp.state.versions[0]?.fileName).toBe("hello-v1.tar.gz");
  });
});

describe("npm run task --fake", () => {
  test("runs against the embedded fake, seeded, waits for the run and reports the fake's writes", async () => {
    const seed = `hello=${join(PIPELINES, "hello-v2.yaml")}`;
    const r = await cli([...RUN, "--fake", "--seed", seed, "--input", "waitForRunToFinish=true", "--input", "pollIntervalSeconds=1"]);

    expect(r.code).toBe(0);
    expect(r.stdout).toContain("against a fake KFP 2.x at http://127.0.0.1:");
    expect(r.stdout).toMatch(/Run state: SUCCEEDED/);
    expect(r.stdout).toMatch(/kf_run_status +SUCCEEDED/);
    expect(r.stdout).toMatch(
      /fake KFP received \d+ requests, 2 writes:\n {4}POST \/apis\/v2beta1\/experiments -> 200\n {4}POST \/apis\/v2beta1\/runs -> 200/,
    );
  });

  test("a dry run against the fake shows zero writes in the fake's record", async () => {
    const r = await cli([...UPLOAD, "--fake", "--fake-api", "v1", "--dry-run"]);

    expect(r.code).toBe(0);
    expect(r.stdout).toContain("against a fake KFP 1.8");
    expect(r.stdout).toMatch(/Dry run: would POST \/apis\/v1beta1\/pipelines\/upload/);
    expect(r.stdout).toMatch(/fake KFP received \d+ requests, 0 writes\n/);
  });
});

describe("npm run fake-kfp", () => {
  test("--help prints the usage and exits 0; an unknown option is a usage error, exit 2", () => {
    const fakeCli = join(REPO_ROOT, "lib", "dev", "fake-kfp", "cli.ts");
    const help = Bun.spawnSync([process.execPath, fakeCli, "--help"]);
    const bad = Bun.spawnSync([process.execPath, fakeCli, "--prot", "1"]);

    expect(help.exitCode).toBe(0);
    expect(help.stdout.toString()).toContain("usage: npm run fake-kfp -- [options]");
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr.toString()).toContain("npm run fake-kfp: Unknown option '--prot'");
  });
});

describe("npm run task refuses", () => {
  test("a token on the command line, pointing to KFP_TOKEN, before anything runs", async () => {
    const r = await cli([...UPLOAD, "--fake", "--input", `bearerToken=${TOKEN}`]);

    expect(r.code).toBe(2);
    expect(r.stderr).toContain("bearerToken is not taken from the command line");
    expect(r.stderr).toContain("KFP_TOKEN");
    expect(r.stdout).toBe("");
  });

  test("an input the task does not have, listing the ones it has", async () => {
    const r = await cli(["upload-pipeline", "--fake", "--input", "pipelineFile=x.yaml"]);

    expect(r.code).toBe(2);
    expect(r.stderr).toContain('upload-pipeline has no input "pipelineFile"; its inputs are kfpConnection, kubeflowEndpoint');
  });

  test("the agentless task, which no agent runs", async () => {
    const r = await cli(["KubeflowExperimentRunAsync@1", "--fake"]);

    expect(r.code).toBe(2);
    expect(r.stderr).toContain("experiment-run-async is an agentless task");
  });
});

describe("the readable log", () => {
  function render(lines: string[], verbose = false): string[] {
    const out: string[] = [];
    const log = new LocalLog({ write: (line) => out.push(line), color: false, verbose });
    for (const line of lines) log.agentLine(line);
    return out;
  }

  test("lays out request lines with the query decoded, and shows no other debug line", () => {
    expect(
      render([
        "##[debug]KFP GET /apis/v2beta1/pipelines?filter=%7B%22a%22%3A1%7D&page_size=200 -> 200 in 7 ms",
        "##[debug]KFP POST /apis/v2beta1/runs -> 503 in 12 ms (attempt 2)",
        "##[debug]kfpConnection=local-kfp",
        "##[debug]Processed: ##vso[task.debug]x",
        "Connected.",
      ]),
    ).toEqual([
      '    KFP GET /apis/v2beta1/pipelines?filter={"a":1}&page_size=200 -> 200 (7 ms)',
      "    KFP POST /apis/v2beta1/runs -> 503 (12 ms, attempt 2)",
      "    Connected.",
    ]);
  });

  test("verbose shows the task's own debug lines, not the agent's command traces", () => {
    expect(render(["##[debug]kfpConnection=local-kfp", "##[debug]Processed: ##vso[task.debug]x"], true)).toEqual([
      "    debug kfpConnection=local-kfp",
    ]);
  });

  test("a debug line spanning lines (a multi-line input) stays hidden, and in verbose mode every line is marked debug", () => {
    const line = "##[debug]pipelineParams=message=hi\nepochs=5";
    expect(render([line])).toEqual([]);
    expect(render([line], true)).toEqual(["    debug pipelineParams=message=hi", "    debug epochs=5"]);
  });

  test("marks errors and warnings, and masks secret outputs", () => {
    const out: string[] = [];
    const log = new LocalLog({ write: (line) => out.push(line), color: false });
    log.agentLine("##[error]Input 'x': bad.");
    log.agentLine("##[warning]careful");
    log.ending({
      result: "Failed",
      message: "Input 'x': bad.",
      errors: ["Input 'x': bad."],
      outputs: { kf_run_id: "r1", secret_thing: "s3cr3t" },
      variables: [
        { name: "kf_run_id", value: "r1", isOutput: false, isSecret: false },
        { name: "secret_thing", value: "s3cr3t", isOutput: false, isSecret: true },
      ],
      timedOut: false,
      ms: 1234,
    } as unknown as TaskRunResult);
    expect(out).toEqual([
      "    ERROR Input 'x': bad.",
      "    WARNING careful",
      "  outputs",
      "    kf_run_id     r1",
      "    secret_thing  ***",
      "  result  Failed (1.2s)",
    ]);
  });
});
