/**
 * Recurring runs as both API versions share them: the objects, the dialect
 * interface and the one class serving it (recurring-v1.ts for v1beta1 jobs and
 * recurring-v2.ts for v2beta1 recurring runs give their paths, keys and shapes),
 * the trigger on the wire, and what each write means in words.
 */

import * as v from "valibot";
import { checkedParser, findAllNamed, readChecked, seg, type KfpSession, type WriteSpec } from "./dialect.ts";
import type { KfpFilter } from "./filter.ts";
import type { CreateRunRequest } from "./types.ts";

/** When runs start: a KFP cron (six fields, seconds first) or an interval, between optional RFC 3339 times. */
export interface RecurringSchedule {
  cron?: string;
  intervalSeconds?: number;
  startTime?: string;
  endTime?: string;
}

export interface RecurringRunSpec extends Omit<CreateRunRequest, "parameters"> {
  /** Already converted to the declared types (strings on v1). */
  parameters: Record<string, unknown>;
  schedule: RecurringSchedule;
  /** 1 to 10 (KFP refuses anything else). */
  maxConcurrency: number;
  catchup: boolean;
  enabled: boolean;
}

export interface RecurringRun {
  id: string;
  name: string;
  description?: string;
  enabled: boolean;
  experimentId?: string;
  pipelineId?: string;
  versionId?: string;
  /** As the server holds them: typed on v2, text on v1. */
  parameters: Record<string, unknown>;
  schedule: RecurringSchedule;
  maxConcurrency?: number;
  catchup: boolean;
  serviceAccount?: string;
  createdAt?: string;
}

/** The API-version-specific half (recurring-v1.ts, recurring-v2.ts). */
export interface RecurringDialect {
  /** Every recurring run in the experiment named exactly `name`. */
  find(experimentId: string, name: string): Promise<RecurringRun[]>;
  get(id: string): Promise<RecurringRun>;
  create(spec: RecurringRunSpec): WriteSpec<RecurringRun>;
  /** The recurring run's path, or the path of its `enable`/`disable` method (`{id}:enable` on v2, `{id}/enable` on v1). */
  path(id: string, method?: "enable" | "disable"): string;
}

/**
 * The answer schemas both API versions share, made on first use: a module with
 * top-level schema calls would stay in every bundle that reaches lib/kfp/mod.ts.
 */
export function sharedSchemas() {
  const str = v.optional(v.string());
  const times = { start_time: str, end_time: str };
  return {
    str,
    /** int64 values are JSON strings in proto JSON; numbers are accepted too. */
    int64: v.optional(v.pipe(v.union([v.string(), v.number()]), v.transform(Number))),
    trigger: v.optional(
      v.looseObject({
        cron_schedule: v.optional(v.looseObject({ cron: str, ...times })),
        periodic_schedule: v.optional(
          v.looseObject({ interval_second: v.optional(v.pipe(v.union([v.string(), v.number()]), v.transform(Number))), ...times }),
        ),
      }),
    ),
  };
}

type TriggerAnswer = v.InferOutput<ReturnType<typeof sharedSchemas>["trigger"]>;

/** The trigger request field (`apiTrigger`, `v2beta1Trigger`). */
export function triggerJson(schedule: RecurringSchedule) {
  const times = { start_time: schedule.startTime, end_time: schedule.endTime };
  if (schedule.cron !== undefined) return { cron_schedule: { cron: schedule.cron, ...times } };
  return { periodic_schedule: { interval_second: String(schedule.intervalSeconds), ...times } };
}

export function toSchedule(trigger: TriggerAnswer): RecurringSchedule {
  const cron = trigger?.cron_schedule;
  const periodic = trigger?.periodic_schedule;
  const schedule = cron ?? periodic;
  return {
    cron: cron?.cron,
    intervalSeconds: cron ? undefined : periodic?.interval_second,
    startTime: schedule?.start_time,
    endTime: schedule?.end_time,
  };
}

/** What each write means, in words: the same on both API versions. */
export const recurringContext = {
  create: (name: string) => ({ operation: `create recurring run "${name}"` }),
  /** get, enable, disable or delete one recurring run. */
  of: (verb: string, id: string) => ({ operation: `${verb} recurring run ${id}`, notFound: `recurring run ${id}` }),
};

type Listing = v.GenericSchema<unknown, { next_page_token?: string }>;

/** What one API version's recurring runs are on the wire: everything the two versions do not share. */
export interface RecurringWire<S extends v.GenericSchema, L extends Listing> {
  /** The collection's path, e.g. `/apis/v2beta1/recurringruns`. */
  collection: string;
  /** What stands before `enable`/`disable` in a method's path. */
  methodSeparator: "/" | ":";
  nameFilter(name: string): KfpFilter;
  /** The list parameters that keep a list to one experiment. */
  inExperiment(experimentId: string): Record<string, string>;
  /** The answer schemas, made on first use (see sharedSchemas). */
  schemas(): { one: S; list: L };
  items(list: v.InferOutput<L>): v.InferOutput<S>[];
  /** The create request's body. */
  body(spec: RecurringRunSpec): Record<string, unknown>;
  toRecurringRun(answer: v.InferOutput<S>): RecurringRun;
}

/** The recurring-run calls, the same on both API versions but for what `wire` says. */
export function recurringApi<S extends v.GenericSchema, L extends Listing>(
  session: KfpSession,
  wire: RecurringWire<S, L>,
): RecurringDialect {
  const { collection, schemas, toRecurringRun } = wire;
  const path = (id: string, method?: "enable" | "disable") => `${collection}/${seg(id)}${method ? `${wire.methodSeparator}${method}` : ""}`;
  return {
    find: (experimentId, name) =>
      findAllNamed(session.http, {
        operation: `find recurring run "${name}" in experiment ${experimentId}`,
        name,
        path: collection,
        filter: wire.nameFilter(name),
        query: wire.inExperiment(experimentId),
        notFound: `experiment ${experimentId}`,
        schema: schemas().list,
        items: (body) => wire.items(body).map(toRecurringRun),
      }),
    get: async (id) =>
      toRecurringRun(await readChecked(session.http, schemas().one, { method: "GET", path: path(id) }, recurringContext.of("get", id))),
    create: (spec) => {
      const request = { method: "POST" as const, path: collection, json: wire.body(spec) };
      const context = recurringContext.create(spec.name);
      return { request, context, parse: checkedParser(session.http, schemas().one, request, context, toRecurringRun) };
    },
    path,
  };
}
