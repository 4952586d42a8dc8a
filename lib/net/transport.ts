/**
 * Sends one HTTP(S) request with node:http / node:https and returns the answer:
 * status, headers and body text. It retries nothing, follows no redirect (a
 * 3xx comes back as it is) and knows nothing of the services it talks to.
 *
 * Not fetch: undici takes ~50 ms to start in a task that makes a handful of
 * requests, and it leaves an uploaded file's chunks for the garbage collector.
 * Here a file goes out as multipart/form-data through one reused buffer, with
 * an exact Content-Length (no chunked encoding).
 *
 * Through a proxy (an agent's web proxy), an http URL is asked of the proxy by
 * its absolute URI; an https one goes through a CONNECT tunnel, with TLS end to
 * end between us and the server.
 *
 * A failure is a TransportError whose `kind` says what the caller may conclude:
 * `refused` (the server was never reached), `reset` (it may have been), `timeout`
 * (the request's signal aborted with a TimeoutError, as AbortSignal.timeout
 * does), `tls` (its certificate was not accepted), `proxy` (the proxy would not
 * pass the request on: a ProxyError with its status) or `other`.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import type * as http from "node:http";
import type * as Https from "node:https";
import type { Duplex } from "node:stream";
import type * as Tls from "node:tls";

/** One file sent as the only field of a multipart/form-data body. */
export interface FileField {
  /** Form field name. */
  field: string;
  /** File name the server sees. */
  filename: string;
  /** Path on disk; read as it is sent. */
  path: string;
}

export interface TransportRequest {
  method: string;
  url: URL | string;
  /** Content-Length (and, for a file, Content-Type) are set here. */
  headers?: Record<string, string>;
  body?: string | { file: FileField };
  /**
   * Aborting destroys the request. An abort whose reason is a TimeoutError ends
   * it as a `timeout` TransportError; any other reason is thrown as it is.
   */
  signal?: AbortSignal;
  /**
   * PEM certificate authorities to verify an https server against, in place of
   * Node's own (which include NODE_EXTRA_CA_CERTS): to add to them, pass
   * tls.rootCertificates and that file too.
   */
  ca?: readonly string[];
  /** Go through this HTTP proxy instead of connecting to the server directly. */
  proxy?: TransportProxy;
  /** An answer longer than this is not read into memory: AnswerTooLargeError. Default MAX_ANSWER_BYTES. */
  maxAnswerBytes?: number;
}

/** 64 MiB: twice the largest pipeline package KFP accepts, far above any answer it sends (list pages included). */
export const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

/** An HTTP proxy, spoken to in plain HTTP; Basic credentials when it asks for them. */
export interface TransportProxy {
  /** `http://host:port`. */
  url: string;
  username?: string;
  password?: string;
}

export interface TransportResponse {
  status: number;
  /** Lower-case names; a repeated header's values joined with ", ". */
  headers: Record<string, string>;
  text: string;
}

export type TransportFailure = "refused" | "reset" | "timeout" | "tls" | "proxy" | "other";

export class TransportError extends Error {
  override name = "TransportError";
  constructor(
    readonly kind: TransportFailure,
    message: string,
    /** The system or TLS error code (ECONNREFUSED, CERT_HAS_EXPIRED, ...), when there is one. */
    readonly code?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The proxy would not pass the request on: it answered the CONNECT (or, for an
 * http URL, the request itself) with 407 or another error. The server was not
 * reached. The message names the proxy, never its credentials.
 */
export class ProxyError extends TransportError {
  constructor(
    /** host:port of the proxy. */
    readonly proxy: string,
    readonly status: number,
    readonly statusText: string,
  ) {
    super("proxy", `the proxy ${proxy} answered ${status}${statusText ? ` ${statusText}` : ""}`);
  }
}

/**
 * The answer was longer than the caller's cap: the connection is closed as soon
 * as that is known (from Content-Length, or while reading), so it never fills memory.
 */
export class AnswerTooLargeError extends Error {
  override name = "AnswerTooLargeError";
  constructor(
    readonly limit: number,
    /** The Content-Length announced, when the server gave one. */
    readonly declared?: number,
  ) {
    super(`the answer is larger than ${limit} bytes${declared !== undefined ? ` (Content-Length ${declared})` : ""}`);
  }
}

/** The file to upload could not be read (before or while sending it): a local problem, not the network's. */
export class FileReadError extends Error {
  override name = "FileReadError";
  constructor(
    readonly path: string,
    /** An error code (ENOENT, EACCES, ...) or what went wrong, in words. */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`'${path}' cannot be read (${reason})`, options);
  }
}

/** Reads and writes of a file upload, one buffer reused for the whole file. */
const UPLOAD_CHUNK_BYTES = 64 * 1024;
/**
 * An idle kept-alive connection is closed after this long, before servers
 * commonly close theirs (Node's 5 s): a request sent on a connection the server
 * is closing would fail as a reset, which callers must treat as ambiguous.
 */
const IDLE_SOCKET_MS = 4_000;

const REFUSED = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN"]);
const RESET = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED"]);
const TLS_CODE = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/i;

/**
 * Loads now the Node modules that sending a file to `url` needs (node:http or node:https, and
 * node:crypto for the multipart boundary), for a caller that can overlap the loading (~4 ms on
 * Node 20) with other waiting.
 */
export function loadUploadModules(url: string): void {
  clientModule(new URL(url).protocol);
  require("node:crypto");
}

/** node:https (with tls) for https, else node:http, loaded on first use (see sendRequest). */
function clientModule(protocol: string): typeof http | typeof Https {
  return protocol === "https:" ? require("node:https") : require("node:http");
}

/** Sends the request and reads the whole answer; throws TransportError, AnswerTooLargeError, FileReadError or the signal's own reason. */
export async function sendRequest(request: TransportRequest): Promise<TransportResponse> {
  const url = typeof request.url === "string" ? new URL(request.url) : request.url;
  if (request.signal?.aborted) throw abortError(request.signal);
  // The modules load on first use, node:https (with tls) only for an https URL: a task
  // that fails on its inputs, or talks plain http, starts faster. With require: a
  // dynamic import() would start Node's ESM loader for them (~2 ms on Node 20, ~15 on 24).
  const client = clientModule(url.protocol);
  const proxy = request.proxy && proxyRoute(request.proxy);
  const tunnel =
    proxy && url.protocol === "https:" ? { http: require("node:http") as typeof http, tls: require("node:tls") as typeof Tls } : undefined;
  const agent = agentFor(client, url, proxy, tunnel);
  const upload = typeof request.body === "object" ? openUpload(request.body.file) : undefined;
  return exchange(client, url, agent, proxy, request, upload);
}

/** A proxy as the connection needs it: where it is, and its credentials as a header value. */
interface ProxyRoute {
  host: string;
  port: number;
  /** host:port, for messages. */
  name: string;
  authorization?: string;
}

function proxyRoute(proxy: TransportProxy): ProxyRoute {
  const url = new URL(proxy.url);
  const credentials = proxy.username || proxy.password ? `${proxy.username ?? ""}:${proxy.password ?? ""}` : undefined;
  return {
    host: url.hostname.replace(/^\[|\]$/g, ""),
    port: Number(url.port) || 80,
    name: url.host,
    authorization: credentials && `Basic ${Buffer.from(credentials).toString("base64")}`,
  };
}

interface Upload {
  /** Read synchronously: nothing else runs meanwhile, and each async read was a trip to the thread pool. */
  fd: number;
  path: string;
  size: number;
  boundary: string;
  preamble: Buffer;
  epilogue: Buffer;
}

function openUpload(field: FileField): Upload {
  let fd: number | undefined;
  try {
    // Loaded here, not at start: a task that fails on its inputs never sends a file.
    const { randomBytes }: typeof import("node:crypto") = require("node:crypto");
    fd = openSync(field.path, "r");
    const { size } = fstatSync(fd);
    const boundary = `----kfp-form-${randomBytes(12).toString("hex")}`;
    const preamble = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${formName(field.field)}"; filename="${formName(field.filename)}"\r\n` +
        "Content-Type: application/octet-stream\r\n\r\n",
    );
    return { fd, path: field.path, size, boundary, preamble, epilogue: Buffer.from(`\r\n--${boundary}--\r\n`) };
  } catch (error) {
    if (fd !== undefined) closeQuietly(fd);
    throw new FileReadError(field.path, errorReason(error), { cause: error });
  }
}

/** A name inside a quoted Content-Disposition parameter, escaped as browsers (and fetch's FormData) do. */
function formName(name: string): string {
  return name.replace(/"/g, "%22").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

function exchange(
  client: typeof http | typeof Https,
  url: URL,
  agent: http.Agent,
  proxy: ProxyRoute | undefined,
  request: TransportRequest,
  upload: Upload | undefined,
): Promise<TransportResponse> {
  const { signal } = request;
  const headers: Record<string, string> = { ...request.headers };
  if (upload) {
    headers["content-type"] = `multipart/form-data; boundary=${upload.boundary}`;
    headers["content-length"] = String(upload.preamble.length + upload.size + upload.epilogue.length);
  } else if (typeof request.body === "string") {
    headers["content-length"] = String(Buffer.byteLength(request.body));
  }
  const options: Https.RequestOptions & TunnelOptions = { method: request.method, headers, agent };
  if (url.protocol === "https:" && request.ca) options.ca = [...request.ca];
  const forwarded = proxy && url.protocol === "http:";
  if (forwarded) {
    // The proxy forwards a request for an absolute URI; these options take precedence over the URL's.
    Object.assign(options, { host: proxy.host, port: proxy.port, path: url.href });
    headers.host = url.host;
    if (proxy.authorization) headers["proxy-authorization"] = proxy.authorization;
  } else if (proxy) {
    options.tunnelSignal = signal;
  }

  // sendRequest checked the signal; nothing since then has waited, so it has not changed.
  return new Promise<TransportResponse>((resolve, reject) => {
    const req = client.request(url, options);
    let settled = false;
    let answered = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener("abort", onAbort);
      outcome();
    };
    const fail = (error: unknown) =>
      settle(() => {
        req.destroy();
        reject(error);
      });
    const onAbort = () => fail(abortError(signal!));
    signal?.addEventListener("abort", onAbort, { once: true });

    req.on("response", (res) => {
      if (forwarded && res.statusCode === 407) return fail(new ProxyError(proxy.name, 407, res.statusMessage ?? ""));
      answered = true;
      const limit = request.maxAnswerBytes ?? MAX_ANSWER_BYTES;
      const declared = Number(res.headers["content-length"]);
      if (declared > limit) return fail(new AnswerTooLargeError(limit, declared));
      const chunks: Buffer[] = [];
      let received = 0;
      res.on("data", (chunk: Buffer) => {
        received += chunk.length;
        if (received > limit) return fail(new AnswerTooLargeError(limit));
        chunks.push(chunk);
      });
      res.on("end", () =>
        settle(() => {
          // A server may answer before it has read the whole body (a 413, a login redirect): stop sending.
          if (!req.writableFinished) req.destroy();
          resolve({ status: res.statusCode ?? 0, headers: flatHeaders(res.headers), text: Buffer.concat(chunks).toString("utf8") });
        }),
      );
      // A connection lost in the middle of the answer: ECONNRESET "aborted".
      res.on("error", (error) => fail(transportError(error)));
    });
    // Once an answer has begun, it decides: an error sending the rest of the body does not.
    req.on("error", (error) => {
      if (!answered) fail(error instanceof FileReadError ? error : transportError(error));
    });

    if (upload) void sendFile(req, upload);
    else req.end(typeof request.body === "string" ? request.body : undefined);
  });
}

/** Writes the multipart body, waiting for each chunk to be flushed before the buffer is reused. */
async function sendFile(req: http.ClientRequest, upload: Upload): Promise<void> {
  const buffer = Buffer.allocUnsafe(Math.min(UPLOAD_CHUNK_BYTES, Math.max(upload.size, 1)));
  try {
    await write(req, upload.preamble);
    for (let sent = 0; sent < upload.size; ) {
      let bytesRead: number;
      try {
        bytesRead = readSync(upload.fd, buffer, 0, Math.min(buffer.length, upload.size - sent), sent);
      } catch (error) {
        throw new FileReadError(upload.path, errorReason(error), { cause: error });
      }
      if (bytesRead === 0) throw new FileReadError(upload.path, "it became shorter while it was being sent");
      await write(req, buffer.subarray(0, bytesRead));
      sent += bytesRead;
    }
    req.end(upload.epilogue);
  } catch (error) {
    // A FileReadError fails the request; otherwise the request has already failed or been answered.
    if (error instanceof FileReadError) req.destroy(error);
  } finally {
    closeQuietly(upload.fd);
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed, or the file system is gone: nothing is left to release.
  }
}

/** Resolves once the chunk is flushed; rejects if the request ends first. */
function write(req: http.ClientRequest, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (req.destroyed) return reject(new Error("the request was closed"));
    const onClose = () => reject(new Error("the request was closed"));
    req.once("close", onClose);
    req.write(chunk, (error) => {
      req.off("close", onClose);
      if (error) reject(error);
      else resolve();
    });
  });
}

/**
 * One keep-alive agent per origin and route (Node's agents also keep sockets
 * with different `ca` apart): a connection through a proxy, a tunnel above all,
 * never carries a request for another origin, or one meant to go direct or
 * through another proxy or with other proxy credentials.
 */
const agents = new Map<string, http.Agent>();

function agentFor(
  client: typeof http | typeof Https,
  url: URL,
  proxy: ProxyRoute | undefined,
  tunnel: TunnelModules | undefined,
): http.Agent {
  const key = proxy ? `${url.origin} via ${proxy.name} ${proxy.authorization ?? ""}` : url.origin;
  let agent = agents.get(key);
  if (!agent) {
    agent = new client.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS });
    if (proxy && tunnel) agent.createConnection = openTunnel(proxy, tunnel);
    agents.set(key, agent);
  }
  return agent;
}

interface TunnelModules {
  http: typeof http;
  tls: typeof Tls;
}

/** Request options as Node's agent hands them to createConnection, with the request's signal. */
type TunnelOptions = Tls.ConnectionOptions & { tunnelSignal?: AbortSignal };

/**
 * An agent's createConnection for an https server behind the proxy: CONNECT
 * host:port, then TLS over that socket as node:https would connect (servername,
 * ca and host for the certificate check come with the options). Node's agent
 * waits for the callback when nothing is returned.
 */
function openTunnel(proxy: ProxyRoute, { http, tls }: TunnelModules): http.Agent["createConnection"] {
  const open = (options: TunnelOptions, done: (error: Error | null, socket?: Duplex) => void): undefined => {
    const host = options.host ?? "localhost";
    const target = `${host.includes(":") ? `[${host}]` : host}:${options.port}`;
    const headers: Record<string, string> = { host: target };
    if (proxy.authorization) headers["proxy-authorization"] = proxy.authorization;
    const connect = http.request({ host: proxy.host, port: proxy.port, method: "CONNECT", path: target, headers, agent: false });
    const signal = options.tunnelSignal;
    const onAbort = () => connect.destroy();
    let settled = false;
    const finish = (error: Error | null, socket?: Duplex) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener("abort", onAbort);
      done(error, socket);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    connect.once("connect", (res, socket, head) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        return finish(new ProxyError(proxy.name, res.statusCode ?? 0, res.statusMessage ?? ""));
      }
      if (head.length) socket.unshift(head);
      finish(null, tls.connect({ ...options, socket }));
    });
    connect.once("error", (error) => finish(transportError(error)));
    connect.end();
    return undefined;
  };
  return open as unknown as http.Agent["createConnection"];
}

function errorReason(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
}

function flatHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return flat;
}

function abortError(signal: AbortSignal): unknown {
  const reason: unknown = signal.reason;
  if ((reason as { name?: unknown } | undefined)?.name === "TimeoutError")
    return new TransportError("timeout", "no answer in time", undefined, { cause: reason });
  return reason;
}

/**
 * OpenSSL's words (code EPROTO) when a TLS client gets a plain-HTTP answer: an
 * https:// URL to a server that speaks http. Nothing to do with certificates.
 */
export function speaksNoTls(message: string): boolean {
  return /wrong version number|packet length too long|http request/i.test(message) && /ssl|tls/i.test(message);
}

/** A Node socket, DNS or TLS error as a TransportError. */
export function transportError(error: unknown): TransportError {
  if (error instanceof TransportError) return error;
  const code = typeof (error as { code?: unknown })?.code === "string" ? (error as { code: string }).code : undefined;
  const message = error instanceof Error ? error.message : String(error);
  let kind: TransportFailure = "other";
  if (code && REFUSED.has(code)) kind = "refused";
  else if ((code && RESET.has(code)) || /socket hang up/i.test(message)) kind = "reset";
  else if ((code && TLS_CODE.test(code)) || speaksNoTls(message)) kind = "tls";
  return new TransportError(kind, message, code, { cause: error });
}
