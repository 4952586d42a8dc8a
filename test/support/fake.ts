/**
 * Starts the fake KFP server for a test. On `close()` it checks every request the
 * fake received (and every 200 answer) against the official swagger of the API
 * version in its path, and throws listing the violations: a test whose client
 * breaks the KFP API contract fails even when the fake was lenient.
 * Start every fake in tests through `startFake`.
 */

import { startFakeKfp } from "../../lib/dev/fake-kfp/mod.ts";
import type { FakeKfp, FakeKfpOptions } from "../../lib/dev/fake-kfp/types.ts";
import { apiOfPath, contractViolations } from "./contract.ts";

export interface StartFakeOptions {
  /** Skip the contract check: only for tests that send invalid requests on purpose. */
  skipContract?: boolean;
}

export async function startFake(options: FakeKfpOptions = {}, { skipContract = false }: StartFakeOptions = {}): Promise<FakeKfp> {
  const fake = await startFakeKfp(options);
  const closeServer = fake.close;
  fake.close = async () => {
    await closeServer();
    if (skipContract) return;
    const violations = (["v1beta1", "v2beta1"] as const).flatMap((api) =>
      contractViolations(
        api,
        fake.requests.filter((r) => apiOfPath(r.path) === api),
      ),
    );
    if (violations.length) {
      throw new Error(`${violations.length} request(s) to the fake KFP break the KFP API contract:\n  ${violations.join("\n  ")}`);
    }
  };
  return fake;
}
