/**
 * The v1beta1 API of the fake KFP server, as KFP 1.8 serves it and as KFP 2.x
 * still serves it over the same data: routes, body reading (resource
 * references, string parameters) and rendering (run status words, default versions).
 */

import type { FakeExperiment, FakePipeline, FakeRecurringRun, FakeRun } from "./types.ts";
import { FakeHttpError, badRequest, notFound, omitEmpty, readMessage, type FieldSpec, type MessageSpec } from "./http.ts";
import { listPage, type ListKeys } from "./list.ts";
import {
  EXPERIMENT_KEYS,
  PIPELINE_KEYS,
  RUN_KEYS,
  VERSION_KEYS,
  inlineVersion,
  listAnswer,
  requireNamespace,
  runRoutes,
  runVersion,
  uploadRoutes,
  type FakeContext,
  type Route,
} from "./routes.ts";
import type { StoredVersion } from "./state.ts";
import { isObject, parsePipelineSpec } from "./package.ts";
import { type RecurringRunApi, TRIGGER_MESSAGE, recurringRunRoutes, renderTrigger } from "./recurring.ts";

const BASE = "/apis/v1beta1";

const RESOURCE_TYPES = ["UNKNOWN_RESOURCE_TYPE", "EXPERIMENT", "JOB", "PIPELINE", "PIPELINE_VERSION", "NAMESPACE"];

const RESOURCE_REFERENCE: MessageSpec = {
  name: "api.ResourceReference",
  fields: {
    key: { message: { name: "api.ResourceKey", fields: { type: { enum: RESOURCE_TYPES }, id: "string" } } },
    name: "string",
    relationship: { enum: ["UNKNOWN_RELATIONSHIP", "OWNER", "CREATOR"] },
  },
};

/** Experiments, runs and jobs name their owners and what they run as a list of these. */
const RESOURCE_REFERENCES: FieldSpec = { repeated: { message: RESOURCE_REFERENCE } };

const EXPERIMENT_BODY: MessageSpec = {
  name: "api.Experiment",
  fields: {
    id: "string",
    name: "string",
    description: "string",
    created_at: "string",
    resource_references: RESOURCE_REFERENCES,
    storage_state: { enum: ["STORAGESTATE_UNSPECIFIED", "STORAGESTATE_AVAILABLE", "STORAGESTATE_ARCHIVED"] },
  },
};

const RUN_BODY: MessageSpec = {
  name: "api.Run",
  fields: {
    id: "string",
    name: "string",
    storage_state: { enum: ["STORAGESTATE_AVAILABLE", "STORAGESTATE_ARCHIVED"] },
    description: "string",
    pipeline_spec: {
      message: {
        name: "api.PipelineSpec",
        fields: {
          pipeline_id: "string",
          pipeline_name: "string",
          workflow_manifest: "string",
          pipeline_manifest: "string",
          parameters: { repeated: { message: { name: "api.Parameter", fields: { name: "string", value: "string" } } } },
          runtime_config: {
            message: { name: "api.PipelineSpec.RuntimeConfig", fields: { parameters: { map: "any" }, pipeline_root: "string" } },
          },
        },
      },
    },
    resource_references: RESOURCE_REFERENCES,
    service_account: "string",
    created_at: "string",
    scheduled_at: "string",
    finished_at: "string",
    status: "string",
    error: "string",
    metrics: "any",
  },
};

/** v1beta1/job.proto Job: the run's pipeline_spec and references, plus the schedule. */
const JOB_BODY: MessageSpec = {
  name: "api.Job",
  fields: {
    id: "string",
    name: "string",
    description: "string",
    pipeline_spec: RUN_BODY.fields.pipeline_spec!,
    resource_references: RESOURCE_REFERENCES,
    service_account: "string",
    max_concurrency: "number",
    trigger: { message: TRIGGER_MESSAGE },
    mode: { enum: ["UNKNOWN_MODE", "ENABLED", "DISABLED"] },
    created_at: "string",
    updated_at: "string",
    status: "string",
    error: "string",
    enabled: "bool",
    no_catchup: "bool",
  },
};

interface Reference {
  key?: { type?: string; id?: string };
  relationship?: string;
}

/** v2 state to the v1 status word. 1.8 reports Argo phases; 2.x maps CANCELED to Failed too. */
const V1_STATUS: Record<string, string> = {
  PENDING: "Pending",
  RUNNING: "Running",
  SUCCEEDED: "Succeeded",
  FAILED: "Failed",
  ERROR: "Error",
  SKIPPED: "Skipped",
  CANCELING: "Terminating",
  CANCELED: "Failed",
  PAUSED: "Pending",
};

const V1_EXPERIMENT_KEYS: ListKeys<FakeExperiment> = { ...EXPERIMENT_KEYS, storage_state: () => "STORAGESTATE_AVAILABLE" };

const V1_RUN_KEYS: ListKeys<FakeRun> = {
  ...RUN_KEYS,
  storage_state: () => "STORAGESTATE_AVAILABLE",
  status: (r) => V1_STATUS[r.state] ?? "",
};

function v1Parameters(v: StoredVersion) {
  return v.parameters.map((p) =>
    omitEmpty({
      name: p.name,
      value:
        p.defaultValue === undefined ? undefined : typeof p.defaultValue === "string" ? p.defaultValue : JSON.stringify(p.defaultValue),
    }),
  );
}

function namespaceReference(namespace: string) {
  return namespace ? [{ key: { type: "NAMESPACE", id: namespace }, relationship: "OWNER" }] : undefined;
}

function v1Version(v: StoredVersion) {
  return omitEmpty({
    id: v.id,
    name: v.name,
    created_at: v.createdAt,
    parameters: v1Parameters(v),
    description: v.description,
    resource_references: [{ key: { type: "PIPELINE", id: v.pipelineId }, relationship: "OWNER" }],
  });
}

function v1Pipeline(ctx: FakeContext, p: FakePipeline) {
  const version = ctx.store.defaultVersion(p);
  return omitEmpty({
    id: p.id,
    created_at: p.createdAt,
    name: p.name,
    description: p.description,
    parameters: version ? v1Parameters(version) : undefined,
    default_version: version ? v1Version(version) : undefined,
    resource_references: namespaceReference(p.namespace),
  });
}

function v1Experiment(e: FakeExperiment) {
  return omitEmpty({
    id: e.id,
    name: e.name,
    description: e.description,
    created_at: e.createdAt,
    resource_references: namespaceReference(e.namespace),
    storage_state: "STORAGESTATE_AVAILABLE",
  });
}

function v1Run(ctx: FakeContext, run: FakeRun) {
  const version = ctx.store.state.versions.find((v) => v.id === run.versionId) as StoredVersion | undefined;
  const experiment = ctx.store.state.experiments.find((e) => e.id === run.experimentId);
  const status = V1_STATUS[run.state];
  const failed = status === "Failed" || status === "Error";
  const typed = version ? version.kind === "ir" : Object.values(run.parameters).some((v) => typeof v !== "string");
  const parameters = Object.entries(run.parameters);
  return omitEmpty({
    id: run.id,
    name: run.name,
    storage_state: "STORAGESTATE_AVAILABLE",
    description: run.description,
    pipeline_spec: omitEmpty({
      pipeline_id: run.pipelineId,
      pipeline_name: ctx.store.state.pipelines.find((p) => p.id === run.pipelineId)?.name,
      parameters: typed ? undefined : parameters.map(([name, value]) => ({ name, value: String(value) })),
      runtime_config: typed && parameters.length ? { parameters: run.parameters } : undefined,
    }),
    resource_references: [
      { key: { type: "EXPERIMENT", id: run.experimentId }, name: experiment?.name ?? "", relationship: "OWNER" },
      ...(run.versionId
        ? [{ key: { type: "PIPELINE_VERSION", id: run.versionId }, name: version?.name ?? "", relationship: "CREATOR" }]
        : []),
      ...(namespaceReference(run.namespace) ?? []),
    ].map((ref) => omitEmpty(ref)),
    service_account: run.serviceAccount,
    created_at: run.createdAt,
    scheduled_at: run.createdAt,
    // KFP v1 renders an unset finish time as the zero timestamp.
    finished_at: run.finishedAt ?? "1970-01-01T00:00:00Z",
    status,
    error: failed ? (run.error ?? (run.state === "CANCELED" ? "terminated" : undefined)) : undefined,
  });
}

/** The ID a body's resource_references give for `type`, with that relationship when one is given. */
function referenced(body: Record<string, unknown>, type: string, relationship?: string): string | undefined {
  const references = (body.resource_references ?? []) as Reference[];
  return references.find((r) => r.key?.type === type && (relationship === undefined || r.relationship === relationship))?.key?.id;
}

/** Reads `resource_reference_key.type/id` (enum by name or number) and checks the type is allowed. */
function referenceKey(query: Record<string, string>, prefix: string, allowed: string[]): { type: string; id: string } | undefined {
  const rawType = query[`${prefix}.type`];
  const id = query[`${prefix}.id`] ?? "";
  if (rawType === undefined || rawType === "") return id ? { type: "UNKNOWN_RESOURCE_TYPE", id } : undefined;
  const type = /^\d+$/.test(rawType) ? RESOURCE_TYPES[Number(rawType)] : rawType;
  if (!type || !RESOURCE_TYPES.includes(type)) throw new FakeHttpError(400, `invalid value for enum field ${prefix}.type: ${rawType}`);
  if (!allowed.includes(type))
    throw badRequest(`Invalid resource reference key type ${type}: only ${allowed.join(" or ")} is supported here`);
  return { type, id };
}

export function v1Routes(ctx: FakeContext): Route[] {
  const routes: Route[] = [
    {
      method: "GET",
      template: `${BASE}/healthz`,
      handle: (ctx) => ({ commit_sha: "fake-kfp", tag_name: ctx.serverVersion, multi_user: ctx.multiUser }),
    },
    ...uploadRoutes({
      base: BASE,
      names: (_ctx, query, fileName) => ({ name: query.name || fileName }),
      renderPipeline: v1Pipeline,
      renderVersion: (_ctx, version) => v1Version(version),
    }),
    {
      method: "GET",
      template: `${BASE}/pipelines`,
      handle: (ctx, req) => {
        const key = referenceKey(req.query, "resource_reference_key", ["NAMESPACE"]);
        const namespace = ctx.store.namespace(key?.id);
        const pipelines = ctx.store.state.pipelines.filter((p) => p.namespace === namespace);
        return listAnswer("pipelines", listPage(pipelines, req.query, "v1", PIPELINE_KEYS), (p) => v1Pipeline(ctx, p));
      },
    },
    {
      method: "GET",
      template: `${BASE}/pipelines/{id}`,
      handle: (ctx, _req, params) => v1Pipeline(ctx, ctx.store.pipeline(params.id!)),
    },
    {
      method: "POST",
      template: `${BASE}/pipelines/{pipeline_id}/default_version/{version_id}`,
      handle: (ctx, _req, params) => {
        const pipeline = ctx.store.pipeline(params.pipeline_id!);
        const version = ctx.store.version(params.version_id!);
        if (version.pipelineId !== pipeline.id) throw badRequest(`version ${version.id} does not belong to pipeline ${pipeline.id}`);
        pipeline.defaultVersionId = version.id;
        return {};
      },
    },
    {
      method: "GET",
      template: `${BASE}/pipeline_versions`,
      handle: (ctx, req) => {
        const key = referenceKey(req.query, "resource_key", ["PIPELINE"]);
        if (!key?.id) throw badRequest("ListPipelineVersions needs resource_key.type=PIPELINE and resource_key.id=<pipeline id>");
        const page = listPage(ctx.store.versionsOf(key.id), req.query, "v1", VERSION_KEYS);
        return listAnswer("versions", page, v1Version);
      },
    },
    {
      method: "GET",
      template: `${BASE}/pipeline_versions/{version_id}`,
      handle: (ctx, _req, params) => v1Version(ctx.store.version(params.version_id!)),
    },
    {
      method: "POST",
      template: `${BASE}/experiments`,
      handle: (ctx, req) => {
        const body = readMessage(req.json, EXPERIMENT_BODY, ctx.strictBodies);
        const experiment = ctx.store.createExperiment({
          name: (body.name as string | undefined) ?? "",
          description: body.description as string | undefined,
          namespace: referenced(body, "NAMESPACE"),
        });
        return v1Experiment(experiment);
      },
    },
    {
      method: "GET",
      template: `${BASE}/experiments`,
      handle: (ctx, req) => {
        const key = referenceKey(req.query, "resource_reference_key", ["NAMESPACE"]);
        requireNamespace(ctx, key?.id, "ListExperiments");
        const namespace = ctx.store.namespace(key?.id);
        const experiments = ctx.store.state.experiments.filter((e) => e.namespace === namespace);
        return listAnswer("experiments", listPage(experiments, req.query, "v1", V1_EXPERIMENT_KEYS), v1Experiment);
      },
    },
    {
      method: "GET",
      template: `${BASE}/experiments/{id}`,
      handle: (ctx, _req, params) => v1Experiment(ctx.store.experiment(params.id!)),
    },
    ...runRoutes({
      base: BASE,
      methodSeparator: "/",
      body: RUN_BODY,
      init: runInit,
      // An api.RunDetail: the run and its runtime (not modelled: empty).
      render: (ctx, run) => ({ run: v1Run(ctx, run), pipeline_runtime: {} }),
    }),
    {
      method: "GET",
      template: `${BASE}/runs`,
      handle: (ctx, req) => {
        const key = referenceKey(req.query, "resource_reference_key", ["EXPERIMENT", "NAMESPACE"]);
        let runs = ctx.store.state.runs;
        if (key?.type === "EXPERIMENT") {
          runs = runs.filter((r) => r.experimentId === key.id);
        } else {
          requireNamespace(ctx, key?.id, "ListRuns");
          const namespace = ctx.store.namespace(key?.id);
          runs = runs.filter((r) => r.namespace === namespace);
        }
        return listAnswer("runs", listPage(runs, req.query, "v1", V1_RUN_KEYS), (r) => v1Run(ctx, r));
      },
    },
  ];
  routes.push(...recurringRunRoutes(JOBS));
  if (ctx.api === "v2") {
    // Get-by-name arrived with KFP 2.0.
    routes.push({
      method: "GET",
      template: `${BASE}/namespaces/{namespace}/pipelines/{name}`,
      handle: (ctx, _req, params) => {
        const namespace = ctx.store.namespace(params.namespace === "-" ? "" : params.namespace);
        const pipeline = ctx.store.state.pipelines.find((p) => p.name === params.name && p.namespace === namespace);
        if (!pipeline) throw notFound(`Pipeline with name ${params.name} not found`);
        return v1Pipeline(ctx, pipeline);
      },
    });
  }
  return routes;
}

/**
 * What a run's and a job's body (RUN_BODY, JOB_BODY) say alike: its name, and the pipeline it runs with its
 * parameters, experiment and namespace, from the references and pipeline_spec.
 */
function runInit(ctx: FakeContext, body: Record<string, unknown>) {
  const spec = (body.pipeline_spec ?? {}) as {
    pipeline_id?: string;
    workflow_manifest?: string;
    pipeline_manifest?: string;
    parameters?: { name?: string; value?: string }[];
    runtime_config?: { parameters?: Record<string, unknown> };
  };
  const experimentId = referenced(body, "EXPERIMENT");
  const namespace = referenced(body, "NAMESPACE");
  // KFP honours a PIPELINE_VERSION reference only as CREATOR.
  const versionId = referenced(body, "PIPELINE_VERSION", "CREATOR");
  const manifest = spec.pipeline_manifest || spec.workflow_manifest;
  const version = manifest ? inlineVersion(ctx, parseManifest(manifest)) : runVersion(ctx, spec.pipeline_id, versionId);
  // On KFP 2.x the v1 parameter list does not apply to IR pipelines: they take runtime_config.
  const typed = version.kind === "ir";
  const parameters = typed
    ? (spec.runtime_config?.parameters ?? {})
    : Object.fromEntries((spec.parameters ?? []).map((p) => [p.name ?? "", p.value ?? ""]));
  return {
    name: body.name as string | undefined,
    description: body.description as string | undefined,
    experimentId,
    namespace,
    version,
    parameters,
    typed,
    serviceAccount: body.service_account as string | undefined,
  };
}

/** api_converter.go toApiJobV1: references for experiment, namespace and version; `enabled` and a status word. */
function v1Job(ctx: FakeContext, job: FakeRecurringRun) {
  const version = ctx.store.state.versions.find((v) => v.id === job.versionId);
  const parameters = Object.entries(job.parameters);
  return omitEmpty({
    id: job.id,
    name: job.name,
    description: job.description,
    pipeline_spec: omitEmpty({
      pipeline_id: job.pipelineId,
      pipeline_name: ctx.store.state.pipelines.find((p) => p.id === job.pipelineId)?.name,
      parameters: job.typed ? undefined : parameters.map(([name, value]) => ({ name, value: String(value) })),
      runtime_config: job.typed && parameters.length ? { parameters: job.parameters } : undefined,
    }),
    resource_references: [
      { key: { type: "EXPERIMENT", id: job.experimentId }, relationship: "OWNER" },
      ...(namespaceReference(job.namespace) ?? []),
      { key: { type: "PIPELINE_VERSION", id: job.versionId }, name: version?.name, relationship: "CREATOR" },
    ].map((ref) => omitEmpty(ref)),
    service_account: job.serviceAccount,
    max_concurrency: String(job.maxConcurrency),
    trigger: renderTrigger(job.trigger),
    created_at: job.createdAt,
    updated_at: job.updatedAt,
    // toApiJobStatus: the model's conditions, ENABLED or DISABLED.
    status: job.enabled ? "ENABLED" : "DISABLED",
    // proto3 leaves false out.
    enabled: job.enabled || undefined,
    no_catchup: job.noCatchup || undefined,
  });
}

const JOBS: RecurringRunApi = {
  api: "v1",
  collection: `${BASE}/jobs`,
  idParam: "id",
  methodSeparator: "/",
  listKey: "jobs",
  scope: (query) => {
    const key = referenceKey(query, "resource_reference_key", ["EXPERIMENT", "NAMESPACE"]);
    return key?.type === "EXPERIMENT" ? { experimentId: key.id } : { namespace: key?.id };
  },
  body: JOB_BODY,
  // toModelJob: `enabled`, or else mode ENABLED.
  init: (ctx, body) => ({ ...runInit(ctx, body), enabled: body.enabled === true || body.mode === "ENABLED" }),
  render: v1Job,
};

function parseManifest(manifest: string): unknown {
  try {
    const spec = parsePipelineSpec(manifest).spec;
    return isObject(spec) ? spec : {};
  } catch (err) {
    throw badRequest(`Failed to parse the pipeline manifest: ${(err as Error).message}`);
  }
}
