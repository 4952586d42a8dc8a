/**
 * Schedules for recurring runs as users write them: a KFP cron of six fields,
 * seconds first (KFP's scheduler reads crons with robfig/cron v1.2.0 `cron.Parse`),
 * or an interval such as `every 6h`. Parsed before anything is sent, described
 * in words, and stepped forward to the next fire times the way the scheduler
 * steps them (in UTC: the ScheduledWorkflow controller uses the pod's time zone
 * unless CRON_SCHEDULE_TIMEZONE is set).
 */

export type Schedule = { kind: "cron"; cron: string; fields: CronField[] } | { kind: "interval"; seconds: number };

/** The values a field allows; `star` when written with `*` or `?` (day fields combine differently then). */
export interface CronField {
  values: Set<number>;
  star: boolean;
}

export const SCHEDULE_EXAMPLES = "e.g. '0 0 2 * * *' (02:00:00 every day) or 'every 6h'";

/** A schedule that KFP would refuse or read differently from what was meant. */
export class ScheduleError extends Error {}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const FIELDS = [
  { name: "seconds", min: 0, max: 59 },
  { name: "minutes", min: 0, max: 59 },
  { name: "hours", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: MONTHS },
  { name: "day of week", min: 0, max: 6, names: DAYS },
];
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

export function parseSchedule(text: string): Schedule {
  const spec = text.trim().replace(/\s+/g, " ");
  const every = /^every (\d+) ?([smhd])$/i.exec(spec);
  if (every) {
    const seconds = Number(every[1]) * UNIT_SECONDS[every[2]!.toLowerCase()]!;
    if (seconds < 1) throw new ScheduleError(`'${spec}' is no interval: KFP needs at least 1 second.`);
    return { kind: "interval", seconds };
  }
  if (/^every\b/i.test(spec)) throw new ScheduleError(`'${spec}' is not an interval KFP schedules can take: write every <n>s|m|h|d.`);
  if (spec.startsWith("@")) throw new ScheduleError(`'${spec}' is a cron descriptor; write six cron fields or an interval instead.`);
  const parts = spec.split(" ");
  if (parts.length === 5) {
    throw new ScheduleError(
      `'${spec}' has 5 fields, but KFP's cron has 6, seconds first: ` +
        `KFP would read it as second ${parts[0]}, minute ${parts[1]}, hour ${parts[2]}. ` +
        `Put the seconds in front: '0 ${spec}'.`,
    );
  }
  if (parts.length !== 6)
    throw new ScheduleError(
      `'${spec}' has ${parts.length} field(s); a KFP cron has 6: seconds minutes hours day-of-month month day-of-week.`,
    );
  return { kind: "cron", cron: spec, fields: parts.map((part, i) => parseField(part, i)) };
}

function parseField(text: string, index: number): CronField {
  const field = FIELDS[index]!;
  const where = `field ${index + 1} (${field.name}) '${text}'`;
  const values = new Set<number>();
  let star = false;
  for (const item of text.split(",")) {
    const [range = "", step, extra] = item.split("/");
    if (extra !== undefined || step === "" || (step !== undefined && !/^\d+$/.test(step)) || Number(step) === 0) {
      throw new ScheduleError(`${where}: the step after '/' must be a whole number of at least 1.`);
    }
    let low = field.min;
    let high = field.max;
    if (range === "*" || range === "?") star = true;
    else {
      const [from = "", to, more] = range.split("-");
      if (more !== undefined) throw new ScheduleError(`${where}: a range has one '-'.`);
      low = value(from, field, where);
      high = to === undefined ? (step === undefined ? low : field.max) : value(to, field, where);
      if (low > high) throw new ScheduleError(`${where}: the range starts after it ends.`);
    }
    for (let n = low; n <= high; n += Number(step ?? 1)) values.add(n);
  }
  return { values, star };
}

function value(text: string, field: (typeof FIELDS)[number], where: string): number {
  const named = field.names?.indexOf(text.toLowerCase()) ?? -1;
  const n = named >= 0 ? named + field.min : /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= field.min && n <= field.max)) {
    const names = field.names ? ` or a name (${field.names.slice(0, 3).join(", ")}, ...)` : "";
    throw new ScheduleError(`${where}: '${text}' is not a number from ${field.min} to ${field.max}${names}.`);
  }
  return n;
}

// ---------------------------------------------------------------------------
// Fire times

/** The first `count` fire times after `now` (not before `start`, not after `end`), as a new schedule fires. */
export function nextFireTimes(schedule: Schedule, window: { now: number; start?: number; end?: number; count: number }): Date[] {
  const times: Date[] = [];
  const from = Math.max(window.now, window.start ?? -Infinity);
  // A periodic schedule fires at its start time, else one interval after it is created (periodic_schedule.go).
  let next =
    schedule.kind === "interval"
      ? window.start !== undefined && window.start > window.now
        ? window.start
        : window.now + schedule.seconds * 1000
      : cronAfter(schedule.fields, from);
  while (next !== undefined && times.length < window.count && (window.end === undefined || next <= window.end)) {
    times.push(new Date(next));
    next = schedule.kind === "interval" ? next + schedule.seconds * 1000 : cronAfter(schedule.fields, next);
  }
  return times;
}

/** The first second strictly after `after` that the cron matches (robfig/cron's SpecSchedule.Next, in UTC), within 5 years. */
function cronAfter([second, minute, hour, dom, month, dow]: CronField[], after: number): number | undefined {
  let t = new Date(Math.floor(after / 1000) * 1000 + 1000);
  const limit = t.getUTCFullYear() + 5;
  const at = (y: number, mo: number, d = 1, h = 0, mi = 0) => new Date(Date.UTC(y, mo, d, h, mi));
  while (t.getUTCFullYear() <= limit) {
    const [y, mo, d, h, mi] = [t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate(), t.getUTCHours(), t.getUTCMinutes()];
    if (!month!.values.has(mo + 1)) t = at(y, mo + 1);
    else if (!dayMatches(dom!, dow!, t)) t = at(y, mo, d + 1);
    else if (!hour!.values.has(h)) t = at(y, mo, d, h + 1);
    else if (!minute!.values.has(mi)) t = at(y, mo, d, h, mi + 1);
    else if (!second!.values.has(t.getUTCSeconds())) t = new Date(t.getTime() + 1000);
    else return t.getTime();
  }
  return undefined;
}

/** Day of month and day of week must both match when either is `*`, else either may (spec.go dayMatches). */
function dayMatches(dom: CronField, dow: CronField, t: Date): boolean {
  const byDate = dom.values.has(t.getUTCDate());
  const byWeekday = dow.values.has(t.getUTCDay());
  return dom.star || dow.star ? byDate && byWeekday : byDate || byWeekday;
}

// ---------------------------------------------------------------------------
// In words

const DAY_NAMES = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTH_NAMES = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

/** "every 6 hours", "at 02:00:00 UTC, every day", "every 15 minutes, on Monday to Friday". */
export function describeSchedule(schedule: Schedule): string {
  if (schedule.kind === "interval") return `every ${duration(schedule.seconds)}`;
  const [second, minute, hour, dom, month, dow] = schedule.fields as [CronField, CronField, CronField, CronField, CronField, CronField];
  const one = (f: CronField) => (f.values.size === 1 ? [...f.values][0]! : undefined);
  const pad = (n: number) => String(n).padStart(2, "0");
  const [s, m, h] = [one(second), one(minute), one(hour)];
  let when: string;
  if (s !== undefined && m !== undefined && h !== undefined) when = `at ${pad(h)}:${pad(m)}:${pad(s)} UTC`;
  else {
    // "every 15 minutes" says "every hour" already: a whole field after a finer one goes without saying.
    const parts = [unit(second, "second"), unit(minute, "minute"), unit(hour, "hour")].filter(Boolean);
    when = parts.filter((part, i) => i === 0 || !/^every (minute|hour)$/.test(part)).join(", ");
    if (hour.values.size === 24 && m !== undefined && s !== undefined) when = `at minute ${m}${s ? ` second ${s}` : ""} of every hour`;
  }
  const dates = dom.values.size === 31 ? "" : `on day ${list(dom)} of the month`;
  const weekdays = dow.values.size === 7 ? "" : `on ${list(dow, DAY_NAMES)}`;
  const days = [dates, weekdays].filter(Boolean).join(dom.star || dow.star ? " and " : " or ") || "every day";
  const months = month.values.size === 12 ? "" : `, in ${list(month, MONTH_NAMES, 1)}`;
  return `${when}, ${days}${months}`;
}

/** One time field that is not a single value: "every minute", "every 15 minutes", "at minutes 0, 30". */
function unit(field: CronField, name: string): string {
  if (field.values.size === 1) return "";
  const values = [...field.values];
  const step = values[1]! - values[0]!;
  if (field.star && step === 1) return `every ${name}`;
  if (values[0] === 0 && values.every((v, i) => v === i * step) && 60 % step === 0) return `every ${step} ${name}s`;
  return `at ${name}s ${list(field)}`;
}

/** "1, 15" or "Monday to Friday": runs of three or more become ranges. */
function list(field: CronField, names?: string[], first = 0): string {
  const label = (n: number) => names?.[n - first] ?? String(n);
  const values = [...field.values].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < values.length; ) {
    let j = i;
    while (values[j + 1] === values[j]! + 1) j++;
    out.push(
      j - i >= 2
        ? `${label(values[i]!)} to ${label(values[j]!)}`
        : values
            .slice(i, j + 1)
            .map(label)
            .join(", "),
    );
    i = j + 1;
  }
  return out.join(", ");
}

function duration(seconds: number): string {
  for (const [unitName, size] of [
    ["day", 86400],
    ["hour", 3600],
    ["minute", 60],
  ] as const) {
    if (seconds % size === 0) return seconds === size ? unitName : `${seconds / size} ${unitName}s`;
  }
  return seconds === 1 ? "second" : `${seconds} seconds`;
}
