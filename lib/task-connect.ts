/**
 * Connecting an agent task to KFP: connects with the task's connection
 * settings, says in one log line which KFP it reached, and turns the errors
 * that only the connection inputs can fix (a login page, a rejected token, an
 * unreachable server) into an InputError naming that input.
 */
import { InputError } from "./input-error";
import { connectKfp } from "./kfp-client";
import { KfpError } from "./kfp-error";
import type { KfpClient, KfpConnectOptions } from "./kfp-types";
import { connectOptions, type ConnectionSettings } from "./task-connection";
import { untrusted } from "./task-run";

/** Connects (detecting the API version unless given) and logs what it reached. */
export async function connectTask(settings: ConnectionSettings, extra: Partial<KfpConnectOptions> = {}): Promise<KfpClient> {
  let kfp: KfpClient;
  try {
    kfp = await connectKfp(connectOptions(settings, extra));
  } catch (error) {
    throw connectionProblem(error, settings) ?? unreachable(error, settings) ?? error;
  }
  console.log(describeServer(kfp));
  return kfp;
}

/** "Connected to KFP 2.5.0 at <url> (API v2beta1, multi-user, namespace team-a)." */
export function describeServer(kfp: KfpClient): string {
  const mode = kfp.multiUser ? `multi-user, namespace ${kfp.namespace ?? "none (shared)"}` : "single-user";
  return `Connected to KFP ${kfp.serverVersion ?? "(version not reported)"} at ${kfp.baseUrl} (API ${kfp.apiVersion}, ${mode}).`;
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
  const kfpSays = error.kfpMessage ? ` KFP says: ${untrusted(error.kfpMessage)}` : "";
  if (error.kind === "login-page") {
    return new InputError(endpoint, `answered with a login page (Dex or oauth2-proxy) instead of KFP (${error.operation}).`, error.hint ?? LOGIN_FIX);
  }
  if (error.kind === "http" && (error.status === 401 || error.status === 403)) {
    const input = credentialInput(settings);
    if (settings.auth.kind === "none") {
      return new InputError(input, `is not set, and KFP requires authentication (HTTP ${error.status} on ${error.operation}).${kfpSays}`, "Give a bearer token (from a secret variable) or a service connection with one.");
    }
    const what = error.status === 401 ? "was rejected by KFP" : "is not allowed to do this in KFP";
    return new InputError(input, `${what} (HTTP ${error.status} on ${error.operation}).${kfpSays}`, error.hint ?? "Check the credential is valid, not expired, and has access to the namespace.");
  }
  return undefined;
}

/** While connecting, no answer or an answer that is not KFP's means the endpoint is wrong. */
function unreachable(error: unknown, settings: ConnectionSettings): InputError | undefined {
  if (!(error instanceof KfpError)) return undefined;
  const input = settings.endpointInput;
  if (error.kind === "network") {
    return new InputError(input, `could not be reached (${untrusted(error.message)}).`, "Check the URL, and that this agent can reach it (network, proxy, TLS certificate).");
  }
  if (error.kind === "protocol" || (error.kind === "http" && error.status === 404)) {
    return new InputError(input, `answered, but not as the KFP API does (${untrusted(error.message)}).`, "Check the URL points at KFP, e.g. https://kubeflow.example.com/pipeline.");
  }
  return undefined;
}
