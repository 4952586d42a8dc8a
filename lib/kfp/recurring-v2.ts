/**
 * Recurring runs on v2beta1 (KFP 2.x): `/apis/v2beta1/recurringruns`, `:enable`,
 * `:disable`, mode ENABLE/DISABLE on creation, status ENABLED/DISABLED after.
 */

import * as v from "valibot";
import { nonEmpty, type KfpSession } from "./dialect.ts";
import { equalsFilter } from "./filter.ts";
import { recurringApi, sharedSchemas, toSchedule, triggerJson, type RecurringDialect, type RecurringRun } from "./recurring-dialect.ts";
import { v2PipelineSource } from "./v2.ts";

const API = "/apis/v2beta1/recurringruns";

/** Made on first use (see sharedSchemas). */
function schemas() {
  const { str, int64, trigger } = sharedSchemas();
  const recurringRun = v.looseObject({
    recurring_run_id: v.string(),
    display_name: str,
    description: str,
    experiment_id: str,
    status: str,
    pipeline_version_reference: v.optional(v.looseObject({ pipeline_id: str, pipeline_version_id: str })),
    runtime_config: v.optional(v.looseObject({ parameters: v.optional(v.record(v.string(), v.unknown())) })),
    service_account: str,
    max_concurrency: int64,
    no_catchup: v.optional(v.boolean()),
    trigger,
    created_at: str,
  });
  // The proto names the list field recurringRuns, and KFP's marshaler keeps proto names.
  return { one: recurringRun, list: v.looseObject({ recurringRuns: v.optional(v.array(recurringRun)), next_page_token: str }) };
}
let made: ReturnType<typeof schemas> | undefined;
const schema = () => (made ??= schemas());
type V2RecurringRun = v.InferOutput<ReturnType<typeof schemas>["one"]>;

export function v2Recurring(session: KfpSession): RecurringDialect {
  return recurringApi(session, {
    collection: API,
    methodSeparator: ":",
    nameFilter: (name) => equalsFilter("v2beta1", "display_name", name),
    inExperiment: (experimentId) => ({ experiment_id: experimentId }),
    schemas: schema,
    items: (list) => list.recurringRuns ?? [],
    body: (spec) => ({
      display_name: spec.name,
      description: nonEmpty(spec.description),
      ...v2PipelineSource(spec),
      max_concurrency: String(spec.maxConcurrency),
      trigger: triggerJson(spec.schedule),
      mode: spec.enabled ? "ENABLE" : "DISABLE",
      no_catchup: !spec.catchup,
    }),
    toRecurringRun,
  });
}

function toRecurringRun(r: V2RecurringRun): RecurringRun {
  return {
    id: r.recurring_run_id,
    name: r.display_name ?? "",
    description: r.description,
    enabled: r.status === "ENABLED",
    experimentId: r.experiment_id,
    pipelineId: r.pipeline_version_reference?.pipeline_id,
    versionId: r.pipeline_version_reference?.pipeline_version_id,
    parameters: r.runtime_config?.parameters ?? {},
    schedule: toSchedule(r.trigger),
    maxConcurrency: r.max_concurrency,
    catchup: !r.no_catchup,
    serviceAccount: r.service_account,
    createdAt: r.created_at,
  };
}
