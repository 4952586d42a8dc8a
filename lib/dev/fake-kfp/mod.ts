/**
 * A fake Kubeflow Pipelines API server for tests, the local runner and benchmarks:
 * a real HTTP(S) server on 127.0.0.1 that serves v1beta1 (KFP 1.8) or v1beta1 +
 * v2beta1 (KFP 2.x) over in-memory state, behaves like KFP where clients go wrong
 * (filters, paging, duplicates, typed parameters, auth, error bodies), records
 * every request, and injects faults. The contract is `lib/dev/fake-kfp/types.ts`.
 *
 * Never ships. May import anything; imported by the tests, bench and lib/dev/local.
 *
 * @module
 */

import { readFile } from "node:fs/promises";
import * as http from "node:http";
import * as https from "node:https";
import { basename } from "node:path";
import type { FakeKfp, FakeKfpOptions, FaultKind, FaultRule, RecordedRequest } from "./types.ts";
import { FakeHttpError, errorBody, parseMultipart, versionAtLeast } from "./http.ts";
import { exitTaskStatus } from "./exit-task.ts";
import { FakeRuns } from "./runs.ts";
import { compileRoutes, matchRoute, type ApiRequest, type FakeContext } from "./routes.ts";
import { FakeStore } from "./state.ts";
import { v1Routes } from "./v1.ts";
import { v2Routes } from "./v2.ts";
import { readPipelinePackage } from "./package.ts";

export type * from "./types.ts";

const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

const LOGIN_LOCATION =
  "/dex/auth?client_id=kubeflow-oidc-authservice&redirect_uri=%2Foauth2%2Fcallback&response_type=code&" +
  "scope=openid+profile+email+groups&state=fake";

const LOGIN_HTML =
  "<!DOCTYPE html><html><head><title>Dex</title></head><body><h2>Log in to Your Account</h2>" +
  '<form method="post" action="/dex/auth/local/login"><input name="login"><input name="password" type="password"></form></body></html>';

/** An answer before it is written: JSON, HTML, or a redirect. */
interface Answer {
  status: number;
  json?: unknown;
  html?: string;
  headers?: Record<string, string>;
}

export async function startFakeKfp(options: FakeKfpOptions = {}): Promise<FakeKfp> {
  const api = options.api ?? "v2";
  const serverVersion = options.serverVersion ?? (api === "v1" ? "1.8.5" : "2.5.0");
  const multiUser = options.multiUser ?? false;
  const prefix = (options.prefix ?? "").replace(/\/+$/, "").replace(/^(?=[^/])/, "/");
  const store = new FakeStore({ api, serverVersion, multiUser });
  const runs = new FakeRuns(store, options.runs ?? "manual", options.autoMs ?? 3000);
  const ctx: FakeContext = { store, runs, api, serverVersion, multiUser, strictBodies: versionAtLeast(serverVersion, "2.14") };
  const routes = compileRoutes([...v1Routes(ctx), ...(api === "v2" ? v2Routes : [])]);
  const requests: RecordedRequest[] = [];
  const faults: { rule: FaultRule; remaining: number; firstHit?: number }[] = [];

  function takeFault(method: string, path: string): FaultKind | undefined {
    for (const entry of faults) {
      const { rule } = entry;
      if (entry.remaining <= 0) continue;
      if (rule.method && rule.method.toUpperCase() !== method) continue;
      if (typeof rule.path === "string" ? rule.path !== path : !rule.path.test(path)) continue;
      if (rule.forMs !== undefined && entry.firstHit !== undefined && Date.now() - entry.firstHit > rule.forMs) continue;
      entry.firstHit ??= Date.now();
      entry.remaining--;
      return rule.fault;
    }
    return undefined;
  }

  function credentials(headers: http.IncomingHttpHeaders) {
    const authorization = headers.authorization;
    const tokenOk = options.token !== undefined && authorization === `Bearer ${options.token}`;
    const cookieOk = options.cookie !== undefined && cookieMatches(headers.cookie, options.cookie);
    const required = options.token !== undefined || options.cookie !== undefined;
    // Without a configured token, any bearer token counts as an identity (the real server asks Kubernetes).
    const anyBearer = options.token === undefined && /^Bearer \S+/.test(authorization ?? "");
    return {
      tokenOk,
      authenticated: !required || tokenOk || cookieOk,
      identified: tokenOk || cookieOk || anyBearer || !!headers["kubeflow-userid"],
    };
  }

  /** Everything between reading the body and writing the answer: auth, routing, the handler. */
  function answer(
    method: string,
    path: string,
    inPrefix: boolean,
    request: ApiRequest,
    rawBody: Buffer,
    headers: http.IncomingHttpHeaders,
  ): Answer {
    const auth = credentials(headers);
    if (options.redirect) {
      const to = options.redirect === "https" ? `https://${headers.host}` : options.redirect.replace(/\/+$/, "");
      return { status: 301, headers: { location: `${to}${prefix}${path}` } };
    }
    // An auth proxy in front of KFP: it answers everything, whatever the request carries.
    if (options.loginPage) {
      if (options.loginPage === "redirect") return { status: 302, headers: { location: LOGIN_LOCATION } };
      return { status: 200, html: LOGIN_HTML };
    }
    if (!auth.authenticated) {
      return {
        status: 401,
        json: errorBody(
          401,
          "Unauthenticated: missing or invalid credentials (Authorization: Bearer <token> or session cookie)",
          serverVersion,
          false,
        ),
      };
    }
    const found = inPrefix ? matchRoute(routes, method, path) : undefined;
    if (!found) return { status: 404, json: errorBody(404, "Not Found", serverVersion, false) };
    const { route, params } = found;
    try {
      if (multiUser && !path.endsWith("/healthz") && !auth.identified) {
        // The upload handlers map authorization failures to 400.
        const message = "User identity is empty in the request header";
        throw new FakeHttpError(
          route.upload ? 400 : 401,
          route.upload ? `Failed to create a pipeline: ${message}` : `Unauthenticated: ${message}`,
        );
      }
      if (route.upload) {
        request.parts = parseMultipart(rawBody, headers["content-type"]);
      } else if (rawBody.length) {
        try {
          request.json = JSON.parse(rawBody.toString("utf8"));
        } catch (err) {
          throw new FakeHttpError(400, `invalid character in request body: ${(err as Error).message}`);
        }
      }
      return { status: 200, json: route.handle(ctx, request, params) };
    } catch (err) {
      if (err instanceof FakeHttpError)
        return { status: err.status, json: errorBody(err.status, err.message, serverVersion, !!route.upload) };
      return { status: 500, json: errorBody(500, `Internal error: ${(err as Error).stack ?? err}`, serverVersion, !!route.upload) };
    }
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = (req.method ?? "GET").toUpperCase();
    const url = new URL(req.url ?? "/", "http://fake-kfp");
    const inPrefix = !prefix || url.pathname === prefix || url.pathname.startsWith(`${prefix}/`);
    const path = prefix && inPrefix ? url.pathname.slice(prefix.length) || "/" : url.pathname;
    const query = Object.fromEntries(url.searchParams);
    const record: RecordedRequest = {
      method,
      path,
      query,
      headers: recordHeaders(req.headers),
      status: 0,
      authorized: credentials(req.headers).tokenOk,
    };
    requests.push(record);
    const fault = takeFault(method, path);
    if (fault) record.fault = fault;
    if (fault && "reset" in fault && fault.reset === "before-read") {
      req.socket.destroy();
      return;
    }
    const rawBody = await readBody(req);
    record.body = describeBody(rawBody, req.headers["content-type"]);
    if (fault && "slowAcceptMs" in fault) await new Promise((resolve) => setTimeout(resolve, fault.slowAcceptMs));
    let reply: Answer;
    if (fault && "status" in fault) {
      reply = {
        status: fault.status,
        json: fault.body ?? errorBody(fault.status, `fake fault: HTTP ${fault.status}`, serverVersion, false),
        headers: fault.retryAfterSeconds !== undefined ? { "retry-after": String(fault.retryAfterSeconds) } : undefined,
      };
    } else {
      reply = answer(method, path, inPrefix, { method, path, query, headers: record.headers }, rawBody, req.headers);
    }
    if (fault && "reset" in fault) {
      req.socket.destroy(); // after-read: KFP did the work, the answer is lost
      return;
    }
    if (fault && "delayMs" in fault) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    if (fault && "oversizedAnswerBytes" in fault) {
      record.status = 200;
      return streamOversized(res, fault.oversizedAnswerBytes);
    }
    record.status = reply.status;
    if (reply.json !== undefined) record.response = JSON.parse(JSON.stringify(reply.json));
    const body = reply.html ?? (reply.json !== undefined ? JSON.stringify(reply.json) : "");
    res.writeHead(reply.status, {
      ...(reply.html
        ? { "content-type": "text/html; charset=utf-8" }
        : reply.json !== undefined
          ? { "content-type": "application/json" }
          : {}),
      "content-length": String(Buffer.byteLength(body)),
      ...(options.gatewayClockSkewMs ? { date: new Date(Date.now() + options.gatewayClockSkewMs).toUTCString() } : {}),
      ...reply.headers,
    });
    res.end(body);
  }

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end(String(err));
    });
  };
  const server = options.tls
    ? https.createServer({ key: options.tls.key, cert: options.tls.cert }, onRequest)
    : http.createServer(onRequest);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const url = `${options.tls ? "https" : "http"}://127.0.0.1:${port}${prefix}`;
  let closing: Promise<void> | undefined;

  return {
    url,
    requests,
    get state() {
      return store.state;
    },
    writes: () => requests.filter((r) => MUTATING.has(r.method) && !r.path.endsWith("/healthz")),
    fault: (rule) => void faults.push({ rule, remaining: rule.times ?? 1 }),
    clearFaults: () => void faults.splice(0),
    scriptRun: (script, runId) => runs.script(script, runId),
    setRunState: (runId, state, error) => runs.setState(runId, state, error),
    waitForRun: (predicate) => runs.waitFor(predicate),
    exitTaskStatus(runId) {
      const run = runs.get(runId);
      if (!run) throw new Error(`fake KFP: no run ${runId}`);
      return exitTaskStatus(run, store.version(run.versionId));
    },
    /** Seeding a name that exists adds a version to that pipeline. */
    async seedPipeline(init) {
      const bytes = await readFile(init.file);
      const fileName = basename(init.file);
      const pkg = readPipelinePackage(fileName, bytes);
      if (api === "v1" && pkg.kind === "ir") throw new Error(`fake KFP 1.8 cannot hold a KFP v2 pipeline spec: ${init.file}`);
      const namespace = store.namespace(init.namespace);
      const existing = store.state.pipelines.find((p) => p.name === init.name && p.namespace === namespace);
      if (existing) {
        const version = store.createVersion(existing.id, { name: init.versionName ?? init.name, fileName, size: bytes.length, pkg });
        return { pipeline: existing, version };
      }
      return store.createPipeline({ name: init.name, namespace, versionName: init.versionName, fileName, size: bytes.length, pkg });
    },
    seedExperiment: (init) => store.createExperiment(init),
    close: () =>
      (closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections?.();
      })),
  };
}

/** `bytes` of valid JSON (spaces, then `{}`) with its Content-Length, written until done or the client hangs up. */
async function streamOversized(res: http.ServerResponse, bytes: number): Promise<void> {
  res.writeHead(200, { "content-type": "application/json", "content-length": String(bytes) });
  const chunk = Buffer.alloc(1024 * 1024, 0x20);
  let left = bytes - 2;
  while (left > 0 && !res.destroyed) {
    const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
    left -= part.length;
    if (!res.write(part)) await drained(res);
  }
  if (!res.destroyed) res.end("{}");
}

/** Resolves once the response can take more, or is gone; leaves no listener behind. */
function drained(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.once("drain", done);
    res.once("close", done);
  });
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** A Cookie header carries the configured cookie when it is equal or holds all its name=value pairs. */
function cookieMatches(header: string | undefined, expected: string): boolean {
  if (!header) return false;
  if (header === expected) return true;
  const pairs = new Set(header.split(";").map((p) => p.trim()));
  return expected
    .split(";")
    .map((p) => p.trim())
    .filter(Boolean)
    .every((p) => pairs.has(p));
}

function recordHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] =
      name === "authorization" || name === "cookie" ? "<redacted>" : Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

function describeBody(raw: Buffer, contentType: string | undefined): unknown {
  if (!raw.length) return undefined;
  const parts = parseMultipart(raw, contentType);
  if (parts) {
    const file = parts.find((p) => p.filename !== undefined) ?? parts[0];
    return { multipart: file ? { field: file.field, filename: file.filename, size: file.data.length } : {} };
  }
  const text = raw.toString("utf8");
  try {
    return JSON.parse(text);
  } catch {
    return text.length > 2000 ? `${text.slice(0, 2000)}...` : text;
  }
}
