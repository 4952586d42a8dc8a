/**
 * Recurring runs on v1beta1 (KFP 1.8, still served by 2.x): `/apis/v1beta1/jobs`,
 * `/enable`, `/disable`; the experiment and version as resource references, an
 * `enabled` flag, text parameters.
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
  return { job, list: v.looseObject({ jobs: v.optional(v.array(job)), next_page_token: str }) };
}
let made: ReturnType<typeof schemas> | undefined;
const schema = () => (made ??= schemas());
type V1Job = v.InferOutput<ReturnType<typeof schemas>["job"]>;

export class V1Recurring implements RecurringDialect {
  constructor(private readonly session: KfpSession) {}

  find(experimentId: string, name: string): Promise<RecurringRun[]> {
    return findAllNamed(this.session.http, {
      operation: `find recurring run "${name}" in experiment ${experimentId}`,
      name,
      path: API,
      filter: equalsFilter("v1beta1", "name", name),
      query: { "resource_reference_key.type": "EXPERIMENT", "resource_reference_key.id": experimentId },
      notFound: `experiment ${experimentId}`,
      schema: schema().list,
      items: (body) => (body.jobs ?? []).map(toRecurringRun),
    });
  }

  async get(id: string): Promise<RecurringRun> {
    return toRecurringRun(
      await readChecked(this.session.http, schema().job, { method: "GET", path: this.path(id) }, recurringContext.of("get", id)),
    );
  }

  create(spec: RecurringRunSpec): WriteSpec<RecurringRun> {
    const json = {
      name: spec.name,
      description: nonEmpty(spec.description),
      ...v1PipelineSource(spec),
      max_concurrency: String(spec.maxConcurrency),
      trigger: triggerJson(spec.schedule),
      enabled: spec.enabled,
      no_catchup: !spec.catchup,
    };
    const request = { method: "POST" as const, path: API, json };
    const context = recurringContext.create(spec.name);
    return { request, context, parse: checkedParser(this.session.http, schema().job, request, context, toRecurringRun) };
  }

  path(id: string, method?: "enable" | "disable"): string {
    return `${API}/${seg(id)}${method ? `/${method}` : ""}`;
  }
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
