/**
 * From the endpoint a user wrote to a working KFP base URL: normalises it,
 * finds the path prefix (the given path, then `/pipeline` under it), and reads
 * the API version, multi-user mode and server tag from healthz. An auth proxy
 * answering instead of KFP is reported as such.
 */

import type * as v from "valibot";
import { KfpError } from "./error.ts";
import type { KfpHttp } from "./http.ts";
import { readChecked } from "./dialect.ts";
import { Healthz } from "./schemas.ts";
import type { ApiVersion, KfpServer } from "./types.ts";

/** The Kubeflow dashboard serves KFP under this prefix. */
const DASHBOARD_PREFIX = "/pipeline";

/** What is wrong with an endpoint, and how to fix it: for a message that names where the endpoint came from. */
export interface EndpointProblem {
  /** Ends a sentence about the endpoint: "is empty", "uses ftp://; only http and https work". */
  problem: string;
  fix: string;
}

const FIX_ADDRESS = "Give the address of KFP, e.g. https://kubeflow.example.com/pipeline or http://ml-pipeline.kubeflow:8888.";

/**
 * THE check of an endpoint a user wrote (a task input, a service connection's
 * URL, the client's option): an absolute http(s) URL without credentials in it.
 */
export function endpointProblem(endpoint: string): EndpointProblem | undefined {
  const text = endpoint.trim();
  if (text === "") return { problem: "is empty", fix: FIX_ADDRESS };
  if (!URL.canParse(text)) return { problem: `${JSON.stringify(text)} is not a URL`, fix: FIX_ADDRESS };
  const url = new URL(text);
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    const problem = /^[a-z][a-z0-9+.-]*:\/\//i.test(text)
      ? `uses ${url.protocol.slice(0, -1)}://; only http and https work`
      : `${JSON.stringify(text)} has no http:// or https:// scheme`;
    return { problem, fix: FIX_ADDRESS };
  }
  if (url.username || url.password) {
    // Said without repeating the URL: it holds a password.
    return {
      problem: "contains a user name or password (user:pass@host)",
      fix: "Remove it from the URL and give the credential as a token (bearerToken or the service connection) or a session cookie.",
    };
  }
  return undefined;
}

/**
 * The base URL without a trailing slash, query or fragment (pasted UI addresses
 * like `https://host/pipeline/#/runs` work), and without a pasted `/apis/...` tail.
 */
export function normalizeEndpoint(endpoint: string): string {
  const wrong = endpointProblem(endpoint);
  if (wrong) {
    throw new KfpError({ kind: "invalid", operation: "read the KFP endpoint", message: `The KFP endpoint ${wrong.problem}. ${wrong.fix}` });
  }
  const url = new URL(endpoint.trim());
  let path = url.pathname.replace(/\/apis(\/(v1beta1|v2beta1)(\/.*)?)?\/?$/, "").replace(/\/+$/, "");
  if (path === "/") path = "";
  return `${url.protocol}//${url.host}${path}`;
}

type Probe = { kind: "found"; info: KfpServer } | { kind: "absent"; tried: string[] } | { kind: "login"; error: KfpError };

/**
 * Finds KFP under the given base, or under `/pipeline` below it: healthz of
 * v2beta1 first (404: v1beta1), or only the forced version's.
 */
export async function discoverServer(http: KfpHttp, forced?: ApiVersion): Promise<KfpServer> {
  const bases = [http.baseUrl];
  if (!new URL(http.baseUrl).pathname.endsWith(DASHBOARD_PREFIX)) bases.push(http.baseUrl + DASHBOARD_PREFIX);
  const tried: string[] = [];
  let login: KfpError | undefined;
  for (const base of bases) {
    const probe = await probeBase(http.with({ baseUrl: base }), forced);
    if (probe.kind === "found") return probe.info;
    if (probe.kind === "login") login ??= probe.error;
    else tried.push(...probe.tried);
  }
  if (login) throw login;
  const wanted = forced ? `the ${forced} API` : "Kubeflow Pipelines";
  const onlyV1 = forced === "v2beta1" ? " KFP 1.x only serves v1beta1: use API version v1beta1 or auto." : "";
  throw new KfpError({
    kind: "not-found",
    operation: "connect to KFP",
    status: 404,
    message:
      `connect to KFP failed: ${wanted} was not found at ${http.baseUrl} (tried ${tried.join(", ")}: all 404). ` +
      "Check the endpoint: the KFP UI (e.g. http://localhost:3000), the API server (e.g. http://ml-pipeline.kubeflow:8888) " +
      `or the Kubeflow dashboard's /pipeline path.${onlyV1}`,
  });
}

async function probeBase(http: KfpHttp, forced?: ApiVersion): Promise<Probe> {
  const versions: ApiVersion[] = forced ? [forced] : ["v2beta1", "v1beta1"];
  const tried: string[] = [];
  for (const apiVersion of versions) {
    const request = { method: "GET" as const, path: `/apis/${apiVersion}/healthz` };
    const context = { operation: "connect to KFP", notFound: `${apiVersion} healthz` };
    let health: v.InferOutput<typeof Healthz>;
    try {
      health = await readChecked(http, Healthz, request, context);
    } catch (error) {
      if (error instanceof KfpError && error.kind === "not-found") {
        tried.push(`GET ${http.pathOf(request)}`);
        continue;
      }
      if (error instanceof KfpError && error.kind === "login-page") return { kind: "login", error };
      throw error;
    }
    if (health.apiServerReady === false) {
      throw new KfpError({
        kind: "http",
        operation: "connect to KFP",
        method: "GET",
        path: http.pathOf(request),
        message:
          `connect to KFP failed: the KFP UI at ${http.baseUrl} answered, but the API server behind it is not ready ` +
          "(apiServerReady: false). Check the ml-pipeline deployment, then retry.",
        hint: "Check the ml-pipeline deployment (kubectl -n kubeflow get pods), then retry.",
      });
    }
    return {
      kind: "found",
      info: {
        baseUrl: http.baseUrl,
        apiVersion,
        multiUser: health.multi_user ?? health.apiServerMultiUser ?? false,
        serverVersion: health.tag_name ?? health.apiServerTagName,
      },
    };
  }
  return { kind: "absent", tried };
}
