/**
 * Awaits a promise that must reject with a KfpError, and returns the error so a
 * test can assert on its kind, status and message.
 */
import { expect } from "bun:test";
import { KfpError } from "../../lib/kfp/error.ts";

export async function rejection(promise: Promise<unknown>): Promise<KfpError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(KfpError);
    return error as KfpError;
  }
  throw new Error("expected a KfpError");
}
