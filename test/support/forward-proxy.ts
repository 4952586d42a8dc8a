/**
 * A small forward proxy, as a corporate web proxy in front of an agent: it
 * forwards plain-http requests made for an absolute URI, opens CONNECT tunnels
 * for https, may require Basic credentials (answering 407 without them), and
 * records what it was asked. 127.0.0.1, port 0.
 */
import { createServer, request, type IncomingMessage } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";

export interface ProxiedRequest {
  /** GET, POST, ... or CONNECT. */
  method: string;
  /** The absolute URI asked for, or host:port for a CONNECT. */
  target: string;
  /** The Proxy-Authorization header as received. */
  authorization?: string;
  /** Whether the proxy passed it on (false: answered 407). */
  forwarded: boolean;
}

export interface ForwardProxy {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Everything asked of it, in order (what goes through a tunnel is not seen: one CONNECT per tunnel). */
  readonly requests: ProxiedRequest[];
  close(): Promise<void>;
}

export interface ForwardProxyOptions {
  /** Require these Basic credentials. */
  credentials?: { username: string; password: string };
}

export async function startForwardProxy(options: ForwardProxyOptions = {}): Promise<ForwardProxy> {
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();
  const expected =
    options.credentials && `Basic ${Buffer.from(`${options.credentials.username}:${options.credentials.password}`).toString("base64")}`;

  /** Records the request; true when it may pass. */
  const admit = (req: IncomingMessage): boolean => {
    const authorization = req.headers["proxy-authorization"];
    const forwarded = !expected || authorization === expected;
    requests.push({ method: req.method ?? "", target: req.url ?? "", authorization, forwarded });
    return forwarded;
  };

  const server = createServer((req, res) => {
    if (!admit(req)) return void res.writeHead(407, { "proxy-authenticate": 'Basic realm="test proxy"' }).end();
    const { "proxy-authorization": _, "proxy-connection": __, ...headers } = req.headers;
    const upstream = request(req.url ?? "", { method: req.method, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => res.writeHead(502).end());
    req.pipe(upstream);
  });

  server.on("connect", (req: IncomingMessage, client: Socket, head: Buffer) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => {});
    if (!admit(req))
      return void client.end(
        'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test proxy"\r\nContent-Length: 0\r\n\r\n',
      );
    const [host, port] = splitTarget(req.url ?? "");
    const server = connect(port, host, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length) server.write(head);
      server.pipe(client).pipe(server);
    });
    sockets.add(server);
    server.on("close", () => {
      sockets.delete(server);
      client.destroy();
    });
    server.on("error", () => client.end("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n"));
    client.on("close", () => server.destroy());
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function splitTarget(target: string): [string, number] {
  const colon = target.lastIndexOf(":");
  return [target.slice(0, colon).replace(/^\[|\]$/g, ""), Number(target.slice(colon + 1))];
}
