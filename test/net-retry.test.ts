/** lib/net/retry.ts: the one retry policy of the KFP client and the exit handler. */
import { describe, expect, test } from "bun:test";
import { backoffMs, retryAfterMs, RetrySchedule } from "../lib/net/retry.ts";

const NOW = Date.parse("2026-12-01T12:00:00Z");

describe("Retry-After", () => {
  test("delta-seconds and an HTTP-date read the same", () => {
    expect(retryAfterMs("3", NOW)).toBe(3000);
    expect(retryAfterMs(new Date(NOW + 3000).toUTCString(), NOW)).toBe(3000);
    expect(retryAfterMs("Tue, 01 Dec 2026 12:00:07 GMT", NOW)).toBe(7000);
  });

  test("a date in the past means now; absent or unreadable values mean no advice", () => {
    expect(retryAfterMs("Tue, 01 Dec 2026 11:00:00 GMT", NOW)).toBe(0);
    for (const value of [undefined, "", "soon", "-1", "1.5"]) expect(retryAfterMs(value, NOW)).toBeUndefined();
  });
});

describe("backoff", () => {
  test("doubles per attempt, jittered to between half and all of it", () => {
    expect([1, 2, 3].map((n) => backoffMs(n, 100, () => 0))).toEqual([50, 100, 200]);
    expect([1, 2, 3].map((n) => backoffMs(n, 100, () => 1))).toEqual([100, 200, 400]);
  });
});

describe("RetrySchedule", () => {
  const policy = { attempts: 4, baseDelayMs: 1000, maxDelayMs: 5000, totalMs: 10_000 };

  test("the server's Retry-After wins over the backoff, up to the longest wait", () => {
    const schedule = new RetrySchedule(policy, NOW);
    expect(schedule.next(1, "2", NOW)).toEqual({ retry: true, delayMs: 2000 });
    expect(schedule.next(1, new Date(NOW + 60_000).toUTCString(), NOW)).toEqual({ retry: true, delayMs: 5000 });
  });

  test("no retry once the tries are used up or the wait would end past the budget", () => {
    const schedule = new RetrySchedule(policy, NOW);
    expect(schedule.next(4, undefined, NOW)).toEqual({ retry: false });
    expect(schedule.next(1, "3", NOW + 8000)).toEqual({ retry: false });
    expect(schedule.next(1, "1", NOW + 8000)).toEqual({ retry: true, delayMs: 1000 });
  });
});
