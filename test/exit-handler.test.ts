/**
 * The exit handler shipped as a KFP component: the component YAML itself, and
 * the script run exactly as that YAML runs it, against the fake Azure DevOps
 * (credentials, the 2021 callback form, retries and final failures).
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventsUrl, feedUrl } from "../lib/exit-handler/azdo-callback.ts";
import { CallbackInfoError, parseCallbackInfo, singleQuotedToJson } from "../lib/exit-handler/callback-info.ts";
import { componentYaml, EXIT_HANDLER_IMAGE, MAX_SCRIPT_BYTES } from "../lib/exit-handler/component.ts";
import { parseExitStatus } from "../lib/exit-handler/exit-status.ts";
import { startFakeAzdo, type FakeAzdo } from "../lib/dev/fake-azdo/mod.ts";
import { buildExitHandlerForTest, componentArgv, runComponent, type ExitHandlerBuild } from "./support/exit-handler-run.ts";

const PAT = "pat-secret-0001";
const JOB_TOKEN = "job-token-secret-0002";

let build: ExitHandlerBuild;
let scratch: string;
beforeAll(async () => {
  build = await buildExitHandlerForTest();
  scratch = mkdtempSync(join(tmpdir(), "exit-handler-test-"));
});
afterAll(() => {
  build.cleanup();
  rmSync(scratch, { recursive: true, force: true });
});

const open: FakeAzdo[] = [];
afterEach(async () => {
  for (const server of open.splice(0)) await server.close();
});

interface Plan {
  azdo: FakeAzdo;
  ids: { projectId: string; planId: string; jobId: string; taskInstanceId: string; timelineId: string };
  /** azdocallbackinfo as our server task writes it. */
  info(extra?: Record<string, string>): string;
  /** The component input pinning this collection: the handler calls nothing else. */
  pinned: { azure_devops_url: string };
}

async function plan(options: { collection?: string } = {}): Promise<Plan> {
  const azdo = await startFakeAzdo({ pats: [PAT], tokens: [JOB_TOKEN], ...options });
  open.push(azdo);
  const ids = { projectId: uuid(), planId: uuid(), jobId: uuid(), taskInstanceId: uuid(), timelineId: uuid() };
  azdo.addPlan({ ...ids, hubName: "build" });
  const info = (extra: Record<string, string> = {}) =>
    JSON.stringify({
      PlanUri: azdo.collectionUri,
      ProjectId: ids.projectId,
      HubName: "build",
      PlanId: ids.planId,
      JobId: ids.jobId,
      TimelineId: ids.timelineId,
      TaskInstanceId: ids.taskInstanceId,
      ...extra,
    });
  return { azdo, ids, info, pinned: { azure_devops_url: azdo.collectionUri } };
}

const uuid = () => crypto.randomUUID();
const fast = { retry_delay_seconds: "0.01" };

function run(values: Record<string, string>, env: Record<string, string> = { AZDO_PAT: PAT }) {
  return runComponent(build.component, { run_status: "Succeeded", run_id: "run-1", ...fast, ...values }, env);
}

const eventRequests = (azdo: FakeAzdo) => azdo.requests.filter((r) => r.path.endsWith("/events"));

describe("component.yaml", () => {
  test("runs the bundled script inline in a stock public Node image: nothing to build or host", () => {
    const { image, command } = build.component.implementation.container;
    expect(image).toBe(EXIT_HANDLER_IMAGE);
    expect(image).toMatch(/^node:\d+-alpine$/);
    expect(command.slice(0, 2)).toEqual(["node", "-e"]);
    expect(command[2]).toBe(build.script);
    expect(command[3]).toBe("--");
  });

  test("declares the inputs KFP SDK 1.8 and 2.x load: the status as PipelineTaskFinalStatus, optional inputs with defaults", () => {
    const inputs = build.component.inputs;
    expect(inputs.map((i) => i.name)).toEqual([
      "azdocallbackinfo",
      "azure_devops_url",
      "run_status",
      "run_id",
      "kfp_ui_url",
      "pat_env",
      "pat_file",
      "attempts",
      "retry_delay_seconds",
    ]);
    expect(inputs.find((i) => i.name === "run_status")).toMatchObject({ type: "PipelineTaskFinalStatus" });
    expect(inputs.filter((i) => i.default === undefined).map((i) => i.name)).toEqual(["azure_devops_url", "run_status", "run_id"]);
    // Every placeholder names a declared input, and every input is passed once.
    const placeholders = build.component.implementation.container.args
      .filter((a) => typeof a !== "string")
      .map((a) => (a as { inputValue: string }).inputValue);
    expect(placeholders.sort()).toEqual(inputs.map((i) => i.name).sort());
    // v1 component YAML names are snake_case: SDK 2.x sanitizes others, which would break the placeholders.
    for (const input of inputs) expect(input.name).toMatch(/^[a-z][a-z0-9_]*$/);
  });

  test("PyYAML, which both KFP SDKs load components with, reads the same document", () => {
    const python = spawnSync("python3", ["-c", "import json,sys,yaml; print(json.dumps(yaml.safe_load(sys.stdin.read())))"], {
      input: build.yaml,
      encoding: "utf8",
    });
    if (python.status !== 0 && /No module named 'yaml'|ENOENT/.test(`${python.stderr}${python.error}`)) {
      console.warn("python3 with PyYAML not available: skipped the PyYAML check");
      return;
    }
    expect(python.status).toBe(0);
    expect(JSON.parse(python.stdout)).toEqual(build.component as unknown as Record<string, unknown>);
  });

  test("holds no '{{' that Argo or the KFP v2 launcher would take for a variable, and stays under one argument's size limit", () => {
    expect(build.yaml).not.toContain("{{");
    expect(Buffer.byteLength(build.script)).toBeLessThan(MAX_SCRIPT_BYTES);
    expect(() => componentYaml("let a={{}};")).toThrow(/Argo would read it as a template variable/);
    expect(() => componentYaml("x".repeat(MAX_SCRIPT_BYTES + 1))).toThrow(/cannot be passed inline/);
  });

  test("the bundle needs no package: it runs with only Node's built-ins", () => {
    expect(build.script).not.toMatch(/require\("(?!node:)[^"]+"\)/);
  });

  test("a required input left out is an error before anything runs (as the KFP SDK reports it)", () => {
    expect(() => componentArgv(build.component, { azdocallbackinfo: "" })).toThrow(/azure_devops_url is required/);
    expect(() => componentArgv(build.component, { azure_devops_url: "https://dev.azure.com/contoso/" })).toThrow(/run_status is required/);
  });
});

describe("reporting to Azure DevOps", () => {
  test(
    "posts TaskCompleted once to <collection>/<project>/_apis/.../events with one slash at each joint, " + "and a log line first",
    async () => {
      const p = await plan();
      const exit = await run({
        ...p.pinned,
        azdocallbackinfo: p.info(),
        run_status: "Failed",
        kfp_ui_url: "https://kf.example.com/pipeline/",
      });
      expect(exit.code).toBe(0);
      expect(p.azdo.requests.map((r) => r.path)).toEqual([
        `/org/${p.ids.projectId}/_apis/distributedtask/hubs/build/plans/${p.ids.planId}` +
          `/timelines/${p.ids.timelineId}/records/${p.ids.jobId}/feed`,
        `/org/${p.ids.projectId}/_apis/distributedtask/hubs/build/plans/${p.ids.planId}/events`,
      ]);
      expect(p.azdo.events).toMatchObject([
        { name: "TaskCompleted", taskId: p.ids.taskInstanceId, jobId: p.ids.jobId, result: "failed", auth: "basic" },
      ]);
      expect(p.azdo.feed[0]!.lines).toEqual(["Kubeflow run run-1 ended Failed. https://kf.example.com/pipeline/#/runs/details/run-1"]);
    },
  );

  test("reads the 2021 single-quoted azdocallbackinfo (no timeline id: no log line) on an on-premises collection path", async () => {
    const p = await plan({ collection: "/tfs/DefaultCollection" });
    const old =
      `{'JobId':'${p.ids.jobId}','HubName':'build','TaskInstanceId':'${p.ids.taskInstanceId}',` +
      `'PlanId':'${p.ids.planId}','ProjectId':'${p.ids.projectId}','PlanUri':'${p.azdo.collectionUri}'}`;
    const exit = await run({ ...p.pinned, azdocallbackinfo: old });
    expect(exit.code).toBe(0);
    expect(p.azdo.feed).toHaveLength(0);
    expect(p.azdo.requests.map((r) => r.path)).toEqual([
      `/tfs/DefaultCollection/${p.ids.projectId}/_apis/distributedtask/hubs/build/plans/${p.ids.planId}/events`,
    ]);
    expect(p.azdo.events.map((e) => e.result)).toEqual(["succeeded"]);
  });

  test("a timeline id Azure DevOps never filled in is left out: no log line, the task still completes", async () => {
    const p = await plan();
    const exit = await run({ ...p.pinned, azdocallbackinfo: p.info({ TimelineId: "$(system.TimelineId)" }) });
    expect(exit.code).toBe(0);
    expect(p.azdo.feed).toHaveLength(0);
    expect(p.azdo.events).toHaveLength(1);
  });

  for (const [state, result] of [
    ["COMPLETE", "succeeded"],
    ["CANCELED", "failed"],
  ] as const) {
    test(`KFP 2.x final status ${state}: TaskCompleted ${result}, the state in both logs, no empty error`, async () => {
      const p = await plan();
      const status = `{"error":{},"pipelineJobResourceName":"training-7k2xq","pipelineTaskName":"exit-handler-1","state":"${state}"}`;
      const exit = await run({ ...p.pinned, azdocallbackinfo: p.info(), run_status: status });
      expect(exit.code).toBe(0);
      expect(p.azdo.events.map((e) => e.result)).toEqual([result]);
      expect(p.azdo.feed[0]!.lines).toEqual([`Kubeflow run run-1 ended ${state}.`]);
      expect(exit.stdout).toContain(`Run run-1 ended ${state}: reporting "${result}"`);
    });
  }

  test("empty azdocallbackinfo (a run not started by a waiting task): nothing to report, exit 0, no request", async () => {
    const p = await plan();
    const exit = await run({ ...p.pinned, azdocallbackinfo: "" }, {});
    expect(exit.code).toBe(0);
    expect(exit.stdout).toContain("nothing to report");
    expect(p.azdo.requests).toHaveLength(0);
  });
});

describe("the pinned Azure DevOps URL (azure_devops_url)", () => {
  test("a PlanUri on another server gets no request at all: exit 2 naming both URLs", async () => {
    const p = await plan();
    const foreign = await plan();
    const exit = await run({ ...p.pinned, azdocallbackinfo: foreign.info() });
    expect(exit.code).toBe(2);
    expect(exit.stderr).toContain(foreign.azdo.collectionUri);
    expect(exit.stderr).toContain(p.azdo.collectionUri);
    expect(foreign.azdo.requests).toHaveLength(0);
    expect(p.azdo.requests).toHaveLength(0);
  });

  test("another organization on the same host is not under the pinned one, even when its name starts the same", async () => {
    const p = await plan({ collection: "/contoso-evil" });
    const exit = await run({ azure_devops_url: `${p.azdo.url}/contoso`, azdocallbackinfo: p.info() });
    expect(exit.code).toBe(2);
    expect(exit.stderr).toContain(`${p.azdo.url}/contoso-evil/`);
    expect(p.azdo.requests).toHaveLength(0);
  });

  test("the same collection matches with or without a trailing slash and in any letter case", async () => {
    const p = await plan({ collection: "/Contoso" });
    const exit = await run({ azure_devops_url: `${p.azdo.url}/contoso`, azdocallbackinfo: p.info() });
    expect(exit.code).toBe(0);
    expect(p.azdo.events).toHaveLength(1);
  });

  test("https is required unless the pinned URL is itself http", async () => {
    const p = await plan();
    const info = p.info({ PlanUri: "http://dev.azure.com/contoso/" });
    const exit = await run({ azure_devops_url: "https://dev.azure.com/contoso/", azdocallbackinfo: info });
    expect(exit.code).toBe(2);
    expect(exit.stderr).toContain("https");
    expect(exit.stderr).toContain("http://dev.azure.com/contoso/");
  });

  test("an empty or malformed azure_devops_url is refused before anything is sent", async () => {
    const p = await plan();
    for (const pinned of ["", "dev.azure.com/contoso", "ftp://dev.azure.com/contoso"]) {
      const exit = await run({ azure_devops_url: pinned, azdocallbackinfo: p.info() });
      expect(exit.code).toBe(2);
      expect(exit.stderr).toContain("azure_devops_url");
    }
    expect(p.azdo.requests).toHaveLength(0);
  });
});

describe("no credential in what the handler prints", () => {
  const forms = (secret: string) => [secret, Buffer.from(`:${secret}`).toString("base64")];

  test("an error body echoing the PAT (final answer and log-line warning) is printed scrubbed of the PAT and its Basic form", async () => {
    const p = await plan();
    p.azdo.fault({ on: "feed", fault: { status: 400, echoCredential: true } });
    p.azdo.fault({ on: "events", fault: { status: 400, echoCredential: true } });
    const exit = await run({ ...p.pinned, azdocallbackinfo: p.info() });
    expect(exit.code).toBe(1);
    expect(exit.stdout).toContain("warning: could not write to the job's log");
    expect(exit.stderr).toContain("HTTP 400: Injected fault 400. You sent Authorization: Basic ***");
    for (const secret of forms(PAT)) expect(exit.stdout + exit.stderr).not.toContain(secret);
  });

  test("an error body echoing the job token is printed scrubbed of it, and of a PAT-less run's token too", async () => {
    const p = await plan();
    p.azdo.fault({ on: "events", fault: { status: 400, echoCredential: true } });
    const exit = await run({ ...p.pinned, azdocallbackinfo: p.info({ AuthToken: JOB_TOKEN }) }, {});
    expect(exit.code).toBe(1);
    expect(exit.stderr).toContain("Bearer ***");
    expect(exit.stdout + exit.stderr).not.toContain(JOB_TOKEN);
  });
});

describe("credentials", () => {
  test("a PAT in a mounted file is sent as Basic and wins over the environment", async () => {
    const p = await plan();
    const file = join(scratch, "pat");
    writeFileSync(file, `${PAT}\n`);
    const exit = await run(
      { ...p.pinned, azdocallbackinfo: p.info({ AuthToken: JOB_TOKEN }), pat_file: file },
      { AZDO_PAT: "not-this-one" },
    );
    expect(exit.code).toBe(0);
    expect(exit.stdout).toContain(`Authenticating with the PAT in ${file}.`);
    expect(p.azdo.requests.map((r) => r.auth)).toEqual(["basic", "basic"]);
  });

  test("a PAT in the environment variable named by pat_env", async () => {
    const p = await plan();
    const exit = await run({ ...p.pinned, azdocallbackinfo: p.info(), pat_env: "MY_AZDO_PAT" }, { MY_AZDO_PAT: PAT });
    expect(exit.code).toBe(0);
    expect(p.azdo.events.map((e) => e.auth)).toEqual(["basic"]);
  });

  test("without a PAT, the job token the user chose to pass in azdocallbackinfo is sent as Bearer", async () => {
    const p = await plan();
    const exit = await run({ ...p.pinned, azdocallbackinfo: p.info({ AuthToken: JOB_TOKEN }) }, {});
    expect(exit.code).toBe(0);
    expect(p.azdo.events.map((e) => e.auth)).toEqual(["bearer"]);
  });

  test("no credential at all: exit 2 naming where one is looked for, nothing sent", async () => {
    const p = await plan();
    const exit = await run({ ...p.pinned, azdocallbackinfo: p.info() }, {});
    expect(exit.code).toBe(2);
    expect(exit.stderr).toContain("environment variable AZDO_PAT is not set, no pat_file was given");
    expect(p.azdo.requests).toHaveLength(0);
  });

  test("a PAT file that cannot be read is an error naming the file", async () => {
    const p = await plan();
    const exit = await run({ ...p.pinned, azdocallbackinfo: p.info(), pat_file: join(scratch, "missing") });
    expect(exit.code).toBe(2);
    expect(exit.stderr).toContain(`cannot read the PAT file ${join(scratch, "missing")}: ENOENT`);
  });

  test("a rejected credential is not retried: exit 1 with a hint, and no credential in any output", async () => {
    const p = await plan();
    const exit = await run(
      { ...p.pinned, azdocallbackinfo: p.info({ AuthToken: JOB_TOKEN }), attempts: "5" },
      { AZDO_PAT: "wrong-pat-value" },
    );
    expect(exit.code).toBe(1);
    expect(eventRequests(p.azdo)).toHaveLength(1);
    expect(exit.stderr).toContain("HTTP 401");
    expect(exit.stderr).toContain("the credential was not accepted");
    for (const secret of ["wrong-pat-value", JOB_TOKEN, Buffer.from(":wrong-pat-value").toString("base64")]) {
      expect(exit.stdout + exit.stderr).not.toContain(secret);
    }
  });
});

describe("retries", () => {
  test("5xx answers and a dropped connection are retried; TaskCompleted is recorded once", async () => {
    const p = await plan();
    p.azdo.fault({ on: "events", fault: { status: 503 }, times: 2 });
    p.azdo.fault({ on: "events", fault: { reset: true }, times: 1 });
    const exit = await run({ ...p.pinned, azdocallbackinfo: p.info() });
    expect(exit.code).toBe(0);
    expect(eventRequests(p.azdo).map((r) => r.status)).toEqual([503, 503, 0, 200]);
    expect(p.azdo.events).toHaveLength(1);
    expect(exit.stdout).toMatch(/\(attempt 1 of 6\); retrying in (5|6|7|8|9|10)ms/);
  });

  test("Retry-After as an HTTP-date is honoured like delta-seconds, not replaced by the backoff", async () => {
    const p = await plan();
    // The configured backoff (60 s) would outlast the test: only the server's date keeps the wait short.
    p.azdo.fault({ on: "events", fault: { status: 503, retryAfterSeconds: 2, retryAfterAs: "date" }, times: 1 });
    const exit = await run({ ...p.pinned, azdocallbackinfo: p.info(), retry_delay_seconds: "60" });
    expect(exit.code).toBe(0);
    expect(eventRequests(p.azdo).map((r) => r.status)).toEqual([503, 200]);
    expect(exit.stdout).toMatch(/\(attempt 1 of 6\); retrying in (\d+ms|[0-2](\.\d)?s)/);
  }, 15_000);

  test("gives up after the configured tries and exits 1, so the exit handler shows failed in the KFP UI", async () => {
    const p = await plan();
    p.azdo.fault({ on: "events", fault: { status: 500 }, times: Infinity });
    const exit = await run({ ...p.pinned, azdocallbackinfo: p.info(), attempts: "3" });
    expect(exit.code).toBe(1);
    expect(eventRequests(p.azdo)).toHaveLength(3);
    expect(exit.stderr).toContain("failed after 3 tries: HTTP 500: Injected fault 500.");
    expect(p.azdo.events).toHaveLength(0);
  });

  test("a log line that cannot be written does not keep the task from completing", async () => {
    const p = await plan();
    p.azdo.fault({ on: "feed", fault: { status: 500 }, times: Infinity });
    const exit = await run({ ...p.pinned, azdocallbackinfo: p.info(), attempts: "2" });
    expect(exit.code).toBe(0);
    expect(exit.stdout).toContain("warning: could not write to the job's log");
    expect(p.azdo.events).toHaveLength(1);
  });

  test("a plan Azure DevOps no longer knows (job cancelled or timed out) is final: exit 1 without retrying", async () => {
    const p = await plan();
    const exit = await run({ ...p.pinned, azdocallbackinfo: p.info({ PlanId: uuid() }) });
    expect(exit.code).toBe(1);
    expect(p.azdo.requests.map((r) => r.status)).toEqual([404, 404]);
    expect(exit.stderr).toContain("no such plan or job");
  });

  test("out-of-range retry settings are refused before anything is sent", async () => {
    const p = await plan();
    const exit = await run({ ...p.pinned, azdocallbackinfo: p.info(), attempts: "0" });
    expect(exit.code).toBe(2);
    expect(exit.stderr).toContain('--attempts "0" is out of range');
    expect(p.azdo.requests).toHaveLength(0);
  });
});

describe("azdocallbackinfo", () => {
  const fields = {
    PlanUri: "https://dev.azure.com/org/",
    ProjectId: "p1",
    HubName: "build",
    PlanId: "plan-1",
    JobId: "job-1",
    TaskInstanceId: "task-1",
  };
  const parsed = {
    planUri: "https://dev.azure.com/org/",
    projectId: "p1",
    hubName: "build",
    planId: "plan-1",
    jobId: "job-1",
    taskInstanceId: "task-1",
  };

  test("JSON, the 2021 single-quoted form, any key case and a JSON string holding JSON all read the same", () => {
    const single = `{${Object.entries(fields)
      .map(([k, v]) => `'${k}':'${v}'`)
      .join(",")}}`;
    const lower = JSON.stringify(Object.fromEntries(Object.entries(fields).map(([k, v]) => [k.toLowerCase(), v])));
    for (const text of [JSON.stringify(fields), single, lower, JSON.stringify(JSON.stringify(fields)), ` ${single}\n`]) {
      expect(parseCallbackInfo(text)).toEqual(parsed);
    }
  });

  test("a quote inside a 2021 value survives (replacing every quote, as the 2021 sample did, breaks it)", () => {
    expect(JSON.parse(singleQuotedToJson(`{'a':'it\\'s "x"','b':"y"}`))).toEqual({ a: `it's "x"`, b: "y" });
  });

  test("empty text means nothing to report", () => {
    expect(parseCallbackInfo("")).toBeUndefined();
    expect(parseCallbackInfo("  ")).toBeUndefined();
  });

  test("a missing, unexpanded or unsafe field is named; the job token never appears in the message", () => {
    const bad = (extra: Record<string, string>, drop?: string) => {
      const record: Record<string, string> = { ...fields, AuthToken: JOB_TOKEN, ...extra };
      if (drop) delete record[drop];
      try {
        parseCallbackInfo(JSON.stringify(record));
      } catch (error) {
        expect(error).toBeInstanceOf(CallbackInfoError);
        expect((error as Error).message).not.toContain(JOB_TOKEN);
        return (error as Error).message;
      }
      throw new Error("no error");
    };
    expect(bad({}, "PlanId")).toBe("azdocallbackinfo: PlanId is missing.");
    expect(bad({ JobId: "$(system.jobId)" })).toBe(
      "azdocallbackinfo: JobId was never filled in by Azure DevOps (it still reads $(system.jobId)).",
    );
    expect(bad({ PlanId: "../../x" })).toContain("PlanId is not an id");
    expect(bad({ PlanUri: "file:///etc/passwd" })).toBe("azdocallbackinfo: PlanUri is not an http(s) URL.");
    expect(() => parseCallbackInfo(`not json ${JOB_TOKEN}`)).toThrow(/neither JSON nor the 2021/);
    expect(() => parseCallbackInfo(`not json ${JOB_TOKEN}`)).not.toThrow(new RegExp(JOB_TOKEN));
  });

  test("the callback URLs keep one slash between collection and project however the collection URI ends", () => {
    for (const planUri of ["https://dev.azure.com/org", "https://dev.azure.com/org/", "https://dev.azure.com/org//"]) {
      const info = { ...parsed, planUri, timelineId: "tl-1" };
      expect(eventsUrl(info)).toBe(
        "https://dev.azure.com/org/p1/_apis/distributedtask/hubs/build/plans/plan-1/events?api-version=2.0-preview.1",
      );
      expect(feedUrl(info)).toBe(
        "https://dev.azure.com/org/p1/_apis/distributedtask/hubs/build/plans/plan-1/timelines/tl-1/records/job-1/feed?api-version=4.1",
      );
    }
  });
});

describe("run status", () => {
  /** Exactly what KFP 2.x's driver passes (backend/src/v2/driver/resolve.go). */
  const kfp2 = (state: string) =>
    `{"error":{},"pipelineJobResourceName":"training-7k2xq","pipelineTaskName":"exit-handler-1","state":"${state}"}`;

  test("KFP 1.x passes Argo's workflow status: only Succeeded succeeds", () => {
    expect(parseExitStatus("Succeeded")).toEqual({ state: "Succeeded", outcome: "succeeded" });
    expect(parseExitStatus("Failed").outcome).toBe("failed");
    expect(parseExitStatus("Error").outcome).toBe("failed");
  });

  for (const [state, outcome] of [
    ["COMPLETE", "succeeded"],
    ["CACHED", "succeeded"],
    ["FAILED", "failed"],
    ["CANCELED", "failed"],
    ["RUNNING", "failed"],
    ["NEW", "failed"],
  ] as const) {
    test(`KFP 2.x final status ${state}: ${outcome}, the state named, the empty error never shown`, () => {
      expect(parseExitStatus(kfp2(state))).toEqual({ state, outcome });
    });
  }

  test("words that are not MLMD states do not pass for success on KFP 2.x", () => {
    for (const state of ["SUCCEEDED", "Succeeded", ""]) expect(parseExitStatus(kfp2(state)).outcome).toBe("failed");
  });

  test("a non-empty error message, should a KFP fill one in, is kept for the log", () => {
    expect(parseExitStatus('{"state":"FAILED","error":{"code":9,"message":"boom"}}')).toEqual({
      state: "FAILED",
      outcome: "failed",
      error: "boom",
    });
  });

  test("no status, or a placeholder never substituted, reports failed rather than a success no one saw", () => {
    expect(parseExitStatus("")).toEqual({ state: "", outcome: "failed" });
    expect(parseExitStatus("{{workflow.status}}")).toEqual({ state: "", outcome: "failed" });
  });
});
