/**
 * Awaits a promise that must reject with a KfpError (or runs a function that
 * must throw a given error), and returns the error so a test can assert on its
 * kind, status and message.
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

/** Runs `fn`, which must throw an instance of `type`, and returns what it threw. */
export function thrown<E extends Error>(fn: () => unknown, type: abstract new (...args: any[]) => E): E {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    return error as E;
  }
  throw new Error(`expected ${type.name} to be thrown`);
}
