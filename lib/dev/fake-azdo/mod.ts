/**
 * A fake Azure DevOps for the calls a KFP exit handler makes: the plan's
 * `events` (TaskCompleted ends a waiting server task) and a job's live log
 * `feed`. Real HTTP on 127.0.0.1, port 0. It checks what the service would:
 * the URL (one slash at each joint, an api-version), the credential (a PAT as
 * `Basic base64(":" + pat)` or a job token as `Bearer`), and the body; records
 * every request (the credential's kind only, never its value); and can be told
 * to fail (status codes, dropped connections) to test retries.
 *
 * Never ships. May import anything; imported by the tests and lib/dev/local.
 *
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { CallbackInfo } from "../../exit-handler/mod.ts";

export interface FakeAzdoOptions {
  /** The collection's path, e.g. `/org` (Azure DevOps Services) or `/tfs/DefaultCollection`. Default `/org`. */
  collection?: string;
  /** Personal access tokens accepted as Basic. */
  pats?: string[];
  /** Job access tokens accepted as Bearer. */
  tokens?: string[];
}

/** A plan the fake knows: events for other plans, jobs or tasks get 404 as the service would. */
export type FakePlan = Pick<CallbackInfo, "projectId" | "hubName" | "planId" | "jobId" | "taskInstanceId" | "timelineId">;

export type AuthKind = "basic" | "bearer" | "none" | "rejected";

export interface FakeAzdoRequest {
  method: string;
  /** Path as received, query excluded. */
  path: string;
  query: Record<string, string>;
  auth: AuthKind;
  body?: unknown;
  /** 0 when the fake dropped the connection instead of answering. */
  status: number;
  /** Why the fake refused it, when it did. */
  problem?: string;
  fault?: FakeAzdoFault["fault"];
}

export interface FakeAzdoEvent {
  projectId: string;
  hubName: string;
  planId: string;
  name: string;
  taskId: string;
  jobId: string;
  result?: string;
  auth: AuthKind;
  apiVersion: string;
}

export interface FakeAzdoFeed {
  projectId: string;
  hubName: string;
  planId: string;
  timelineId: string;
  recordId: string;
  lines: string[];
  auth: AuthKind;
}

export interface FakeAzdoFault {
  /** Which calls fail; `any` for both. */
  on: "events" | "feed" | "any";
  /**
   * `echoCredential`: the error body repeats the request's Authorization header and the credential in it, as an
   * intercepting proxy or a debugging gateway may (issue #13, fact 6): what a client prints of it must be scrubbed.
   * Retry-After in seconds, sent as delta-seconds or (`retryAfterAs: "date"`) as an HTTP-date that far ahead (RFC 9110 §10.2.3).
   */
  fault: { status: number; retryAfterSeconds?: number; retryAfterAs?: "seconds" | "date"; echoCredential?: boolean } | { reset: true };
  /** How many matching requests fail; Infinity for all. Default 1. */
  times?: number;
}

export interface FakeAzdo {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly url: string;
  /** What `System.CollectionUri` holds for this collection: with its trailing slash. */
  readonly collectionUri: string;
  readonly requests: FakeAzdoRequest[];
  /** Accepted events, in order. */
  readonly events: FakeAzdoEvent[];
  /** Accepted log lines, one entry per request. */
  readonly feed: FakeAzdoFeed[];
  addPlan(plan: FakePlan): void;
  fault(rule: FakeAzdoFault): void;
  close(): Promise<void>;
}

const EVENT_NAMES = ["TaskAssigned", "TaskStarted", "TaskCompleted"];
const TASK_RESULTS = ["succeeded", "succeededwithissues", "failed", "canceled", "skipped", "abandoned"];
const SEGMENT = "([^/]+)";

export async function startFakeAzdo(options: FakeAzdoOptions = {}): Promise<FakeAzdo> {
  const collection = `/${(options.collection ?? "/org").replace(/^\/+|\/+$/g, "")}`;
  const planPath = `^${escapeRegExp(collection)}/${SEGMENT}/_apis/distributedtask/hubs/${SEGMENT}/plans/${SEGMENT}`;
  const eventsPath = new RegExp(`${planPath}/events$`);
  const feedPath = new RegExp(`${planPath}/timelines/${SEGMENT}/records/${SEGMENT}/feed$`);
  const pats = new Set(options.pats ?? []);
  const tokens = new Set(options.tokens ?? []);
  const plans: FakePlan[] = [];
  const faults: (FakeAzdoFault & { left: number })[] = [];
  const requests: FakeAzdoRequest[] = [];
  const events: FakeAzdoEvent[] = [];
  const feed: FakeAzdoFeed[] = [];

  function authOf(header: string | undefined): AuthKind {
    if (!header) return "none";
    const [scheme, value = ""] = header.split(/\s+/, 2);
    if (/^basic$/i.test(scheme!)) {
      const decoded = Buffer.from(value, "base64").toString("utf8");
      const password = decoded.slice(decoded.indexOf(":") + 1);
      return decoded.includes(":") && pats.has(password) ? "basic" : "rejected";
    }
    if (/^bearer$/i.test(scheme!)) return tokens.has(value) ? "bearer" : "rejected";
    return "rejected";
  }

  function takeFault(kind: "events" | "feed"): FakeAzdoFault["fault"] | undefined {
    const rule = faults.find((f) => f.left > 0 && (f.on === "any" || f.on === kind));
    if (!rule) return undefined;
    rule.left--;
    return rule.fault;
  }

  function knownPlan(projectId: string, hubName: string, planId: string): FakePlan[] | undefined {
    if (plans.length === 0) return undefined;
    return plans.filter((p) => p.projectId === projectId && p.hubName.toLowerCase() === hubName.toLowerCase() && p.planId === planId);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = req.url ?? "/";
    const path = raw.replace(/\?.*$/, "");
    const query = Object.fromEntries(new URL(raw, "http://fake").searchParams);
    const auth = authOf(req.headers.authorization);
    const text = await readBody(req);
    const record: FakeAzdoRequest = { method: req.method ?? "", path, query, auth, status: 0 };
    requests.push(record);
    const answer = (status: number, body: unknown, problem?: string) => {
      record.status = status;
      if (problem) record.problem = problem;
      send(res, status, body);
    };

    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    record.body = body;

    const eventMatch = eventsPath.exec(path);
    const feedMatch = feedPath.exec(path);
    if (path.includes("//")) return answer(404, vssError("The resource cannot be found."), "double slash in the path");
    if (!eventMatch && !feedMatch) return answer(404, vssError("The resource cannot be found."), "not an events or feed URL");
    if (req.method !== "POST") return answer(405, vssError("The requested resource does not support http method."), `method ${req.method}`);
    if (!query["api-version"]) return answer(400, vssError("No api-version was supplied for the POST request."), "no api-version");
    if (auth === "none") {
      // What the service does for a request it cannot authenticate: its sign-in page.
      record.status = 203;
      record.problem = "no Authorization header";
      res.writeHead(203, { "Content-Type": "text/html" }).end("<html><body>Sign In</body></html>");
      return;
    }
    if (auth === "rejected") return answer(401, vssError("Access denied: the credential is not valid."), "credential not accepted");
    if (!/^application\/json\b/i.test(req.headers["content-type"] ?? ""))
      return answer(415, vssError("Content-Type must be application/json."), "not JSON");

    const fault = takeFault(eventMatch ? "events" : "feed");
    if (fault) {
      record.fault = fault;
      if ("reset" in fault) {
        record.status = 0;
        req.socket.destroy();
        return;
      }
      if (fault.retryAfterSeconds !== undefined) {
        const date = new Date(Date.now() + fault.retryAfterSeconds * 1000).toUTCString();
        res.setHeader("Retry-After", fault.retryAfterAs === "date" ? date : String(fault.retryAfterSeconds));
      }
      const echo = fault.echoCredential ? ` You sent ${echoedCredential(req.headers.authorization)}.` : "";
      return answer(fault.status, vssError(`Injected fault ${fault.status}.${echo}`), "injected fault");
    }

    const [projectId, hubName, planId] = (eventMatch ?? feedMatch)!.slice(1, 4).map(decodeURIComponent) as [string, string, string];
    const candidates = knownPlan(projectId, hubName, planId);
    if (candidates && candidates.length === 0) return answer(404, vssError(`Plan ${planId} not found.`), "unknown plan");

    if (eventMatch) {
      const event = body as Record<string, unknown> | undefined;
      const problem = eventProblem(event);
      if (problem) return answer(400, vssError(problem), problem);
      if (candidates && !candidates.some((p) => p.jobId === event!.jobId && p.taskInstanceId === event!.taskId)) {
        return answer(404, vssError("Job or task not found in the plan."), "unknown job or task");
      }
      events.push({
        projectId,
        hubName,
        planId,
        name: String(event!.name),
        taskId: String(event!.taskId),
        jobId: String(event!.jobId),
        ...(event!.result !== undefined ? { result: String(event!.result) } : {}),
        auth,
        apiVersion: query["api-version"]!,
      });
      return answer(200, {});
    }

    const [timelineId, recordId] = feedMatch!.slice(4, 6).map(decodeURIComponent) as [string, string];
    const lines = body as { value?: unknown; count?: unknown } | undefined;
    const valid =
      lines && Array.isArray(lines.value) && lines.value.every((l) => typeof l === "string") && lines.count === lines.value.length;
    if (!valid) return answer(400, vssError("Expected {value: string[], count}."), "bad feed body");
    if (candidates && !candidates.some((p) => p.jobId === recordId && (p.timelineId === undefined || p.timelineId === timelineId))) {
      return answer(404, vssError("Timeline record not found."), "unknown timeline or record");
    }
    feed.push({ projectId, hubName, planId, timelineId, recordId, lines: lines.value as string[], auth });
    return answer(200, {});
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      if (!res.headersSent) send(res, 500, vssError(error.message));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    collectionUri: `${url}${collection}/`,
    requests,
    events,
    feed,
    addPlan: (plan) => plans.push(plan),
    fault: (rule) => faults.push({ ...rule, left: rule.times ?? 1 }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function eventProblem(event: Record<string, unknown> | undefined): string | undefined {
  if (!event || typeof event !== "object") return "the body is not a JSON object";
  if (!EVENT_NAMES.includes(String(event.name))) return `unknown event name ${JSON.stringify(event.name)}`;
  for (const key of ["taskId", "jobId"]) {
    if (typeof event[key] !== "string" || !/^[0-9a-f-]{36}$/i.test(event[key] as string)) return `${key} is not a GUID`;
  }
  if (event.name === "TaskCompleted" && !TASK_RESULTS.includes(String(event.result).toLowerCase())) {
    return `result ${JSON.stringify(event.result)} is not a task result`;
  }
  return undefined;
}

/** The Authorization header as received, and the secret it carries (decoded from Basic). */
function echoedCredential(header: string | undefined): string {
  const [scheme = "", value = ""] = (header ?? "").split(/\s+/, 2);
  const secret = /^basic$/i.test(scheme)
    ? Buffer.from(value, "base64")
        .toString("utf8")
        .replace(/^[^:]*:/, "")
    : value;
  return `Authorization: ${header ?? ""} (token ${secret})`;
}

function vssError(message: string) {
  return { $id: "1", innerException: null, message, typeName: "Microsoft.VisualStudio.Services.WebApi.VssServiceException", errorCode: 0 };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8" }).end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
