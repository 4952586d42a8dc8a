/**
 * Schedules as users write them (lib/kfp/schedule.ts): KFP's six-field cron with
 * seconds and `every <n><unit>` intervals, the mistakes refused before anything
 * is sent, the words the summary uses, and fire times stepped as robfig/cron does.
 */
import { describe, expect, test } from "bun:test";
import { describeSchedule, nextFireTimes, parseSchedule, ScheduleError } from "../lib/kfp/schedule.ts";

const NOW = Date.parse("2026-12-01T22:50:00Z");
const times = (text: string, window: { start?: string; end?: string; count?: number } = {}) =>
  nextFireTimes(parseSchedule(text), {
    now: NOW,
    start: window.start ? Date.parse(window.start) : undefined,
    end: window.end ? Date.parse(window.end) : undefined,
    count: window.count ?? 3,
  }).map((t) => t.toISOString().replace(".000Z", "Z"));

describe("reading a schedule", () => {
  test.each([
    ["every 30m", 1800],
    ["every 6h", 21600],
    ["Every 1D", 86400],
    ["every 45 s", 45],
  ])("%j is an interval of %d seconds", (text, seconds) => {
    expect(parseSchedule(text)).toEqual({ kind: "interval", seconds });
  });

  test("a six-field cron keeps its text, spaces normalised", () => {
    expect(parseSchedule("  0  0 2 * * *  ")).toMatchObject({ kind: "cron", cron: "0 0 2 * * *" });
  });

  test.each([
    ["0 2 * * *", "5 fields"],
    ["0 2 * * *", "Put the seconds in front: '0 0 2 * * *'"],
    ["0 0 2 * * * 2026", "7 field(s)"],
    ["@daily", "descriptor"],
    ["every 0m", "at least 1 second"],
    ["every 2 weeks", "every <n>s|m|h|d"],
    ["60 * * * * *", "field 1 (seconds) '60'"],
    ["0 0 24 * * *", "field 3 (hours) '24'"],
    ["0 0 0 0 * *", "field 4 (day of month) '0'"],
    ["0 0 0 * 13 *", "field 5 (month) '13'"],
    ["0 0 0 * * 7", "field 6 (day of week) '7'"],
    ["0 0 0 * * funday", "'funday'"],
    ["0 */0 * * * *", "at least 1"],
    ["0 5-1 * * * *", "starts after it ends"],
    ["0 1-2-3 * * * *", "a range has one '-'"],
  ])("%j is refused: %s", (text, says) => {
    expect(() => parseSchedule(text)).toThrow(ScheduleError);
    expect(() => parseSchedule(text)).toThrow(says);
  });
});

describe("in words", () => {
  test.each([
    ["0 0 2 * * *", "at 02:00:00 UTC, every day"],
    ["0 30 9 * * mon-fri", "at 09:30:00 UTC, on Monday to Friday"],
    ["0 */15 * * * *", "every 15 minutes, every day"],
    ["0 0 0 1,15 * ?", "at 00:00:00 UTC, on day 1, 15 of the month"],
    ["0 0 12 * jan,jul sun", "at 12:00:00 UTC, on Sunday, in January, July"],
    ["30 5 * * * *", "at minute 5 second 30 of every hour, every day"],
    ["every 6h", "every 6 hours"],
    ["every 1d", "every day"],
    ["every 90s", "every 90 seconds"],
  ])("%j reads %j", (text, words) => {
    expect(describeSchedule(parseSchedule(text))).toBe(words);
  });
});

describe("next fire times", () => {
  test("a daily cron fires at its time, strictly after now", () => {
    expect(times("0 0 2 * * *")).toEqual(["2026-12-02T02:00:00Z", "2026-12-03T02:00:00Z", "2026-12-04T02:00:00Z"]);
    expect(times("0 50 22 * * *")).toEqual(["2026-12-02T22:50:00Z", "2026-12-03T22:50:00Z", "2026-12-04T22:50:00Z"]);
  });

  test("day of month and day of week: either matches when both are restricted, both when one is a star", () => {
    // 2026-12-04 is a Friday; the 15th a Tuesday.
    expect(times("0 0 0 15 * fri", { count: 3 })).toEqual(["2026-12-04T00:00:00Z", "2026-12-11T00:00:00Z", "2026-12-15T00:00:00Z"]);
    expect(times("0 0 0 */2 * fri", { count: 2 })).toEqual(["2026-12-11T00:00:00Z", "2026-12-25T00:00:00Z"]);
  });

  test("29 February waits for a leap year; start and end bound the list", () => {
    expect(times("0 0 0 29 2 *", { count: 2 })).toEqual(["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"]);
    expect(times("0 0 2 * * *", { start: "2027-01-01T00:00:00Z", end: "2027-01-02T12:00:00Z" })).toEqual([
      "2027-01-01T02:00:00Z",
      "2027-01-02T02:00:00Z",
    ]);
  });

  test("an interval fires one interval after creation, or at its start time when that is later", () => {
    expect(times("every 6h")).toEqual(["2026-12-02T04:50:00Z", "2026-12-02T10:50:00Z", "2026-12-02T16:50:00Z"]);
    expect(times("every 1d", { start: "2027-03-01T00:00:00Z", count: 2 })).toEqual(["2027-03-01T00:00:00Z", "2027-03-02T00:00:00Z"]);
  });
});
