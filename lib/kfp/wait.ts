/**
 * Waiting for a run to end: one GET per poll, at a fixed interval, within an
 * overall timeout. A bad poll (network blip, 5xx) is retried inside `getRun`
 * by the HTTP layer's retry budget; only an exhausted budget fails the wait.
 * An AbortSignal ends the wait at once, cancelling the poll in flight.
 */

import { sleep } from "../net/mod.ts";
import type { Run, WaitOptions, WaitTimeout } from "./types.ts";

export async function waitForRun(getRun: (signal?: AbortSignal) => Promise<Run>, options: WaitOptions): Promise<Run | WaitTimeout> {
  const { signal } = options;
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    const run = await getRun(signal);
    const elapsed = Date.now() - started;
    options.onPoll?.(run, elapsed);
    if (run.outcome) return run;
    const remaining = deadline - Date.now();
    if (remaining <= 0) return { timedOut: true, run };
    await sleep(Math.min(options.intervalMs, remaining), signal);
  }
}
