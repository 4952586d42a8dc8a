/**
 * Secrets: for each task and each way of passing a credential, with
 * system.debug on, on the way to success and on the ways to failure (KFP
 * echoing the token in its error, the token refused, a persistent network
 * fault), the credential never appears in the log a user sees, nor in raw
 * stdout before its `task.setsecret` line, nor in raw stderr, a request line
 * (URL), the task's message, errors, warnings, variables or any file it
 * writes. The fake's record shows it only in the Authorization header (or the
 * Cookie header for a session cookie).
 *
 * The agentless task: the token goes only into the Authorization header of the
 * one request, and the job's access token nowhere unless the user opts in. The
 * exit handler: the PAT (and its Basic form) and the job token never appear in
 * its output or in what Azure DevOps records, whatever the answer.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FakeKfp, FakeKfpOptions, FaultKind } from "../lib/dev/fake-kfp/types.ts";
import { parseRequestLine } from "../lib/kfp/request-line.ts";
import type { TaskRunResult } from "./harness.ts";
import { expandServerTask } from "./server-task-executor.ts";
import { buildExitHandlerForTest, type ExitHandlerBuild } from "./support/exit-handler-run.ts";
import { startFake } from "./support/fake.ts";
import { startFaultProxy } from "./support/reliability-proxy.ts";
import {
  agentlessVariables,
  asyncConnection,
  ASYNC_TASK_DIR,
  asyncWorld,
  callbackInfo,
  fakeAzdo,
  JOB_TOKEN,
  PAT,
  runAsyncTask,
  runExitHandler,
  runInputs,
  type AsyncCredentialWay,
} from "./support/reliability-async.ts";
import {
  AGENT_TASKS,
  CREDENTIAL_WAYS,
  FAST_BUDGET,
  pool,
  problemsOf,
  runAgentTask,
  scenarios,
  useAgentTaskBundles,
  type AgentTask,
  type CredentialWay,
} from "./support/reliability.ts";

useAgentTaskBundles();

const TOKEN = "kfp-secret-token-Zq81xWv4";
/** A session cookie's value is as secret as a token. */
const COOKIE_VALUE = "MTcwMDAwMDAwMHxzZXNzaW9u";
const COOKIE = `authservice_session=${COOKIE_VALUE}`;

const tally = { runs: 0, places: 0, leaks: 0 };
afterAll(() => {
  console.log(`secrets checked in ${tally.runs} runs (${tally.places} places), leaks ${tally.leaks}`);
});

/** Every place a secret must not be, for an agent task run against `kfp`. */
function agentLeaks(secret: string, r: TaskRunResult, kfp: FakeKfp, via: CredentialWay | "session cookie", accepted: boolean): string[] {
  const leaks: string[] = [];
  const check = (place: string, text: string | undefined) => {
    tally.places++;
    if (text?.includes(secret)) leaks.push(place);
  };
  check("the user's log", r.log);
  // The first raw line holding it registers it (or a credential containing it, such as a whole cookie).
  const lines = r.stdout.split("\n");
  const first = lines.find((line) => line.includes(secret));
  tally.places++;
  if (!lines.includes(`##vso[task.setsecret]${secret}`)) leaks.push("stdout: never registered with task.setsecret");
  else if (!first?.startsWith("##vso[task.setsecret]")) leaks.push(`raw stdout before its task.setsecret line: ${first}`);
  check("raw stderr", r.stderr);
  check(
    "a request line (URL)",
    lines
      .map((line) => /KFP \S+ \S+ ->.*/.exec(line)?.[0])
      .filter((line) => line && parseRequestLine(line))
      .join("\n"),
  );
  check("the task's message", r.message);
  check("an error", r.errors.join("\n"));
  check("a warning", r.warnings.join("\n"));
  check("a variable", JSON.stringify(r.variables));
  for (const [file, content] of Object.entries(r.files)) check(`file ${file}`, content);
  for (const summary of r.summaries) check(`summary ${summary.path}`, summary.content);
  // What the task sent; the fake's answers are left out, since the test makes it echo the credential.
  check(
    "the fake's record (paths, queries, other headers, bodies)",
    JSON.stringify(kfp.requests.map(({ response: _, fault: __, ...sent }) => sent)),
  );
  tally.places++;
  // `authorized`: the Authorization header was exactly `Bearer <token>` (the record itself redacts it).
  if (accepted && via !== "session cookie" && kfp.requests.some((q) => !q.authorized))
    leaks.push("a request without the token in its Authorization header");
  if (via === "session cookie" && kfp.requests.some((q) => q.headers.cookie !== "<redacted>"))
    leaks.push("a request without the Cookie header");
  tally.runs++;
  tally.leaks += leaks.length;
  return leaks;
}

interface Outcome {
  name: string;
  /** The fake the task talks to, and what goes wrong on it. */
  fake: FakeKfpOptions;
  fault?: (task: AgentTask) => { method: string; path: RegExp; fault: FaultKind; times: number };
  /** The credential given differs from the one KFP wants. */
  wrongCredential?: boolean;
}

/** KFP's error echoing what it was sent, as a misconfigured proxy or an old server might. */
const echo = (secret: string) => ({
  error_message: `token "Bearer ${secret}" cannot upload`,
  message: `invalid authorization: Bearer ${secret}`,
  code: 3,
});

const OUTCOMES: Outcome[] = [
  { name: "success", fake: {} },
  {
    name: "KFP echoes the credential in its error",
    fake: {},
    fault: (task) => ({
      method: "POST",
      path: { "upload-pipeline": /\/pipelines\/upload$/, "experiment-run": /\/runs$/, "recurring-run": /\/(jobs|recurringruns)$/ }[task],
      fault: { status: 400, body: echo(TOKEN) },
      times: Infinity,
    }),
  },
  { name: "the credential is refused (401)", fake: {}, wrongCredential: true },
  {
    name: "a persistent network fault",
    fake: {},
    fault: () => ({ method: "GET", path: /\/healthz$/, fault: { reset: "after-read" }, times: Infinity }),
  },
];

describe("agent tasks, system.debug on", () => {
  const ways: (CredentialWay | "session cookie")[] = [...CREDENTIAL_WAYS, "session cookie"];
  const cases = AGENT_TASKS.flatMap((task) => ways.flatMap((via) => OUTCOMES.map((outcome) => ({ task, via, outcome }))));

  test(`each task, each way of passing the credential, on success and failure: ` +
    `it shows only in the Authorization header (${cases.length} runs)`, async () => {
    const problems = await pool(cases, 8, async ({ task, via, outcome }) => {
      const cookie = via === "session cookie";
      const wanted = outcome.wrongCredential
        ? { token: "the-token-kfp-wants", cookie: "authservice_session=the-session-kfp-wants" }
        : { token: TOKEN, cookie: COOKIE };
      const kfp = await startFake({ api: "v2", ...(cookie ? { cookie: wanted.cookie } : { token: wanted.token }), ...outcome.fake });
      const scenario = scenarios("v2").find((s) => s.task === task)!;
      await scenario.seed(kfp);
      const fault = outcome.fault?.(task);
      if (fault) kfp.fault(cookie && "status" in fault.fault ? { ...fault, fault: { ...fault.fault, body: echo(COOKIE) } } : fault);
      const r = await runAgentTask({
        task,
        url: kfp.url,
        token: cookie ? undefined : TOKEN,
        via: cookie ? "plain text" : via,
        inputs: { ...scenario.inputs, ...(cookie ? { sessionCookie: COOKIE } : {}) },
        variables: { "system.debug": "true", ...FAST_BUDGET },
      });
      const found: string[] = [];
      if ((r.result === "Succeeded") !== (outcome.name === "success")) found.push(`ended ${r.result}: ${r.message}`);
      // The echo must reach the message, or this case would prove nothing.
      if (outcome.fault && "status" in outcome.fault(task).fault && !/invalid authorization|cannot upload/.test(r.message ?? ""))
        found.push(`KFP's words are not in the message: ${r.message}`);
      const secrets = cookie ? [COOKIE, COOKIE_VALUE] : [TOKEN];
      for (const secret of secrets)
        found.push(
          ...agentLeaks(secret, r, kfp, via, !outcome.wrongCredential).map(
            (place) => `${secret === TOKEN ? "token" : "cookie"} in ${place}`,
          ),
        );
      await kfp.close();
      return problemsOf(`${task} via ${via}, ${outcome.name}`, found);
    });
    expect(problems.flat()).toEqual([]);
  }, 120_000);
});

describe("the agentless task", () => {
  const ways: AsyncCredentialWay[] = ["service connection", "secret variable", "plain text"];

  test.each(ways)("via %s: the token only in the Authorization header; the job token nowhere", async (via) => {
    const w = await asyncWorld("v2", TOKEN);
    const connection = asyncConnection(w, via);
    const inputs = { ...connection.inputs, ...runInputs(w) };
    const request = expandServerTask({
      taskDir: ASYNC_TASK_DIR,
      inputs,
      variables: agentlessVariables(w),
      endpoints: connection.endpoints,
    });
    expect(request.headers.Authorization).toBe(`Bearer ${TOKEN}`);
    const elsewhere = { url: request.url, body: request.body, headers: { ...request.headers, Authorization: undefined } };
    expect(JSON.stringify(elsewhere)).not.toContain(TOKEN);
    expect(JSON.stringify(request)).not.toContain(JOB_TOKEN);

    const sent = await runAsyncTask(w, runInputs(w), { via });
    expect(sent.result?.outcome).toBe("waiting");
    expect(w.kfp.requests.every((q) => q.authorized)).toBe(true);
    expect(JSON.stringify(w.kfp.requests)).not.toContain(TOKEN);
    expect(JSON.stringify(w.kfp.state)).not.toContain(JOB_TOKEN);
    tally.runs++;
    tally.places += 5;
    await w.kfp.close();
  });
});

describe("the exit handler's Azure DevOps credential", () => {
  let build: ExitHandlerBuild;
  const scratch = mkdtempSync(join(tmpdir(), "reliability-secrets-"));
  beforeAll(async () => {
    build = await buildExitHandlerForTest();
  });
  afterAll(() => {
    build.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });

  const basic = (pat: string) => Buffer.from(`:${pat}`).toString("base64");
  const credentials = [
    { name: "a PAT in the environment", secrets: [PAT, basic(PAT)], values: {}, env: { AZDO_PAT: PAT }, info: {} },
    { name: "a PAT in a mounted file", secrets: [PAT, basic(PAT)], values: { pat_file: "<file>" }, env: {}, info: {} },
    { name: "the job token in azdocallbackinfo", secrets: [JOB_TOKEN], values: {}, env: {}, info: { AuthToken: JOB_TOKEN } },
  ];
  const outcomes = ["success", "refused (401)", "persistent 503", "persistent reset", "malformed callback info"] as const;

  test("in every output of the handler and in what Azure DevOps records, for each credential and outcome: never", async () => {
    const cases = credentials.flatMap((credential) => outcomes.map((outcome) => ({ credential, outcome })));
    const problems = await pool(cases, 5, async ({ credential, outcome }, index) => {
      const azdo = await fakeAzdo();
      const proxy = await startFaultProxy(azdo.url);
      if (outcome === "persistent 503") proxy.fault({ path: /./, fault: { status: 503 }, times: Infinity });
      if (outcome === "persistent reset") proxy.fault({ path: /./, fault: { reset: "after-read" }, times: Infinity });
      // Azure DevOps refuses a credential it does not know: send one it was not given.
      const refused = outcome === "refused (401)";
      const secret = (value: string) => (refused ? `${value}-revoked` : value);
      const env = Object.fromEntries(Object.entries(credential.env).map(([k, v]) => [k, secret(v)]));
      const patFile = join(scratch, `pat-${index}`);
      if (credential.values.pat_file) writeFileSync(patFile, `${secret(PAT)}\n`);
      const info = Object.fromEntries(Object.entries(credential.info).map(([k, v]) => [k, secret(v)]));
      const callback =
        outcome === "malformed callback info"
          ? callbackInfo(`${proxy.url}/org/`, { ...info, PlanId: "../x" })
          : callbackInfo(`${proxy.url}/org/`, info);
      const exit = await runExitHandler(
        build.component,
        { azdocallbackinfo: callback, ...(credential.values.pat_file ? { pat_file: patFile } : {}) },
        env,
      );
      const found: string[] = [];
      if ((exit.code === 0) !== (outcome === "success")) found.push(`exit ${exit.code}: ${exit.stderr.trim()}`);
      for (const value of credential.secrets.map((s) => (refused && s === basic(PAT) ? basic(secret(PAT)) : secret(s)))) {
        tally.places += 3;
        if (exit.stdout.includes(value)) found.push(`in stdout: ${value}`);
        if (exit.stderr.includes(value)) found.push(`in stderr: ${value}`);
        if (JSON.stringify(azdo.requests).includes(value)) found.push(`in Azure DevOps' record: ${value}`);
      }
      tally.runs++;
      tally.leaks += found.filter((f) => f.startsWith("in ")).length;
      await proxy.close();
      await azdo.close();
      return problemsOf(`${credential.name}, ${outcome}`, found);
    });
    expect(problems.flat()).toEqual([]);
  }, 60_000);
});
