/**
 * Unit tests of the KFP client's parts that need no KFP: endpoint
 * normalisation, filter encoding, discovery and the HTTP layer against a tiny
 * local server that answers what each test wants, waiting, spec parameters.
 */

import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { connectKfp } from "../lib/kfp/client.ts";
import { normalizeEndpoint } from "../lib/kfp/endpoint.ts";
import { KfpError } from "../lib/kfp/error.ts";
import { equalsFilter, filterParam } from "../lib/kfp/filter.ts";
import { KfpHttp } from "../lib/kfp/http.ts";
import type { KfpConnectOptions, RequestLogLine, Run } from "../lib/kfp/types.ts";
import { specParameters } from "../lib/kfp/v2.ts";
import { OutageError, waitForRun } from "../lib/kfp/wait.ts";
import { rejection, thrown } from "./support/rejection.ts";
import { checkPipelineFile } from "../lib/kfp/pipeline-file.ts";

// --- a tiny server whose answers each test sets ---

type Handler = (req: Request, url: URL) => Response | Promise<Response>;
let handler: Handler = () => new Response("no handler", { status: 500 });
const seen: { method: string; path: string; url: URL; headers: Headers }[] = [];
let server: ReturnType<typeof Bun.serve>;
let base: string;

beforeAll(() => {
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const url = new URL(req.url);
      seen.push({ method: req.method, path: url.pathname, url, headers: req.headers });
      return handler(req, url);
    },
  });
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(() => server.stop(true));
afterEach(() => {
  seen.length = 0;
  handler = () => new Response("no handler", { status: 500 });
});

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) => Response.json(body, { status, headers });
const notFound = () => json({ code: 5, message: "Not Found" }, 404);
const fast = { attempts: 3, totalMs: 5_000, baseDelayMs: 1 };

function connect(extra: Partial<KfpConnectOptions> = {}) {
  return connectKfp({ endpoint: base, retry: fast, ...extra });
}

describe("normalizeEndpoint", () => {
  test.each([
    ["http://ml-pipeline.kubeflow:8888", "http://ml-pipeline.kubeflow:8888"],
    ["http://ml-pipeline.kubeflow:8888/", "http://ml-pipeline.kubeflow:8888"],
    ["  http://localhost:3000//  ", "http://localhost:3000"],
    ["https://kf.example.com/pipeline", "https://kf.example.com/pipeline"],
    ["https://kf.example.com/pipeline/", "https://kf.example.com/pipeline"],
    ["https://kf.example.com/pipeline/#/runs/details/abc", "https://kf.example.com/pipeline"],
    ["https://kf.example.com/pipeline/?ns=team", "https://kf.example.com/pipeline"],
    ["https://kf.example.com/pipeline/apis/v2beta1/healthz", "https://kf.example.com/pipeline"],
    ["http://host/apis/v1beta1", "http://host"],
    ["HTTPS://KF.Example.com:443/Pipeline", "https://kf.example.com/Pipeline"],
    ["http://[::1]:8888/x/", "http://[::1]:8888/x"],
  ])("%s -> %s", (input, expected) => {
    expect(normalizeEndpoint(input)).toBe(expected);
  });

  test.each([
    ["", "is empty"],
    ["ml-pipeline.kubeflow:8888", "no http:// or https:// scheme"],
    ["ftp://host/pipeline", "only http and https"],
    ["grpc://ml-pipeline:8887", "only http and https"],
    ["not a url", "is not a URL"],
  ])("rejects %p", (input, words) => {
    const error = thrown(() => normalizeEndpoint(input), KfpError);
    expect(error.kind).toBe("invalid");
    expect(error.message).toContain(words);
  });

  test("credentials in the URL are rejected without repeating them", () => {
    const error = thrown(() => normalizeEndpoint("https://admin:s3cr3t-pw@kf.example.com/pipeline"), KfpError);
    expect(error.kind).toBe("invalid");
    expect(error.message).toContain("user name or password");
    expect(error.message).not.toContain("s3cr3t-pw");
  });
});

describe("filters", () => {
  test("v1 uses op, v2 uses operation", () => {
    expect(equalsFilter("v1beta1", "name", "x")).toEqual({ predicates: [{ key: "name", op: "EQUALS", string_value: "x" }] });
    expect(equalsFilter("v2beta1", "display_name", "x")).toEqual({
      predicates: [{ key: "display_name", operation: "EQUALS", string_value: "x" }],
    });
  });

  test("double encoding: after the gateway's decoding and KFP's QueryUnescape the name is intact", () => {
    const name = "a+b %20 c&d=é/?";
    const params = new URLSearchParams();
    params.set("filter", filterParam(equalsFilter("v2beta1", "name", name)));
    const onTheWire = params.toString();
    // What the gateway hands the server: decoded once.
    const gateway = new URLSearchParams(onTheWire).get("filter")!;
    expect(gateway).not.toContain('"predicates"');
    // Go's url.QueryUnescape (which also turns '+' into a space) on top.
    const server = decodeURIComponent(gateway.replace(/\+/g, " "));
    expect(JSON.parse(server).predicates[0].string_value).toBe(name);
  });
});

describe("discovery", () => {
  test("a standalone API server: v2 healthz at the root, multi_user and tag read from it", async () => {
    handler = (_req, url) =>
      url.pathname === "/apis/v2beta1/healthz"
        ? json({ commit_sha: "x", tag_name: "2.14.3", multi_user: true, pipeline_store: "database" })
        : notFound();
    const client = await connect({ endpoint: `${base}/`, namespace: "team-a" });
    expect(client).toMatchObject({ apiVersion: "v2beta1", baseUrl: base, multiUser: true, serverVersion: "2.14.3", namespace: "team-a" });
    expect(seen.map((r) => r.path)).toEqual(["/apis/v2beta1/healthz"]);
  });

  test("a KFP 1.8 server: v2 healthz 404 (an HTML 404 from Express), then v1", async () => {
    handler = (_req, url) =>
      url.pathname === "/apis/v1beta1/healthz"
        ? json({ multi_user: false, tag_name: "1.8.5" })
        : new Response("<pre>Cannot GET</pre>", { status: 404, headers: { "content-type": "text/html" } });
    const client = await connect();
    expect(client.apiVersion).toBe("v1beta1");
    expect(client.serverVersion).toBe("1.8.5");
    expect(client.namespace).toBeUndefined();
  });

  test("the dashboard route: only /pipeline answers; links derive from the found base", async () => {
    handler = (_req, url) => (url.pathname === "/pipeline/apis/v2beta1/healthz" ? json({ multi_user: false }) : notFound());
    const client = await connect();
    expect(client.baseUrl).toBe(`${base}/pipeline`);
    expect(seen.map((r) => r.path)).toEqual(["/apis/v2beta1/healthz", "/apis/v1beta1/healthz", "/pipeline/apis/v2beta1/healthz"]);
    expect(client.links.pipeline("p1")).toBe(`${base}/pipeline/#/pipelines/details/p1`);
    expect(client.links.version("p1", "v1")).toBe(`${base}/pipeline/#/pipelines/details/p1/version/v1`);
    expect(client.links.experiment("e1")).toBe(`${base}/pipeline/#/experiments/details/e1`);
    expect(client.links.run("r1")).toBe(`${base}/pipeline/#/runs/details/r1`);
  });

  test("a dashboard page (HTML 200) at the root does not hide KFP under /pipeline", async () => {
    handler = (_req, url) =>
      url.pathname.startsWith("/pipeline/")
        ? json({ multi_user: false })
        : new Response("<!doctype html><html>dashboard</html>", { headers: { "content-type": "text/html" } });
    expect((await connect()).baseUrl).toBe(`${base}/pipeline`);
  });

  test("the KFP UI's own healthz shape: apiServerMultiUser and apiServerTagName", async () => {
    handler = () =>
      json({ apiServerReady: true, apiServerMultiUser: true, apiServerTagName: "2.0.5", frontendTagName: "2.0.5", buildDate: "x" });
    const client = await connect();
    expect(client.multiUser).toBe(true);
    expect(client.serverVersion).toBe("2.0.5");
    // No namespace given: experiments need one in multi-user mode, said before any request.
    const before = seen.length;
    const error = await rejection(client.findExperiment("e"));
    expect(error.kind).toBe("invalid");
    expect(error.message).toContain("multi-user");
    expect(seen.length).toBe(before);
  });

  test("the UI says its API server is not ready", async () => {
    handler = () => json({ apiServerReady: false, multi_user: false });
    const error = await rejection(connect());
    expect(error.message).toContain("API server behind it is not ready");
  });

  test("a login redirect is reported as an auth proxy, without the redirect's query", async () => {
    handler = () => new Response(null, { status: 302, headers: { location: "/dex/auth?client_id=x&state=SECRETSTATE" } });
    const error = await rejection(connect());
    expect(error.kind).toBe("login-page");
    for (const part of ["authentication proxy", "KFP was not reached", "bearer token", "session cookie", "/dex/auth"]) {
      expect(error.message).toContain(part);
    }
    expect(error.message).not.toContain("SECRETSTATE");
  });

  test("a redirect from http to https on the same host says to use https, not to log in", async () => {
    handler = (_req, url) => new Response(null, { status: 301, headers: { location: `https://${url.host}${url.pathname}` } });
    const error = await rejection(connect());
    expect(error.kind).toBe("redirect");
    expect(error.message).toContain("was redirected to https (HTTP 301 to https://");
    expect(error.message).toContain(`Write the endpoint with https, e.g. https://${new URL(base).host}.`);
    expect(error.message).not.toContain("authentication proxy");
  });

  test("a redirect to another host names that host, and is not taken for a login page", async () => {
    handler = () => new Response(null, { status: 302, headers: { location: "https://kfp.example.com/apis/v2beta1/healthz?x=1" } });
    const error = await rejection(connect());
    expect(error.kind).toBe("redirect");
    expect(error.message).toContain(
      "was redirected to another host, kfp.example.com (HTTP 302 to https://kfp.example.com/apis/v2beta1/healthz)",
    );
    expect(error.message).not.toContain("x=1");
  });

  test("a redirect to a login page on another host (an identity provider) is still a login page", async () => {
    handler = () => new Response(null, { status: 302, headers: { location: "https://login.microsoftonline.com/tenant/oauth2/authorize" } });
    expect((await rejection(connect())).kind).toBe("login-page");
  });

  test("a login page (HTML 200) with a token says the token was not accepted", async () => {
    handler = () => new Response("<html><body>Sign in</body></html>", { headers: { "content-type": "text/html" } });
    const error = await rejection(connect({ auth: { kind: "bearer", token: "tok-abcdef-123" } }));
    expect(error.kind).toBe("login-page");
    expect(error.message).toContain("bearer token given was not accepted");
    expect(error.message).not.toContain("tok-abcdef-123");
  });

  test("401 is 'credentials rejected', and the token never shows, even when echoed", async () => {
    handler = (req) => json({ code: 16, message: `bad token ${req.headers.get("authorization")}` }, 401);
    const log: RequestLogLine[] = [];
    const error = await rejection(connect({ auth: { kind: "bearer", token: "tok-abcdef-123" }, onRequest: (l) => log.push(l) }));
    expect(error.status).toBe(401);
    expect(error.message).toContain("credentials rejected");
    expect(error.message).toContain("bad token Bearer ***");
    expect(JSON.stringify({ error, message: error.message, kfp: error.kfpMessage, hint: error.hint, log })).not.toContain("tok-abcdef-123");
    expect(seen[0]!.headers.get("authorization")).toBe("Bearer tok-abcdef-123");
  });

  test("403 with a cookie mentions the cookie and the namespace", async () => {
    handler = () => json({ code: 7, message: "RBAC: access denied" }, 403);
    const error = await rejection(connect({ auth: { kind: "cookie", cookie: "oauth2_proxy_kubeflow=abcdefghijkl" }, namespace: "team-a" }));
    expect(error.message).toContain("session cookie was refused");
    expect(error.message).not.toContain("abcdefghijkl");
    expect(seen[0]!.headers.get("cookie")).toBe("oauth2_proxy_kubeflow=abcdefghijkl");
  });

  test("kubeflow-userid header is sent when given", async () => {
    handler = () => json({ multi_user: true });
    await connect({ userId: "alice@example.com" });
    expect(seen[0]!.headers.get("kubeflow-userid")).toBe("alice@example.com");
    expect(seen[0]!.headers.get("authorization")).toBeNull();
  });

  test("forced v1beta1 asks only v1 healthz", async () => {
    handler = () => json({ multi_user: false });
    const client = await connect({ apiVersion: "v1beta1" });
    expect(client.apiVersion).toBe("v1beta1");
    expect(seen.map((r) => r.path)).toEqual(["/apis/v1beta1/healthz"]);
  });

  test("forced v2beta1 on a KFP 1.x server says v1beta1 is needed", async () => {
    handler = (_req, url) => (url.pathname.includes("v1beta1") ? json({}) : notFound());
    const error = await rejection(connect({ apiVersion: "v2beta1" }));
    expect(error.kind).toBe("not-found");
    expect(error.message).toContain("v1beta1");
  });

  test("nothing answers: not found, listing what was tried", async () => {
    handler = notFound;
    const error = await rejection(connect());
    expect(error.kind).toBe("not-found");
    expect(error.message).toContain("/pipeline/apis/v1beta1/healthz");
  });

  test("a 200 that is not JSON is a protocol error", async () => {
    handler = () => new Response("hello", { headers: { "content-type": "text/plain" } });
    expect((await rejection(connect())).kind).toBe("protocol");
  });
});

describe("HTTP retries", () => {
  function http(extra: Partial<ConstructorParameters<typeof KfpHttp>[0]> = {}) {
    return new KfpHttp({ baseUrl: base, retry: fast, ...extra });
  }
  const get = { method: "GET" as const, path: "/apis/v2beta1/runs/r1" };

  test("reads retry 5xx and 429, then succeed", async () => {
    const answers = [json({ message: "unavailable" }, 503), json({}, 429, { "retry-after": "0" }), json({ ok: 1 })];
    handler = () => answers.shift()!;
    expect(await http().read(get, { operation: "get run r1" })).toEqual({ ok: 1 });
    expect(seen.length).toBe(3);
  });

  test("a persistent 500 ends after the attempt budget with the operation and status", async () => {
    handler = () => json({ error: "db down", message: "db down", code: 13 }, 500);
    const error = await rejection(http().read(get, { operation: "get run r1" }));
    expect(seen.length).toBe(3);
    expect(error).toMatchObject({ kind: "http", status: 500, method: "GET", path: "/apis/v2beta1/runs/r1", kfpMessage: "db down" });
    expect(error.message).toContain("get run r1 failed");
    expect(error.message).toContain("after 3 attempts");
  });

  test("a Retry-After longer than the budget ends at once", async () => {
    handler = () => json({ message: "slow down" }, 429, { "retry-after": "100" });
    const error = await rejection(http().read(get, { operation: "get run r1" }));
    expect(error.status).toBe(429);
    expect(seen.length).toBe(1);
  });

  test("the total time budget bounds retries", async () => {
    handler = () => json({}, 503);
    await rejection(http({ retry: { attempts: 100, totalMs: 50, baseDelayMs: 20 } }).read(get, { operation: "get run r1" }));
    expect(seen.length).toBeLessThan(6);
  });

  test("4xx is not retried; 404 names what was not found", async () => {
    handler = () => json({ code: 5, message: "Run r1 not found" }, 404);
    const error = await rejection(http().read(get, { operation: "get run r1", notFound: "run r1" }));
    expect(seen.length).toBe(1);
    expect(error.kind).toBe("not-found");
    expect(error.message).toContain("run r1 was not found");
    expect(error.kfpMessage).toBe("Run r1 not found");
  });

  test("KFP's message is read from message, error or error_message", async () => {
    handler = () => json({ error_message: "Failed to create a pipeline", error_details: "spec invalid: x" }, 400);
    expect((await rejection(http().read(get, { operation: "op" }))).kfpMessage).toBe("Failed to create a pipeline: spec invalid: x");
    handler = () => json({ error: "only error", code: 3 }, 400);
    expect((await rejection(http().read(get, { operation: "op" }))).kfpMessage).toBe("only error");
  });

  test("413 gets a size hint", async () => {
    handler = () => new Response("Request Entity Too Large", { status: 413 });
    const error = await rejection(http().read(get, { operation: "upload pipeline" }));
    expect(error.hint).toContain("32 MiB");
  });

  test("a timeout is retried, then reported with the time limit", async () => {
    handler = () => new Promise((resolve) => setTimeout(() => resolve(json({})), 1_000));
    const error = await rejection(
      http({ requestTimeoutMs: 30, retry: { attempts: 2, totalMs: 5_000, baseDelayMs: 1 } }).read(get, { operation: "get run r1" }),
    );
    expect(error.kind).toBe("network");
    expect(error.message).toContain("no answer within 30ms");
    expect(error.message).toContain("after 2 attempts");
    expect(seen.length).toBe(2);
  });

  test("a refused connection is a network error naming the host", async () => {
    const closed = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    const port = closed.port;
    closed.stop(true);
    const error = await rejection(
      new KfpHttp({ baseUrl: `http://127.0.0.1:${port}`, retry: fast }).read(get, { operation: "connect to KFP" }),
    );
    expect(error.kind).toBe("network");
    expect(error.message).toContain(`connection to 127.0.0.1:${port} was refused`);
  });

  test("an aborted read rejects with the caller's reason, without retrying", async () => {
    handler = () => new Promise((resolve) => setTimeout(() => resolve(json({})), 1_000));
    const controller = new AbortController();
    const pending = http().read(get, { operation: "get run r1" }, controller.signal);
    setTimeout(() => controller.abort(new Error("stop")), 20);
    await expect(pending).rejects.toThrow("stop");
    expect(seen.length).toBe(1);
  });

  test("log lines: method, path with readable query, status, attempt; no credentials", async () => {
    const answers = [json({}, 502), json({ ok: 1 })];
    handler = () => answers.shift()!;
    const log: RequestLogLine[] = [];
    const client = http({ auth: { kind: "bearer", token: "secret-token-xyz" }, onRequest: (l) => log.push(l) });
    await client.read(
      {
        method: "GET",
        path: "/apis/v2beta1/pipelines",
        query: { filter: filterParam(equalsFilter("v2beta1", "name", "a b")), page_size: 200 },
      },
      { operation: "find" },
    );
    expect(log.map((l) => [l.method, l.status, l.attempt])).toEqual([
      ["GET", 502, 1],
      ["GET", 200, 2],
    ]);
    expect(log[0]!.path).toBe(
      '/apis/v2beta1/pipelines?filter={"predicates":[{"key":"name","operation":"EQUALS","string_value":"a b"}]}&page_size=200',
    );
    expect(JSON.stringify(log)).not.toContain("secret-token-xyz");
  });
});

describe("waitForRun", () => {
  const run = (state: string, outcome?: Run["outcome"]): Run => ({ id: "r", name: "r", state, outcome });

  test("one GET per poll; onPoll sees every poll's run", async () => {
    const states: Run[] = [run(""), run("PENDING"), run("PENDING"), run("RUNNING"), run("RUNNING"), run("SUCCEEDED", "succeeded")];
    let polls = 0;
    const seen: string[] = [];
    const result = await waitForRun(async () => states[polls++]!, {
      intervalMs: 1,
      timeoutMs: 10_000,
      onPoll: (r) => seen.push(r.state),
    });
    expect(result).toEqual(run("SUCCEEDED", "succeeded"));
    expect(polls).toBe(6);
    expect(seen).toEqual(["", "PENDING", "PENDING", "RUNNING", "RUNNING", "SUCCEEDED"]);
  });

  test("times out with the last run seen", async () => {
    let polls = 0;
    const result = await waitForRun(async () => (polls++, run("RUNNING")), { intervalMs: 5, timeoutMs: 30 });
    expect(result).toEqual({ timedOut: true, run: run("RUNNING") });
    expect(polls).toBeGreaterThanOrEqual(2);
  });

  test("abort stops the wait during the sleep, and no poll follows", async () => {
    const controller = new AbortController();
    let polls = 0;
    const pending = waitForRun(
      async () => {
        polls++;
        if (polls === 1) setTimeout(() => controller.abort(new Error("canceled by the pipeline")), 10);
        return run("RUNNING");
      },
      { intervalMs: 60_000, timeoutMs: 120_000, signal: controller.signal },
    );
    await expect(pending).rejects.toThrow("canceled by the pipeline");
    expect(polls).toBe(1);
  });

  const unreachable = () =>
    new KfpError({ kind: "network", operation: "get run r", message: "get run r failed: GET /apis/v2beta1/runs/r: connection refused." });

  test("an outage longer than the HTTP retries does not end the wait: polls go on, and it is reported once, with its length", async () => {
    const answers: (Run | KfpError)[] = [
      run("RUNNING"),
      unreachable(),
      unreachable(),
      unreachable(),
      run("RUNNING"),
      run("SUCCEEDED", "succeeded"),
    ];
    const outages: { lengthMs: number; first: string }[] = [];
    const result = await waitForRun(
      async () => {
        const next = answers.shift()!;
        if (next instanceof KfpError) throw next;
        return next;
      },
      { intervalMs: 5, timeoutMs: 10_000, onOutage: (o) => outages.push({ lengthMs: o.lengthMs, first: o.first.message }) },
    );
    expect(result).toEqual(run("SUCCEEDED", "succeeded"));
    expect(outages).toHaveLength(1);
    expect(outages[0]!.first).toContain("connection refused");
    expect(outages[0]!.lengthMs).toBeGreaterThan(0);
  });

  test("an outage that outlasts the timeout fails the wait with an OutageError; a refusal (404) fails it at once", async () => {
    const outage = waitForRun(
      async () => {
        throw unreachable();
      },
      { intervalMs: 5, timeoutMs: 30 },
    );
    await expect(outage).rejects.toBeInstanceOf(OutageError);
    const gone = new KfpError({ kind: "not-found", operation: "get run r", message: "run r was not found", status: 404 });
    let polls = 0;
    const refused = waitForRun(
      async () => {
        polls++;
        throw gone;
      },
      { intervalMs: 5, timeoutMs: 10_000 },
    );
    await expect(refused).rejects.toBe(gone);
    expect(polls).toBe(1);
  });

  test("an already aborted signal polls nothing", async () => {
    let polls = 0;
    const pending = waitForRun(async () => (polls++, run("")), { intervalMs: 1, timeoutMs: 10, signal: AbortSignal.abort() });
    await expect(pending).rejects.toThrow();
    expect(polls).toBe(0);
  });
});

describe("specParameters", () => {
  const ir = {
    pipelineInfo: { name: "p" },
    root: {
      inputDefinitions: {
        parameters: {
          msg: { parameterType: "STRING" },
          epochs: { parameterType: "NUMBER_INTEGER", defaultValue: 3 },
          maybe: { parameterType: "STRUCT", isOptional: true },
          status: { parameterType: "TASK_FINAL_STATUS" },
        },
      },
    },
  };
  const expected = [
    { name: "msg", type: "STRING", optional: false },
    { name: "epochs", type: "NUMBER_INTEGER", optional: true, defaultValue: 3 },
    { name: "maybe", type: "STRUCT", optional: true },
  ];

  test("IR spec, plain or wrapped with a platform spec", () => {
    expect(specParameters(ir)).toEqual(expected as never);
    expect(specParameters({ pipeline_spec: ir, platform_spec: { platforms: {} } })).toEqual(expected as never);
  });

  test("an IR without inputs declares none; the pre-2.0 `type` field is understood", () => {
    expect(specParameters({ root: { dag: {} } })).toEqual([]);
    expect(specParameters({ root: { inputDefinitions: { parameters: { n: { type: "INT" }, d: { type: "DOUBLE" } } } } })).toEqual([
      { name: "n", type: "NUMBER_INTEGER", optional: false },
      { name: "d", type: "NUMBER_DOUBLE", optional: false },
    ]);
  });

  test("an Argo workflow (v1 pipeline on a 2.x server) gives string parameters", () => {
    expect(specParameters({ kind: "Workflow", spec: { arguments: { parameters: [{ name: "a" }, { name: "b", value: "1" }] } } })).toEqual([
      { name: "a", type: "STRING", optional: false, defaultValue: undefined },
      { name: "b", type: "STRING", optional: true, defaultValue: "1" },
    ]);
  });

  test("anything else is unknown", () => {
    expect(specParameters({ foo: 1 })).toBeUndefined();
    expect(specParameters("text")).toBeUndefined();
  });
});

describe("lookups and safe writes against a stub KFP", () => {
  const healthz = () => json({ multi_user: false });

  test("paging: same filter with page_token, exact names compared client-side", async () => {
    handler = (_req, url) => {
      if (url.pathname.endsWith("/healthz")) return healthz();
      const token = url.searchParams.get("page_token");
      // A case-insensitive collation matches "Hello" too.
      if (!token) return json({ pipelines: [{ pipeline_id: "p-upper", name: "Hello" }], next_page_token: "t2" });
      return json({ pipelines: [{ pipeline_id: "p-exact", name: "hello" }] });
    };
    const client = await connect();
    expect((await client.findPipeline("hello"))?.id).toBe("p-exact");
    const lists = seen.filter((r) => r.path === "/apis/v2beta1/pipelines");
    expect(lists.map((r) => r.url.searchParams.get("page_token"))).toEqual([null, "t2"]);
    expect(lists[1]!.url.searchParams.get("filter")).toBe(lists[0]!.url.searchParams.get("filter"));
    expect(lists.every((r) => r.url.searchParams.get("page_size") === "200")).toBe(true);
  });

  test("two exact matches are ambiguous, never the first taken on faith", async () => {
    handler = (_req, url) => {
      if (url.pathname.endsWith("/healthz")) return healthz();
      if (!url.searchParams.get("page_token"))
        return json({ experiments: [{ experiment_id: "e1", display_name: "dup" }], next_page_token: "t2" });
      return json({ experiments: [{ experiment_id: "e2", display_name: "dup" }] });
    };
    const client = await connect();
    const error = await rejection(client.findExperiment("dup"));
    expect(error.kind).toBe("ambiguous");
    expect(error.message).toContain('2 objects match experiment "dup"');
  });

  test.each([
    ["an hour ahead", 3_600_000],
    ["an hour behind", -3_600_000],
  ])("a gateway clock %s of KFP's: our own object is still recognised after a lost answer, and never sent twice", async (_, skew) => {
    // The gateway stamps Date; KFP stamps created_at with its own clock.
    const headers = () => ({ date: new Date(Date.now() + skew).toUTCString() });
    let created: { experiment_id: string; display_name: string; description?: string; created_at: string } | undefined;
    handler = async (req, url) => {
      if (url.pathname.endsWith("/healthz")) return json({ multi_user: false }, 200, headers());
      if (req.method === "POST") {
        const body = (await req.json()) as { description?: string };
        created = { experiment_id: "e1", display_name: "ci", description: body.description, created_at: new Date().toISOString() };
        return json({ message: "upstream timeout" }, 504, headers());
      }
      return json(created ? { experiments: [created] } : {}, 200, headers());
    };
    const client = await connect();
    const experiment = await client.createExperiment({ name: "ci" });
    expect(experiment.id).toBe("e1");
    expect(seen.filter((r) => r.method === "POST").length).toBe(1);
  });

  test("when the lookup after a lost answer fails too, the error names the write and both failures", async () => {
    handler = (req, url) => {
      if (url.pathname.endsWith("/healthz")) return healthz();
      if (req.method === "POST") return json({ message: "backend down" }, 503);
      return json({ message: "invalid filter" }, 400);
    };
    const client = await connect();
    const error = await rejection(client.createExperiment({ name: "ci" }));
    expect(error.operation).toBe('create experiment "ci"');
    expect(error.message).toContain('create experiment "ci" failed: HTTP 503');
    expect(error.message).toContain("checking whether it was created anyway also failed");
    expect(error.message).toContain("invalid filter");
    expect(seen.filter((r) => r.method === "POST").length).toBe(1);
  });

  test("v2 upload: the first version is looked up once by name, no sleeping, no listing of all", async () => {
    handler = (_req, url) => {
      if (url.pathname.endsWith("/healthz")) return healthz();
      if (url.pathname.endsWith("/upload")) return json({ pipeline_id: "p1", name: "hello", display_name: "hello" });
      return json({ pipeline_versions: [{ pipeline_version_id: "v1", name: "hello", pipeline_id: "p1" }] });
    };
    const client = await connect();
    const result = await client.uploadPipeline({
      file: await checkPipelineFile(`${import.meta.dir}/fixtures/pipelines/hello-v2.yaml`),
      name: "hello",
    });
    expect(result.version).toMatchObject({ id: "v1", name: "hello", pipelineId: "p1" });
    const after = seen.filter((r) => !r.path.endsWith("/healthz"));
    expect(after.map((r) => `${r.method} ${r.path}`)).toEqual([
      "POST /apis/v2beta1/pipelines/upload",
      "GET /apis/v2beta1/pipelines/p1/versions",
    ]);
    expect(JSON.parse(decodeURIComponent(after[1]!.url.searchParams.get("filter")!)).predicates[0].string_value).toBe("hello");
  });

  test("an answer without the documented id is a protocol error naming the field", async () => {
    handler = (_req, url) => (url.pathname.endsWith("/healthz") ? healthz() : json({ display_name: "x" }));
    const client = await connect();
    const error = await rejection(client.getExperiment("e1"));
    expect(error.kind).toBe("protocol");
    expect(error.message).toContain("experiment_id");
  });
});
