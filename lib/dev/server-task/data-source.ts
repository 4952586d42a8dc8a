/**
 * What Azure DevOps does when a user presses Verify on a service connection of
 * our type: it runs the endpoint type's data source named `TestConnection`,
 * with the connection's own credential, and the connection is verified when
 * that request succeeds. Modelled only as far as our manifest uses it; anything
 * else in a data source fails loudly. Sources:
 *   [endpoints]  MS docs "Service endpoints" (docs/extend/develop/service-endpoints.md): data sources,
 *                `{{endpoint.url}}` in `endpointUrl`, `resultSelector` `jsonpath:`
 *   [ServiceNow] microsoft/azure-pipelines-extensions Extensions/ServiceNow/Src/vss-extension.json: a data source
 *                named TestConnection, `{{endpoint.url}}/api/...`, `resultSelector: "jsonpath:$.result"`
 *   [decompiled] mjwrona/decompiled (Azure DevOps Server 2022): ServiceEndpoints.Common MustacheTemplateEngine
 *                renders data sources with the WebApi parser and the helpers server tasks get (endsWith among them)
 *   [real-systems] `$(endpoint.url)` is .NET Uri.AbsoluteUri: a host-only URL gains a trailing `/`
 */
import { absoluteUri, endpointAuthHeaders, endpointType, ServerTaskError, type ServerTaskEndpoint } from "./mod.ts";
import { renderTemplate } from "./mustache.ts";

export interface DataSourceRequest {
  url: string;
  headers: Record<string, string>;
  resultSelector?: string;
}

export interface VerifyResult {
  verified: boolean;
  status: number;
  /** What the resultSelector picked from a JSON answer (undefined when it picked nothing). */
  selected?: unknown;
}

/** The request a data source makes for a connection: its URL rendered and the connection's auth headers. */
export function dataSourceRequest(manifest: Record<string, any>, endpoint: ServerTaskEndpoint, name: string): DataSourceRequest {
  const source = (endpointType(manifest, endpoint.type).dataSources ?? []).find((d: any) => d.name === name);
  if (!source) throw new ServerTaskError(`endpoint type ${endpoint.type} has no data source ${name}`);
  for (const key of Object.keys(source)) {
    if (!["name", "endpointUrl", "resultSelector"].includes(key)) throw new ServerTaskError(`data source field ${key} is not modelled`);
  }
  return {
    url: renderDataSourceUrl(String(source.endpointUrl), endpoint.url),
    headers: endpointAuthHeaders(endpoint, manifest),
    resultSelector: source.resultSelector,
  };
}

/**
 * The data source's URL, rendered by the server's Mustache engine (./mustache.ts) with the connection's URL in the
 * context as `endpoint.url`, as .NET's Uri.AbsoluteUri gives it [real-systems].
 */
export function renderDataSourceUrl(template: string, endpointUrl: string): string {
  return renderTemplate(template, new Map([["endpoint.url", absoluteUri(endpointUrl)]]));
}

/** `jsonpath:$.a.b` on a JSON text: the value, or undefined. Only dotted member paths are modelled. */
export function selectResult(selector: string | undefined, text: string): unknown {
  if (!selector) return undefined;
  const path = /^jsonpath:\$((?:\.[A-Za-z_][\w]*)*)$/.exec(selector);
  if (!path) throw new ServerTaskError(`resultSelector ${selector}: only jsonpath:$.a.b is modelled`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  for (const key of path[1]!.split(".").filter(Boolean)) value = (value as Record<string, unknown> | undefined)?.[key];
  return value;
}

/** Presses Verify: sends the TestConnection request; a 2xx answer verifies the connection [endpoints]. */
export async function verifyConnection(manifest: Record<string, any>, endpoint: ServerTaskEndpoint): Promise<VerifyResult> {
  const request = dataSourceRequest(manifest, endpoint, "TestConnection");
  const response = await fetch(request.url, { headers: request.headers, redirect: "manual" });
  const text = await response.text();
  return { verified: response.ok, status: response.status, selected: selectResult(request.resultSelector, text) };
}
