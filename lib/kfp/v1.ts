/**
 * The v1beta1 dialect (KFP 1.8, and still served by 2.x): `/apis/v1beta1/...`,
 * filter operator field `op`, namespaces and owners as resource references,
 * string run parameters, `/terminate`.
 */

import type * as v from "valibot";
import {
  checkedParser,
  createExperimentContext,
  findAllNamed,
  findNamed,
  nonEmpty,
  outcomeOf,
  readChecked,
  seg,
  timestamp,
  type DatedExperiment,
  type KfpDialect,
  type WriteSpec,
  uploadPipelineContext,
  uploadVersionContext,
} from "./dialect.ts";
import { equalsFilter } from "./filter.ts";
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
import type { PipelineFile } from "./pipeline-file.ts";

const API = "/apis/v1beta1";

const TERMINAL: Record<string, RunOutcome> = { SUCCEEDED: "succeeded", FAILED: "failed", ERROR: "failed", SKIPPED: "skipped" };

type References = { key?: { type?: string; id?: string }; relationship?: string }[] | undefined;

export class V1Dialect implements KfpDialect {
  readonly apiVersion = "v1beta1" as const;

  constructor(
    private readonly http: KfpHttp,
    private readonly namespace: string | undefined,
  ) {}

  findPipeline(name: string, shared = false): Promise<Pipeline | undefined> {
    return findNamed(this.http, `pipeline "${name}"`, {
      operation: `find pipeline "${name}"`,
      name,
      path: `${API}/pipelines`,
      filter: equalsFilter("v1beta1", "name", name),
      query: shared ? {} : this.namespaceKey(),
      schema: V1PipelineList,
      items: (body) => (body.pipelines ?? []).map(toPipeline),
    });
  }

  async getPipeline(pipelineId: string): Promise<Pipeline> {
    return toPipeline(await this.rawPipeline(pipelineId));
  }

  findVersion(pipelineId: string, name: string): Promise<PipelineVersion | undefined> {
    return findNamed(this.http, `version "${name}"`, {
      operation: `find version "${name}" of pipeline ${pipelineId}`,
      name,
      path: `${API}/pipeline_versions`,
      filter: equalsFilter("v1beta1", "name", name),
      query: { "resource_key.type": "PIPELINE", "resource_key.id": pipelineId },
      notFound: `pipeline ${pipelineId}`,
      schema: V1VersionList,
      items: (body) => (body.versions ?? []).map((version) => toVersion(version, pipelineId)),
    });
  }

  async getVersion(pipelineId: string, versionId: string): Promise<PipelineVersion> {
    return toVersion(await this.rawVersion(pipelineId, versionId), pipelineId);
  }

  async defaultVersion(pipelineId: string): Promise<PipelineVersion | undefined> {
    const pipeline = await this.rawPipeline(pipelineId);
    return pipeline.default_version && toVersion(pipeline.default_version, pipelineId);
  }

  async versionParameters(pipelineId: string, versionId: string): Promise<ParameterSpec[] | undefined> {
    // The server leaves out an empty list, so no `parameters` means none declared.
    const version = await this.rawVersion(pipelineId, versionId);
    return (version.parameters ?? []).map((p) => ({
      name: p.name,
      type: "STRING" as const,
      optional: p.value !== undefined,
      defaultValue: p.value,
    }));
  }

  findExperiment(name: string): Promise<DatedExperiment | undefined> {
    return findNamed(this.http, `experiment "${name}"`, {
      operation: `find experiment "${name}"`,
      name,
      path: `${API}/experiments`,
      filter: equalsFilter("v1beta1", "name", name),
      query: this.namespaceKey(),
      schema: V1ExperimentList,
      items: (body) => (body.experiments ?? []).map(toExperiment),
    });
  }

  async getExperiment(experimentId: string): Promise<DatedExperiment> {
    const context = { operation: `get experiment ${experimentId}`, notFound: `experiment ${experimentId}` };
    return toExperiment(
      await readChecked(this.http, V1Experiment, { method: "GET", path: `${API}/experiments/${seg(experimentId)}` }, context),
    );
  }

  async getRun(runId: string, signal?: AbortSignal): Promise<Run> {
    const context = { operation: `get run ${runId}`, notFound: `run ${runId}` };
    const detail = await readChecked(this.http, V1RunDetail, { method: "GET", path: `${API}/runs/${seg(runId)}` }, context, signal);
    return toRun(detail.run);
  }

  findRuns(experimentId: string, name: string): Promise<Run[]> {
    return findAllNamed(this.http, {
      operation: `find run "${name}" in experiment ${experimentId}`,
      name,
      path: `${API}/runs`,
      filter: equalsFilter("v1beta1", "name", name),
      query: { "resource_reference_key.type": "EXPERIMENT", "resource_reference_key.id": experimentId },
      schema: V1RunList,
      items: (body) => (body.runs ?? []).map(toRun),
    });
  }

  uploadPipeline(file: PipelineFile, name: string, description?: string): WriteSpec<{ pipeline: Pipeline; version?: PipelineVersion }> {
    const request = {
      method: "POST" as const,
      path: `${API}/pipelines/upload`,
      query: { name, description: nonEmpty(description), namespace: this.namespace },
      upload: file,
    };
    const context = uploadPipelineContext(name, this.namespace);
    const parse = checkedParser(this.http, V1Pipeline, request, context, (p) => ({
      pipeline: toPipeline(p),
      // The upload creates the first version and returns it as the default.
      version: p.default_version && toVersion(p.default_version, p.id),
    }));
    return { request, context, parse };
  }

  uploadVersion(file: PipelineFile, pipelineId: string, name: string, description?: string): WriteSpec<PipelineVersion> {
    const request = {
      method: "POST" as const,
      path: `${API}/pipelines/upload_version`,
      query: { pipelineid: pipelineId, name, description: nonEmpty(description) },
      upload: file,
    };
    const context = uploadVersionContext(pipelineId, name);
    return { request, context, parse: checkedParser(this.http, V1Version, request, context, (version) => toVersion(version, pipelineId)) };
  }

  createExperiment(name: string, description?: string): WriteSpec<DatedExperiment> {
    const json = {
      name,
      description: nonEmpty(description),
      resource_references: this.namespace ? [{ key: { type: "NAMESPACE", id: this.namespace }, relationship: "OWNER" }] : undefined,
    };
    const request = { method: "POST" as const, path: `${API}/experiments`, json };
    const context = createExperimentContext(name, this.namespace);
    return { request, context, parse: checkedParser(this.http, V1Experiment, request, context, toExperiment) };
  }

  createRun(req: CreateRunRequest): WriteSpec<Run> {
    const json = { name: req.name, description: nonEmpty(req.description), ...v1PipelineSource(req) };
    const request = { method: "POST" as const, path: `${API}/runs`, json };
    const context = { operation: `create run "${req.name}"` };
    return { request, context, parse: checkedParser(this.http, V1RunDetail, request, context, (detail) => toRun(detail.run)) };
  }

  terminateRun(runId: string): WriteSpec<void> {
    const request = { method: "POST" as const, path: `${API}/runs/${seg(runId)}/terminate` };
    return { request, context: { operation: `terminate run ${runId}`, notFound: `run ${runId}` }, parse: () => undefined };
  }

  private namespaceKey(): Record<string, string> {
    return this.namespace ? { "resource_reference_key.type": "NAMESPACE", "resource_reference_key.id": this.namespace } : {};
  }

  private rawPipeline(pipelineId: string) {
    const context = { operation: `get pipeline ${pipelineId}`, notFound: `pipeline ${pipelineId}` };
    return readChecked(this.http, V1Pipeline, { method: "GET", path: `${API}/pipelines/${seg(pipelineId)}` }, context);
  }

  /** v1 addresses versions by ID alone: check it belongs to the pipeline asked about. */
  private async rawVersion(pipelineId: string, versionId: string) {
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

const toPipeline: (p: v.InferOutput<typeof V1Pipeline>) => Pipeline = toNamespaced;
const toExperiment: (e: v.InferOutput<typeof V1Experiment>) => DatedExperiment = toNamespaced;

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
