/**
 * The HTTP transport (lib/net/transport.ts) against a local node:http(s)
 * server on 127.0.0.1: what reaches the server, byte for byte; answers and
 * redirects returned as they are; the signal's timeout; how failures are
 * classified; https with a CA made by openssl at test time. The same checks of
 * an upload and of the failure kinds also run under Node 20, as the task
 * bundles run the transport.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import * as tls from "node:tls";
import {
  AnswerTooLargeError,
  FileReadError,
  sendRequest,
  TransportError,
  transportError,
  type TransportRequest,
} from "../lib/net/transport.ts";
import { bundleForNode } from "./support/node-script.ts";
import { makePki, OPENSSL, type Pki } from "./support/pki.ts";
import { rejectsWith } from "./support/rejection.ts";

// --- a local server whose answers each test sets ---

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** The client's port: equal for two requests on one kept-alive connection. */
  remotePort: number;
  body?: Buffer;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, received: Received) => void | Promise<void>;

/** Reads the whole request body and records it. */
async function readBody(req: http.IncomingMessage, received: Received): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  received.body = Buffer.concat(chunks);
  return received.body;
}

const echo: Handler = async (req, res, received) => {
  const body = await readBody(req, received);
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ bytes: body.length }));
};

interface TestServer {
  url: string;
  received: Received[];
  handler: Handler;
  close(): Promise<void>;
}

async function startServer(tlsOptions?: { key: string; cert: string }): Promise<TestServer> {
  const server: TestServer = { url: "", received: [], handler: echo, close: async () => {} };
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const received: Received = {
      method: req.method ?? "",
      url: req.url ?? "",
      headers: req.headers,
      remotePort: req.socket.remotePort ?? 0,
    };
    server.received.push(received);
    void Promise.resolve(server.handler(req, res, received)).catch((error) => res.destroy(error));
  };
  const listener = tlsOptions ? https.createServer(tlsOptions, onRequest) : http.createServer(onRequest);
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  server.url = `${tlsOptions ? "https" : "http"}://127.0.0.1:${(listener.address() as AddressInfo).port}`;
  server.close = () =>
    new Promise<void>((resolve) => {
      listener.closeAllConnections();
      listener.close(() => resolve());
    });
  return server;
}

/** The TransportError a request fails with. */
const failure = (request: TransportRequest) => rejectsWith(sendRequest(request), TransportError);

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** The multipart body a file should arrive as, given the boundary the request announced. */
function expectedMultipart(contentType: string | undefined, field: string, quotedName: string, data: Buffer): Buffer {
  const boundary = /^multipart\/form-data; boundary=(\S+)$/.exec(contentType ?? "")?.[1];
  expect(boundary).toBeDefined();
  return Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${quotedName}"\r\n` +
        `Content-Type: application/octet-stream\r\n\r\n`,
    ),
    data,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
}

let scratch: string;
let server: TestServer;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "http-transport-"));
  server = await startServer();
});
afterAll(async () => {
  await server.close();
  rmSync(scratch, { recursive: true, force: true });
});
afterEach(() => {
  server.received.length = 0;
  server.handler = echo;
});

/** A file of random bytes; its content is returned too. */
function scratchFile(name: string, size: number): { path: string; data: Buffer } {
  const data = randomBytes(size);
  const path = join(scratch, name);
  writeFileSync(path, data);
  return { path, data };
}

describe("requests and answers", () => {
  test("a JSON body arrives as sent with its Content-Length; status, headers and text come back", async () => {
    server.handler = async (req, res, received) => {
      await readBody(req, received);
      res.writeHead(201, [
        ["content-type", "application/json"],
        ["set-cookie", "a=1"],
        ["set-cookie", "b=2"],
        ["retry-after", "3"],
      ]);
      res.end('{"id":"x"}');
    };
    const body = JSON.stringify({ name: "pipeline é", n: 1 });
    const response = await sendRequest({
      method: "POST",
      url: `${server.url}/apis/v2beta1/runs?x=1`,
      headers: { "content-type": "application/json", authorization: "Bearer t" },
      body,
    });
    expect(response).toMatchObject({ status: 201, text: '{"id":"x"}' });
    expect(response.headers).toMatchObject({ "content-type": "application/json", "set-cookie": "a=1, b=2", "retry-after": "3" });
    const [received] = server.received;
    expect(received).toMatchObject({ method: "POST", url: "/apis/v2beta1/runs?x=1" });
    expect(received!.body!.toString("utf8")).toBe(body);
    expect(received!.headers).toMatchObject({
      "content-type": "application/json",
      authorization: "Bearer t",
      "content-length": String(Buffer.byteLength(body)),
    });
    expect(received!.headers["transfer-encoding"]).toBeUndefined();
  });

  test("a file goes out as multipart/form-data byte for byte, its Content-Length the bytes received, not chunked", async () => {
    // Several 64 KiB chunks and a part of one.
    const file = scratchFile("pipeline.yaml", 1024 * 1024 + 7);
    const response = await sendRequest({
      method: "POST",
      url: `${server.url}/upload`,
      body: { file: { field: "uploadfile", filename: 'my "best".yaml', path: file.path } },
    });
    expect(response.status).toBe(200);
    const [received] = server.received;
    expect(
      received!.body!.equals(expectedMultipart(received!.headers["content-type"], "uploadfile", "my %22best%22.yaml", file.data)),
    ).toBe(true);
    expect(received!.headers["content-length"]).toBe(String(received!.body!.length));
    expect(received!.headers["transfer-encoding"]).toBeUndefined();
  });

  test("an empty file is an empty part", async () => {
    const file = scratchFile("empty.json", 0);
    await sendRequest({
      method: "POST",
      url: `${server.url}/upload`,
      body: { file: { field: "f", filename: "empty.json", path: file.path } },
    });
    const [received] = server.received;
    expect(received!.body!.equals(expectedMultipart(received!.headers["content-type"], "f", "empty.json", Buffer.alloc(0)))).toBe(true);
  });

  test("a redirect is returned as it is, never followed", async () => {
    server.handler = (_req, res) => {
      res.writeHead(302, { location: "/dex/auth?state=abc" });
      res.end();
    };
    const response = await sendRequest({ method: "GET", url: `${server.url}/apis/v2beta1/healthz` });
    expect(response.status).toBe(302);
    expect(response.headers.location).toBe("/dex/auth?state=abc");
    expect(server.received.map((r) => r.url)).toEqual(["/apis/v2beta1/healthz"]);
  });

  test("requests to one origin share a kept-alive connection", async () => {
    await sendRequest({ method: "GET", url: `${server.url}/a` });
    await sendRequest({ method: "POST", url: `${server.url}/b`, body: "{}" });
    expect(server.received).toHaveLength(2);
    expect(server.received[1]!.remotePort).toBe(server.received[0]!.remotePort);
  });

  test("an answer given before the file was read (a 413) is returned, and the rest of the file is not sent", async () => {
    // More than loopback's socket buffers hold, to a server that answers at once and reads on only afterwards.
    const file = scratchFile("large.tar.gz", 24 * 1024 * 1024);
    let bytes = 0;
    let peer!: net.Socket;
    const raw = net.createServer((socket) => {
      peer = socket;
      socket.on("error", () => {});
      socket.on("data", (chunk) => {
        if (bytes === 0) {
          socket.pause();
          socket.write("HTTP/1.1 413 Payload Too Large\r\ncontent-length: 24\r\n\r\nRequest Entity Too Large");
        }
        bytes += chunk.length;
      });
    });
    await new Promise<void>((resolve) => raw.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(raw.address() as AddressInfo).port}/upload`;
      const response = await sendRequest({
        method: "POST",
        url,
        body: { file: { field: "uploadfile", filename: "large.tar.gz", path: file.path } },
      });
      expect(response).toMatchObject({ status: 413, text: "Request Entity Too Large" });
      const closed = new Promise((resolve) => peer.once("close", resolve));
      peer.resume();
      await closed; // the client hung up instead of waiting to send the rest
      expect(bytes).toBeLessThan(file.data.length);
    } finally {
      raw.close();
    }
  });

  /** Uploads the file at `path` to the test server; what the upload failed with, which must be a FileReadError. */
  async function uploadFailure(path: string): Promise<FileReadError> {
    const error = await sendRequest({
      method: "POST",
      url: `${server.url}/upload`,
      body: { file: { field: "uploadfile", filename: basename(path), path } },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FileReadError);
    return error as FileReadError;
  }

  test("a file cut short while it is being sent fails the request as a FileReadError; KFP never gets a whole body", async () => {
    const path = join(scratch, "shrinking.yaml");
    writeFileSync(path, Buffer.alloc(16 * 1024 * 1024, 0x61)); // far more than loopback buffers hold
    let complete = false;
    server.handler = async (req, res, received) => {
      // Stop reading after the first chunk: the client blocks on a full socket; cut the file meanwhile.
      await new Promise((resolve) => req.once("data", resolve));
      req.pause();
      truncateSync(path, 0);
      req.resume();
      const rest = await readBody(req, received).catch(() => undefined);
      complete = rest !== undefined;
      res.end();
    };
    expect(await uploadFailure(path)).toMatchObject({ path, reason: "it became shorter while it was being sent" });
    expect(complete).toBe(false);
  });

  test("a file that cannot be opened is a FileReadError naming it, and nothing is sent", async () => {
    const path = join(scratch, "missing.yaml");
    expect(await uploadFailure(path)).toMatchObject({ path, reason: "ENOENT" });
    expect(server.received).toHaveLength(0);
  });
});

describe("the answer-size cap", () => {
  /** Writes `total` bytes in 64 KiB chunks until done or the client goes; counts what it wrote. */
  function streamer(total: number, declare: boolean, written: { bytes: number }): Handler {
    return async (_req, res) => {
      res.writeHead(200, { "content-type": "application/json", ...(declare ? { "content-length": String(total) } : {}) });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      while (written.bytes < total && !res.destroyed) {
        const ok = res.write(chunk);
        written.bytes += chunk.length;
        if (!ok) await new Promise((resolve) => (res.once("drain", resolve), res.once("close", resolve)));
      }
      if (!res.destroyed) res.end();
    };
  }

  const tooLarge = (request: TransportRequest) => rejectsWith(sendRequest(request), AnswerTooLargeError);

  test("an announced Content-Length past the cap fails before the body is read", async () => {
    const written = { bytes: 0 };
    server.handler = streamer(100 * 1024 * 1024, true, written);
    const error = await tooLarge({ method: "GET", url: server.url, maxAnswerBytes: 1024 * 1024 });
    expect(error).toMatchObject({ limit: 1024 * 1024, declared: 100 * 1024 * 1024 });
    // The connection was closed at once: the server could not send more than its socket buffers took.
    expect(written.bytes).toBeLessThan(20 * 1024 * 1024);
  });

  test("a chunked answer that grows past the cap fails as soon as it does", async () => {
    const written = { bytes: 0 };
    server.handler = streamer(100 * 1024 * 1024, false, written);
    const error = await tooLarge({ method: "GET", url: server.url, maxAnswerBytes: 1024 * 1024 });
    expect(error.declared).toBeUndefined();
    expect(written.bytes).toBeLessThan(20 * 1024 * 1024);
  });

  test("an answer at the cap is read whole", async () => {
    server.handler = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(" ".repeat(1024));
    };
    expect((await sendRequest({ method: "GET", url: server.url, maxAnswerBytes: 1024 })).text.length).toBe(1024);
  });
});

describe("failures", () => {
  test("a timeout (the signal's TimeoutError) ends the request and closes its connection", async () => {
    let closed!: Promise<void>;
    server.handler = (req) => {
      closed = new Promise((resolve) => req.socket.once("close", () => resolve()));
    };
    const error = await failure({ method: "GET", url: `${server.url}/slow`, signal: AbortSignal.timeout(50) });
    expect(error.kind).toBe("timeout");
    expect(server.received).toHaveLength(1);
    await closed; // the server sees the connection go: the request was destroyed, not left running
  });

  test("a caller's abort rejects with the caller's reason", async () => {
    const controller = new AbortController();
    const reason = new Error("the job was cancelled");
    server.handler = () => controller.abort(reason);
    const error = await sendRequest({ method: "GET", url: `${server.url}/slow`, signal: controller.signal }).catch((e: unknown) => e);
    expect(error).toBe(reason);
  });

  test("an already aborted signal sends nothing", async () => {
    const error = await failure({
      method: "GET",
      url: `${server.url}/x`,
      signal: AbortSignal.abort(new DOMException("late", "TimeoutError")),
    });
    expect(error.kind).toBe("timeout");
    expect(server.received).toHaveLength(0);
  });

  test("a closed port is refused: the server was never reached", async () => {
    const port = await closedPort();
    const error = await failure({ method: "POST", url: `http://127.0.0.1:${port}/x`, body: "{}" });
    expect(error).toMatchObject({ kind: "refused", code: "ECONNREFUSED" });
  });

  test("a connection closed before any answer is a reset", async () => {
    server.handler = (req) => {
      req.socket.destroy();
    };
    const error = await failure({ method: "POST", url: `${server.url}/x`, body: "{}" });
    expect(error.kind).toBe("reset");
    expect(server.received).toHaveLength(1);
  });

  test("a connection closed in the middle of the answer is a reset", async () => {
    server.handler = (_req, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("0123456789", () => res.socket?.destroy());
    };
    const error = await failure({ method: "GET", url: `${server.url}/x` });
    expect(error.kind).toBe("reset");
  });

  test("an upload whose connection is closed before the server reads it is a reset", async () => {
    const file = scratchFile("reset.tar.gz", 2 * 1024 * 1024);
    server.handler = (req) => {
      req.socket.destroy();
    };
    const error = await failure({
      method: "POST",
      url: `${server.url}/upload`,
      body: { file: { field: "uploadfile", filename: "reset.tar.gz", path: file.path } },
    });
    expect(error.kind).toBe("reset");
  });

  test("error codes as the caller needs them: never reached, ambiguous, certificate, other", () => {
    const kindOf = (code: string | undefined, message = "x") =>
      transportError(Object.assign(new Error(message), code ? { code } : {})).kind;
    for (const code of ["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN"]) expect([code, kindOf(code)]).toEqual([code, "refused"]);
    for (const code of ["ECONNRESET", "EPIPE"]) expect([code, kindOf(code)]).toEqual([code, "reset"]);
    expect(kindOf(undefined, "socket hang up")).toBe("reset");
    for (const code of [
      "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
      "SELF_SIGNED_CERT_IN_CHAIN",
      "DEPTH_ZERO_SELF_SIGNED_CERT",
      "ERR_TLS_CERT_ALTNAME_INVALID",
      "CERT_HAS_EXPIRED",
      "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
    ]) {
      expect([code, kindOf(code)]).toEqual([code, "tls"]);
    }
    expect(kindOf("EHOSTUNREACH")).toBe("other");
    expect(transportError(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }))).toMatchObject({
      code: "ECONNREFUSED",
      message: "connect ECONNREFUSED 127.0.0.1:1",
    });
  });
});

describe.skipIf(!OPENSSL)("https with a private CA", () => {
  let pki: Pki;
  let secure: TestServer;
  let ca: string;
  beforeAll(async () => {
    pki = makePki();
    ca = readFileSync(pki.ca, "utf8");
    secure = await startServer({ key: pki.key, cert: pki.cert });
  });
  afterAll(async () => {
    await secure?.close();
    rmSync(pki.dir, { recursive: true, force: true });
  });
  afterEach(() => {
    secure.received.length = 0;
  });

  test("the server's CA given as `ca`: verified and answered", async () => {
    const response = await sendRequest({ method: "POST", url: `${secure.url}/x`, body: "{}", ca: [ca] });
    expect(response).toMatchObject({ status: 200, text: '{"bytes":2}' });
  });

  test("Node's roots plus the CA, as agent-certs passes them: verified and answered", async () => {
    const response = await sendRequest({ method: "GET", url: `${secure.url}/x`, ca: [...tls.rootCertificates, ca] });
    expect(response.status).toBe(200);
  });

  test("without the CA, or with another one, the certificate is refused and nothing reaches the server", async () => {
    const other = readFileSync(pki.otherCa, "utf8");
    for (const given of [undefined, [other]]) {
      const error = await failure({ method: "POST", url: `${secure.url}/x`, body: "{}", ca: given });
      expect(error.kind).toBe("tls");
      expect(error.code).toMatch(/UNABLE_TO_VERIFY|SELF_SIGNED|UNABLE_TO_GET_ISSUER/);
    }
    expect(secure.received).toHaveLength(0);
  });

  test("a connection verified with the CA is not reused for a request without it", async () => {
    await sendRequest({ method: "GET", url: `${secure.url}/x`, ca: [ca] });
    const error = await failure({ method: "GET", url: `${secure.url}/y` });
    expect(error.kind).toBe("tls");
    expect(secure.received.map((r) => r.url)).toEqual(["/x"]);
  });
});

describe("under Node 20, as the bundles run it", () => {
  const SCRIPT = `
import { readFileSync } from "node:fs";
import { sendRequest } from ${JSON.stringify(join(import.meta.dir, "..", "lib", "net", "transport.ts"))};
async function main() {
  const out = [];
  const requests = JSON.parse(readFileSync(process.argv[2], "utf8"));
  for (const { timeoutMs, ...request } of requests) {
    try {
      const r = await sendRequest({ ...request, signal: timeoutMs ? AbortSignal.timeout(timeoutMs) : undefined });
      out.push({ status: r.status, text: r.text });
    } catch (e) {
      out.push({ error: e.name, kind: e.kind, code: e.code });
    }
  }
  return out;
}
main().then((out) => console.log(JSON.stringify(out)));
`;
  let script: string;
  beforeAll(async () => {
    script = await bundleForNode(scratch, "node-scenario", SCRIPT);
  });

  async function underNode(requests: (TransportRequest & { timeoutMs?: number })[]): Promise<Record<string, unknown>[]> {
    // A file, not an argument: a list of CAs is longer than a command line may be.
    const requestsFile = join(scratch, "node-requests.json");
    writeFileSync(requestsFile, JSON.stringify(requests));
    const child = Bun.spawn(["node", script, requestsFile], { stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
    await child.exited;
    if (!stdout.trim()) throw new Error(`node printed nothing; stderr:\n${stderr}`);
    return JSON.parse(stdout);
  }

  test("an upload byte for byte, a redirect kept, a timeout, a refusal and resets", async () => {
    const file = scratchFile("node.tgz", 3 * 65536 + 11);
    const port = await closedPort();
    server.handler = async (req, res, received) => {
      if (req.url === "/slow") return;
      if (req.url === "/reset") req.socket.destroy();
      else if (req.url === "/cut") res.writeHead(200, { "content-length": "100" }).write("0123456789", () => res.socket?.destroy());
      else if (req.url === "/redirect") res.writeHead(303, { location: "/login" }).end();
      else await echo(req, res, received);
    };
    const outcomes = await underNode([
      { method: "POST", url: `${server.url}/upload`, body: { file: { field: "uploadfile", filename: "node.tgz", path: file.path } } },
      { method: "GET", url: `${server.url}/redirect` },
      { method: "GET", url: `${server.url}/slow`, timeoutMs: 50 },
      { method: "POST", url: `http://127.0.0.1:${port}/x`, body: "{}" },
      { method: "POST", url: `${server.url}/reset`, body: "{}" },
      { method: "GET", url: `${server.url}/cut` },
    ]);
    expect(outcomes).toEqual([
      { status: 200, text: `{"bytes":${server.received[0]!.body!.length}}` },
      { status: 303, text: "" },
      { error: "TransportError", kind: "timeout" },
      { error: "TransportError", kind: "refused", code: "ECONNREFUSED" },
      { error: "TransportError", kind: "reset", code: "ECONNRESET" },
      { error: "TransportError", kind: "reset", code: "ECONNRESET" },
    ]);
    const upload = server.received[0]!;
    expect(upload.body!.equals(expectedMultipart(upload.headers["content-type"], "uploadfile", "node.tgz", file.data))).toBe(true);
    expect(upload.headers["content-length"]).toBe(String(upload.body!.length));
    expect(server.received.map((r) => r.url)).toEqual(["/upload", "/redirect", "/slow", "/reset", "/cut"]);
  });

  test.skipIf(!OPENSSL)("https: verified with the CA given, refused without it", async () => {
    const pki = makePki();
    const secure = await startServer({ key: pki.key, cert: pki.cert });
    try {
      const ca = readFileSync(pki.ca, "utf8");
      const outcomes = await underNode([
        { method: "GET", url: `${secure.url}/x` },
        { method: "GET", url: `${secure.url}/y`, ca: [...tls.rootCertificates, ca] },
      ]);
      expect(outcomes).toEqual([
        { error: "TransportError", kind: "tls", code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" },
        { status: 200, text: '{"bytes":0}' },
      ]);
      expect(secure.received.map((r) => r.url)).toEqual(["/y"]);
    } finally {
      await secure.close();
      rmSync(pki.dir, { recursive: true, force: true });
    }
  });
});
