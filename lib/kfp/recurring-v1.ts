/**
 * Recurring runs on v1beta1 (KFP 1.8, still served by 2.x): `/apis/v1beta1/jobs`,
 * `/enable`, `/disable`; the experiment and version as resource references, an
 * `enabled` flag, text parameters.
 */

import * as v from "valibot";
import { nonEmpty, type KfpSession } from "./dialect.ts";
import { equalsFilter } from "./filter.ts";
import { recurringApi, sharedSchemas, toSchedule, triggerJson, type RecurringDialect, type RecurringRun } from "./recurring-dialect.ts";
import { V1Parameter, V1References } from "./schemas.ts";
import { referenced, v1PipelineSource } from "./v1.ts";

const API = "/apis/v1beta1/jobs";

/** Made on first use (see sharedSchemas). */
function schemas() {
  const { str, int64, trigger } = sharedSchemas();
  const job = v.looseObject({
    id: v.string(),
    name: str,
    description: str,
    enabled: v.optional(v.boolean()),
    pipeline_spec: v.optional(
      v.looseObject({
        parameters: v.optional(v.array(V1Parameter)),
        // KFP 2.x answers with the typed map for v2 pipelines.
        runtime_config: v.optional(v.looseObject({ parameters: v.optional(v.record(v.string(), v.unknown())) })),
      }),
    ),
    resource_references: V1References,
    service_account: str,
    max_concurrency: int64,
    no_catchup: v.optional(v.boolean()),
    trigger,
    created_at: str,
  });
  return { one: job, list: v.looseObject({ jobs: v.optional(v.array(job)), next_page_token: str }) };
}
let made: ReturnType<typeof schemas> | undefined;
const schema = () => (made ??= schemas());
type V1Job = v.InferOutput<ReturnType<typeof schemas>["one"]>;

export function v1Recurring(session: KfpSession): RecurringDialect {
  return recurringApi(session, {
    collection: API,
    methodSeparator: "/",
    nameFilter: (name) => equalsFilter("v1beta1", "name", name),
    inExperiment: (experimentId) => ({ "resource_reference_key.type": "EXPERIMENT", "resource_reference_key.id": experimentId }),
    schemas: schema,
    items: (list) => list.jobs ?? [],
    body: (spec) => ({
      name: spec.name,
      description: nonEmpty(spec.description),
      ...v1PipelineSource(spec),
      max_concurrency: String(spec.maxConcurrency),
      trigger: triggerJson(spec.schedule),
      enabled: spec.enabled,
      no_catchup: !spec.catchup,
    }),
    toRecurringRun,
  });
}

function toRecurringRun(job: V1Job): RecurringRun {
  const text = job.pipeline_spec?.parameters;
  return {
    id: job.id,
    name: job.name ?? "",
    description: job.description,
    enabled: job.enabled === true,
    experimentId: referenced(job.resource_references, "EXPERIMENT"),
    versionId: referenced(job.resource_references, "PIPELINE_VERSION"),
    parameters: text ? Object.fromEntries(text.map((p) => [p.name, p.value ?? ""])) : (job.pipeline_spec?.runtime_config?.parameters ?? {}),
    schedule: toSchedule(job.trigger),
    maxConcurrency: job.max_concurrency,
    catchup: !job.no_catchup,
    serviceAccount: job.service_account,
    createdAt: job.created_at,
  };
}
