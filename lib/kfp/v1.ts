/**
 * The v1beta1 dialect (KFP 1.8, and still served by 2.x): `/apis/v1beta1/...`,
 * filter operator field `op`, namespaces and owners as resource references,
 * string run parameters, `/terminate`.
 */

import type * as v from "valibot";
import { type DatedExperiment, nonEmpty, outcomeOf, readChecked, seg, textParameters, timestamp } from "./dialect.ts";
import { answer, type DialectSpelling, listAnswer, SpelledDialect } from "./dialect-frame.ts";
import { KfpError } from "./error.ts";
import type { KfpHttp } from "./http.ts";
import {
  V1Experiment,
  V1ExperimentList,
  V1Pipeline,
  V1PipelineList,
  V1RunDetail,
  V1RunList,
  V1Version,
  V1VersionList,
  type V1Run,
} from "./schemas.ts";
import type { CreateRunRequest, ParameterSpec, Pipeline, PipelineVersion, Run, RunOutcome } from "./types.ts";

const API = "/apis/v1beta1";

const TERMINAL: Record<string, RunOutcome> = { SUCCEEDED: "succeeded", FAILED: "failed", ERROR: "failed", SKIPPED: "skipped" };

type References = { key?: { type?: string; id?: string }; relationship?: string }[] | undefined;

/** Namespaces, owners and experiments are resource references; versions are listed by their pipeline as a resource key. */
const V1: DialectSpelling = {
  apiVersion: "v1beta1",
  base: API,
  methodSeparator: "/",
  nameKey: "name",
  inNamespace: (namespace) => (namespace ? { "resource_reference_key.type": "NAMESPACE", "resource_reference_key.id": namespace } : {}),
  experimentNamespace: (namespace) => ({
    resource_references: namespace ? [{ key: { type: "NAMESPACE", id: namespace }, relationship: "OWNER" }] : undefined,
  }),
  inExperiment: (experimentId) => ({ "resource_reference_key.type": "EXPERIMENT", "resource_reference_key.id": experimentId }),
  versionsOf: (pipelineId) => ({
    path: `${API}/pipeline_versions`,
    query: { "resource_key.type": "PIPELINE", "resource_key.id": pipelineId },
  }),
  uploadNames: (name) => ({ name }),
  pipelineSource: v1PipelineSource,
  pipeline: answer(V1Pipeline, toNamespaced),
  pipelines: listAnswer(V1PipelineList, (page) => (page.pipelines ?? []).map(toNamespaced)),
  uploaded: answer(V1Pipeline, (p) => ({
    pipeline: toNamespaced(p),
    // The upload creates the first version and returns it as the default.
    version: p.default_version && toVersion(p.default_version, p.id),
  })),
  version: (pipelineId) => answer(V1Version, (version) => toVersion(version, pipelineId)),
  versions: (pipelineId) => listAnswer(V1VersionList, (page) => (page.versions ?? []).map((version) => toVersion(version, pipelineId))),
  experiment: answer(V1Experiment, toNamespaced),
  experiments: listAnswer(V1ExperimentList, (page) => (page.experiments ?? []).map(toNamespaced)),
  run: answer(V1RunDetail, (detail) => toRun(detail.run)),
  runs: listAnswer(V1RunList, (page) => (page.runs ?? []).map(toRun)),
};

export class V1Dialect extends SpelledDialect {
  constructor(http: KfpHttp, namespace: string | undefined) {
    super(http, namespace, V1);
  }

  async defaultVersion(pipelineId: string): Promise<PipelineVersion | undefined> {
    const { request, context } = this.pipelineRead(pipelineId);
    const pipeline = await readChecked(this.http, V1Pipeline, request, context);
    return pipeline.default_version && toVersion(pipeline.default_version, pipelineId);
  }

  async versionParameters(pipelineId: string, versionId: string): Promise<ParameterSpec[] | undefined> {
    // The server leaves out an empty list, so no `parameters` means none declared.
    const version = await this.rawVersion(pipelineId, versionId);
    return textParameters(version.parameters ?? []);
  }

  /** v1 addresses versions by ID alone: check it belongs to the pipeline asked about. */
  protected async rawVersion(pipelineId: string, versionId: string) {
    const operation = `get version ${versionId} of pipeline ${pipelineId}`;
    const version = await readChecked(
      this.http,
      V1Version,
      { method: "GET", path: `${API}/pipeline_versions/${seg(versionId)}` },
      { operation, notFound: `version ${versionId}` },
    );
    const owner = referenced(version.resource_references, "PIPELINE");
    if (owner && owner !== pipelineId) {
      throw new KfpError({
        kind: "not-found",
        operation,
        message: `${operation} failed: version ${versionId} belongs to pipeline ${owner}, not to pipeline ${pipelineId}.`,
      });
    }
    return version;
  }
}

/** What a run or job runs, in which experiment, with which parameters (strings) and service account. */
export function v1PipelineSource(req: Omit<CreateRunRequest, "name" | "description">) {
  return {
    pipeline_spec: {
      parameters: Object.entries(req.parameters).map(([name, value]) => ({
        name,
        value: typeof value === "string" ? value : JSON.stringify(value),
      })),
    },
    resource_references: [
      { key: { type: "EXPERIMENT", id: req.experimentId }, relationship: "OWNER" },
      // KFP honours the version reference only with relationship CREATOR.
      { key: { type: "PIPELINE_VERSION", id: req.versionId }, relationship: "CREATOR" },
    ],
    service_account: nonEmpty(req.serviceAccount),
  };
}

export function referenced(references: References, type: string): string | undefined {
  return references?.find((r) => r.key?.type === type)?.key?.id;
}

/** A pipeline or an experiment: v1beta1 gives both the same fields, the namespace as a resource reference. */
function toNamespaced(o: v.InferOutput<typeof V1Pipeline> | v.InferOutput<typeof V1Experiment>): Pipeline & DatedExperiment {
  return {
    id: o.id,
    name: o.name ?? "",
    description: o.description,
    namespace: referenced(o.resource_references, "NAMESPACE"),
    createdAt: o.created_at,
  };
}

function toVersion(version: v.InferOutput<typeof V1Version>, pipelineId: string): PipelineVersion {
  return {
    id: version.id,
    name: version.name ?? "",
    pipelineId: referenced(version.resource_references, "PIPELINE") ?? pipelineId,
    description: version.description,
    createdAt: version.created_at,
  };
}

function toRun(r: v.InferOutput<typeof V1Run>): Run {
  const state = r.status ?? "";
  return {
    id: r.id,
    name: r.name ?? "",
    description: r.description,
    state,
    outcome: outcomeOf(state, TERMINAL),
    error: r.error || undefined,
    experimentId: referenced(r.resource_references, "EXPERIMENT"),
    createdAt: r.created_at,
    finishedAt: timestamp(r.finished_at),
  };
}
