/**
 * Trusting the certificate authority an Azure Pipelines agent is configured
 * with (`config.sh --sslcacert`, which the agent passes to tasks as the
 * variable Agent.CAInfo) on the HTTPS connections to KFP.
 *
 * Node's fetch reads NODE_EXTRA_CA_CERTS only when the process starts, so a CA
 * file the agent names at run time is added here: beside Node's own roots (and
 * the NODE_EXTRA_CA_CERTS file, if one is set), never in their place.
 * Verification is never turned off: Agent.SkipCertValidation is ignored with a
 * warning, since the task would send its token to a server it cannot identify.
 */
import { readFileSync } from "node:fs";
import * as tls from "node:tls";
import * as tl from "azure-pipelines-task-lib/task";
import { VariableError } from "./input-error";

const CA_VARIABLE = "Agent.CAInfo";
const HOW = "Configure the agent with the CA's PEM file (config.sh --sslcacert), or set NODE_EXTRA_CA_CERTS to it in the agent's environment.";

/**
 * The key under which undici, the HTTP client inside Node's fetch, keeps the
 * dispatcher every fetch uses. undici reads it on each request; it is how the
 * undici package's own setGlobalDispatcher reaches Node's built-in fetch.
 */
const GLOBAL_DISPATCHER = Symbol.for("undici.globalDispatcher.1");

/** Adds the agent's CA, if it names one, to every later fetch; warns that skipping verification is not honoured. */
export function trustAgentCertificates(): void {
  if (/^true$/i.test(tl.getVariable("Agent.SkipCertValidation")?.trim() ?? "")) {
    tl.warning(`Agent.SkipCertValidation is set, but this task still verifies KFP's certificate: it would otherwise send its credential to a server it cannot identify. ${HOW}`);
  }
  const caFile = tl.getHttpCertConfiguration()?.caFile?.trim();
  if (!caFile) return;
  const pem = readPem(caFile, CA_VARIABLE);
  const extraFile = process.env.NODE_EXTRA_CA_CERTS;
  const extra = extraFile ? [readPem(extraFile, "NODE_EXTRA_CA_CERTS")] : [];
  useCertificateAuthorities([...tls.rootCertificates, ...extra, pem]);
  tl.debug(`Trusting the agent's certificate authority ${caFile} (${CA_VARIABLE}) for KFP.`);
}

function readPem(file: string, variable: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new VariableError(variable, `names the certificate authority file '${file}', which cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`, HOW);
  }
  if (!text.includes("-----BEGIN CERTIFICATE-----")) {
    throw new VariableError(variable, `names '${file}', which holds no PEM certificate (-----BEGIN CERTIFICATE-----).`, HOW);
  }
  return text;
}

/** Makes fetch verify servers against exactly these CAs (PEM texts). */
function useCertificateAuthorities(ca: string[]): void {
  // Node loads undici on first use; making a Headers object loads it, with its default dispatcher.
  new Headers();
  const holder = globalThis as unknown as Record<symbol, { constructor?: new (options: object) => unknown } | undefined>;
  const Agent = holder[GLOBAL_DISPATCHER]?.constructor;
  if (typeof Agent !== "function") {
    throw new VariableError(CA_VARIABLE, "is set, but this Node.js does not let a running task add a certificate authority to fetch.", "Set NODE_EXTRA_CA_CERTS to the CA's PEM file in the agent's environment instead.");
  }
  holder[GLOBAL_DISPATCHER] = new Agent({ connect: { ca } }) as never;
}
