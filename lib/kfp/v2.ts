/**
 * The v2beta1 dialect (KFP 2.x): `/apis/v2beta1/...`, filter operator field
 * `operation`, `namespace=` scoping, typed run parameters, `:terminate`.
 */

import * as v from "valibot";
import { type DatedExperiment, nonEmpty, outcomeOf, readChecked, seg, textParameters, timestamp } from "./dialect.ts";
import { answer, type DialectSpelling, listAnswer, SpelledDialect } from "./dialect-frame.ts";
import type { KfpHttp } from "./http.ts";
import {
  ArgoSpec,
  IrSpec,
  V2Experiment,
  V2ExperimentList,
  V2Pipeline,
  V2PipelineList,
  V2Run,
  V2RunList,
  V2Version,
  V2VersionList,
} from "./schemas.ts";
import type { CreateRunRequest, ParameterSpec, Pipeline, PipelineVersion, Run, RunOutcome, RunSteps } from "./types.ts";

const API = "/apis/v2beta1";

const TERMINAL: Record<string, RunOutcome> = { SUCCEEDED: "succeeded", FAILED: "failed", SKIPPED: "skipped", CANCELED: "canceled" };

/** Namespaces and experiments are plain fields; versions are listed under their pipeline. */
const V2: DialectSpelling = {
  apiVersion: "v2beta1",
  base: API,
  methodSeparator: ":",
  // display_name is the documented filter key for experiments and runs (2.x also accepts name for experiments).
  nameKey: "display_name",
  inNamespace: (namespace) => ({ namespace }),
  experimentNamespace: (namespace) => ({ namespace }),
  inExperiment: (experimentId) => ({ experiment_id: experimentId }),
  versionsOf: (pipelineId) => ({ path: versionsPath(pipelineId) }),
  // display_name: servers >= 2.14 keep it apart from the unique name; older ones ignore it.
  uploadNames: (name) => ({ name, display_name: name }),
  pipelineSource: v2PipelineSource,
  pipeline: answer(V2Pipeline, toPipeline),
  pipelines: listAnswer(V2PipelineList, (page) => (page.pipelines ?? []).map(toPipeline)),
  uploaded: answer(V2Pipeline, (p) => ({ pipeline: toPipeline(p) })),
  version: (pipelineId) => answer(V2Version, (version) => toVersion(version, pipelineId)),
  versions: (pipelineId) => listAnswer(V2VersionList, (page) => versionsIn(page, pipelineId)),
  experiment: answer(V2Experiment, toExperiment),
  experiments: listAnswer(V2ExperimentList, (page) => (page.experiments ?? []).map(toExperiment)),
  run: answer(V2Run, toRun),
  runs: listAnswer(V2RunList, (page) => (page.runs ?? []).map(toRun)),
};

export class V2Dialect extends SpelledDialect {
  constructor(http: KfpHttp, namespace: string | undefined) {
    super(http, namespace, V2);
  }

  async defaultVersion(pipelineId: string): Promise<PipelineVersion | undefined> {
    // v2 has no default version: a run without a version id uses the latest.
    const query = { sort_by: "created_at desc", page_size: 1 };
    const context = { operation: `find the latest version of pipeline ${pipelineId}`, notFound: `pipeline ${pipelineId}` };
    const body = await readChecked(this.http, V2VersionList, { method: "GET", path: versionsPath(pipelineId), query }, context);
    return versionsIn(body, pipelineId)[0];
  }

  async versionParameters(pipelineId: string, versionId: string): Promise<ParameterSpec[] | undefined> {
    const version = await this.rawVersion(pipelineId, versionId);
    return version.pipeline_spec === undefined ? undefined : specParameters(version.pipeline_spec);
  }

  protected rawVersion(pipelineId: string, versionId: string) {
    const context = {
      operation: `get version ${versionId} of pipeline ${pipelineId}`,
      notFound: `version ${versionId} of pipeline ${pipelineId}`,
    };
    return readChecked(this.http, V2Version, { method: "GET", path: `${versionsPath(pipelineId)}/${seg(versionId)}` }, context);
  }
}

function versionsPath(pipelineId: string): string {
  return `${API}/pipelines/${seg(pipelineId)}/versions`;
}

function versionsIn(page: v.InferOutput<typeof V2VersionList>, pipelineId: string): PipelineVersion[] {
  return (page.pipeline_versions ?? []).map((version) => toVersion(version, pipelineId));
}

/** What a run or recurring run runs, in which experiment, with which (typed) parameters and service account. */
export function v2PipelineSource(req: Omit<CreateRunRequest, "name" | "description">) {
  return {
    experiment_id: req.experimentId,
    pipeline_version_reference: { pipeline_id: req.pipelineId, pipeline_version_id: req.versionId },
    runtime_config: { parameters: req.parameters },
    service_account: nonEmpty(req.serviceAccount),
  };
}

function toPipeline(p: v.InferOutput<typeof V2Pipeline>): Pipeline {
  return {
    id: p.pipeline_id,
    name: p.name ?? p.display_name ?? "",
    displayName: p.display_name,
    description: p.description,
    namespace: p.namespace,
    createdAt: p.created_at,
  };
}

function toVersion(version: v.InferOutput<typeof V2Version>, pipelineId: string): PipelineVersion {
  return {
    id: version.pipeline_version_id,
    name: version.name ?? version.display_name ?? "",
    pipelineId: version.pipeline_id ?? pipelineId,
    description: version.description,
    createdAt: version.created_at,
  };
}

function toExperiment(e: v.InferOutput<typeof V2Experiment>): DatedExperiment {
  return { id: e.experiment_id, name: e.display_name ?? "", description: e.description, namespace: e.namespace, createdAt: e.created_at };
}

function toRun(r: v.InferOutput<typeof V2Run>): Run {
  const state = r.state === "RUNTIME_STATE_UNSPECIFIED" ? "" : (r.state ?? "");
  const outcome = outcomeOf(state, TERMINAL);
  return {
    id: r.run_id,
    name: r.display_name ?? "",
    description: r.description,
    state,
    outcome,
    error: r.error?.message || undefined,
    experimentId: r.experiment_id,
    createdAt: r.created_at,
    finishedAt: timestamp(r.finished_at),
    steps: steps(r.run_details?.task_details),
  };
}

/** The root DAG and driver/executor pods are plumbing, not the user's steps. */
const PLUMBING = /^(root|root-driver|executor)$|-driver$/;
const STEP_DONE = new Set(["SUCCEEDED", "SKIPPED", "FAILED", "CANCELED"]);

function steps(tasks: { display_name?: string; state?: string }[] | undefined): RunSteps | undefined {
  if (!tasks || tasks.length === 0) return undefined;
  const byName = new Map<string, string>();
  for (const task of tasks) {
    const name = task.display_name;
    if (!name || PLUMBING.test(name)) continue;
    byName.set(name, task.state ?? "");
  }
  const list = [...byName].map(([name, state]) => ({ name, state }));
  return {
    total: list.length,
    done: list.filter((s) => STEP_DONE.has(s.state.toUpperCase())).length,
    running: list.filter((s) => s.state.toUpperCase() === "RUNNING").map((s) => s.name),
    failed: list.filter((s) => s.state.toUpperCase() === "FAILED").map((s) => s.name),
    list,
  };
}

const LEGACY_TYPES: Record<string, ParameterSpec["type"]> = { INT: "NUMBER_INTEGER", DOUBLE: "NUMBER_DOUBLE", STRING: "STRING" };
const TYPES = new Set<string>(["STRING", "NUMBER_INTEGER", "NUMBER_DOUBLE", "BOOLEAN", "LIST", "STRUCT"]);

/**
 * Declared parameters of a version's spec as the server returns it: the IR
 * (possibly wrapped as {pipeline_spec, platform_spec}), or an Argo workflow for
 * KFP v1 pipelines. Undefined when the spec is neither.
 */
export function specParameters(spec: unknown): ParameterSpec[] | undefined {
  const inner = isObject(spec) && isObject(spec.pipeline_spec) ? spec.pipeline_spec : spec;
  const argo = v.safeParse(ArgoSpec, inner);
  if (argo.success) {
    return textParameters(argo.output.spec?.arguments?.parameters ?? []);
  }
  const ir = v.safeParse(IrSpec, inner);
  if (!ir.success || !isObject(inner) || !("root" in inner)) return undefined;
  const declared = ir.output.root?.inputDefinitions?.parameters ?? {};
  const out: ParameterSpec[] = [];
  for (const [name, p] of Object.entries(declared)) {
    const type =
      p.parameterType && TYPES.has(p.parameterType)
        ? (p.parameterType as ParameterSpec["type"])
        : p.type
          ? LEGACY_TYPES[p.type]
          : undefined;
    if (!type) continue; // e.g. TASK_FINAL_STATUS: filled in by KFP, not by the caller.
    const spec: ParameterSpec = { name, type, optional: p.isOptional === true || p.defaultValue !== undefined };
    if (p.defaultValue !== undefined) spec.defaultValue = p.defaultValue;
    out.push(spec);
  }
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
