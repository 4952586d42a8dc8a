/**
 * Reporting back to an Azure DevOps plan from outside it: the `TaskCompleted`
 * event that ends a waiting server task, and lines for the job's live log.
 *
 * URLs follow the documented plan API (`{collection}/{project}/_apis/
 * distributedtask/hubs/{hub}/plans/{plan}/...`). Requests are retried on 5xx,
 * 408, 429 and network errors with backoff and jitter, honouring Retry-After in
 * both its forms (lib/net/retry.ts); other answers are final.
 * The credential goes in the Authorization header only: never in a URL, a log
 * line or an error message.
 */
import type { CallbackInfo } from "./callback-info.ts";
import { formatDuration, type RetryPolicy as NetRetryPolicy, RetrySchedule, sendRequest, sleep, TransportError } from "../net/mod.ts";
import { Scrubber } from "./scrub.ts";

/** api-version of the samples that document these calls (InvokeRESTAPI FAQ, ServerTaskHelper). */
const EVENTS_API_VERSION = "2.0-preview.1";
const FEED_API_VERSION = "4.1";

export type AzdoCredential =
  /** A personal access token: `Basic base64(":" + pat)`. */
  | { kind: "pat"; pat: string }
  /** The job access token (`System.AccessToken`): `Bearer <token>`. */
  | { kind: "bearer"; token: string };

export type TaskResult = "succeeded" | "failed";

/** lib/net's retry policy without a total budget (the callback is bounded by its tries), and a per-request timeout. */
export interface RetryPolicy extends Omit<NetRetryPolicy, "totalMs"> {
  /** Per-request timeout. */
  timeoutMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 2_000, maxDelayMs: 60_000, timeoutMs: 30_000 };

/** The callback gave up: the last answer or error, without the credential. */
export class CallbackError extends Error {
  override name = "CallbackError";
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

function authorizationHeader(credential: AzdoCredential): string {
  return credential.kind === "pat" ? `Basic ${Buffer.from(`:${credential.pat}`).toString("base64")}` : `Bearer ${credential.token}`;
}

/** `{collection}/{project}/_apis/distributedtask/hubs/{hub}/plans/{plan}`, with exactly one slash at each joint. */
function planUrl(info: CallbackInfo): string {
  const collection = info.planUri.replace(/\/+$/, "");
  const [project, hub, plan] = [info.projectId, info.hubName, info.planId].map(encodeURIComponent);
  return `${collection}/${project}/_apis/distributedtask/hubs/${hub}/plans/${plan}`;
}

export function eventsUrl(info: CallbackInfo): string {
  return `${planUrl(info)}/events?api-version=${EVENTS_API_VERSION}`;
}

/** The job's live console feed; needs the timeline id. */
export function feedUrl(info: CallbackInfo & { timelineId: string }): string {
  const [timeline, job] = [info.timelineId, info.jobId].map(encodeURIComponent);
  return `${planUrl(info)}/timelines/${timeline}/records/${job}/feed?api-version=${FEED_API_VERSION}`;
}

/** Ends the waiting task with this result. */
export function postTaskCompleted(
  info: CallbackInfo,
  result: TaskResult,
  credential: AzdoCredential,
  policy: RetryPolicy,
  log: (line: string) => void,
): Promise<void> {
  const body = { name: "TaskCompleted", taskId: info.taskInstanceId, jobId: info.jobId, result };
  return postJson(eventsUrl(info), body, credential, policy, log);
}

/** Appends lines to the job's log as it shows live. */
export function postFeedLines(
  info: CallbackInfo & { timelineId: string },
  lines: string[],
  credential: AzdoCredential,
  policy: RetryPolicy,
  log: (line: string) => void,
): Promise<void> {
  return postJson(feedUrl(info), { value: lines, count: lines.length }, credential, policy, log);
}

const RETRYABLE_STATUS = (status: number) => status >= 500 || status === 408 || status === 429;

/** POSTs JSON until a 2xx, a final answer, or the tries run out. */
async function postJson(
  url: string,
  body: unknown,
  credential: AzdoCredential,
  policy: RetryPolicy,
  log: (line: string) => void,
): Promise<void> {
  const where = url.replace(/\?.*$/, "");
  const schedule = new RetrySchedule({ ...policy, totalMs: Infinity });
  for (let attempt = 1; ; attempt++) {
    const outcome = await postOnce(url, body, credential, policy.timeoutMs);
    const said = "status" in outcome ? `HTTP ${outcome.status}` : outcome.error;
    // 203 is Azure DevOps' sign-in page for a request it did not authenticate.
    if ("status" in outcome && outcome.status >= 200 && outcome.status < 300 && outcome.status !== 203) {
      log(`POST ${where} -> ${outcome.status}${attempt > 1 ? ` (attempt ${attempt})` : ""}`);
      return;
    }
    const retryable = "error" in outcome || RETRYABLE_STATUS(outcome.status);
    const next = retryable ? schedule.next(attempt, "status" in outcome ? outcome.retryAfter : undefined) : { retry: false as const };
    if (!next.retry) {
      const detail = "status" in outcome && outcome.detail ? `: ${outcome.detail}` : "";
      const tries = attempt > 1 ? ` after ${attempt} tries` : "";
      throw new CallbackError(
        `POST ${where} failed${tries}: ${said}${detail}${hintFor(outcome)}`,
        "status" in outcome ? outcome.status : undefined,
      );
    }
    log(`POST ${where} -> ${said} (attempt ${attempt} of ${policy.attempts}); retrying in ${formatDuration(next.delayMs)}`);
    await sleep(next.delayMs);
  }
}

type Outcome = { status: number; detail?: string; retryAfter?: string } | { error: string };

async function postOnce(url: string, body: unknown, credential: AzdoCredential, timeoutMs: number): Promise<Outcome> {
  // An answer may echo what it was sent: masked before it is cut short, so no piece of a secret survives.
  const scrubber = new Scrubber();
  scrubber.add(credential);
  try {
    const response = await sendRequest({
      method: "POST",
      url,
      headers: { "Content-Type": "application/json", Accept: "application/json", Authorization: authorizationHeader(credential) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const detail = errorDetail(scrubber.scrub(response.text));
    return { status: response.status, detail, retryAfter: response.headers["retry-after"] };
  } catch (error) {
    if (!(error instanceof TransportError)) throw error;
    if (error.kind === "timeout") return { error: `no answer within ${formatDuration(timeoutMs)}` };
    return { error: scrubber.scrub(networkProblem(error)) };
  }
}

/** A network failure in words, its code kept for searching. */
function networkProblem(error: TransportError): string {
  const { code } = error;
  if (!code) return error.message;
  if (code === "ENOTFOUND" || code === "EAI_AGAIN")
    return `the host name cannot be resolved (${code}): check the collection URL and the cluster's DNS and egress`;
  if (error.kind === "refused") return `the connection was refused (${code})`;
  if (error.kind === "reset") return `the connection was closed before Azure DevOps answered (${code})`;
  if (error.kind === "tls")
    return `the TLS certificate was not accepted (${code}): give the container the certificate authority, e.g. NODE_EXTRA_CA_CERTS`;
  return code;
}

/** Azure DevOps errors are JSON with a `message`; keep one short line of it. */
function errorDetail(text: string): string | undefined {
  if (!text) return undefined;
  let message = text;
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === "string") message = parsed.message;
  } catch {
    // not JSON: an HTML error page or plain text
    if (/^\s*</.test(text)) return undefined;
  }
  const line = message.replace(/\s+/g, " ").trim();
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

function hintFor(outcome: Outcome): string {
  if (!("status" in outcome)) return "";
  if (outcome.status === 203) return " (Azure DevOps answered with its sign-in page: the credential was not accepted)";
  if (outcome.status === 401) return " (the credential was not accepted: check the PAT has not expired)";
  if (outcome.status === 403)
    return (
      " (the credential may not act on this pipeline: the PAT needs the Build (Read & execute) scope, " +
      "or Release for release pipelines)"
    );
  if (outcome.status === 404) return " (no such plan or job: was the Azure DevOps job cancelled or did it time out?)";
  if (outcome.status >= 300 && outcome.status < 400) return " (redirected, usually to a sign-in page: the credential was not accepted)";
  return "";
}
