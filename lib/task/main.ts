/**
 * The frame every agent task runs in: it turns whatever ends the task into one
 * `task.complete` with one clear message (printed through log.ts, so text from
 * KFP in it cannot be read by the agent as a logging command).
 */
import * as tl from "./task-lib.ts";
import { InputError } from "./input-error.ts";
import { KfpError } from "../kfp/mod.ts";
import { debug, finish } from "./log.ts";
import { UnexpectedKfpValueError } from "./outputs.ts";

/** One line for the user: what failed, KFP's word on it, and how to fix it. */
export function describeError(error: unknown): string {
  if (error instanceof InputError || error instanceof UnexpectedKfpValueError) return error.message;
  if (error instanceof KfpError) {
    const parts = [error.message];
    if (error.kfpMessage && !error.message.includes(error.kfpMessage)) parts.push(`KFP says: ${error.kfpMessage}`);
    if (error.hint && !error.message.includes(error.hint)) parts.push(error.hint);
    return parts.join(" ");
  }
  if (error instanceof Error) return `Unexpected error: ${error.message}`;
  return `Unexpected error: ${String(error)}`;
}

/** Runs a task's main function and reports how it ended. Never throws. */
export async function runMain(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    if (error instanceof Error && !(error instanceof InputError) && error.stack) debug(error.stack);
    finish(tl.TaskResult.Failed, describeError(error));
  }
}
