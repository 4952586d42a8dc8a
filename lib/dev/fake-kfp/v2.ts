/**
 * The v2beta1 API of the fake KFP server (KFP 2.x): its routes, how it reads
 * request bodies and how it renders pipelines, versions, experiments and runs.
 */

import type { FakeExperiment, FakePipeline, FakeRecurringRun, FakeRun } from "./types.ts";
import { notFound, omitEmpty, readMessage, versionAtLeast, type FieldSpec, type MessageSpec } from "./http.ts";
import { listPage, type ListKeys } from "./list.ts";
import { TERMINAL_STATES, normalizeState } from "./runs.ts";
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
import { type RecurringRunApi, TRIGGER_MESSAGE, recurringRunRoutes, renderTrigger } from "./recurring.ts";

const BASE = "/apis/v2beta1";

const RUNTIME_STATES = [
  "RUNTIME_STATE_UNSPECIFIED",
  "PENDING",
  "RUNNING",
  "SUCCEEDED",
  "SKIPPED",
  "FAILED",
  "CANCELING",
  "CANCELED",
  "PAUSED",
];
const STORAGE_STATES = ["STORAGE_STATE_UNSPECIFIED", "AVAILABLE", "ARCHIVED"];

const PIPELINE_VERSION_REFERENCE: MessageSpec = {
  name: "v2beta1.PipelineVersionReference",
  fields: { pipeline_id: "string", pipeline_version_id: "string" },
};
const RUNTIME_CONFIG: MessageSpec = { name: "v2beta1.RuntimeConfig", fields: { parameters: { map: "any" }, pipeline_root: "string" } };

/** What a run and a recurring run run, with which parameters and as whom (run.proto, recurring_run.proto). */
const PIPELINE_SOURCE: Record<string, FieldSpec> = {
  pipeline_version_id: "string",
  pipeline_spec: "object",
  pipeline_version_reference: { message: PIPELINE_VERSION_REFERENCE },
  runtime_config: { message: RUNTIME_CONFIG },
  service_account: "string",
};

const EXPERIMENT_BODY: MessageSpec = {
  name: "v2beta1.Experiment",
  fields: {
    experiment_id: "string",
    display_name: "string",
    description: "string",
    created_at: "string",
    namespace: "string",
    storage_state: { enum: STORAGE_STATES },
    last_run_created_at: "string",
  },
};

const RUN_BODY: MessageSpec = {
  name: "v2beta1.Run",
  fields: {
    experiment_id: "string",
    run_id: "string",
    display_name: "string",
    storage_state: { enum: STORAGE_STATES },
    description: "string",
    ...PIPELINE_SOURCE,
    created_at: "string",
    scheduled_at: "string",
    finished_at: "string",
    state: { enum: RUNTIME_STATES },
    error: "any",
    run_details: "any",
    recurring_run_id: "string",
    state_history: "any",
    plugins_input: "any",
  },
};

/** v2beta1/recurring_run.proto RecurringRun. */
const RECURRING_RUN_BODY: MessageSpec = {
  name: "v2beta1.RecurringRun",
  fields: {
    recurring_run_id: "string",
    display_name: "string",
    description: "string",
    ...PIPELINE_SOURCE,
    max_concurrency: "number",
    trigger: { message: TRIGGER_MESSAGE },
    mode: { enum: ["MODE_UNSPECIFIED", "ENABLE", "DISABLE"] },
    created_at: "string",
    updated_at: "string",
    status: { enum: ["STATUS_UNSPECIFIED", "ENABLED", "DISABLED"] },
    error: "any",
    no_catchup: "bool",
    namespace: "string",
    experiment_id: "string",
    plugins_input: "any",
  },
};

const V2_PIPELINE_KEYS: ListKeys<FakePipeline> = { ...PIPELINE_KEYS, pipeline_id: (p) => p.id, display_name: (p) => p.displayName };

const V2_VERSION_KEYS: ListKeys<StoredVersion> = { ...VERSION_KEYS, pipeline_version_id: (v) => v.id, display_name: (v) => v.name };

const V2_EXPERIMENT_KEYS: ListKeys<FakeExperiment> = {
  ...EXPERIMENT_KEYS,
  experiment_id: (e) => e.id,
  display_name: (e) => e.name,
  storage_state: () => "AVAILABLE",
};

const V2_RUN_KEYS: ListKeys<FakeRun> = {
  ...RUN_KEYS,
  run_id: (r) => r.id,
  display_name: (r) => r.name,
  storage_state: () => "AVAILABLE",
  experiment_id: (r) => r.experimentId,
  state: (r) => v2State(r.state),
};

/** The v2 word for a stored state: Argo's Error is reported as FAILED. */
function v2State(state: string): string {
  return state === "ERROR" ? "FAILED" : state;
}

export function v2Pipeline(ctx: FakeContext, p: FakePipeline) {
  // Before 2.14 a v2 pipeline had only display_name, holding the unique name.
  const separateNames = versionAtLeast(ctx.serverVersion, "2.14");
  return omitEmpty({
    pipeline_id: p.id,
    name: separateNames ? p.name : undefined,
    display_name: separateNames ? p.displayName : p.name,
    description: p.description,
    created_at: p.createdAt,
    namespace: p.namespace,
  });
}

function v2Version(ctx: FakeContext, v: StoredVersion) {
  const separateNames = versionAtLeast(ctx.serverVersion, "2.14");
  return omitEmpty({
    pipeline_id: v.pipelineId,
    pipeline_version_id: v.id,
    name: separateNames ? v.name : undefined,
    display_name: v.name,
    description: v.description,
    created_at: v.createdAt,
    pipeline_spec: v.spec,
  });
}

function v2Experiment(e: FakeExperiment, runs: FakeRun[]) {
  const lastRun = runs.filter((r) => r.experimentId === e.id).at(-1);
  return omitEmpty({
    experiment_id: e.id,
    display_name: e.name,
    description: e.description,
    created_at: e.createdAt,
    namespace: e.namespace,
    storage_state: "AVAILABLE",
    last_run_created_at: lastRun?.createdAt,
  });
}

export function v2Run(ctx: FakeContext, run: FakeRun) {
  const state = v2State(run.state);
  const failed = state === "FAILED" || state === "CANCELED";
  const steps = ctx.runs.steps(run);
  return omitEmpty({
    experiment_id: run.experimentId,
    run_id: run.id,
    display_name: run.name,
    storage_state: "AVAILABLE",
    description: run.description,
    pipeline_version_reference: run.versionId ? { pipeline_id: run.pipelineId, pipeline_version_id: run.versionId } : undefined,
    runtime_config: Object.keys(run.parameters).length ? { parameters: run.parameters } : undefined,
    service_account: run.serviceAccount,
    created_at: run.createdAt,
    scheduled_at: run.createdAt,
    finished_at: run.finishedAt,
    state,
    error: failed && run.error ? { code: 2, message: run.error } : undefined,
    run_details: steps?.length
      ? {
          task_details: steps.map((step, i) =>
            omitEmpty({
              run_id: run.id,
              task_id: `${run.id}-task-${i}`,
              display_name: step.name,
              create_time: run.createdAt,
              state: v2State(normalizeState(step.state)),
              end_time: TERMINAL_STATES.has(normalizeState(step.state)) ? (run.finishedAt ?? run.createdAt) : undefined,
            }),
          ),
        }
      : undefined,
    state_history: ctx.runs.history(run).map((change) =>
      omitEmpty({
        update_time: change.time,
        state: v2State(change.state),
        error: change.error ? { code: 2, message: change.error } : undefined,
      }),
    ),
  });
}

/** api_converter.go toApiRecurringRun: status and mode both say whether it is enabled. */
function v2RecurringRun(r: FakeRecurringRun) {
  return omitEmpty({
    recurring_run_id: r.id,
    display_name: r.name,
    description: r.description,
    pipeline_version_reference: { pipeline_id: r.pipelineId, pipeline_version_id: r.versionId },
    runtime_config: Object.keys(r.parameters).length ? { parameters: r.parameters } : undefined,
    service_account: r.serviceAccount,
    max_concurrency: String(r.maxConcurrency),
    trigger: renderTrigger(r.trigger),
    mode: r.enabled ? "ENABLE" : "DISABLE",
    created_at: r.createdAt,
    updated_at: r.updatedAt,
    status: r.enabled ? "ENABLED" : "DISABLED",
    // proto3 leaves false out.
    no_catchup: r.noCatchup || undefined,
    namespace: r.namespace,
    experiment_id: r.experimentId,
  });
}

/** What a run's and a recurring run's body (RUN_BODY, RECURRING_RUN_BODY) say alike: its name, experiment, pipeline and parameters. */
function runInit(ctx: FakeContext, body: Record<string, unknown>) {
  const reference = (body.pipeline_version_reference ?? {}) as { pipeline_id?: string; pipeline_version_id?: string };
  const runtime = (body.runtime_config ?? {}) as { parameters?: Record<string, unknown> };
  const version = body.pipeline_spec
    ? inlineVersion(ctx, body.pipeline_spec)
    : runVersion(ctx, reference.pipeline_id, reference.pipeline_version_id ?? (body.pipeline_version_id as string | undefined));
  return {
    name: body.display_name as string | undefined,
    description: body.description as string | undefined,
    experimentId: body.experiment_id as string | undefined,
    version,
    parameters: runtime.parameters ?? {},
    typed: true,
    serviceAccount: body.service_account as string | undefined,
  };
}

const RECURRING_RUNS: RecurringRunApi = {
  api: "v2",
  collection: `${BASE}/recurringruns`,
  idParam: "recurring_run_id",
  methodSeparator: ":",
  // The proto names the list field recurringRuns, and the marshaler keeps proto names.
  listKey: "recurringRuns",
  scope: (query) => ({ experimentId: query.experiment_id, namespace: query.namespace }),
  body: RECURRING_RUN_BODY,
  init: (ctx, body) => ({
    ...runInit(ctx, body),
    namespace: body.namespace as string | undefined,
    // toModelJobEnabled: only ENABLE enables; MODE_UNSPECIFIED means disabled.
    enabled: body.mode === "ENABLE",
  }),
  render: (_ctx, recurringRun) => v2RecurringRun(recurringRun),
};

function uploadName(ctx: FakeContext, query: Record<string, string>, fileName: string): { name: string; displayName?: string } {
  const displayName = versionAtLeast(ctx.serverVersion, "2.14") ? query.display_name : undefined;
  return { name: query.name || displayName || fileName, displayName: displayName || undefined };
}

export const v2Routes: Route[] = [
  {
    method: "GET",
    template: `${BASE}/healthz`,
    handle: (ctx) => ({ commit_sha: "fake-kfp", tag_name: ctx.serverVersion, multi_user: ctx.multiUser, pipeline_store: "database" }),
  },
  ...uploadRoutes({ base: BASE, names: uploadName, renderPipeline: v2Pipeline, renderVersion: v2Version }),
  {
    method: "GET",
    template: `${BASE}/pipelines`,
    handle: (ctx, req) => {
      const namespace = ctx.store.namespace(req.query.namespace);
      const pipelines = ctx.store.state.pipelines.filter((p) => p.namespace === namespace);
      return listAnswer("pipelines", listPage(pipelines, req.query, "v2", V2_PIPELINE_KEYS), (p) => v2Pipeline(ctx, p));
    },
  },
  {
    method: "GET",
    template: `${BASE}/pipelines/names/{name}`,
    handle: (ctx, req, params) => {
      const namespace = ctx.store.namespace(req.query.namespace);
      const pipeline = ctx.store.state.pipelines.find((p) => p.name === params.name && p.namespace === namespace);
      if (!pipeline) throw notFound(`Pipeline with name ${params.name} not found in namespace "${namespace}"`);
      return v2Pipeline(ctx, pipeline);
    },
  },
  {
    method: "GET",
    template: `${BASE}/pipelines/{pipeline_id}`,
    handle: (ctx, _req, params) => v2Pipeline(ctx, ctx.store.pipeline(params.pipeline_id!)),
  },
  {
    method: "GET",
    template: `${BASE}/pipelines/{pipeline_id}/versions`,
    handle: (ctx, req, params) => {
      const pipeline = ctx.store.pipeline(params.pipeline_id!);
      const page = listPage(ctx.store.versionsOf(pipeline.id), req.query, "v2", V2_VERSION_KEYS);
      return listAnswer("pipeline_versions", page, (v) => v2Version(ctx, v));
    },
  },
  {
    method: "GET",
    template: `${BASE}/pipelines/{pipeline_id}/versions/{pipeline_version_id}`,
    handle: (ctx, _req, params) => {
      const version = ctx.store.version(params.pipeline_version_id!);
      if (version.pipelineId !== params.pipeline_id)
        throw notFound(`Pipeline version ${params.pipeline_version_id} not found in pipeline ${params.pipeline_id}`);
      return v2Version(ctx, version);
    },
  },
  {
    method: "POST",
    template: `${BASE}/experiments`,
    handle: (ctx, req) => {
      const body = readMessage(req.json, EXPERIMENT_BODY, ctx.strictBodies);
      const experiment = ctx.store.createExperiment({
        name: (body.display_name as string | undefined) ?? "",
        description: body.description as string | undefined,
        namespace: body.namespace as string | undefined,
      });
      return v2Experiment(experiment, ctx.store.state.runs);
    },
  },
  {
    method: "GET",
    template: `${BASE}/experiments`,
    handle: (ctx, req) => {
      requireNamespace(ctx, req.query.namespace, "ListExperiments");
      const namespace = ctx.store.namespace(req.query.namespace);
      const experiments = ctx.store.state.experiments.filter((e) => e.namespace === namespace);
      const page = listPage(experiments, req.query, "v2", V2_EXPERIMENT_KEYS);
      return listAnswer("experiments", page, (e) => v2Experiment(e, ctx.store.state.runs));
    },
  },
  {
    method: "GET",
    template: `${BASE}/experiments/{experiment_id}`,
    handle: (ctx, _req, params) => v2Experiment(ctx.store.experiment(params.experiment_id!), ctx.store.state.runs),
  },
  ...runRoutes({ base: BASE, methodSeparator: ":", body: RUN_BODY, init: runInit, render: v2Run }),
  {
    method: "GET",
    template: `${BASE}/runs`,
    handle: (ctx, req) => {
      if (!req.query.experiment_id) requireNamespace(ctx, req.query.namespace, "ListRuns");
      let runs = ctx.store.state.runs;
      if (req.query.experiment_id) runs = runs.filter((r) => r.experimentId === req.query.experiment_id);
      if (req.query.namespace !== undefined || !req.query.experiment_id) {
        const namespace = ctx.store.namespace(req.query.namespace);
        runs = runs.filter((r) => r.namespace === namespace);
      }
      return listAnswer("runs", listPage(runs, req.query, "v2", V2_RUN_KEYS), (r) => v2Run(ctx, r));
    },
  },
  ...recurringRunRoutes(RECURRING_RUNS),
];
