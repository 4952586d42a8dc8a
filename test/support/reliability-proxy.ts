/**
 * An HTTP proxy that injects the fake KFP's fault kinds (lib/dev/fake-kfp/types.ts
 * FaultKind) in front of a server that has no such faults of its own, such as
 * the fake Azure DevOps: an error status (with Retry-After), a connection reset
 * before the request is read, a reset after the upstream handled it (its answer
 * lost), or an answer held back. 127.0.0.1, port 0.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import type { FaultKind } from "../../lib/dev/fake-kfp/types.ts";

export interface ProxyFaultRule {
  method?: string;
  /** Matched against the path without the query. */
  path: RegExp;
  fault: FaultKind;
  /** Default 1; Infinity for persistent. */
  times?: number;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>`: use it in place of the upstream's origin. */
  readonly url: string;
  /** How many requests got a fault. */
  readonly injected: number;
  fault(rule: ProxyFaultRule): void;
  close(): Promise<void>;
}

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const rules: (ProxyFaultRule & { left: number })[] = [];
  let injected = 0;

  const take = (method: string, path: string): FaultKind | undefined => {
    const rule = rules.find((r) => r.left > 0 && (!r.method || r.method === method) && r.path.test(path));
    if (!rule) return undefined;
    rule.left--;
    injected++;
    return rule.fault;
  };

  const server = createServer(async (req, res) => {
    const method = req.method ?? "GET";
    const fault = take(method, (req.url ?? "/").replace(/\?.*$/, ""));
    if (fault && "reset" in fault && fault.reset === "before-read") return void req.socket.destroy();
    const body = await readBody(req);
    if (fault && "status" in fault) {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (fault.retryAfterSeconds !== undefined) headers["retry-after"] = String(fault.retryAfterSeconds);
      return void res.writeHead(fault.status, headers).end(JSON.stringify({ message: `proxy fault: HTTP ${fault.status}` }));
    }
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter(([name]) => name !== "host" && name !== "content-length"),
    ) as Record<string, string>;
    const answer = await fetch(upstream + req.url, { method, headers, body: method === "GET" ? undefined : body, redirect: "manual" });
    const text = await answer.text();
    if (fault && "reset" in fault) return void req.socket.destroy();
    if (fault && "delayMs" in fault) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    res.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "application/json" }).end(text);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));

  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get injected() {
      return injected;
    },
    fault: (rule) => void rules.push({ ...rule, left: rule.times ?? 1 }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}
