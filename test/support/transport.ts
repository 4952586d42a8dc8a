/**
 * What tests of the HTTP transport (lib/net/transport.ts) share: the
 * TransportError a request fails with, and a port nothing listens on.
 */
import { expect } from "bun:test";
import { createServer, type AddressInfo } from "node:net";
import { sendRequest, TransportError, type TransportRequest } from "../../lib/net/transport.ts";

/** The TransportError a request fails with (the test fails if it succeeds or fails otherwise). */
export async function failure(request: TransportRequest): Promise<TransportError> {
  const error = await sendRequest(request).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TransportError);
  return error as TransportError;
}

/** A port on 127.0.0.1 that nothing listens on. */
export async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
