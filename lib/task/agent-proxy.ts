/**
 * Going to KFP through the web proxy an Azure Pipelines agent is configured
 * with (`config.sh --proxyurl --proxyusername --proxypassword`, and its
 * .proxybypass file), which the agent passes to tasks as the variables
 * Agent.ProxyUrl, Agent.ProxyUsername, Agent.ProxyPassword (secret) and
 * Agent.ProxyBypassList (a JSON list of patterns). task-lib reads them and
 * applies the bypass list.
 *
 * The password is registered as a secret once more here; early-secrets.ts has
 * done so before task-lib could print it (task-lib debug-prints every variable
 * it reads).
 */
import * as tl from "./task-lib.ts";
import type { TransportProxy } from "../net/mod.ts";
import { VariableError } from "./input-error.ts";
import { debug } from "./log.ts";

/** The agent's proxy for requests to `endpoint`, or undefined when there is none or the endpoint bypasses it. */
export function agentProxy(endpoint: string): TransportProxy | undefined {
  let config: ReturnType<typeof tl.getHttpProxyConfiguration>;
  try {
    config = tl.getHttpProxyConfiguration(endpoint);
  } catch (error) {
    // Not JSON, or a pattern that is not a regular expression (the agent's .proxybypass file holds them).
    throw new VariableError("Agent.ProxyBypassList", `cannot be read (${(error as Error).message}).`, "Fix the agent's .proxybypass file.");
  }
  if (!config) return undefined;
  let url: URL | undefined;
  try {
    // A bare host:port is taken as http://host:port.
    url = new URL(/:\/\//.test(config.proxyUrl) ? config.proxyUrl : `http://${config.proxyUrl}`);
  } catch {
    // Said below, without the text: it may hold credentials.
  }
  if (url?.protocol !== "http:") {
    throw new VariableError(
      "Agent.ProxyUrl",
      "is not the http:// URL of a proxy.",
      "Configure the agent with one (config.sh --proxyurl http://host:port).",
    );
  }
  const { proxyUsername: username, proxyPassword: password } = config;
  if (password) tl.setSecret(password);
  debug(`KFP is reached through the agent's proxy ${url.host}.`);
  return { url: `http://${url.host}`, username, password };
}
