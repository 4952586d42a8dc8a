/**
 * Waiting for a run to end: one GET per poll, at a fixed interval, within an
 * overall timeout. A bad poll (network blip, 5xx) is retried inside `getRun`
 * by the HTTP layer's retry budget; when that is spent, KFP is having an
 * outage, and the wait goes on polling (backoff up to the poll interval) until
 * KFP answers again or the run's timeout passes: an outage shorter than the
 * run's timeout does not fail the wait. Each outage is reported once, when it
 * ends, with its length; one that outlasts the timeout fails the wait with an
 * OutageError (the run may well still be running).
 * An AbortSignal ends the wait at once, cancelling the poll in flight.
 */

import { backoffMs, sleep } from "../net/mod.ts";
import { KfpError } from "./error.ts";
import type { Run, WaitOptions, WaitTimeout } from "./types.ts";

/** The first poll interval's backoff after an outage begins. */
const OUTAGE_FIRST_RETRY_MS = 1_000;

/** KFP could not be reached (or answered 429/5xx) until the run's timeout passed. */
export class OutageError extends Error {
  override name = "OutageError";
  constructor(
    /** How long KFP had been unreachable when the wait gave up. */
    readonly outageMs: number,
    /** The failure that began it, as the HTTP layer reported it. */
    readonly first: KfpError,
    /** The run as last seen, if it was seen. */
    readonly run: Run | undefined,
  ) {
    super(first.message);
  }
}

export async function waitForRun(getRun: (signal?: AbortSignal) => Promise<Run>, options: WaitOptions): Promise<Run | WaitTimeout> {
  const { signal } = options;
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  let lastRun: Run | undefined;
  let outage: { since: number; first: KfpError; polls: number } | undefined;
  for (;;) {
    signal?.throwIfAborted();
    let run: Run;
    const polled = Date.now();
    try {
      run = await getRun(signal);
    } catch (error) {
      if (!isOutage(error)) throw error;
      // It began when the first failing poll was sent: that poll's retries are part of it.
      outage ??= { since: polled, first: error, polls: 0 };
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new OutageError(Date.now() - outage.since, outage.first, lastRun);
      const wait = Math.min(backoffMs(++outage.polls, OUTAGE_FIRST_RETRY_MS), options.intervalMs, remaining);
      await sleep(wait, signal);
      continue;
    }
    if (outage) {
      options.onOutage?.({ lengthMs: Date.now() - outage.since, first: outage.first });
      outage = undefined;
    }
    lastRun = run;
    options.onPoll?.(run, Date.now() - started);
    if (run.outcome) return run;
    const remaining = deadline - Date.now();
    if (remaining <= 0) return { timedOut: true, run };
    await sleep(Math.min(options.intervalMs, remaining), signal);
  }
}

/** KFP unreachable or overloaded (what its retries could not get past), not a refusal that waiting cannot change. */
function isOutage(error: unknown): error is KfpError {
  if (!(error instanceof KfpError)) return false;
  if (error.kind === "network") return true;
  return error.kind === "http" && error.status !== undefined && [429, 500, 502, 503, 504].includes(error.status);
}
