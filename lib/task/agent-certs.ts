/**
 * Trusting the certificate authority an Azure Pipelines agent is configured
 * with (`config.sh --sslcacert`, which the agent passes to tasks as the
 * variable Agent.CAInfo) on the HTTPS connections to KFP.
 *
 * Node reads NODE_EXTRA_CA_CERTS only when the process starts, so a CA file the
 * agent names at run time is passed to the HTTP transport as an explicit `ca`
 * list: beside Node's own roots (and the NODE_EXTRA_CA_CERTS file, if one is
 * set, since an explicit list replaces Node's defaults), never in their place.
 * Verification is never turned off: Agent.SkipCertValidation is ignored with a
 * warning, since the task would send its token to a server it cannot identify.
 */
import { readFileSync } from "node:fs";
import * as tl from "./task-lib.ts";
import { VariableError } from "./input-error.ts";
import { debug, warn } from "./log.ts";

const CA_VARIABLE = "Agent.CAInfo";
const HOW =
  "Configure the agent with the CA's PEM file (config.sh --sslcacert), or set NODE_EXTRA_CA_CERTS to it in the agent's environment.";

/**
 * The certificate authorities (PEM texts) to verify KFP against when the agent
 * names one, or undefined for Node's defaults; warns that skipping
 * verification is not honoured.
 */
export async function agentCertificateAuthorities(): Promise<string[] | undefined> {
  if (/^true$/i.test(tl.getVariable("Agent.SkipCertValidation")?.trim() ?? "")) {
    warn(
      `Agent.SkipCertValidation is set, but this task still verifies KFP's certificate: ` +
        `it would otherwise send its credential to a server it cannot identify. ${HOW}`,
    );
  }
  const caFile = tl.getHttpCertConfiguration()?.caFile?.trim();
  if (!caFile) return undefined;
  const pem = readPem(caFile, CA_VARIABLE);
  const extraFile = process.env.NODE_EXTRA_CA_CERTS;
  const extra = extraFile ? [readPem(extraFile, "NODE_EXTRA_CA_CERTS")] : [];
  debug(`Trusting the agent's certificate authority ${caFile} (${CA_VARIABLE}) for KFP.`);
  // node:tls loads only here: most agents name no CA, and it costs start-up time (require: see lib/net/transport.ts).
  const { rootCertificates }: typeof import("node:tls") = require("node:tls");
  return [...rootCertificates, ...extra, pem];
}

function readPem(file: string, variable: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new VariableError(
      variable,
      `names the certificate authority file '${file}', ` +
        `which cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`,
      HOW,
    );
  }
  if (!text.includes("-----BEGIN CERTIFICATE-----")) {
    throw new VariableError(variable, `names '${file}', which holds no PEM certificate (-----BEGIN CERTIFICATE-----).`, HOW);
  }
  return text;
}
