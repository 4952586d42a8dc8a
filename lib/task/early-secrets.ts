/**
 * Registers every credential a task can receive as an agent secret, before
 * anything can print it.
 *
 * azure-pipelines-task-lib writes `##vso[task.debug]<input>=<value>` on every
 * getInput and debug-prints endpoint auth parameters, and it moves the values
 * out of process.env when it loads. So this module must be imported first, ahead
 * of task-lib: it reads the raw environment the agent gave and emits
 * `##vso[task.setsecret]` for each credential. The agent masks a secret only in
 * lines after that command.
 */
import { agentCommand } from "./agent-commands.ts";
import { writeStdout } from "./stdout.ts";

/** Inputs that hold credentials, by task.json name (upper-cased as the agent passes them). */
const SECRET_INPUTS = ["BEARERTOKEN", "SESSIONCOOKIE"];
/**
 * The agent's proxy password (Agent.ProxyPassword): a secret variable, which the
 * agent masks already; registered anyway, task-lib debug-prints it when read.
 */
const PROXY_PASSWORD = ["SECRET_AGENT_PROXYPASSWORD", "AGENT_PROXYPASSWORD"];

/** The values worth masking in one credential: the whole, and each cookie value in it. */
function maskableParts(value: string): string[] {
  const parts = new Set<string>([value.trim()]);
  for (const pair of value.split(";")) {
    const eq = pair.indexOf("=");
    if (eq > 0) parts.add(pair.slice(eq + 1).trim());
  }
  // A token typed with its scheme ("Bearer x") is also masked without it.
  const bearer = /^bearer\s+(.+)$/i.exec(value.trim());
  if (bearer?.[1]) parts.add(bearer[1]);
  return [...parts].filter((part) => part.length >= 3);
}

/** Every credential value found in an agent-style environment. */
function findCredentials(env: NodeJS.ProcessEnv): string[] {
  const found: string[] = [];
  for (const [key, value] of Object.entries(env)) {
    if (!value) continue;
    if (SECRET_INPUTS.some((name) => key === `INPUT_${name}`)) found.push(value);
    else if (PROXY_PASSWORD.includes(key)) found.push(value);
    else if (key.startsWith("ENDPOINT_AUTH_PARAMETER_")) found.push(value);
    else if (key.startsWith("ENDPOINT_AUTH_") && !key.startsWith("ENDPOINT_AUTH_SCHEME_")) {
      found.push(...authParameterValues(value));
    }
  }
  return found.flatMap(maskableParts);
}

/** The parameter values inside an `ENDPOINT_AUTH_<id>` JSON blob. */
function authParameterValues(json: string): string[] {
  try {
    const parsed: unknown = JSON.parse(json);
    const parameters = (parsed as { parameters?: unknown })?.parameters;
    if (parameters && typeof parameters === "object") {
      return Object.values(parameters).filter((v): v is string => typeof v === "string" && v !== "");
    }
  } catch {
    // Not JSON: nothing to register.
  }
  return [];
}

/** Emits `##vso[task.setsecret]` for each value, once. */
function registerSecrets(values: Iterable<string>, write: (line: string) => void): void {
  const seen = new Set<string>();
  for (const value of values) {
    if (seen.has(value)) continue;
    seen.add(value);
    write(`${agentCommand("task.setsecret", {}, value)}\n`);
  }
}

registerSecrets(findCredentials(process.env), writeStdout);
