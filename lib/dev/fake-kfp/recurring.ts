/**
 * Recurring runs (v2beta1) and jobs (v1beta1) in the fake KFP: one stored object,
 * two API views, as KFP keeps them in one `jobs` table. Creation applies KFP's
 * checks in KFP's order (kubeflow/pipelines backend/src/apiserver):
 * server/api_converter.go toModelJob (name, max concurrency 1..10, the cron as
 * robfig/cron v1.2.0 parses it, interval >= 1 s), server/job_server.go createJob
 * (experiment and namespace), resource/resource_manager.go CreateJob (the
 * version's template and the job's inputs).
 */

import { FakeHttpError, badRequest, notFound, readMessage, type MessageSpec } from "./http.ts";
import { type ListKeys, listPage } from "./list.ts";
import { checkRunParameters, listAnswer, type FakeContext, type Route, type RunInit } from "./routes.ts";
import type { FakeRecurringRun, FakeTrigger } from "./types.ts";

const DEFAULT_SERVICE_ACCOUNT = "pipeline-runner";

/** What a recurring run's body says: what a run's says, and its namespace and schedule. */
export interface RecurringRunInit extends RunInit {
  /** v1 NAMESPACE reference or v2 `namespace` (output only on v2, but read by toModelJob). */
  namespace?: string;
  /** Absent means 0, which KFP refuses. */
  maxConcurrency?: number;
  noCatchup?: boolean;
  enabled: boolean;
  trigger: FakeTrigger;
}

function createRecurringRun(ctx: FakeContext, init: RecurringRunInit): FakeRecurringRun {
  // api_converter.go toModelJob.
  if (!init.name) throw badRequest("Recurring run's name cannot be empty");
  const maxConcurrency = init.maxConcurrency ?? 0;
  if (maxConcurrency < 1 || maxConcurrency > 10) {
    throw badRequest(`Max concurrency of a recurring run must be at least 1 and at most 10. Received ${maxConcurrency}`);
  }
  const { cron, intervalSecond } = init.trigger;
  const cronProblem = cron === undefined ? undefined : robfigCronProblem(cron);
  if (cronProblem)
    throw badRequest(`Schedule cron is not a supported format(https://godoc.org/github.com/robfig/cron). Error: ${cronProblem}`);
  if (intervalSecond !== undefined && intervalSecond < 1) {
    throw badRequest(`Found invalid period schedule interval ${intervalSecond}. Set at interval to least 1 second`);
  }
  // job_server.go createJob: GetValidExperimentNamespacePair, then the namespace rule of multi-user mode.
  const experiment = init.experimentId ? ctx.store.experiment(init.experimentId) : ctx.store.defaultExperiment();
  const namespace = ctx.store.namespace(init.namespace);
  if (namespace && namespace !== experiment.namespace) {
    throw badRequest(`Experiment ${experiment.id} is in namespace "${experiment.namespace}", not in "${namespace}"`);
  }
  if (ctx.multiUser && !experiment.namespace) throw badRequest("Recurring run cannot have an empty namespace in multi-user mode");
  // resource_manager.go CreateJob: the version's template checks the job's inputs.
  checkRunParameters(init.version, init.parameters, init.typed);
  const now = ctx.store.now();
  const recurringRun: FakeRecurringRun = {
    id: ctx.store.newId(),
    name: init.name,
    description: init.description ?? "",
    experimentId: experiment.id,
    namespace: experiment.namespace,
    pipelineId: init.version.pipelineId,
    versionId: init.version.id,
    parameters: init.parameters,
    typed: init.typed,
    // template.go setDefaultServiceAccount and resource_manager.go CreateJob: an empty one becomes the default
    // runner (common/const.go DefaultPipelineRunnerServiceAccount; Kubeflow's manifests set default-editor).
    serviceAccount: init.serviceAccount || DEFAULT_SERVICE_ACCOUNT,
    maxConcurrency,
    noCatchup: init.noCatchup ?? false,
    enabled: init.enabled,
    trigger: { ...init.trigger, startTime: wholeSeconds(init.trigger.startTime), endTime: wholeSeconds(init.trigger.endTime) },
    createdAt: now,
    updatedAt: now,
  };
  ctx.store.state.recurringRuns.push(recurringRun);
  return recurringRun;
}

/**
 * What the v1beta1 jobs and the v2beta1 recurring runs differ in. KFP serves both from one job server over one
 * table (server/job_server.go), so the routes are one frame (recurringRunRoutes) filled in from this.
 */
export interface RecurringRunApi {
  api: "v1" | "v2";
  /** The collection: `/apis/v1beta1/jobs` or `/apis/v2beta1/recurringruns`. */
  collection: string;
  /** The path parameter naming one: `id` (v1) or `recurring_run_id` (v2). */
  idParam: string;
  /** Between the ID and a custom method: `/enable` on v1, `:enable` on v2. */
  methodSeparator: "/" | ":";
  /** The list answer's field: `jobs`, or `recurringRuns` (v2: the proto's name, which the marshaler keeps). */
  listKey: string;
  /** Which recurring runs a list call asks for, from its query. */
  scope(query: Record<string, string>): { experimentId?: string; namespace?: string };
  /** The create request's body (Job or RecurringRun). */
  body: MessageSpec;
  /** What the body says that the two APIs say differently: the run's fields, the namespace, enabled or not. */
  init(ctx: FakeContext, body: Record<string, unknown>): Omit<RecurringRunInit, "maxConcurrency" | "noCatchup" | "trigger">;
  render(ctx: FakeContext, recurringRun: FakeRecurringRun): unknown;
}

/** Create, list, get, delete, enable and disable, as `api` spells them. */
export function recurringRunRoutes(api: RecurringRunApi): Route[] {
  const one = `${api.collection}/{${api.idParam}}`;
  const id = (params: Record<string, string>) => params[api.idParam]!;
  return [
    {
      method: "POST",
      template: api.collection,
      handle: (ctx, req) => {
        const body = readMessage(req.json, api.body, ctx.strictBodies);
        const recurringRun = createRecurringRun(ctx, {
          ...api.init(ctx, body),
          maxConcurrency: body.max_concurrency as number | undefined,
          noCatchup: body.no_catchup as boolean | undefined,
          trigger: readTrigger(body.trigger as Record<string, unknown> | undefined),
        });
        return api.render(ctx, recurringRun);
      },
    },
    {
      method: "GET",
      template: api.collection,
      handle: (ctx, req) => {
        const page = listPage(recurringRunsIn(ctx, api.scope(req.query)), req.query, api.api, RECURRING_RUN_KEYS);
        return listAnswer(api.listKey, page, (recurringRun) => api.render(ctx, recurringRun));
      },
    },
    { method: "GET", template: one, handle: (ctx, _req, params) => api.render(ctx, findRecurringRun(ctx, id(params))) },
    { method: "DELETE", template: one, handle: (ctx, _req, params) => deleteRecurringRun(ctx, id(params)) },
    {
      method: "POST",
      template: `${one}${api.methodSeparator}enable`,
      handle: (ctx, _req, params) => setRecurringRunEnabled(ctx, id(params), true),
    },
    {
      method: "POST",
      template: `${one}${api.methodSeparator}disable`,
      handle: (ctx, _req, params) => setRecurringRunEnabled(ctx, id(params), false),
    },
  ];
}

/** storage/job_store.go GetJob: a missing ID is a NotFound (404). */
function findRecurringRun(ctx: FakeContext, id: string): FakeRecurringRun {
  const found = ctx.store.state.recurringRuns.find((r) => r.id === id);
  if (!found) throw notFound(`ResourceNotFoundError: Job ${id} not found`);
  return found;
}

/** resource_manager.go ChangeJobMode: patches the ScheduledWorkflow and the row; enabling twice is harmless. */
function setRecurringRunEnabled(ctx: FakeContext, id: string, enabled: boolean): Record<string, never> {
  const found = findRecurringRun(ctx, id);
  found.enabled = enabled;
  found.updatedAt = ctx.store.now();
  return {};
}

/** resource_manager.go DeleteJob: a second delete finds no row and is a 404. */
function deleteRecurringRun(ctx: FakeContext, id: string): Record<string, never> {
  const found = findRecurringRun(ctx, id);
  ctx.store.state.recurringRuns.splice(ctx.store.state.recurringRuns.indexOf(found), 1);
  return {};
}

/** model/job.go jobAPIToModelFieldMap: the same keys on both APIs. */
const RECURRING_RUN_KEYS: ListKeys<FakeRecurringRun> = {
  id: (r) => r.id,
  recurring_run_id: (r) => r.id,
  name: (r) => r.name,
  display_name: (r) => r.name,
  created_at: (r) => Date.parse(r.createdAt),
  updated_at: (r) => Date.parse(r.updatedAt),
  description: (r) => r.description,
};

/** The recurring runs a list call sees: of one experiment, or of one namespace (job_server.go listJobs). */
function recurringRunsIn(ctx: FakeContext, scope: { experimentId?: string; namespace?: string }): FakeRecurringRun[] {
  const all = ctx.store.state.recurringRuns;
  if (scope.experimentId) {
    ctx.store.experiment(scope.experimentId);
    return all.filter((r) => r.experimentId === scope.experimentId);
  }
  // canAccessJob: in multi-user mode a list without a namespace is refused.
  if (ctx.multiUser && !scope.namespace) throw badRequest("a recurring run cannot have an empty namespace in multi-user mode");
  const namespace = ctx.store.namespace(scope.namespace);
  return all.filter((r) => r.namespace === namespace);
}

/** A timestamp request field: RFC 3339 (protojson), kept to whole seconds as KFP stores Unix seconds. */
export function readTimestamp(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  const ms = typeof value === "string" && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms))
    throw new FakeHttpError(400, `proto: invalid value for google.protobuf.Timestamp field ${field}: ${JSON.stringify(value)}`);
  return value as string;
}

function wholeSeconds(time: string | undefined): string | undefined {
  return time === undefined ? undefined : new Date(Math.floor(Date.parse(time) / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** A trigger as both APIs render it: `cron_schedule` or `periodic_schedule` (api_converter.go toApiTrigger). */
export function renderTrigger(trigger: FakeTrigger): Record<string, unknown> {
  const times = { start_time: trigger.startTime, end_time: trigger.endTime };
  if (trigger.cron) return { cron_schedule: { ...times, cron: trigger.cron } };
  if (trigger.intervalSecond) return { periodic_schedule: { ...times, interval_second: String(trigger.intervalSecond) } };
  return {};
}

/** Reads a request's `trigger` message, already read by readMessage. */
function readTrigger(trigger: Record<string, unknown> | undefined): FakeTrigger {
  const cron = trigger?.cron_schedule as Record<string, unknown> | undefined;
  const periodic = trigger?.periodic_schedule as Record<string, unknown> | undefined;
  const schedule = cron ?? periodic;
  const times = {
    startTime: readTimestamp(schedule?.start_time, "start_time"),
    endTime: readTimestamp(schedule?.end_time, "end_time"),
  };
  // A oneof: the cron wins when both are given, as toModelTrigger reads it.
  if (cron) return { cron: (cron.cron as string | undefined) ?? "", ...times };
  if (periodic) return { intervalSecond: periodic.interval_second as number | undefined, ...times };
  return {};
}

const TIMESTAMP_FIELDS = { start_time: "string", end_time: "string" } as const;

/** The trigger message of both APIs' swagger (`apiTrigger`, `v2beta1Trigger`). */
export const TRIGGER_MESSAGE: MessageSpec = {
  name: "Trigger",
  fields: {
    cron_schedule: { message: { name: "CronSchedule", fields: { ...TIMESTAMP_FIELDS, cron: "string" } } },
    periodic_schedule: { message: { name: "PeriodicSchedule", fields: { ...TIMESTAMP_FIELDS, interval_second: "number" } } },
  },
};

// ---- robfig/cron v1.2.0, as KFP validates and runs schedules (go.mod: github.com/robfig/cron v1.2.0) ----

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/** spec.go bounds: seconds, minutes, hours, day of month, month (names), day of week 0-6 (names). */
const BOUNDS: { min: number; max: number; names?: string[]; first?: number }[] = [
  { min: 0, max: 59 },
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: MONTHS, first: 1 },
  { min: 0, max: 6, names: DAYS, first: 0 },
];

const DESCRIPTORS = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"];

/**
 * What robfig/cron v1.2.0's `cron.Parse` says about a spec, undefined when it
 * accepts it: parser.go defaultParser = Second | Minute | Hour | Dom | Month |
 * DowOptional | Descriptor, so 5 fields are accepted too, read as seconds to month.
 */
export function robfigCronProblem(spec: string): string | undefined {
  if (spec.length === 0) return "Empty spec string";
  if (spec.startsWith("@")) {
    if (DESCRIPTORS.includes(spec)) return undefined;
    if (spec.startsWith("@every ")) {
      return /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(spec.slice(7)) ? undefined : `Failed to parse duration ${spec}`;
    }
    return `Unrecognized descriptor: ${spec}`;
  }
  const fields = spec.split(/\s+/).filter(Boolean);
  if (fields.length < 5 || fields.length > 6) return `Expected 5 to 6 fields, found ${fields.length}: ${spec}`;
  for (const [i, field] of fields.entries()) {
    for (const expr of field.split(",").filter(Boolean)) {
      const problem = rangeProblem(expr, BOUNDS[i]!);
      if (problem) return problem;
    }
  }
  return undefined;
}

/** parser.go getRange. */
function rangeProblem(expr: string, bounds: (typeof BOUNDS)[number]): string | undefined {
  const rangeAndStep = expr.split("/");
  const lowAndHigh = rangeAndStep[0]!.split("-");
  let start: number;
  let end: number;
  if (lowAndHigh[0] === "*" || lowAndHigh[0] === "?") {
    start = bounds.min;
    end = bounds.max;
  } else {
    if (lowAndHigh.length > 2) return `Too many hyphens: ${expr}`;
    const low = intOrName(lowAndHigh[0]!, bounds);
    const high = lowAndHigh.length === 2 ? intOrName(lowAndHigh[1]!, bounds) : low;
    if (typeof low === "string") return low;
    if (typeof high === "string") return high;
    start = low;
    end = high;
  }
  let step = 1;
  if (rangeAndStep.length > 2) return `Too many slashes: ${expr}`;
  if (rangeAndStep.length === 2) {
    const parsed = atoi(rangeAndStep[1]!);
    if (typeof parsed === "string") return parsed;
    step = parsed;
    if (lowAndHigh.length === 1) end = bounds.max;
  }
  if (start < bounds.min) return `Beginning of range (${start}) below minimum (${bounds.min}): ${expr}`;
  if (end > bounds.max) return `End of range (${end}) above maximum (${bounds.max}): ${expr}`;
  if (start > end) return `Beginning of range (${start}) beyond end of range (${end}): ${expr}`;
  if (step === 0) return `Step of range should be a positive number: ${expr}`;
  return undefined;
}

function intOrName(text: string, bounds: (typeof BOUNDS)[number]): number | string {
  const named = bounds.names?.indexOf(text.toLowerCase()) ?? -1;
  return named >= 0 ? named + (bounds.first ?? 0) : atoi(text);
}

/** Go's strconv.Atoi, then mustParseInt's refusal of negatives. */
function atoi(text: string): number | string {
  if (!/^[+-]?\d+$/.test(text)) return `Failed to parse int from ${text}: strconv.Atoi: parsing "${text}": invalid syntax`;
  const n = Number(text);
  return n < 0 ? `Negative number (${n}) not allowed: ${text}` : n;
}
