/**
 * The `azdocallbackinfo` run parameter: where, and possibly as whom, the KFP
 * exit handler reports a run's end back to Azure DevOps.
 *
 * Two spellings reach us: the 2021 task's single-quoted text
 * (`{'JobId':'…','PlanUri':'…'}`) and proper JSON, which our server task sends.
 * Keys are matched without regard to case. The text may carry the job's access
 * token, so nothing here ever echoes it back in a message.
 */
import * as v from "valibot";

export interface CallbackInfo {
  /** `System.CollectionUri`, e.g. `https://dev.azure.com/org/` (a trailing slash or not). */
  planUri: string;
  projectId: string;
  /** `System.HostType`: `build`, `release`, ... */
  hubName: string;
  planId: string;
  jobId: string;
  taskInstanceId: string;
  /** Known when our server task started the run: lets the exit handler write to the job's log. */
  timelineId?: string;
  /** The job access token, only when the user opted in to passing it. */
  authToken?: string;
}

/** The callback information cannot be used; the message never contains its text. */
export class CallbackInfoError extends Error {
  override name = "CallbackInfoError";
}

/** Canonical field by lower-cased key; PlanUrl is what InvokeRESTAPI's callback headers call it. */
const KEYS: Record<string, keyof CallbackInfo> = {
  planuri: "planUri",
  planurl: "planUri",
  collectionuri: "planUri",
  projectid: "projectId",
  hubname: "hubName",
  planid: "planId",
  jobid: "jobId",
  taskinstanceid: "taskInstanceId",
  timelineid: "timelineId",
  authtoken: "authToken",
};

/** What each required field is called in the text, for messages. */
const SPELLING: Record<keyof CallbackInfo, string> = {
  planUri: "PlanUri",
  projectId: "ProjectId",
  hubName: "HubName",
  planId: "PlanId",
  jobId: "JobId",
  taskInstanceId: "TaskInstanceId",
  timelineId: "TimelineId",
  authToken: "AuthToken",
};

/** One URL path segment: ids and hub names go into the callback URL. */
const segment = (key: keyof CallbackInfo) =>
  v.pipe(
    v.string(`${SPELLING[key]} is missing.`),
    v.nonEmpty(`${SPELLING[key]} is empty.`),
    v.regex(/^[A-Za-z0-9._~-]+$/, `${SPELLING[key]} is not an id (letters, digits, '-', '.', '_' only).`),
  );

const httpUrl = v.pipe(
  v.string(`${SPELLING.planUri} is missing.`),
  v.nonEmpty(`${SPELLING.planUri} is empty.`),
  v.check((s) => /^https?:\/\/[^/\s]+/i.test(s) && URL.canParse(s), `${SPELLING.planUri} is not an http(s) URL.`),
);

const schema = v.object({
  planUri: httpUrl,
  projectId: segment("projectId"),
  hubName: v.pipe(segment("hubName"), v.regex(/^[A-Za-z]+$/, "HubName is not a hub name such as build or release.")),
  planId: segment("planId"),
  jobId: segment("jobId"),
  taskInstanceId: segment("taskInstanceId"),
  timelineId: v.optional(segment("timelineId")),
  authToken: v.optional(v.pipe(v.string("AuthToken is not text."), v.nonEmpty("AuthToken is empty."))),
});

/** A macro Azure DevOps left as it was: the variable did not exist where the task ran. */
const UNEXPANDED = /^\$\([^)]*\)$/;

/**
 * Parses the parameter's text. Returns undefined for empty text: the run was
 * not started by a waiting server task, so there is nobody to report to.
 */
export function parseCallbackInfo(text: string | undefined): CallbackInfo | undefined {
  const trimmed = (text ?? "").trim();
  if (trimmed === "") return undefined;
  const record = toRecord(trimmed);
  // Every field present, if only as undefined, so a missing one gets its own message.
  const fields: Partial<Record<keyof CallbackInfo, unknown>> = Object.fromEntries(Object.values(KEYS).map((field) => [field, undefined]));
  for (const [key, value] of Object.entries(record)) {
    const field = KEYS[key.toLowerCase()];
    if (!field) continue;
    if (typeof value === "string" && UNEXPANDED.test(value.trim())) {
      if (field === "timelineId" || field === "authToken") continue;
      throw new CallbackInfoError(
        `azdocallbackinfo: ${SPELLING[field]} was never filled in by Azure DevOps (it still reads ${value.trim()}).`,
      );
    }
    fields[field] = typeof value === "string" ? value.trim() : value;
  }
  const result = v.safeParse(schema, fields, { abortEarly: true });
  if (!result.success) throw new CallbackInfoError(`azdocallbackinfo: ${result.issues[0].message}`);
  const { timelineId, authToken, ...required } = result.output;
  return { ...required, ...(timelineId ? { timelineId } : {}), ...(authToken ? { authToken } : {}) };
}

/** JSON first, then the 2021 single-quoted spelling; a JSON string holding JSON is unwrapped once. */
function toRecord(text: string): Record<string, unknown> {
  let value = parseEither(text);
  if (typeof value === "string") value = parseEither(value.trim());
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new CallbackInfoError('azdocallbackinfo is not an object: expected {"PlanUri": ..., "PlanId": ..., ...}.');
  }
  return value as Record<string, unknown>;
}

function parseEither(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    try {
      return JSON.parse(singleQuotedToJson(text));
    } catch {
      throw new CallbackInfoError("azdocallbackinfo is neither JSON nor the 2021 single-quoted form {'PlanId':'...', ...}.");
    }
  }
}

/**
 * Rewrites 'single-quoted' strings as JSON strings, leaving "double-quoted"
 * ones alone. Unlike replacing every quote, a value holding a quote survives.
 */
export function singleQuotedToJson(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const quote = text[i];
    if (quote !== "'" && quote !== '"') {
      out += quote;
      continue;
    }
    let value = "";
    let closed = false;
    for (i++; i < text.length; i++) {
      const c = text[i]!;
      if (c === "\\" && i + 1 < text.length) {
        value += quote === '"' ? c + text[++i] : text[++i];
        continue;
      }
      if (c === quote) {
        closed = true;
        break;
      }
      value += c;
    }
    if (!closed) throw new SyntaxError("unterminated string");
    out += quote === '"' ? `"${value}"` : JSON.stringify(value);
  }
  return out;
}
