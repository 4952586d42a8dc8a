/**
 * Valibot schemas of the KFP answers the client relies on (v1beta1 and
 * v2beta1), and `checkAnswer`, which turns an answer that does not fit into a
 * KfpError "protocol" naming the request and the field. The server leaves out
 * empty fields, so everything except the IDs we need is optional; unknown
 * fields are allowed (newer servers add them).
 */

import * as v from "valibot";
import { KfpError } from "./error.ts";

const str = v.optional(v.string());

// --- healthz (API server and UI proxy shapes) ---

export const Healthz = v.looseObject({
  multi_user: v.optional(v.boolean()),
  tag_name: str,
  // The KFP UI server answers healthz itself, with these names.
  apiServerReady: v.optional(v.boolean()),
  apiServerMultiUser: v.optional(v.boolean()),
  apiServerTagName: str,
});

// --- v1beta1 ---

const V1ResourceReference = v.looseObject({
  key: v.optional(v.looseObject({ type: str, id: str })),
  relationship: str,
});
export const V1References = v.optional(v.array(V1ResourceReference));
export const V1Parameter = v.looseObject({ name: v.string(), value: str });

export const V1Version = v.looseObject({
  id: v.string(),
  name: str,
  description: str,
  created_at: str,
  parameters: v.optional(v.array(V1Parameter)),
  resource_references: V1References,
});

/** The fields read of a v1beta1 pipeline are those of a version (apiPipeline, apiPipelineVersion), plus its default version. */
export const V1Pipeline = v.looseObject({ ...V1Version.entries, default_version: v.optional(V1Version) });

export const V1Experiment = v.looseObject({
  id: v.string(),
  name: str,
  description: str,
  created_at: str,
  resource_references: V1References,
});

export const V1Run = v.looseObject({
  id: v.string(),
  name: str,
  description: str,
  status: str,
  error: str,
  created_at: str,
  finished_at: str,
  resource_references: V1References,
});

export const V1RunDetail = v.looseObject({ run: V1Run });

const nextPageToken = str;
export const V1PipelineList = v.looseObject({ pipelines: v.optional(v.array(V1Pipeline)), next_page_token: nextPageToken });
export const V1VersionList = v.looseObject({ versions: v.optional(v.array(V1Version)), next_page_token: nextPageToken });
export const V1ExperimentList = v.looseObject({ experiments: v.optional(v.array(V1Experiment)), next_page_token: nextPageToken });
export const V1RunList = v.looseObject({ runs: v.optional(v.array(V1Run)), next_page_token: nextPageToken });

// --- v2beta1 ---

export const V2Pipeline = v.looseObject({
  pipeline_id: v.string(),
  // Before 2.14 only display_name exists (and is the unique name).
  name: str,
  display_name: str,
  description: str,
  namespace: str,
  created_at: str,
});

export const V2Version = v.looseObject({
  pipeline_id: str,
  pipeline_version_id: v.string(),
  name: str,
  display_name: str,
  description: str,
  created_at: str,
  pipeline_spec: v.optional(v.unknown()),
});

export const V2Experiment = v.looseObject({
  experiment_id: v.string(),
  display_name: str,
  description: str,
  namespace: str,
  created_at: str,
});

const V2Status = v.looseObject({ message: str });

const V2TaskDetail = v.looseObject({
  task_id: str,
  display_name: str,
  state: str,
  parent_task_id: str,
  error: v.optional(V2Status),
});

export const V2Run = v.looseObject({
  run_id: v.string(),
  display_name: str,
  description: str,
  experiment_id: str,
  state: str,
  error: v.optional(V2Status),
  created_at: str,
  finished_at: str,
  run_details: v.optional(v.looseObject({ task_details: v.optional(v.array(V2TaskDetail)) })),
});

export const V2PipelineList = v.looseObject({ pipelines: v.optional(v.array(V2Pipeline)), next_page_token: nextPageToken });
export const V2VersionList = v.looseObject({ pipeline_versions: v.optional(v.array(V2Version)), next_page_token: nextPageToken });
export const V2ExperimentList = v.looseObject({ experiments: v.optional(v.array(V2Experiment)), next_page_token: nextPageToken });
export const V2RunList = v.looseObject({ runs: v.optional(v.array(V2Run)), next_page_token: nextPageToken });

// --- pipeline spec (IR) parameters, as the server returns a version's spec ---

const IrParameter = v.looseObject({
  parameterType: str,
  /** Pre-2.0 IR used `type`: STRING, INT, DOUBLE. */
  type: str,
  isOptional: v.optional(v.boolean()),
  defaultValue: v.optional(v.unknown()),
});

export const IrSpec = v.looseObject({
  root: v.optional(
    v.looseObject({ inputDefinitions: v.optional(v.looseObject({ parameters: v.optional(v.record(v.string(), IrParameter)) })) }),
  ),
});

/** An Argo workflow (KFP v1 pipeline) as stored by a 2.x server. */
export const ArgoSpec = v.looseObject({
  kind: v.literal("Workflow"),
  spec: v.optional(v.looseObject({ arguments: v.optional(v.looseObject({ parameters: v.optional(v.array(V1Parameter)) })) })),
});

/** Checks an answer against its schema; a misfit is a KfpError "protocol" naming the request and field. */
export function checkAnswer<S extends v.GenericSchema>(
  schema: S,
  answer: unknown,
  where: { operation: string; method: string; path: string },
): v.InferOutput<S> {
  const result = v.safeParse(schema, answer);
  if (result.success) return result.output;
  const issue = result.issues[0];
  const field = v.getDotPath(issue) ?? "the answer";
  return protocolError(where, `${field}: ${issue.message}`);
}

function protocolError(where: { operation: string; method: string; path: string }, problem: string): never {
  throw new KfpError({
    kind: "protocol",
    operation: where.operation,
    method: where.method,
    path: where.path,
    message: `${where.operation} failed: the answer to ${where.method} ${where.path} is not what the KFP API documents (${problem}).`,
    hint: "Check that the endpoint is a Kubeflow Pipelines server and the API version is right.",
  });
}
