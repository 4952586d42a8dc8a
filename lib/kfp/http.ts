/**
 * HTTP transport for the KFP client: one place that sends requests (auth
 * headers, per-request timeout, streamed multipart uploads), writes the request
 * log line, retries what is safe to retry, and turns every failure into a
 * KfpError that names the operation and never carries a credential.
 *
 * Requests go through lib/net/transport.ts (node:http), which runs under
 * Node 20 (task bundles) and Bun (tests).
 */

import {
  AnswerTooLargeError,
  backoffMs,
  FileReadError,
  formatDuration,
  ProxyError,
  RetrySchedule,
  sendRequest,
  sleep,
  speaksNoTls,
  TransportError,
  type RetryPolicy,
  type TransportRequest,
} from "../net/mod.ts";
import { KfpError } from "./error.ts";
import type { KfpConnectOptions } from "./types.ts";
import type { PipelineFile } from "./pipeline-file.ts";

export interface HttpRequest {
  method: "GET" | "POST" | "DELETE";
  /** Relative to the base URL, e.g. `/apis/v2beta1/runs`. */
  path: string;
  /** Sent in this order; undefined values are left out. */
  query?: Record<string, string | number | undefined>;
  json?: unknown;
  /** Sent as multipart/form-data field `uploadfile`, streamed from disk. */
  upload?: PipelineFile;
  /** The whole call, retries included, ends within this long (e.g. terminating a run while the agent cancels the job). */
  withinMs?: number;
}

/** What a request is for, so failures can say it in words. */
export interface RequestContext {
  /** "create run", "upload pipeline". */
  operation: string;
  /** What a 404 means, e.g. `run "abc"`; without it a 404 is an unexpected route. */
  notFound?: string;
  /** How to resolve a name conflict (409), e.g. "upload a new version instead". */
  conflictHint?: string;
}

/** The connection options the HTTP layer uses (namespace only to make 403 hints precise), with the base URL found. */
export type HttpOptions = Pick<
  KfpConnectOptions,
  "auth" | "userId" | "namespace" | "requestTimeoutMs" | "retry" | "onRequest" | "ca" | "proxy"
> & {
  /** Normalised base URL, no trailing slash. */
  baseUrl: string;
};

export const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_UPLOAD_TIMEOUT_MS = 5 * 60_000;
/** Some gateways and WAFs refuse requests without one; it also tells KFP's access logs who called. */
const USER_AGENT = "kubeflow-pipelines-azure-devops-tasks/1";

/** One wait is at most 30 s: a server's Retry-After is honoured up to that. */
const DEFAULT_RETRY: RetryPolicy = { attempts: 5, totalMs: 60_000, baseDelayMs: 500, maxDelayMs: 30_000 };

type TransportFailure = "refused" | "timeout" | "reset" | "dns" | "tls" | "proxy" | "other";

/** The result of one attempt. */
type Attempt =
  | { kind: "response"; status: number; headers: Record<string, string>; text: string }
  | { kind: "transport"; failure: TransportFailure; error: TransportError }
  /** An answer past the transport's size cap, not read. */
  | { kind: "too-large"; error: AnswerTooLargeError };

/**
 * How an attempt ended, as far as retrying is concerned:
 * - ok, login (auth proxy), conflict (name taken), fatal: final;
 * - refused, throttled: the request never reached KFP, re-sending is safe;
 * - lost (timeout, reset) and server (5xx): KFP may have acted on it.
 */
type Verdict = "ok" | "login" | "redirect" | "conflict" | "fatal" | "refused" | "throttled" | "lost" | "server";

const RETRIABLE = new Set<Verdict>(["refused", "throttled", "lost", "server"]);

export class KfpHttp {
  readonly baseUrl: string;
  private readonly retry: RetryPolicy;

  constructor(private readonly options: HttpOptions) {
    this.baseUrl = options.baseUrl;
    this.retry = { ...DEFAULT_RETRY, ...definedOnly(options.retry ?? {}) };
  }

  /** The same client with some options changed (another base URL during prefix discovery). */
  with(changes: Partial<HttpOptions>): KfpHttp {
    return new KfpHttp({ ...this.options, ...changes });
  }

  /** GET (or another side-effect-free request) with retries; returns the JSON answer. */
  async read(req: HttpRequest, ctx: RequestContext, signal?: AbortSignal): Promise<unknown> {
    const schedule = this.schedule(req);
    for (let attempt = 1; ; attempt++) {
      const result = await this.send(req, attempt, signal);
      const verdict = classify(result);
      if (verdict === "ok") return this.json(result, req, ctx);
      const next = RETRIABLE.has(verdict) ? schedule.next(attempt, retryAfterOf(result)) : { retry: false as const };
      if (!next.retry) throw this.failure(result, req, ctx, attempt, schedule.elapsedMs());
      await sleep(next.delayMs, signal);
    }
  }

  /**
   * A request that creates something, retried only where that cannot create it
   * twice. A refused connection or a 429 never reached KFP: re-sent after the
   * backoff. After an ambiguous failure KFP may have acted on the request:
   * `adopt` looks for the object (by its owner marker) and returns it when
   * there. The rule for re-sending: never while the request may still be in
   * flight, which is when no answer came (timeout, reset) or only a gateway's
   * (502, 504); then it is looked for during one more request timeout after
   * the failure (as long as we were willing to wait for its answer), and sent
   * again only if still missing. KFP's own 500 or 503 ended the request: one
   * look after the backoff. A name conflict after an ambiguous attempt means
   * one of our attempts may have won: `adopt` decides.
   */
  async write<T>(
    req: HttpRequest,
    ctx: RequestContext,
    handlers: { parse: (body: unknown) => T; adopt?: () => Promise<T | undefined> },
  ): Promise<T> {
    const schedule = this.schedule(req);
    let mayHaveLanded = false;
    for (let attempt = 1; ; attempt++) {
      const result = await this.send(req, attempt);
      const verdict = classify(result);
      if (verdict === "ok") return handlers.parse(await this.json(result, req, ctx));
      const ambiguous = verdict === "lost" || verdict === "server";
      mayHaveLanded ||= ambiguous;
      if (handlers.adopt && ambiguous && mayStillBeInFlight(result)) {
        const adopted = await this.adoptWhileInFlight(handlers.adopt, result, req, ctx, schedule);
        if (adopted !== undefined) return adopted;
        // The window was the wait: send again if tries and time are left.
        if (attempt >= this.retry.attempts || schedule.remainingMs() <= 0)
          throw this.failure(result, req, ctx, attempt, schedule.elapsedMs());
        continue;
      }
      const next = RETRIABLE.has(verdict) ? schedule.next(attempt, retryAfterOf(result)) : { retry: false as const };
      let waited = false;
      if (handlers.adopt && ambiguous) {
        // KFP answered: nothing is in flight, but it may have created the object before it failed.
        if (next.retry) await sleep(next.delayMs);
        waited = true;
        const adopted = await this.adopt(handlers.adopt, result, req, ctx);
        if (adopted !== undefined) return adopted;
      } else if (handlers.adopt && verdict === "conflict" && mayHaveLanded) {
        const adopted = await this.adopt(handlers.adopt, result, req, ctx);
        if (adopted !== undefined) return adopted;
      }
      if (!next.retry) throw this.failure(result, req, ctx, attempt, schedule.elapsedMs());
      if (!waited) await sleep(next.delayMs);
    }
  }

  /**
   * Looks for what an ambiguous attempt may have created, with backoff, until
   * one request timeout has passed since it failed (or the retry budget ends).
   * An upload's longer timeout is for sending the file, not for KFP to act on
   * it: its window is the timeout of other requests.
   */
  private async adoptWhileInFlight<T>(
    lookup: () => Promise<T | undefined>,
    result: Attempt,
    req: HttpRequest,
    ctx: RequestContext,
    schedule: RetrySchedule,
  ): Promise<T | undefined> {
    const window = Math.min(this.timeoutOf(req), this.options.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS);
    const ends = Date.now() + Math.min(window, Math.max(0, schedule.remainingMs()));
    for (let look = 1; ; look++) {
      await sleep(Math.min(backoffMs(look, this.retry.baseDelayMs), Math.max(0, ends - Date.now())));
      const found = await this.adopt(lookup, result, req, ctx);
      if (found !== undefined || Date.now() >= ends) return found;
    }
  }

  /** Looks for the object a write may have created; a failed look fails the write, saying both. */
  private async adopt<T>(
    lookup: () => Promise<T | undefined>,
    result: Attempt,
    req: HttpRequest,
    ctx: RequestContext,
  ): Promise<T | undefined> {
    try {
      return await lookup();
    } catch (error) {
      if (!(error instanceof KfpError) || error.kind === "ambiguous") throw error;
      const write = this.failure(result, req, ctx);
      const message = `${write.message.replace(/\.$/, "")}; checking whether it was created anyway also failed: ${error.message}`;
      return Promise.reject(
        new KfpError({
          kind: error.kind,
          operation: ctx.operation,
          message,
          status: write.status,
          method: req.method,
          path: this.pathOf(req),
          kfpMessage: write.kfpMessage,
          hint: error.hint,
          cause: error,
        }),
      );
    }
  }

  /** One attempt: never throws for HTTP or network failures (the caller's abort is rethrown). */
  async send(req: HttpRequest, attempt: number, signal?: AbortSignal): Promise<Attempt> {
    const url = this.url(req);
    const timeout = AbortSignal.timeout(this.timeoutOf(req));
    const headers: Record<string, string> = { accept: "application/json", "user-agent": USER_AGENT, ...this.authHeaders() };
    let body: TransportRequest["body"];
    if (req.upload) {
      body = { file: { field: "uploadfile", filename: req.upload.uploadName, path: req.upload.path } };
    } else if (req.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(req.json);
    }
    const began = performance.now();
    let result: Attempt;
    try {
      // Redirects are never followed: one means an auth proxy answered.
      const response = await sendRequest({
        method: req.method,
        url,
        headers,
        body,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        ca: this.options.ca,
        proxy: this.options.proxy,
      });
      result = { kind: "response", ...response };
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (error instanceof FileReadError) {
        throw new KfpError({
          kind: "invalid",
          operation: "read pipeline file",
          message: `Pipeline file '${error.path}' cannot be read any more (${error.reason}).`,
          cause: error,
        });
      }
      if (error instanceof AnswerTooLargeError) result = { kind: "too-large", error };
      else if (error instanceof TransportError) result = { kind: "transport", failure: transportFailure(error), error };
      else throw error;
    }
    this.options.onRequest?.({
      method: req.method,
      path: readablePath(url),
      status: result.kind === "response" ? result.status : "error",
      ms: Math.round(performance.now() - began),
      attempt,
    });
    return result;
  }

  url(req: HttpRequest): URL {
    const url = new URL(this.baseUrl + req.path);
    for (const [key, value] of Object.entries(req.query ?? {})) {
      if (value !== undefined) url.searchParams.append(key, String(value));
    }
    return url;
  }

  /** Base path plus request path, without the query: what errors may show. */
  pathOf(req: HttpRequest): string {
    return new URL(this.baseUrl + req.path).pathname;
  }

  private timeoutOf(req: HttpRequest): number {
    const timeout = this.options.requestTimeoutMs ?? (req.upload ? DEFAULT_UPLOAD_TIMEOUT_MS : DEFAULT_TIMEOUT_MS);
    return Math.min(timeout, req.withinMs ?? Infinity);
  }

  private authHeaders(): Record<string, string> {
    const headers: Record<string, string> = {};
    const auth = this.options.auth ?? { kind: "none" };
    if (auth.kind === "bearer") headers.authorization = `Bearer ${auth.token}`;
    if (auth.kind === "cookie") headers.cookie = auth.cookie;
    if (this.options.userId) headers["kubeflow-userid"] = this.options.userId;
    return headers;
  }

  private json(result: Attempt, req: HttpRequest, ctx: RequestContext): unknown {
    if (result.kind !== "response" || result.text.trim() === "") return {};
    try {
      return JSON.parse(result.text);
    } catch (error) {
      throw new KfpError({
        kind: "protocol",
        operation: ctx.operation,
        message:
          `${ctx.operation} failed: ${req.method} ${this.pathOf(req)} answered ${result.status} ` +
          `with something that is not JSON (${this.excerpt(result.text)}).`,
        status: result.status,
        method: req.method,
        path: this.pathOf(req),
        hint: "Check that the endpoint points at Kubeflow Pipelines (its UI or API server), not another web service.",
        cause: error,
      });
    }
  }

  /** The retries of one request, within the caller's bound when it gives one. */
  private schedule(req: HttpRequest): RetrySchedule {
    return new RetrySchedule({ ...this.retry, totalMs: Math.min(this.retry.totalMs, req.withinMs ?? Infinity) });
  }

  /** The KfpError for a final failure. */
  failure(result: Attempt, req: HttpRequest, ctx: RequestContext, attempt = 1, elapsedMs = 0): KfpError {
    const path = this.pathOf(req);
    const where = `${req.method} ${path}`;
    const tries = attempt > 1 ? ` (after ${attempt} attempts over ${formatDuration(elapsedMs)})` : "";
    const base = { operation: ctx.operation, method: req.method, path };
    const verdict = classify(result);
    if (verdict === "login") return this.loginPageError(result, where, base);
    if (verdict === "redirect") return this.redirectError(result, where, base);
    if (result.kind === "too-large") {
      const { limit, declared } = result.error;
      const announced = declared !== undefined ? ` (it announced ${mebibytes(declared)})` : "";
      const hint = "Check that the endpoint points at Kubeflow Pipelines, not at another service or a proxy's error page.";
      return new KfpError({
        kind: "protocol",
        ...base,
        message:
          `${ctx.operation} failed: ${where} answered with more than ${mebibytes(limit)}${announced}, ` +
          `far more than KFP sends; it was not read. ${hint}`,
        hint,
        cause: result.error,
      });
    }
    if (result.kind === "transport") {
      const host = new URL(this.baseUrl).host;
      // Through a proxy, only the proxy can refuse a connection or have a name that does not resolve.
      const proxy = this.options.proxy && new URL(this.options.proxy.url);
      const what: Record<TransportFailure, [string, string]> = {
        refused: proxy
          ? [`the connection to the agent's proxy ${proxy.host} was refused`, "Check the agent's proxy settings (Agent.ProxyUrl)."]
          : [
              `the connection to ${host} was refused`,
              "Check that KFP is running and the endpoint's host and port are right (is the port-forward still running?).",
            ],
        timeout: [
          `no answer within ${formatDuration(this.timeoutOf(req))}`,
          "Check that the endpoint is reachable from the agent and that KFP is healthy.",
        ],
        reset: [
          "the connection was closed before KFP answered",
          "Check the network path to KFP (proxies, load balancer timeouts) and the API server's health.",
        ],
        dns: [
          `the host name ${(proxy ?? new URL(this.baseUrl)).hostname} cannot be resolved`,
          "Check the endpoint's host name (and the agent's proxy); in-cluster names only resolve inside the cluster.",
        ],
        tls: speaksNoTls(result.error.message)
          ? [
              `${host} answered in plain HTTP, not TLS (the URL says https://)`,
              "Use http:// in the endpoint, or the port where the server speaks https.",
            ]
          : [
              `the TLS connection failed (${result.error.code ?? "certificate problem"})`,
              "For a private certificate authority, give the agent its PEM file (config.sh --sslcacert) or set NODE_EXTRA_CA_CERTS to it.",
            ],
        proxy: proxyProblem(result.error),
        other: [
          `the request failed (${this.scrub(result.error.message)})`,
          "Check the endpoint and the network between the agent and KFP.",
        ],
      };
      const [problem, hint] = what[result.failure];
      return new KfpError({
        kind: "network",
        ...base,
        message: `${ctx.operation} failed: ${where}: ${problem}${tries}. ${hint}`,
        hint,
        cause: result.error,
      });
    }
    const status = result.status;
    const kfpMessage = this.kfpMessage(result.text);
    const says = kfpMessage ? `: ${kfpMessage}` : "";
    const http = { ...base, status, kfpMessage };
    if (verdict === "conflict") {
      const hint = ctx.conflictHint ?? "Choose another name.";
      return new KfpError({
        kind: "conflict",
        ...http,
        message: `${ctx.operation} failed: the name is already taken (HTTP ${status} from ${where}${says}). ${hint}`,
        hint,
      });
    }
    if (status === 401 || status === 403) {
      const hint = this.credentialsHint(status);
      return new KfpError({
        kind: "http",
        ...http,
        message: `${ctx.operation} failed: credentials rejected (HTTP ${status} from ${where}${says}). ${hint}`,
        hint,
      });
    }
    if (status === 404) {
      if (ctx.notFound) {
        return new KfpError({
          kind: "not-found",
          ...http,
          message: `${ctx.operation} failed: ${ctx.notFound} was not found (HTTP 404 from ${where}${says}).`,
        });
      }
      const hint = "This KFP server does not have this API path: check the endpoint (path prefix such as /pipeline) and the API version.";
      return new KfpError({ kind: "http", ...http, message: `${ctx.operation} failed: HTTP 404 from ${where}${says}. ${hint}`, hint });
    }
    if (status === 413) {
      const hint =
        "The request is too large for KFP or a proxy in front of it (KFP accepts pipeline files up to 32 MiB; proxies may allow less).";
      return new KfpError({ kind: "http", ...http, message: `${ctx.operation} failed: HTTP 413 from ${where}${says}. ${hint}`, hint });
    }
    const hint = knownRefusalHint(kfpMessage);
    const advice = hint ? ` ${hint}` : "";
    return new KfpError({
      kind: "http",
      ...http,
      message: `${ctx.operation} failed: HTTP ${status} from ${where}${says}${tries}.${advice}`,
      hint,
    });
  }

  /** A redirect, told apart by where it goes: a login page, https, another host, another path. */
  private redirectError(result: Attempt, where: string, base: { operation: string; method: string; path: string }): KfpError {
    const location = result.kind === "response" ? result.headers.location : undefined;
    const status = result.kind === "response" ? result.status : undefined;
    let target: URL | undefined;
    try {
      target = location ? new URL(location, this.baseUrl + base.path) : undefined;
    } catch {
      target = undefined;
    }
    if (!target || looksLikeLogin(target)) return this.loginPageError(result, where, base);
    const from = new URL(this.baseUrl);
    const prefix = from.pathname.replace(/\/$/, "");
    const to = `HTTP ${status} to ${withoutQuery(target.href, this.baseUrl)}`;
    let problem: string;
    let hint: string;
    if (target.hostname === from.hostname && from.protocol === "http:" && target.protocol === "https:") {
      problem = `${where} was redirected to https (${to}): KFP is served over https here`;
      hint = `Write the endpoint with https, e.g. ${target.origin}${prefix}.`;
    } else if (target.host !== from.host) {
      problem = `${where} was redirected to another host, ${target.host} (${to}): KFP is not served at this endpoint, or it moved`;
      hint =
        `Point the endpoint at KFP itself (${target.origin}${prefix} if that is KFP); ` +
        `a gateway that redirects API calls cannot be used.`;
    } else {
      problem = `${where} was redirected to ${target.pathname} on the same host (${to})`;
      hint = "Check the endpoint's path: the KFP UI, the API server, or the Kubeflow dashboard's /pipeline.";
    }
    return new KfpError({ kind: "redirect", ...base, status, message: `${base.operation} failed: ${problem}. ${hint}`, hint });
  }

  private loginPageError(result: Attempt, where: string, base: { operation: string; method: string; path: string }): KfpError {
    let answered = "a login page (HTML)";
    if (result.kind === "response" && result.status >= 300 && result.status < 400) {
      const location = result.headers.location;
      answered = `a redirect (HTTP ${result.status}${location ? ` to ${withoutQuery(location, this.baseUrl)}` : ""})`;
    }
    const auth = this.options.auth ?? { kind: "none" };
    const hint =
      auth.kind === "none"
        ? "Give a bearer token (for example a Kubernetes service-account token: " +
          "kubectl -n <profile> create token default-editor --audience pipelines.kubeflow.org) " +
          "or a session cookie (authservice_session=... or oauth2_proxy_kubeflow=...)."
        : `The ${auth.kind === "bearer" ? "bearer token" : "session cookie"} given was not accepted by the proxy: ` +
          `it may have expired or be meant for another audience. Renew it.`;
    return new KfpError({
      kind: "login-page",
      ...base,
      status: result.kind === "response" ? result.status : undefined,
      message:
        `${base.operation} failed: an authentication proxy answered ${where} with ${answered} ` +
        `instead of Kubeflow Pipelines; KFP was not reached. ${hint}`,
      hint,
    });
  }

  private credentialsHint(status: number): string {
    const auth = this.options.auth ?? { kind: "none" };
    const ns = this.options.namespace;
    const access =
      status === 403
        ? ` The identity may lack access${ns ? ` to namespace "${ns}"` : ""} (Kubeflow profile contributor or kubeflow-edit role).`
        : "";
    if (auth.kind === "bearer")
      return `The bearer token was refused: it may have expired or have the wrong audience (KFP expects pipelines.kubeflow.org).${access}`;
    if (auth.kind === "cookie")
      return `The session cookie was refused: sessions expire (often after 24 h); log in again and renew it.${access}`;
    return (
      `KFP requires authentication here: give a bearer token or a session cookie` +
      `${this.options.userId ? "" : " (or, talking to the API server directly in multi-user mode, a kubeflow-userid)"}.${access}`
    );
  }

  /** KFP's own message: `message` (gRPC gateway), `error` (older gateway), `error_message` (upload handlers). */
  private kfpMessage(text: string): string | undefined {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return text.trim() ? this.excerpt(text) : undefined;
    }
    if (body === null || typeof body !== "object") return undefined;
    const b = body as Record<string, unknown>;
    const pick = [b.message, b.error, b.error_message].find((m): m is string => typeof m === "string" && m.trim() !== "");
    if (!pick) return undefined;
    const details =
      typeof b.error_details === "string" && b.error_details.trim() && !pick.includes(b.error_details) ? `: ${b.error_details}` : "";
    return this.scrub(truncate(pick + details, 600));
  }

  private excerpt(text: string): string {
    if (/^\s*</.test(text)) return "an HTML page";
    return this.scrub(truncate(text.replace(/\s+/g, " ").trim(), 300));
  }

  /** Removes any credential that a server might echo back. */
  scrub(text: string): string {
    const auth = this.options.auth;
    const secrets: string[] = [];
    if (auth?.kind === "bearer") secrets.push(auth.token);
    if (auth?.kind === "cookie") {
      secrets.push(auth.cookie);
      for (const part of auth.cookie.split(";")) secrets.push(part.trim(), part.slice(part.indexOf("=") + 1).trim());
    }
    let out = text;
    for (const secret of secrets.filter((s) => s.length >= 6).sort((a, b) => b.length - a.length)) out = out.split(secret).join("***");
    return out;
  }
}

/**
 * Path and query for log lines, with values decoded so a filter reads as JSON.
 * Credentials never travel in the URL, so nothing here needs hiding.
 */
export function readablePath(url: URL): string {
  const query = [...url.searchParams].map(([key, value]) => {
    let shown = value;
    if (key === "filter") {
      try {
        shown = decodeURIComponent(value);
      } catch {
        // Not our encoding: show it as sent.
      }
    }
    return `${key}=${shown}`;
  });
  return url.pathname + (query.length ? `?${query.join("&")}` : "");
}

function classify(result: Attempt): Verdict {
  if (result.kind === "too-large") return "fatal";
  if (result.kind === "transport") {
    switch (result.failure) {
      case "refused":
        return "refused";
      case "dns":
        // A temporary resolver failure: the request never left, so sending it again is safe.
        return result.error.code === "EAI_AGAIN" ? "refused" : "fatal";
      case "proxy":
        // The proxy did not pass the request on: re-sending is safe, and worth it only when the proxy failed, not when it refused.
        return result.error instanceof ProxyError && result.error.status >= 500 ? "refused" : "fatal";
      case "timeout":
      case "reset":
      case "other":
        return "lost";
      default:
        return "fatal";
    }
  }
  const { status } = result;
  if (status >= 300 && status < 400) return "redirect";
  if (status >= 200 && status < 300) return isHtml(result) ? "login" : "ok";
  if (status === 409 || (status === 500 && /already exist/i.test(result.text))) return "conflict";
  // KFP compiles a run before storing it: a compile error (e.g. "task final status not supported yet" before 2.14,
  // kubeflow/pipelines backend/src/v2/compiler/argocompiler/dag.go) is a 500 that no retry changes, and no run exists.
  if (status === 500 && /Failed to compile job/i.test(result.text)) return "fatal";
  if (status === 429) return "throttled";
  if (status === 500 || status === 502 || status === 503 || status === 504) return "server";
  return "fatal";
}

function isHtml(result: { headers: Record<string, string>; text: string }): boolean {
  return /text\/html/i.test(result.headers["content-type"] ?? "") || /^\s*<(!doctype|html)/i.test(result.text);
}

/** The transport's verdict, with a failed name look-up told apart from a refused connection (the messages differ). */
function transportFailure(error: TransportError): TransportFailure {
  if (error.kind === "refused" && (error.code === "ENOTFOUND" || error.code === "EAI_AGAIN")) return "dns";
  return error.kind;
}

/** What the agent's proxy said instead of passing a request on to KFP, and how to fix it. */
function proxyProblem(error: TransportError): [string, string] {
  const { proxy, status, statusText } = error as ProxyError;
  return [
    `the agent's proxy ${proxy} answered ${status} ${statusText}`.trim(),
    status === 407
      ? "Check Agent.ProxyUsername and Agent.ProxyPassword."
      : "Check that the proxy lets the agent reach KFP, or list KFP's host in the agent's .proxybypass file.",
  ];
}

/** No answer, or a gateway's that says nothing of the API server behind it (bad gateway, gateway timeout). */
function mayStillBeInFlight(result: Attempt): boolean {
  return result.kind === "transport" || (result.kind === "response" && (result.status === 502 || result.status === 504));
}

function retryAfterOf(result: Attempt): string | undefined {
  return result.kind === "response" ? result.headers["retry-after"] : undefined;
}

/** Where identity providers and auth proxies send a browser to log in (Dex, oauth2-proxy, oidc-authservice, IAP, Entra ID). */
function looksLikeLogin(target: URL): boolean {
  return (
    /\/(dex|oauth2|oidc|authservice|auth|login|signin|sign-in|sso|saml)(\/|$|\?)/i.test(target.pathname) ||
    /^(login|accounts|auth|sso|signin)\./i.test(target.hostname)
  );
}

function mebibytes(bytes: number): string {
  return `${Math.round(bytes / (1024 * 1024))} MiB`;
}

/** A redirect target without its query (login redirects carry state tokens). */
function withoutQuery(location: string, base: string): string {
  try {
    const url = new URL(location, base);
    return url.origin + url.pathname;
  } catch {
    return "another page";
  }
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Advice for refusals KFP words in a way users cannot act on. KFP 2.0 to 2.13 cannot compile a pipeline with a
 * `taskFinalStatus` input (kubeflow/pipelines backend/src/v2/compiler/argocompiler/dag.go); 2.14.0 added it.
 */
function knownRefusalHint(kfpMessage: string | undefined): string | undefined {
  if (kfpMessage?.includes("task final status not supported yet"))
    return (
      "This KFP is older than 2.14 and cannot run a pipeline whose exit task takes dsl.PipelineTaskFinalStatus " +
      "(the Azure DevOps callback's run_status): upgrade to KFP 2.14 or later (see the README on the exit handler)."
    );
  return undefined;
}
