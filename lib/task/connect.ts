/**
 * Connecting an agent task to KFP: connects with the task's connection
 * settings (through the agent's proxy and trusting its CA, when it has them),
 * says in one log line which KFP it reached, and turns the errors that only the
 * connection inputs can fix (a login page, a rejected token, an unreachable
 * server) into an InputError naming that input.
 */
import { agentCertificateAuthorities } from "./agent-certs.ts";
import { agentProxy } from "./agent-proxy.ts";
import { ProxyError } from "../net/mod.ts";
import { InputError } from "./input-error.ts";
import { connectKfp, KfpError, type KfpClient, type KfpConnectOptions, type PlannedWrite } from "../kfp/mod.ts";
import { connectOptions, type ConnectionSettings } from "./connection.ts";
import { say } from "./log.ts";
import { taskOwnerMarker } from "./owner.ts";

/**
 * Connects (detecting the API version unless given; through the agent's proxy,
 * trusting its CA) and logs what it reached. In a dry run each write it would
 * make is logged instead (logPlannedWrite). `inProfile`: the task works with
 * experiments and runs, which multi-user KFP keeps in a Kubeflow profile.
 */
export async function connectTask(
  settings: ConnectionSettings,
  extra: Partial<KfpConnectOptions> = {},
  inProfile = false,
): Promise<KfpClient> {
  const ca = await agentCertificateAuthorities();
  const proxy = agentProxy(settings.endpoint);
  let kfp: KfpClient;
  try {
    const owner = taskOwnerMarker();
    const planned = extra.dryRun && { onPlannedWrite: logPlannedWrite };
    kfp = await connectKfp(connectOptions(settings, { owner, ...planned, ...extra, ...(ca && { ca }), ...(proxy && { proxy }) }));
  } catch (error) {
    throw connectionProblem(error, settings) ?? unreachable(error, settings) ?? error;
  }
  say(describeServer(kfp));
  if (inProfile && kfp.multiUser && !kfp.namespace) {
    throw new InputError(
      "namespace",
      "is empty, and this KFP runs in multi-user mode, where experiments and runs belong to a Kubeflow profile.",
      "Set namespace to your profile's namespace, e.g. team-a.",
    );
  }
  return kfp;
}

/** A dry run's line for a write it did not make (connectTask passes it as `onPlannedWrite`). */
function logPlannedWrite(write: PlannedWrite): void {
  say(`Dry run: would ${write.method} ${write.path} with ${JSON.stringify(write.body)}`);
}

/** "Connected to KFP 2.5.0 at <url> (API v2beta1, multi-user, namespace team-a)." */
function describeServer(kfp: KfpClient): string {
  const mode = kfp.multiUser ? `multi-user, namespace ${kfp.namespace ?? "none (shared)"}` : "single-user";
  return `Connected to KFP ${kfp.serverVersion ?? "(version not reported)"} at ${kfp.baseUrl} (API ${kfp.apiVersion}, ${mode}).`;
}

/** Text ending in a full stop, so the fix that follows reads as its own sentence. */
export function sentence(text: string): string {
  const trimmed = text.trim();
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

/** The input a rejected credential came from. */
function credentialInput(settings: ConnectionSettings): string {
  if (settings.auth.kind === "cookie") return "sessionCookie";
  return settings.endpointInput === "kfpConnection" ? "kfpConnection" : "bearerToken";
}

const LOGIN_FIX =
  "Authenticate through the proxy: set sessionCookie to the session cookie of a logged-in browser " +
  "(authservice_session=<value> or oauth2_proxy_kubeflow=<value>), or give a bearer token the proxy accepts; " +
  "or point the endpoint at the KFP API service itself (e.g. http://ml-pipeline.kubeflow:8888).";

/**
 * The connection input at fault for a KFP error, as an InputError; undefined
 * when the error is not about the connection (a name taken, a package refused).
 */
export function connectionProblem(error: unknown, settings: ConnectionSettings): InputError | undefined {
  if (!(error instanceof KfpError)) return undefined;
  const endpoint = settings.endpointInput;
  const kfpSays = error.kfpMessage ? ` KFP says: ${sentence(error.kfpMessage)}` : "";
  if (error.kind === "login-page") {
    return new InputError(
      endpoint,
      `answered with a login page (Dex or oauth2-proxy) instead of KFP (${error.operation}).`,
      error.hint ?? LOGIN_FIX,
    );
  }
  if (error.kind === "redirect") return new InputError(endpoint, `leads to a redirect: ${sentence(error.message)}`);
  if (error.kind === "http" && (error.status === 401 || error.status === 403)) {
    const input = credentialInput(settings);
    if (settings.auth.kind === "none" && input === "kfpConnection") {
      return new InputError(
        input,
        `names a service connection without authentication (scheme None), and KFP requires authentication ` +
          `(HTTP ${error.status} on ${error.operation}).${kfpSays}`,
        "Edit the service connection: choose Token based authentication and give a token KFP accepts.",
      );
    }
    if (settings.auth.kind === "none") {
      return new InputError(
        input,
        `is not set, and KFP requires authentication (HTTP ${error.status} on ${error.operation}).${kfpSays}`,
        "Give a bearer token (from a secret variable) or a service connection with one.",
      );
    }
    if (error.status === 403) {
      return new InputError(
        input,
        `is not allowed to do this in KFP (HTTP 403 on ${error.operation}).${kfpSays}`,
        "Give the identity access to the namespace (Kubeflow profile contributor, or the kubeflow-edit role).",
      );
    }
    return new InputError(
      input,
      `was rejected by KFP (HTTP 401 on ${error.operation}).${kfpSays}`,
      error.hint ?? "Check the credential is valid and not expired.",
    );
  }
  return undefined;
}

/** While connecting, no answer or an answer that is not KFP's means the endpoint (or a forced API version) is wrong. */
function unreachable(error: unknown, settings: ConnectionSettings): InputError | undefined {
  if (!(error instanceof KfpError)) return undefined;
  const says = error.message;
  // The agent's proxy turned the request away: its settings are at fault, and the message says which.
  if (error.cause instanceof ProxyError) return undefined;
  if (error.kind === "network") {
    return new InputError(
      settings.endpointInput,
      `could not be reached: ${says}`,
      error.hint ? undefined : "Check the URL, and that this agent can reach it (network, proxy, TLS certificate).",
    );
  }
  if (error.kind === "not-found" || error.kind === "protocol" || (error.kind === "http" && error.status === 404)) {
    if (error.kind === "not-found" && settings.apiVersion !== "auto") {
      return new InputError("apiVersion", `is ${settings.apiVersion}, which the KFP at this endpoint does not serve: ${says}`);
    }
    return new InputError(settings.endpointInput, `does not lead to the KFP API: ${says}`);
  }
  return undefined;
}
