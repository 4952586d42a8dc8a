/**
 * The frame every agent task runs in: it turns whatever ends the task into one
 * `task.complete` with one clear message, and keeps untrusted text (KFP's own
 * messages) from being read by the agent as logging commands.
 */
import * as tl from "./task-lib.ts";
import { InputError } from "./input-error.ts";
import { KfpError } from "../kfp/mod.ts";
import { untrusted } from "./untrusted.ts";

export { untrusted } from "./untrusted.ts";

/** One line for the user: what failed, KFP's word on it, and how to fix it. */
export function describeError(error: unknown): string {
  if (error instanceof InputError) return error.message;
  if (error instanceof KfpError) {
    const parts = [error.message];
    if (error.kfpMessage && !error.message.includes(error.kfpMessage)) parts.push(`KFP says: ${error.kfpMessage}`);
    if (error.hint && !error.message.includes(error.hint)) parts.push(error.hint);
    return untrusted(parts.join(" "));
  }
  if (error instanceof Error) return untrusted(`Unexpected error: ${error.message}`);
  return untrusted(`Unexpected error: ${String(error)}`);
}

/** Runs a task's main function and reports how it ended. Never throws. */
export async function runMain(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    if (error instanceof Error && !(error instanceof InputError) && error.stack) tl.debug(untrusted(error.stack));
    tl.setResult(tl.TaskResult.Failed, describeError(error));
  }
}
