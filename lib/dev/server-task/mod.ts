/**
 * Runs a server (agentless) task's `execution.HttpRequest.Execute` the way
 * Azure DevOps documents it, and sends the request to a real server (the fake KFP).
 * Used by the tests (test/server-task-executor.ts re-exports it) and `npm run demo`.
 *
 * Only what the project's task.json files use is modelled, each step citing
 * where it is documented or read from the server's decompiled code; anything
 * else (another template helper, a partial) fails loudly, so a task.json cannot
 * quietly depend on behaviour no one has checked. Templates: ./mustache.ts. Sources, shortened below:
 *   [authoring]  microsoft/azure-pipelines-tasks docs/authoring/servertaskauthoring.md
 *   [notes]      the team's notes on agentless tasks and service connections (docs/azure-devops.md §2, §3, not in this repository)
 *   [mustache]   microsoft/azure-pipelines-extensions docs/authoring/endpoints/mustacheHelpers.md
 *   [AzureMonitorV1], [ServiceNow]  in-box / Microsoft server tasks using the same templating in HttpRequest
 *   [auth-schemes] MS docs "Service endpoint authentication schemes" (auth-schemes.md)
 *   [#8597]      MicrosoftDocs/azure-devops-docs#8597: a service connection's Authorization overrides the Headers one
 *   [resolver]   mjwrona/decompiled (Azure DevOps Server 2022) Microsoft.VisualStudio.Services.ServiceEndpoints.Common/
 *                EndpointVariableResolver.cs: `$(endpoint.url)` is the connection URL's .NET Uri.AbsoluteUri
 *
 * Never ships. May import anything; imported by the tests and lib/dev/local.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { renderTemplate, TemplateError } from "./mustache.ts";

export { htmlEncode, jsonEscape, renderTemplate, TemplateError } from "./mustache.ts";

/** The repository root (this file is in lib/dev/server-task/). */
const REPO_ROOT = resolve(import.meta.dir, "../../..");

export interface ServerTaskEndpoint {
  /** The connection's id: the value of the task's connectedService input. */
  id: string;
  /** The endpoint type (`kubeflow-pipelines`): picks the auth scheme's headers from the extension manifest. */
  type: string;
  url: string;
  /** `Token` or `None`, as the connection was created. */
  scheme: "Token" | "None";
  /** Auth parameters, e.g. `{ apitoken: "..." }`. */
  parameters?: Record<string, string>;
  /** Extra data fields, `$(endpoint.<key>)`. */
  data?: Record<string, string>;
}

export interface ServerTaskRun {
  /** The task's folder (holds task.json). */
  taskDir: string;
  /** Inputs as a YAML step gives them. */
  inputs: Record<string, string>;
  /** System and user variables (`system.planId`, `kfpToken`, ...); names are case-insensitive. */
  variables: Record<string, string>;
  endpoints?: ServerTaskEndpoint[];
  /** The extension manifest holding the endpoint types (default: the repository's vss-extension.json). */
  manifest?: Record<string, any>;
}

export interface ExpandedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  waitForCompletion: boolean;
  /** Events.TaskCompleted.Timeout in milliseconds, when given. */
  completedTimeoutMs?: number;
}

export interface ServerTaskResult {
  request: ExpandedRequest;
  status: number;
  responseText: string;
  /** `waiting`: the server now waits for TaskCompleted; `succeeded`/`failed`: the task is over. */
  outcome: "waiting" | "succeeded" | "failed";
}

/** The task cannot run at all (Azure DevOps would fail it before sending anything). */
export class ServerTaskError extends Error {
  override name = "ServerTaskError";
}

/** [notes §2.4] "The initial HTTP request has a fixed timeout of about 20 s." */
export const INITIAL_REQUEST_TIMEOUT_MS = 20_000;
/** [authoring] "Max timeout is 72 hours." */
export const MAX_EVENT_TIMEOUT_MS = 72 * 3600_000;

/** Expands the task's Execute section into the HTTP request Azure DevOps would send. */
export function expandServerTask(run: ServerTaskRun): ExpandedRequest {
  const task = JSON.parse(readFileSync(join(run.taskDir, "task.json"), "utf8"));
  // [authoring] runsOn Server: "you can change it to Server to specify that the task should run on VSTS/TFS server".
  if (!task.runsOn?.includes("Server"))
    throw new ServerTaskError(`${task.name} does not run on the server (runsOn ${JSON.stringify(task.runsOn)})`);
  const execute = task.execution?.HttpRequest?.Execute;
  if (!execute) throw new ServerTaskError(`${task.name} has no execution.HttpRequest.Execute`);

  const inputs = resolveInputs(task, run);
  const variables = lowerKeys(run.variables);

  // [authoring] "EndpointId: EndpointId that should be used to generate the authentication header. This input is optional."
  // [notes §2.2] `""` means no endpoint; an input left empty needs "AllowEmptyEndpointId": true (in-box AzureFunctionV2).
  const endpointId = expandMacros(execute.EndpointId ?? "", inputs, variables, undefined);
  let endpoint: ServerTaskEndpoint | undefined;
  if (endpointId.trim() !== "") {
    endpoint = run.endpoints?.find((e) => e.id === endpointId.trim());
    if (!endpoint) throw new ServerTaskError(`service connection ${endpointId} not found`);
  } else if (execute.EndpointId && execute.EndpointId !== "" && execute.AllowEmptyEndpointId !== true) {
    throw new ServerTaskError(`EndpointId ${execute.EndpointId} expanded to nothing and AllowEmptyEndpointId is not set`);
  }

  // [authoring] "You can use task inputs, system variables, user defined variables and endpoint variables in 'execute'/'cancel' sections."
  // Macros are replaced first and the templates rendered after: [AzureMonitorV1] compares `{{#equals '$(filterType)' 'resource' 1}}`,
  // which only works on the expanded text. Values are pasted verbatim, with no JSON escaping [notes §2.2], so a pasted
  // value holding "{{" is template text. The task's inputs are the templates' context.
  const render = (field: string) => {
    try {
      return renderTemplate(expandMacros(execute[field] ?? "", inputs, variables, endpoint), inputs);
    } catch (error) {
      if (error instanceof TemplateError) throw new ServerTaskError(`${field}: ${error.message}`);
      throw error;
    }
  };
  const url = render("EndpointUrl");
  const body = render("Body");
  const headersText = render("Headers");
  // [authoring] "Headers: Headers of http request. Header should be in JSON format."
  let headers: Record<string, string> = {};
  if (headersText.trim() !== "") {
    try {
      headers = JSON.parse(headersText);
    } catch {
      throw new ServerTaskError(`Headers is not JSON after expansion: ${headersText}`);
    }
  }
  if (endpoint) headers = { ...headers, ...endpointAuthHeaders(endpoint, run.manifest ?? repositoryManifest()) };

  // [authoring] "WaitForCompletion: Specifies whether VSTS/TFS server should wait for task completed event ... Default value is false."
  const waitForCompletion = /^true$/i.test(expandMacros(execute.WaitForCompletion ?? "false", inputs, variables, endpoint).trim());
  const timeout = task.execution.HttpRequest.Events?.TaskCompleted?.Timeout as string | undefined;
  const completedTimeoutMs = timeout === undefined ? undefined : parseTimeSpan(timeout);
  if (completedTimeoutMs !== undefined && completedTimeoutMs > MAX_EVENT_TIMEOUT_MS) {
    throw new ServerTaskError(`Events.TaskCompleted.Timeout ${timeout} is over the documented maximum of 72 hours`);
  }

  return {
    method: expandMacros(execute.Method ?? "POST", inputs, variables, endpoint),
    url,
    headers,
    body,
    waitForCompletion,
    completedTimeoutMs,
  };
}

/** Expands the task and sends its request; the answer decides the task's fate. */
export async function executeServerTask(run: ServerTaskRun): Promise<ServerTaskResult> {
  const request = expandServerTask(run);
  const response = await fetch(request.url, {
    method: request.method,
    headers: request.headers,
    body: request.method === "GET" || request.method === "HEAD" ? undefined : request.body,
    signal: AbortSignal.timeout(INITIAL_REQUEST_TIMEOUT_MS),
  });
  const responseText = await response.text();
  // [notes §2.3] WaitForCompletion=false: "ADO calls the URL and completes the task from the response";
  // true: it "keeps the task (and the job) in progress until a TaskCompleted event arrives". A failed call ends the task.
  const outcome = !response.ok ? "failed" : request.waitForCompletion ? "waiting" : "succeeded";
  return { request, status: response.status, responseText, outcome };
}

/** [resolver] .NET's Uri.AbsoluteUri: scheme and host lower-cased, a default port dropped, a host-only URL ending in `/`. */
export function absoluteUri(url: string): string {
  return new URL(url).href;
}

/** Inputs as the task receives them: task.json defaults fill what the step leaves out, then variables are expanded in them. */
function resolveInputs(task: Record<string, any>, run: ServerTaskRun): Map<string, string> {
  const given = lowerKeys(run.inputs);
  const variables = lowerKeys(run.variables);
  const inputs = new Map<string, string>();
  for (const input of task.inputs ?? []) {
    const raw = given.get(input.name.toLowerCase()) ?? String(input.defaultValue ?? "");
    // [notes §2.2] `$(name)` in an input's value resolves to system and user variables,
    // as the 2021 task's hidden callback input relied on.
    const value = expandMacros(raw, new Map(), variables, undefined);
    if (input.required === true && value.trim() === "") throw new ServerTaskError(`input ${input.name} is required`);
    inputs.set(input.name, value);
  }
  for (const name of given.keys()) {
    if (![...inputs.keys()].some((known) => known.toLowerCase() === name)) throw new ServerTaskError(`unknown input ${name}`);
  }
  return inputs;
}

/**
 * `$(name)`: a task input, else a system or user variable, else an endpoint field
 * (`endpoint.url`, `endpoint.<data key>`); names are case-insensitive. Unknown
 * macros stay as they are, as Azure DevOps leaves undefined variables.
 */
export function expandMacros(
  text: string,
  inputs: Map<string, string>,
  variables: Map<string, string>,
  endpoint: ServerTaskEndpoint | undefined,
): string {
  const byLower = new Map([...inputs].map(([k, v]) => [k.toLowerCase(), v]));
  return text.replace(/\$\(([^()]+)\)/g, (whole, name: string) => {
    const key = name.trim().toLowerCase();
    if (byLower.has(key)) return byLower.get(key)!;
    if (variables.has(key)) return variables.get(key)!;
    if (endpoint && key === "endpoint.url") return absoluteUri(endpoint.url);
    if (endpoint && key.startsWith("endpoint.")) {
      const field = Object.entries(endpoint.data ?? {}).find(([k]) => k.toLowerCase() === key.slice("endpoint.".length));
      if (field) return field[1];
    }
    return whole;
  });
}

// ---------------------------------------------------------------------------

/** The endpoint type our manifest contributes under `name`. */
export function endpointType(manifest: Record<string, any>, name: string): Record<string, any> {
  const type = (manifest.contributions ?? []).find(
    (c: any) => c.type === "ms.vss-endpoint.service-endpoint-type" && c.properties?.name === name,
  );
  if (!type) throw new ServerTaskError(`endpoint type ${name} is not contributed by the manifest`);
  return type.properties;
}

/**
 * The Authorization header a service connection adds. [auth-schemes] the Token
 * scheme's default header is `Authorization: {{endpoint.apitoken}}`; an endpoint
 * type may override it with `headers` in its scheme entry [notes §3]. The scheme
 * header replaces an Authorization header given in Headers [#8597].
 */
export function endpointAuthHeaders(endpoint: ServerTaskEndpoint, manifest: Record<string, any>): Record<string, string> {
  if (endpoint.scheme === "None") return {};
  const scheme = (endpointType(manifest, endpoint.type).authenticationSchemes ?? []).find(
    (s: any) => s.type === "ms.vss-endpoint.endpoint-auth-scheme-token",
  );
  if (!scheme) throw new ServerTaskError(`endpoint type ${endpoint.type} has no Token scheme`);
  const templates: { name: string; value: string }[] = scheme.headers ?? [{ name: "Authorization", value: "{{endpoint.apitoken}}" }];
  const fields = new Map(Object.entries(endpoint.parameters ?? {}).map(([k, v]) => [`endpoint.${k.toLowerCase()}`, v]));
  const headers: Record<string, string> = {};
  for (const { name, value } of templates) {
    headers[name] = value.replace(/\{\{\{?\s*([\w.]+)\s*\}?\}\}/g, (_whole, key: string) => {
      const found = fields.get(key.toLowerCase());
      if (found === undefined) throw new ServerTaskError(`header ${name} needs ${key}, which the connection does not have`);
      return found;
    });
  }
  return headers;
}

function repositoryManifest(): Record<string, any> {
  return JSON.parse(readFileSync(join(REPO_ROOT, "vss-extension.json"), "utf8"));
}

/** .NET TimeSpan text: `[d.]hh:mm:ss` or `d:hh:mm:ss` (the form the 2021 task used). */
export function parseTimeSpan(text: string): number {
  const match = /^(?:(\d+)[.:])?(\d{1,2}):(\d{2}):(\d{2})$/.exec(text.trim());
  if (!match) throw new ServerTaskError(`${JSON.stringify(text)} is not a TimeSpan ([d.]hh:mm:ss)`);
  const [days, hours, minutes, seconds] = [match[1] ?? "0", match[2]!, match[3]!, match[4]!].map(Number) as [
    number,
    number,
    number,
    number,
  ];
  if (hours > 23 || minutes > 59 || seconds > 59) throw new ServerTaskError(`${JSON.stringify(text)} is out of range for a TimeSpan`);
  return (((days * 24 + hours) * 60 + minutes) * 60 + seconds) * 1000;
}

function lowerKeys(record: Record<string, string>): Map<string, string> {
  return new Map(Object.entries(record).map(([k, v]) => [k.toLowerCase(), v]));
}

// What Verify on a service connection does with the endpoint type's TestConnection data source.
export { dataSourceRequest, renderDataSourceUrl, selectResult, verifyConnection } from "./data-source.ts";
