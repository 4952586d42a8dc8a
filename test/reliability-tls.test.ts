/**
 * TLS with a private certificate authority: an https fake KFP whose certificate
 * is signed by a CA made at test time with openssl. Both agent tasks work when
 * the CA is supplied the way agents supply it (the agent's certificate
 * settings, read as Agent.CAInfo, or NODE_EXTRA_CA_CERTS in its environment);
 * otherwise they fail naming the endpoint and saying how to supply it, with no
 * request reaching KFP. Verification is never switched off: not by
 * Agent.SkipCertValidation, not for a CA that did not sign the server's
 * certificate, and the bundles hold no code that could switch it off.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { FakeKfp } from "../lib/dev/fake-kfp/types.ts";
import type { TaskRunResult } from "./harness.ts";
import { startFake } from "./support/fake.ts";
import { makePki, OPENSSL, type Pki } from "./support/pki.ts";
import {
  AGENT_TASKS,
  problemsOf,
  runAgentTask,
  scenarios,
  taskFolder,
  useAgentTaskBundles,
  type AgentTask,
} from "./support/reliability.ts";

useAgentTaskBundles();

const TOKEN = "kfp-tls-token-91c0de";

const tally = { cases: 0, verified: 0, refusedClearly: 0, verificationDisabled: 0 };
afterAll(() => {
  console.log(
    `tls cases ${tally.cases}, verified ${tally.verified}, refused clearly ${tally.refusedClearly}, ` +
      `verification disabled ${tally.verificationDisabled}`,
  );
});

/** How the agent is set up for the CA. */
interface Setup {
  name: string;
  variables?: (pki: Pki) => Record<string, string>;
  env?: (pki: Pki) => Record<string, string>;
  works: boolean;
  /** Fragments the failure message must hold. */
  says?: RegExp[];
}

const HOW_TO_SUPPLY = [
  /Input 'kfpConnection'|Input 'kubeflowEndpoint'/,
  /certificate/i,
  /NODE_EXTRA_CA_CERTS/,
  /--sslcacert|Agent\.CAInfo/,
];

const SETUPS: Setup[] = [
  { name: "the agent's certificate settings (Agent.CAInfo)", variables: (pki) => ({ "Agent.CAInfo": pki.ca }), works: true },
  { name: "NODE_EXTRA_CA_CERTS in the agent's environment", env: (pki) => ({ NODE_EXTRA_CA_CERTS: pki.ca }), works: true },
  {
    name: "Agent.CAInfo beside another NODE_EXTRA_CA_CERTS",
    variables: (pki) => ({ "Agent.CAInfo": pki.ca }),
    env: (pki) => ({ NODE_EXTRA_CA_CERTS: pki.otherCa }),
    works: true,
  },
  { name: "no CA supplied", works: false, says: HOW_TO_SUPPLY },
  {
    name: "Agent.SkipCertValidation without the CA",
    variables: () => ({ "Agent.SkipCertValidation": "true" }),
    works: false,
    says: HOW_TO_SUPPLY,
  },
  {
    name: "a CA that did not sign the server's certificate",
    variables: (pki) => ({ "Agent.CAInfo": pki.otherCa }),
    works: false,
    says: HOW_TO_SUPPLY,
  },
  {
    name: "an Agent.CAInfo file that does not exist",
    variables: (pki) => ({ "Agent.CAInfo": join(pki.dir, "missing.pem") }),
    works: false,
    says: [/^Variable 'Agent\.CAInfo': /, /cannot be read \(ENOENT\)/, /NODE_EXTRA_CA_CERTS/],
  },
  {
    name: "an Agent.CAInfo file that holds no certificate",
    variables: (pki) => ({ "Agent.CAInfo": join(pki.dir, "server.ext") }),
    works: false,
    says: [/^Variable 'Agent\.CAInfo': /, /no PEM certificate/],
  },
];

describe.skipIf(!OPENSSL)("https KFP with a private CA", () => {
  let pki: Pki;
  beforeAll(() => {
    pki = makePki();
  });
  afterAll(() => rmSync(pki.dir, { recursive: true, force: true }));

  async function run(task: AgentTask, setup: Setup): Promise<{ r: TaskRunResult; kfp: FakeKfp }> {
    const kfp = await startFake({ api: "v2", token: TOKEN, tls: { key: pki.key, cert: pki.cert } });
    const scenario = scenarios("v2").find((s) => s.task === task)!;
    await scenario.seed(kfp);
    const r = await runAgentTask({
      task,
      url: kfp.url,
      token: TOKEN,
      inputs: scenario.inputs,
      variables: setup.variables?.(pki),
      env: setup.env?.(pki),
    });
    return { r, kfp };
  }

  const cases = AGENT_TASKS.flatMap((task) => SETUPS.map((setup) => ({ task, setup })));
  test.each(cases.map((c) => [c.task, c.setup.name, c] as const))("%s, %s", async (_task, _name, { task, setup }) => {
    const { r, kfp } = await run(task, setup);
    tally.cases++;
    const found: string[] = [];
    if (setup.works) {
      if (r.result !== "Succeeded") found.push(`ended ${r.result}: ${r.message}`);
      found.push(
        ...scenarios("v2")
          .find((s) => s.task === task)!
          .check(r, kfp),
      );
      if (found.length === 0) tally.verified++;
    } else {
      // Any request the fake saw got through the handshake: verification was off.
      if (kfp.requests.length > 0 || r.result === "Succeeded") {
        tally.verificationDisabled++;
        found.push(`KFP was reached (${kfp.requests.length} requests, ${r.result}): the certificate was not verified`);
      }
      if (r.result !== "Failed") found.push(`ended ${r.result}`);
      for (const fragment of setup.says ?? [])
        if (!fragment.test(r.message ?? "")) found.push(`the message does not say ${fragment}: ${r.message}`);
      if (r.errors.length !== 1) found.push(`${r.errors.length} error lines`);
      if (found.length === 0) tally.refusedClearly++;
    }
    if (setup.variables?.(pki)["Agent.SkipCertValidation"] && !r.warnings.some((w) => w.includes("still verifies KFP's certificate"))) {
      found.push("no warning that Agent.SkipCertValidation is not honoured");
    }
    await kfp.close();
    expect(problemsOf(`${task}, ${setup.name}`, found)).toEqual([]);
  });
});

test("no bundle holds code that switches certificate verification off", () => {
  const bundles = AGENT_TASKS.map((task) => join(taskFolder(task), "index.js"));
  for (const bundle of bundles) {
    const code = readFileSync(bundle, "utf8");
    expect(code).not.toMatch(/rejectUnauthorized\s*:\s*(false|!1|0)\b/);
    expect(code).not.toContain("NODE_TLS_REJECT_UNAUTHORIZED");
  }
});

test.each(AGENT_TASKS)("%s: an https:// URL to a KFP that speaks plain http fails saying so, not with OpenSSL's words", async (task) => {
  const kfp = await startFake({ api: "v2", token: TOKEN });
  const scenario = scenarios("v2").find((s) => s.task === task)!;
  await scenario.seed(kfp);
  const url = kfp.url.replace(/^http:/, "https:");
  const r = await runAgentTask({ task, url, token: TOKEN, inputs: scenario.inputs, via: "service connection" });
  await kfp.close();

  expect(r.result).toBe("Failed");
  expect(r.errors).toHaveLength(1);
  expect(r.message).toContain(`Input 'kfpConnection': could not be reached:`);
  expect(r.message).toContain(`${new URL(url).host} answered in plain HTTP, not TLS (the URL says https://)`);
  expect(r.message).toContain("Use http:// in the endpoint");
  expect(r.message).not.toMatch(/SSL routines|wrong version number|NODE_EXTRA_CA_CERTS/);
  expect(kfp.writes()).toEqual([]);
});
