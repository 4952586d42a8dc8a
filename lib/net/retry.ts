/**
 * When to try a request again: exponential backoff with jitter, a server's
 * Retry-After (delta-seconds or HTTP-date, RFC 9110 §10.2.3) honoured up to a
 * bound, and a time budget that the waits and the tries together stay within.
 * The one retry policy of everything that ships (the KFP client, the exit
 * handler's calls to Azure DevOps); what is safe to retry is the caller's call.
 */

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  /** The first wait; each next one doubles, up to `maxDelayMs`. */
  baseDelayMs: number;
  /** Upper bound of one wait, a server's Retry-After included. */
  maxDelayMs: number;
  /** Every try and wait of one operation ends within this long (Infinity: only `attempts` bounds it). */
  totalMs: number;
}

/** A wait of `ms`, or the end of the budget. */
export type RetryDecision = { retry: true; delayMs: number } | { retry: false };

/** The retries of one operation, from its first try on. */
export class RetrySchedule {
  private readonly started: number;

  constructor(
    private readonly policy: RetryPolicy,
    now = Date.now(),
  ) {
    this.started = now;
  }

  elapsedMs(now = Date.now()): number {
    return now - this.started;
  }

  /** Time left in the budget. */
  remainingMs(now = Date.now()): number {
    return this.policy.totalMs - this.elapsedMs(now);
  }

  /**
   * The wait before try `attempt + 1`, after try `attempt` failed: the server's
   * Retry-After when it sent one, else backoff with jitter. No retry when the
   * tries are used up or the wait would end past the budget.
   */
  next(attempt: number, retryAfter?: string, now = Date.now()): RetryDecision {
    if (attempt >= this.policy.attempts) return { retry: false };
    const asked = retryAfterMs(retryAfter, now);
    const delayMs = Math.min(this.policy.maxDelayMs, asked ?? backoffMs(attempt, this.policy.baseDelayMs));
    if (this.elapsedMs(now) + delayMs > this.policy.totalMs) return { retry: false };
    return { retry: true, delayMs };
  }
}

/**
 * The wait after the `attempt`-th failure: base * 2^(attempt-1), jittered to
 * between half and all of it so that clients failing together do not come back together.
 */
export function backoffMs(attempt: number, baseDelayMs: number, random: () => number = Math.random): number {
  const full = baseDelayMs * 2 ** Math.max(0, attempt - 1);
  return Math.round(full * (0.5 + random() / 2));
}

/** A Retry-After header in milliseconds from `now`: delta-seconds or an HTTP-date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | undefined, now = Date.now()): number | undefined {
  const value = header?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  // An HTTP-date always names its weekday or month in letters; a bare number in another form is not one.
  if (!/[a-z]/i.test(value)) return undefined;
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

/** Waits, or rejects with the signal's reason as soon as it aborts; leaves no timer behind. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
