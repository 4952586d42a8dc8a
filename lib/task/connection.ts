/**
 * Where KFP is and how to authenticate, read the same way by every agent task.
 *
 * Two sources, exactly one needed: a Kubeflow Pipelines service connection
 * (`kfpConnection`), or the 2021 inputs `kubeflowEndpoint` and `bearerToken` so
 * that old YAML keeps working. Both given is fine only when they agree.
 */
import * as tl from "./task-lib.ts";
import * as v from "valibot";
import { InputError } from "./input-error.ts";
import { readTaskBudget, type TaskBudget } from "./budget.ts";
import { choiceInput, inputNames, optionalText, readInputs } from "./inputs.ts";
import { type ApiVersion, endpointProblem, formatRequestLine, type KfpAuth, type KfpConnectOptions } from "../kfp/mod.ts";
import { debug } from "./log.ts";

export interface ConnectionSettings {
  endpoint: string;
  auth: KfpAuth;
  userId?: string;
  namespace?: string;
  apiVersion: ApiVersion | "auto";
  /** Which input the endpoint came from, for messages. */
  endpointInput: "kfpConnection" | "kubeflowEndpoint";
  /** Request timeout and retry budget from the pipeline's variables (lib/task/budget.ts); empty for the defaults. */
  budget?: TaskBudget;
}

/** The endpoint as given, once lib/kfp's one check of endpoints has passed it; else the input's error. */
function checkedEndpoint(input: string, value: string): string {
  const wrong = endpointProblem(value);
  if (wrong) throw new InputError(input, `${wrong.problem}.`, wrong.fix);
  return value;
}

/** A token typed with its scheme ("Bearer x") is accepted: the scheme is ours to add. */
function bearerAuth(token: string | undefined): Extract<KfpAuth, { kind: "bearer" }> | undefined {
  const bare = token?.replace(/^bearer\s+/i, "").trim();
  return bare ? { kind: "bearer", token: bare } : undefined;
}

const sameEndpoint = (a: string, b: string) => a.replace(/\/+$/, "") === b.replace(/\/+$/, "");

const connectionSchema = v.object({
  kfpConnection: optionalText,
  kubeflowEndpoint: optionalText,
  bearerToken: optionalText,
  sessionCookie: optionalText,
  kubeflowUserId: optionalText,
  namespace: optionalText,
  apiVersion: choiceInput(["auto", "v1beta1", "v2beta1"] as const, "auto"),
});

/** The connection inputs every agent task has. */
export const CONNECTION_INPUTS = inputNames(connectionSchema);

/** Reads and checks the connection inputs. Throws InputError naming the input at fault. */
export function readConnectionSettings(): ConnectionSettings {
  const inputs = readInputs(connectionSchema);
  let endpoint: string | undefined;
  let auth: KfpAuth | undefined;
  let endpointInput: ConnectionSettings["endpointInput"] = "kubeflowEndpoint";

  if (inputs.kfpConnection) {
    const id = inputs.kfpConnection;
    const url = tl.getEndpointUrl(id, true);
    if (!url) {
      throw new InputError(
        "kfpConnection",
        `names service connection '${id}', which this job cannot read.`,
        "Check the connection exists and this pipeline is authorized to use it.",
      );
    }
    endpoint = checkedEndpoint("kfpConnection", url);
    endpointInput = "kfpConnection";
    const scheme = (tl.getEndpointAuthorizationScheme(id, true) ?? "None").toLowerCase();
    if (scheme === "token") auth = bearerAuth(tl.getEndpointAuthorizationParameter(id, "apitoken", true));
    if (inputs.kubeflowEndpoint && !sameEndpoint(inputs.kubeflowEndpoint, url)) {
      throw new InputError(
        "kubeflowEndpoint",
        "disagrees with the service connection in kfpConnection.",
        "Give one of them: remove kubeflowEndpoint (and bearerToken) or kfpConnection.",
      );
    }
    const legacyToken = bearerAuth(inputs.bearerToken);
    if (legacyToken && auth?.kind === "bearer" && legacyToken.token !== auth.token) {
      throw new InputError(
        "bearerToken",
        "disagrees with the token of the service connection in kfpConnection.",
        "Give one of them: remove bearerToken or kfpConnection.",
      );
    }
  } else if (inputs.kubeflowEndpoint) {
    endpoint = checkedEndpoint("kubeflowEndpoint", inputs.kubeflowEndpoint);
  } else {
    throw new InputError(
      "kfpConnection",
      "no KFP to talk to: neither kfpConnection nor kubeflowEndpoint is set.",
      "Set kfpConnection to a Kubeflow Pipelines service connection, " +
        "or kubeflowEndpoint to the KFP URL (with bearerToken if it needs one).",
    );
  }

  auth ??= bearerAuth(inputs.bearerToken);
  if (inputs.sessionCookie) {
    if (auth) {
      throw new InputError(
        "sessionCookie",
        "is set together with a bearer token.",
        "Use one way to authenticate: the token or the session cookie.",
      );
    }
    if (!inputs.sessionCookie.includes("=")) {
      throw new InputError(
        "sessionCookie",
        "is not a cookie (name=value).",
        "Give it as authservice_session=<value> or oauth2_proxy_kubeflow=<value>.",
      );
    }
    auth = { kind: "cookie", cookie: inputs.sessionCookie };
  }

  // The credential and the user id travel as header values.
  const tokenInput = inputs.kfpConnection && !inputs.bearerToken ? "kfpConnection" : "bearerToken";
  if (auth?.kind === "bearer") checkHeaderValue(tokenInput, auth.token);
  if (auth?.kind === "cookie") checkHeaderValue("sessionCookie", auth.cookie);
  if (inputs.kubeflowUserId) checkHeaderValue("kubeflowUserId", inputs.kubeflowUserId);

  return {
    endpoint,
    auth: auth ?? { kind: "none" },
    userId: inputs.kubeflowUserId,
    namespace: inputs.namespace,
    apiVersion: inputs.apiVersion,
    endpointInput,
    budget: readTaskBudget(),
  };
}

/** What an HTTP header value may not hold (RFC 9110 §5.5: visible ASCII, space, tab, and bytes 0x80-0xFF). */
const NOT_IN_A_HEADER = /[^\t\x20-\x7e\x80-\xff]/;

/** Fails naming the input when its value cannot be sent as a header; never shows the value (it may be a secret). */
function checkHeaderValue(input: string, value: string): void {
  const at = value.search(NOT_IN_A_HEADER);
  if (at < 0) return;
  const code = value.charCodeAt(at);
  const what =
    code === 10 || code === 13 ? "a line break" : code < 0x20 || code === 0x7f ? "a control character" : "a character outside Latin-1";
  throw new InputError(
    input,
    `contains ${what} (character ${at + 1}), which an HTTP header cannot carry, and this value is sent as one.`,
    "Give the value on one line as it was issued: " +
      "a copy from a file or a terminal may have brought a line break or other characters with it.",
  );
}

/** Client options for these settings, with request lines going to the debug log. */
export function connectOptions(settings: ConnectionSettings, extra: Partial<KfpConnectOptions> = {}): KfpConnectOptions {
  return {
    endpoint: settings.endpoint,
    apiVersion: settings.apiVersion,
    auth: settings.auth,
    userId: settings.userId,
    namespace: settings.namespace,
    ...settings.budget,
    onRequest: (line) => debug(formatRequestLine(line)),
    ...extra,
  };
}
