/**
 * Awaits a promise that must reject with a KfpError or another given error (or
 * runs a function that must throw one), and returns the error so a test can assert on its
 * kind, status and message.
 */
import { expect } from "bun:test";
import { KfpError } from "../../lib/kfp/error.ts";

export function rejection(promise: Promise<unknown>): Promise<KfpError> {
  return rejectsWith(promise, KfpError);
}

/** Awaits `promise`, which must reject with an instance of `type`, and returns what it rejected with. */
export async function rejectsWith<E extends Error>(promise: Promise<unknown>, type: abstract new (...args: any[]) => E): Promise<E> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    return error as E;
  }
  throw new Error(`expected a ${type.name}`);
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
