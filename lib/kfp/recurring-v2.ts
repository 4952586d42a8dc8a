/**
 * Recurring runs on v2beta1 (KFP 2.x): `/apis/v2beta1/recurringruns`, `:enable`,
 * `:disable`, mode ENABLE/DISABLE on creation, status ENABLED/DISABLED after.
 */

import * as v from "valibot";
import { checkedParser, findAllNamed, nonEmpty, readChecked, seg, type KfpSession, type WriteSpec } from "./dialect.ts";
import { equalsFilter } from "./filter.ts";
import {
  recurringContext,
  sharedSchemas,
  toSchedule,
  triggerJson,
  type RecurringDialect,
  type RecurringRun,
  type RecurringRunSpec,
} from "./recurring-dialect.ts";
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
  return { recurringRun, list: v.looseObject({ recurringRuns: v.optional(v.array(recurringRun)), next_page_token: str }) };
}
let made: ReturnType<typeof schemas> | undefined;
const schema = () => (made ??= schemas());
type V2RecurringRun = v.InferOutput<ReturnType<typeof schemas>["recurringRun"]>;

export class V2Recurring implements RecurringDialect {
  constructor(private readonly session: KfpSession) {}

  find(experimentId: string, name: string): Promise<RecurringRun[]> {
    return findAllNamed(this.session.http, {
      operation: `find recurring run "${name}" in experiment ${experimentId}`,
      name,
      path: API,
      filter: equalsFilter("v2beta1", "display_name", name),
      query: { experiment_id: experimentId },
      notFound: `experiment ${experimentId}`,
      schema: schema().list,
      items: (body) => (body.recurringRuns ?? []).map(toRecurringRun),
    });
  }

  async get(id: string): Promise<RecurringRun> {
    return toRecurringRun(
      await readChecked(this.session.http, schema().recurringRun, { method: "GET", path: this.path(id) }, recurringContext.of("get", id)),
    );
  }

  create(spec: RecurringRunSpec): WriteSpec<RecurringRun> {
    const json = {
      display_name: spec.name,
      description: nonEmpty(spec.description),
      ...v2PipelineSource(spec),
      max_concurrency: String(spec.maxConcurrency),
      trigger: triggerJson(spec.schedule),
      mode: spec.enabled ? "ENABLE" : "DISABLE",
      no_catchup: !spec.catchup,
    };
    const request = { method: "POST" as const, path: API, json };
    const context = recurringContext.create(spec.name);
    return { request, context, parse: checkedParser(this.session.http, schema().recurringRun, request, context, toRecurringRun) };
  }

  path(id: string, method?: "enable" | "disable"): string {
    return `${API}/${seg(id)}${method ? `:${method}` : ""}`;
  }
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
