/**
 * How long an agent task waits for KFP before giving up, from two optional
 * pipeline variables (the agent passes every variable to its tasks):
 *
 *   KFP.RequestTimeoutSeconds  one request, uploads included (default 30 s; uploads 5 min)
 *   KFP.RetrySeconds           all retries of one operation together (default 60 s)
 *
 * A KFP behind a slow proxy may need more; a pipeline that would rather fail
 * fast than wait out an outage can ask for less. A value that is not a whole
 * number of seconds in range fails the task before any request, naming the variable.
 */
import * as tl from "./task-lib.ts";
import { VariableError } from "./input-error.ts";
import type { KfpConnectOptions } from "../kfp/mod.ts";

const REQUEST_TIMEOUT_VARIABLE = "KFP.RequestTimeoutSeconds";
const RETRY_VARIABLE = "KFP.RetrySeconds";

/** An hour: longer than any request or outage a CI step should sit through. */
const MAX_SECONDS = 3600;

export type TaskBudget = Pick<KfpConnectOptions, "requestTimeoutMs" | "retry">;

/** The client options the variables ask for; empty when neither is set. */
export function readTaskBudget(): TaskBudget {
  const budget: TaskBudget = {};
  const timeout = secondsVariable(REQUEST_TIMEOUT_VARIABLE, 1);
  if (timeout !== undefined) budget.requestTimeoutMs = timeout * 1000;
  const retry = secondsVariable(RETRY_VARIABLE, 0);
  if (retry !== undefined) budget.retry = { totalMs: retry * 1000 };
  return budget;
}

function secondsVariable(name: string, min: number): number | undefined {
  const text = tl.getVariable(name)?.trim();
  if (!text) return undefined;
  const seconds = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(seconds >= min && seconds <= MAX_SECONDS)) {
    throw new VariableError(
      name,
      `is ${JSON.stringify(text)}; it must be a whole number of seconds from ${min} to ${MAX_SECONDS}.`,
      "Fix the pipeline variable, or remove it to use the default.",
    );
  }
  return seconds;
}
