/**
 * The agent's web proxy. The transport (lib/net/transport.ts) through a local
 * forward proxy: an http server asked for by absolute URI, an https one through
 * a CONNECT tunnel with TLS end to end, Basic credentials, a 407, a refused or
 * silent proxy, and connections never shared between routes; the KFP
 * client's words for a proxy that refuses or cannot reach KFP. Then the tasks
 * as the agent runs them with Agent.ProxyUrl, Agent.ProxyUsername, the secret
 * Agent.ProxyPassword and Agent.ProxyBypassList (lib/task/agent-proxy.ts): every
 * KFP request goes through the proxy unless the endpoint is bypassed, a
 * rejected credential fails the task clearly, and the password shows nowhere.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import { ProxyError, sendRequest } from "../lib/net/transport.ts";
import type { FakeKfp } from "../lib/dev/fake-kfp/types.ts";
import { KfpError } from "../lib/kfp/error.ts";
import { KfpHttp } from "../lib/kfp/http.ts";
import { runTask, taskDir, type TaskRunResult } from "./harness.ts";
import { startFake } from "./support/fake.ts";
import { startForwardProxy, type ForwardProxy } from "./support/forward-proxy.ts";
import { makePki, OPENSSL, type Pki } from "./support/pki.ts";
import { closedPort, failure } from "./support/transport.ts";
import { TOKEN, packageFor, useUploadTask } from "./support/upload-task.ts";

const USER = "build-agent";
const PASSWORD = "pr0xy-Secret-5f2a91";
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

/** A server that answers every request with its method and path, and records them. */
async function startServer(tlsOptions?: { key: string; cert: string }): Promise<{ url: string; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    seen.push(`${req.method} ${req.url}`);
    req.resume();
    req.on("end", () =>
      res.writeHead(200, { "content-type": "text/plain" }).end(`${req.method} ${req.url} ${req.headers["proxy-authorization"] ?? "-"}`),
    );
  };
  const server = tlsOptions ? https.createServer(tlsOptions, onRequest) : http.createServer(onRequest);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `${tlsOptions ? "https" : "http"}://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("the transport through a proxy", () => {
  let proxy: ForwardProxy;
  let guarded: ForwardProxy;
  let plain: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    [proxy, guarded, plain] = await Promise.all([
      startForwardProxy(),
      startForwardProxy({ credentials: { username: USER, password: PASSWORD } }),
      startServer(),
    ]);
  });
  afterAll(() => Promise.all([proxy.close(), guarded.close(), plain.close()]));
  afterEach(() => {
    proxy.requests.length = 0;
    guarded.requests.length = 0;
    plain.seen.length = 0;
  });

  test("an http URL is asked of the proxy by its absolute URI, with the credentials; the server gets the request", async () => {
    const url = `${plain.url}/apis/v2beta1/runs?page_size=1`;
    const response = await sendRequest({
      method: "POST",
      url,
      body: "{}",
      proxy: { url: guarded.url, username: USER, password: PASSWORD },
    });
    expect(response).toMatchObject({ status: 200, text: "POST /apis/v2beta1/runs?page_size=1 -" });
    expect(guarded.requests).toEqual([{ method: "POST", target: url, authorization: basic(USER, PASSWORD), forwarded: true }]);
    expect(plain.seen).toEqual(["POST /apis/v2beta1/runs?page_size=1"]);
  });

  test("without credentials, a proxy that wants them answers 407: a ProxyError naming the proxy, and the server sees nothing", async () => {
    const error = await failure({ method: "GET", url: `${plain.url}/x`, proxy: { url: guarded.url } });
    expect(error).toBeInstanceOf(ProxyError);
    expect(error).toMatchObject({ kind: "proxy", status: 407, proxy: new URL(guarded.url).host });
    expect(error.message).toBe(`the proxy ${new URL(guarded.url).host} answered 407 Proxy Authentication Required`);
    expect(plain.seen).toEqual([]);
  });

  test("a request without the proxy goes direct, even to an origin reached through it before", async () => {
    await sendRequest({ method: "GET", url: `${plain.url}/via`, proxy: { url: proxy.url } });
    await sendRequest({ method: "GET", url: `${plain.url}/direct` });
    expect(proxy.requests.map((r) => r.target)).toEqual([`${plain.url}/via`]);
    expect(plain.seen).toEqual(["GET /via", "GET /direct"]);
  });

  test("a proxy that refuses the connection: refused, as a server would be", async () => {
    const port = await closedPort();
    for (const url of [`${plain.url}/x`, "https://127.0.0.1:1/x"]) {
      const error = await failure({ method: "POST", url, body: "{}", proxy: { url: `http://127.0.0.1:${port}` } });
      expect([url, error.kind, error.code]).toEqual([url, "refused", "ECONNREFUSED"]);
    }
    expect(plain.seen).toEqual([]);
  });

  test("a proxy that never answers the CONNECT: the request's timeout ends it and closes the connection", async () => {
    let closed!: Promise<void>;
    const silent = net.createServer((socket) => {
      closed = new Promise((resolve) => socket.once("close", () => resolve()));
      socket.resume(); // reads the CONNECT, and so sees the client hang up
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const error = await failure({
        method: "GET",
        url: "https://127.0.0.1:1/x",
        signal: AbortSignal.timeout(100),
        proxy: { url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}` },
      });
      expect(error.kind).toBe("timeout");
      await closed; // the proxy sees the connection go: nothing is left waiting
    } finally {
      silent.close();
    }
  });

  describe.skipIf(!OPENSSL)("https through a CONNECT tunnel", () => {
    let pki: Pki;
    let ca: string;
    let secure: Awaited<ReturnType<typeof startServer>>;
    let other: Awaited<ReturnType<typeof startServer>>;
    beforeAll(async () => {
      pki = makePki();
      ca = readFileSync(pki.ca, "utf8");
      [secure, other] = await Promise.all([startServer({ key: pki.key, cert: pki.cert }), startServer({ key: pki.key, cert: pki.cert })]);
    });
    afterAll(async () => {
      await Promise.all([secure?.close(), other?.close()]);
      rmSync(pki.dir, { recursive: true, force: true });
    });
    afterEach(() => {
      secure.seen.length = 0;
      other.seen.length = 0;
    });

    test(
      "CONNECT host:port with the credentials, then TLS verified against `ca` end to end; " + "the credentials stay with the proxy",
      async () => {
        const request = {
          method: "GET",
          url: `${secure.url}/apis/v2beta1/healthz`,
          ca: [ca],
          proxy: { url: guarded.url, username: USER, password: PASSWORD },
        };
        const response = await sendRequest(request);
        expect(response).toMatchObject({ status: 200, text: "GET /apis/v2beta1/healthz -" });
        expect(guarded.requests).toEqual([
          { method: "CONNECT", target: new URL(secure.url).host, authorization: basic(USER, PASSWORD), forwarded: true },
        ]);
      },
    );

    test("a tunnel is kept for the next request to its origin, and used for nothing else", async () => {
      const via = { url: proxy.url };
      await sendRequest({ method: "GET", url: `${secure.url}/a`, ca: [ca], proxy: via });
      await sendRequest({ method: "POST", url: `${secure.url}/b`, body: "{}", ca: [ca], proxy: via });
      await sendRequest({ method: "GET", url: `${secure.url}/direct`, ca: [ca] });
      await sendRequest({ method: "GET", url: `${other.url}/c`, ca: [ca], proxy: via });
      expect(proxy.requests.map((r) => r.target)).toEqual([new URL(secure.url).host, new URL(other.url).host]);
      expect(secure.seen).toEqual(["GET /a", "POST /b", "GET /direct"]);
      expect(other.seen).toEqual(["GET /c"]);
    });

    test("through the tunnel the certificate is still verified: without the CA it is refused", async () => {
      const error = await failure({ method: "GET", url: `${other.url}/x`, proxy: { url: proxy.url } });
      expect(error.kind).toBe("tls");
      expect(other.seen).toEqual([]);
    });

    test("a CONNECT answered 407 (no or wrong credentials) is a ProxyError, whose message holds no credential", async () => {
      for (const credentials of [{}, { username: USER, password: "wrong-password-123" }]) {
        const error = await failure({ method: "GET", url: `${secure.url}/x`, ca: [ca], proxy: { url: guarded.url, ...credentials } });
        expect(error).toMatchObject({ kind: "proxy", status: 407, statusText: "Proxy Authentication Required" });
        expect(error.message).not.toContain("wrong-password-123");
      }
      expect(guarded.requests.map((r) => [r.method, r.forwarded])).toEqual([
        ["CONNECT", false],
        ["CONNECT", false],
      ]);
      expect(secure.seen).toEqual([]);
    });
  });
});

describe("the tasks through the agent's proxy", () => {
  useUploadTask();
  let proxy: ForwardProxy;
  let kfp: FakeKfp;
  beforeAll(async () => {
    proxy = await startForwardProxy({ credentials: { username: USER, password: PASSWORD } });
  });
  afterAll(() => proxy.close());
  beforeEach(async () => {
    proxy.requests.length = 0;
    kfp = await startFake({ api: "v2", token: TOKEN });
  });
  afterEach(() => kfp.close());

  /** Uploads a new pipeline to `kfp` with the agent's proxy variables, system.debug on. */
  function upload(variables: Record<string, string>, secretVariables: Record<string, string> = {}): Promise<TaskRunResult> {
    return runTask({
      taskDir: taskDir("upload-pipeline"),
      inputs: {
        kubeflowEndpoint: kfp.url,
        bearerToken: TOKEN,
        kubeflowPipelineTask: "uploadNew",
        pipelineFilePath: packageFor("v2"),
        newPipelineName: "through-the-proxy",
      },
      variables: { "system.debug": "true", "Agent.ProxyUrl": proxy.url, ...variables },
      secretVariables,
      timeoutMs: 30_000,
    });
  }

  /** Where the password must not be: anything the user sees, and raw output before the agent was told it is a secret. */
  function expectNoPassword(r: TaskRunResult, password: string): void {
    for (const [place, text] of Object.entries({
      log: r.log,
      stderr: r.stderr,
      message: r.message ?? "",
      issues: [...r.errors, ...r.warnings].join("\n"),
    })) {
      expect([place, text.includes(password)]).toEqual([place, false]);
    }
    const firstLine = r.stdout.split("\n").find((line) => line.includes(password));
    if (firstLine !== undefined) expect(firstLine).toBe(`##vso[task.setsecret]${password}`);
    expect(r.stdout).not.toContain(basic(USER, password).slice("Basic ".length));
  }

  test("with the agent's proxy credentials, every request to KFP goes through the proxy, and the password shows nowhere", async () => {
    const r = await upload({ "Agent.ProxyUsername": USER }, { "Agent.ProxyPassword": PASSWORD });
    expect({ result: r.result, message: r.message }).toMatchObject({ result: "Succeeded" });
    expect(kfp.state.pipelines.map((p) => p.name)).toEqual(["through-the-proxy"]);
    expect(kfp.requests.length).toBeGreaterThan(1);
    expect(proxy.requests.map((q) => `${q.method} ${new URL(q.target).origin}${new URL(q.target).pathname}`)).toEqual(
      kfp.requests.map((q) => `${q.method} ${kfp.url}${q.path}`),
    );
    expect(proxy.requests.every((q) => q.forwarded && q.authorization === basic(USER, PASSWORD))).toBe(true);
    expectNoPassword(r, PASSWORD);
  });

  test("an endpoint on the agent's bypass list is reached directly", async () => {
    const r = await upload(
      { "Agent.ProxyUsername": USER, "Agent.ProxyBypassList": JSON.stringify(["^https?://127\\.0\\.0\\.1(:\\d+)?"]) },
      { "Agent.ProxyPassword": PASSWORD },
    );
    expect(r.result).toBe("Succeeded");
    expect(kfp.requests.length).toBeGreaterThan(1);
    expect(proxy.requests).toEqual([]);
  });

  test("a proxy that refuses the agent's credentials (407) fails the task saying so, before anything reaches KFP", async () => {
    const wrong = "not-the-Password-8e1c";
    const attempts: Record<string, string>[] = [{}, { "Agent.ProxyPassword": wrong }];
    for (const secrets of attempts) {
      const r = await upload({ "Agent.ProxyUsername": USER }, secrets);
      expect(r.result).toBe("Failed");
      expect(r.message).toContain(`the agent's proxy ${new URL(proxy.url).host} answered 407 Proxy Authentication Required`);
      expect(r.message).toContain("Check Agent.ProxyUsername and Agent.ProxyPassword.");
      expectNoPassword(r, wrong);
    }
    expect(proxy.requests.length).toBeGreaterThan(0);
    expect(proxy.requests.some((q) => q.forwarded)).toBe(false);
    expect(kfp.requests).toEqual([]);
  });

  test.skipIf(!OPENSSL)("an https KFP is reached through a CONNECT tunnel, its certificate verified against the agent's CA", async () => {
    const pki = makePki();
    const secure = await startFake({ api: "v2", token: TOKEN, tls: { key: pki.key, cert: pki.cert } });
    try {
      const r = await runTask({
        taskDir: taskDir("upload-pipeline"),
        inputs: {
          kubeflowEndpoint: secure.url,
          bearerToken: TOKEN,
          kubeflowPipelineTask: "uploadNew",
          pipelineFilePath: packageFor("v2"),
          newPipelineName: "tunnelled",
        },
        variables: { "Agent.ProxyUrl": proxy.url, "Agent.ProxyUsername": USER, "Agent.CAInfo": pki.ca },
        secretVariables: { "Agent.ProxyPassword": PASSWORD },
        timeoutMs: 30_000,
      });
      expect({ result: r.result, message: r.message }).toMatchObject({ result: "Succeeded" });
      expect(secure.state.pipelines.map((p) => p.name)).toEqual(["tunnelled"]);
      expect(proxy.requests.length).toBeGreaterThan(0);
      expect(proxy.requests.every((q) => q.method === "CONNECT" && q.target === new URL(secure.url).host && q.forwarded)).toBe(true);
    } finally {
      await secure.close();
      rmSync(pki.dir, { recursive: true, force: true });
    }
  });
});

describe("KFP client errors through the agent's proxy", () => {
  const kfpHttp = (proxyUrl: string, baseUrl = "https://127.0.0.1:1") =>
    new KfpHttp({ baseUrl, proxy: { url: proxyUrl }, retry: { attempts: 2, baseDelayMs: 1 } });
  /** The KfpError a healthz read fails with. */
  async function healthz(client: KfpHttp): Promise<KfpError> {
    const error = await client
      .read({ method: "GET", path: "/apis/v2beta1/healthz" }, { operation: "connect to KFP" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KfpError);
    return error as KfpError;
  }

  test("a proxy that refuses the connection is named as the one refusing, not KFP", async () => {
    const port = await closedPort();
    const error = await healthz(kfpHttp(`http://127.0.0.1:${port}`));
    expect(error.message).toStartWith(
      `connect to KFP failed: GET /apis/v2beta1/healthz: ` +
        `the connection to the agent's proxy 127.0.0.1:${port} was refused (after 2 attempts`,
    );
    expect(error.message).toEndWith("Check the agent's proxy settings (Agent.ProxyUrl).");
  });

  test("a proxy that cannot reach KFP (CONNECT answered 502) is retried, then named with its answer", async () => {
    const proxy = await startForwardProxy();
    try {
      const port = await closedPort();
      const error = await healthz(kfpHttp(proxy.url, `https://127.0.0.1:${port}`));
      expect(error.message).toStartWith(
        `connect to KFP failed: GET /apis/v2beta1/healthz: ` +
          `the agent's proxy ${new URL(proxy.url).host} answered 502 Bad Gateway (after 2 attempts`,
      );
      expect(error.message).toEndWith(
        "Check that the proxy lets the agent reach KFP, or list KFP's host in the agent's .proxybypass file.",
      );
      expect(proxy.requests.map((q) => q.target)).toEqual([`127.0.0.1:${port}`, `127.0.0.1:${port}`]);
    } finally {
      await proxy.close();
    }
  });
});
