/**
 * The calls whose frame is the same on both KFP APIs: which request, what it
 * is for (the words in errors and conflict hints), which answer it expects.
 * What the two APIs spell differently (paths, keys, scoping, bodies, answer
 * shapes) is one `DialectSpelling` table each, in v1.ts and v2.ts; what differs
 * in meaning (how versions are found and checked) stays in each dialect's own
 * methods there.
 */

import type * as v from "valibot";
import {
  checkedParser,
  createExperimentContext,
  type DatedExperiment,
  findAllNamed,
  findNamed,
  type KfpDialect,
  nonEmpty,
  readChecked,
  seg,
  uploadPipelineContext,
  uploadVersionContext,
  type WriteSpec,
} from "./dialect.ts";
import { equalsFilter } from "./filter.ts";
import type { HttpRequest, KfpHttp, RequestContext } from "./http.ts";
import type { PipelineFile } from "./pipeline-file.ts";
import type { ApiVersion, CreateRunRequest, ParameterSpec, Pipeline, PipelineVersion, Run } from "./types.ts";

/** An answer's schema, and what the client makes of it once it fits. */
export interface Answer<T> {
  schema: v.GenericSchema;
  to(answer: unknown): T;
}

/** A list answer's schema, and the items the client makes of one page. */
export interface ListAnswer<T> {
  schema: v.GenericSchema<unknown, { next_page_token?: string }>;
  items(page: unknown): T[];
}

export function answer<S extends v.GenericSchema, T>(schema: S, to: (answer: v.InferOutput<S>) => T): Answer<T> {
  return { schema, to: to as (answer: unknown) => T };
}

export function listAnswer<S extends v.GenericSchema<unknown, { next_page_token?: string }>, T>(
  schema: S,
  items: (page: v.InferOutput<S>) => T[],
): ListAnswer<T> {
  return { schema, items: items as (page: unknown) => T[] };
}

/** What one API spells its own way in the calls both make. */
export interface DialectSpelling {
  apiVersion: ApiVersion;
  /** `/apis/v1beta1` or `/apis/v2beta1`. */
  base: string;
  /** Between a run's ID and a custom method: `/terminate` on v1, `:terminate` on v2. */
  methodSeparator: "/" | ":";
  /** The field that names experiments and runs, in filters and in bodies: `name` (v1) or `display_name` (v2). */
  nameKey: "name" | "display_name";
  /** The query that scopes a list to a namespace; none for undefined. */
  inNamespace(namespace: string | undefined): Record<string, string | undefined>;
  /** A new experiment's namespace, as its body gives it. */
  experimentNamespace(namespace: string | undefined): Record<string, unknown>;
  /** The query that scopes a run list to an experiment. */
  inExperiment(experimentId: string): Record<string, string>;
  /** Where a pipeline's versions are listed. */
  versionsOf(pipelineId: string): { path: string; query?: Record<string, string> };
  /** An upload's names beside its description and namespace. */
  uploadNames(name: string): Record<string, string>;
  /** What a run runs, in which experiment, with which parameters and service account. */
  pipelineSource(req: CreateRunRequest): Record<string, unknown>;
  pipeline: Answer<Pipeline>;
  pipelines: ListAnswer<Pipeline>;
  /** The answer to an upload: the pipeline, and on v1 its first version. */
  uploaded: Answer<{ pipeline: Pipeline; version?: PipelineVersion }>;
  version(pipelineId: string): Answer<PipelineVersion>;
  versions(pipelineId: string): ListAnswer<PipelineVersion>;
  experiment: Answer<DatedExperiment>;
  experiments: ListAnswer<DatedExperiment>;
  run: Answer<Run>;
  runs: ListAnswer<Run>;
}

/** One API's dialect: the shared frame filled in from its spelling; each API adds how it finds and checks versions. */
export abstract class SpelledDialect implements KfpDialect {
  readonly apiVersion: ApiVersion;

  constructor(
    protected readonly http: KfpHttp,
    protected readonly namespace: string | undefined,
    private readonly api: DialectSpelling,
  ) {
    this.apiVersion = api.apiVersion;
  }

  /** One version's answer, read as this API addresses versions (and checked against the pipeline asked about). */
  protected abstract rawVersion(pipelineId: string, versionId: string): Promise<unknown>;
  abstract defaultVersion(pipelineId: string): Promise<PipelineVersion | undefined>;
  abstract versionParameters(pipelineId: string, versionId: string): Promise<ParameterSpec[] | undefined>;

  findPipeline(name: string, shared = false): Promise<Pipeline | undefined> {
    return findNamed(this.http, `pipeline "${name}"`, {
      operation: `find pipeline "${name}"`,
      name,
      path: `${this.api.base}/pipelines`,
      filter: equalsFilter(this.apiVersion, "name", name),
      query: this.api.inNamespace(shared ? undefined : this.namespace),
      ...this.api.pipelines,
    });
  }

  getPipeline(pipelineId: string): Promise<Pipeline> {
    const { request, context } = this.pipelineRead(pipelineId);
    return this.read(this.api.pipeline, request, context);
  }

  findVersion(pipelineId: string, name: string): Promise<PipelineVersion | undefined> {
    return findNamed(this.http, `version "${name}"`, {
      operation: `find version "${name}" of pipeline ${pipelineId}`,
      name,
      ...this.api.versionsOf(pipelineId),
      filter: equalsFilter(this.apiVersion, "name", name),
      notFound: `pipeline ${pipelineId}`,
      ...this.api.versions(pipelineId),
    });
  }

  async getVersion(pipelineId: string, versionId: string): Promise<PipelineVersion> {
    return this.api.version(pipelineId).to(await this.rawVersion(pipelineId, versionId));
  }

  findExperiment(name: string): Promise<DatedExperiment | undefined> {
    return findNamed(this.http, `experiment "${name}"`, {
      operation: `find experiment "${name}"`,
      name,
      path: `${this.api.base}/experiments`,
      filter: equalsFilter(this.apiVersion, this.api.nameKey, name),
      query: this.api.inNamespace(this.namespace),
      ...this.api.experiments,
    });
  }

  getExperiment(experimentId: string): Promise<DatedExperiment> {
    const context = { operation: `get experiment ${experimentId}`, notFound: `experiment ${experimentId}` };
    return this.read(this.api.experiment, this.get(`/experiments/${seg(experimentId)}`), context);
  }

  getRun(runId: string, signal?: AbortSignal): Promise<Run> {
    return this.read(this.api.run, this.get(`/runs/${seg(runId)}`), { operation: `get run ${runId}`, notFound: `run ${runId}` }, signal);
  }

  findRuns(experimentId: string, name: string): Promise<Run[]> {
    return findAllNamed(this.http, {
      operation: `find run "${name}" in experiment ${experimentId}`,
      name,
      path: `${this.api.base}/runs`,
      filter: equalsFilter(this.apiVersion, this.api.nameKey, name),
      query: this.api.inExperiment(experimentId),
      ...this.api.runs,
    });
  }

  uploadPipeline(file: PipelineFile, name: string, description?: string): WriteSpec<{ pipeline: Pipeline; version?: PipelineVersion }> {
    const request = {
      method: "POST" as const,
      path: `${this.api.base}/pipelines/upload`,
      query: { ...this.api.uploadNames(name), description: nonEmpty(description), namespace: this.namespace },
      upload: file,
    };
    return this.write(this.api.uploaded, request, uploadPipelineContext(name, this.namespace));
  }

  uploadVersion(file: PipelineFile, pipelineId: string, name: string, description?: string): WriteSpec<PipelineVersion> {
    const request = {
      method: "POST" as const,
      path: `${this.api.base}/pipelines/upload_version`,
      query: { pipelineid: pipelineId, name, description: nonEmpty(description) },
      upload: file,
    };
    return this.write(this.api.version(pipelineId), request, uploadVersionContext(pipelineId, name));
  }

  createExperiment(name: string, description?: string): WriteSpec<DatedExperiment> {
    const json = { [this.api.nameKey]: name, description: nonEmpty(description), ...this.api.experimentNamespace(this.namespace) };
    const request = { method: "POST" as const, path: `${this.api.base}/experiments`, json };
    return this.write(this.api.experiment, request, createExperimentContext(name, this.namespace));
  }

  createRun(req: CreateRunRequest): WriteSpec<Run> {
    const json = { [this.api.nameKey]: req.name, description: nonEmpty(req.description), ...this.api.pipelineSource(req) };
    const request = { method: "POST" as const, path: `${this.api.base}/runs`, json };
    return this.write(this.api.run, request, { operation: `create run "${req.name}"` });
  }

  terminateRun(runId: string): WriteSpec<void> {
    const request = { method: "POST" as const, path: `${this.api.base}/runs/${seg(runId)}${this.api.methodSeparator}terminate` };
    return { request, context: { operation: `terminate run ${runId}`, notFound: `run ${runId}` }, parse: () => undefined };
  }

  /** GET one pipeline: the request and what it is for. */
  protected pipelineRead(pipelineId: string) {
    return {
      request: this.get(`/pipelines/${seg(pipelineId)}`),
      context: { operation: `get pipeline ${pipelineId}`, notFound: `pipeline ${pipelineId}` },
    };
  }

  /** GET `path` under the API's base. */
  private get(path: string): HttpRequest {
    return { method: "GET", path: this.api.base + path };
  }

  /** A read whose answer is checked, then converted. */
  private async read<T>(answer: Answer<T>, request: HttpRequest, context: RequestContext, signal?: AbortSignal): Promise<T> {
    return answer.to(await readChecked(this.http, answer.schema, request, context, signal));
  }

  /** A write whose answer will be checked, then converted. */
  private write<T>(answer: Answer<T>, request: HttpRequest, context: RequestContext): WriteSpec<T> {
    return { request, context, parse: checkedParser(this.http, answer.schema, request, context, answer.to) };
  }
}
