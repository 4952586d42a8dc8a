/**
 * What differs between the two KFP REST dialects (v1beta1 on KFP 1.8,
 * v2beta1 on KFP 2.x): paths, query parameters, bodies and answer shapes.
 * `v1.ts` and `v2.ts` implement this, each a table of its spellings on the
 * frame in `dialect-frame.ts`; `client.ts` holds what the client does on top
 * (dry run, safe retries of writes, adopting objects after a lost answer).
 */

import type * as v from "valibot";
import { filterParam, findAll, findUnique, PAGE_SIZE, type KfpFilter, type Page } from "./filter.ts";
import type { HttpRequest, KfpHttp, RequestContext } from "./http.ts";
import { checkAnswer } from "./schemas.ts";
import type {
  ApiVersion,
  KfpConnectOptions,
  CreateRunRequest,
  Experiment,
  KfpClient,
  ParameterSpec,
  Pipeline,
  PipelineVersion,
  Run,
  RunOutcome,
} from "./types.ts";
import type { PipelineFile } from "./pipeline-file.ts";

/** A write, described but not sent: the client sends it (or reports it in a dry run). */
export interface WriteSpec<T> {
  request: HttpRequest;
  context: RequestContext;
  /** Turns the server's answer into our object. */
  parse(body: unknown): T;
}

/**
 * What a module that adds an API area to the client builds on (lib/kfp/recurring.ts):
 * such areas live in their own modules so that tasks which never use them do not carry them.
 */
export interface KfpSession {
  readonly http: KfpHttp;
  readonly apiVersion: ApiVersion;
  readonly namespace?: string;
  /** As the client was connected: `dryRun` among them. */
  readonly options: Pick<KfpConnectOptions, "dryRun">;
  /** The owner's marker: what the session creates carries it, and only what carries it is adopted (ownership.ts). */
  readonly owner: string;
  /** Reports a write that a dry run does not send. */
  plan(spec: Pick<WriteSpec<unknown>, "request">): void;
}

/** Experiments as the dialects return them: with `createdAt`, to tell ours from older ones. */
export type DatedExperiment = Experiment & { createdAt?: string };

/** One API version's calls; the version lookups are the client's own, which passes them through. */
export interface KfpDialect extends Pick<KfpClient, "getPipeline" | "findVersion" | "getVersion" | "defaultVersion" | "versionParameters"> {
  readonly apiVersion: ApiVersion;

  /** In the client's namespace, or among shared pipelines (namespace "") when `shared`. */
  findPipeline(name: string, shared?: boolean): Promise<Pipeline | undefined>;
  findExperiment(name: string): Promise<DatedExperiment | undefined>;
  getExperiment(experimentId: string): Promise<DatedExperiment>;
  getRun(runId: string, signal?: AbortSignal): Promise<Run>;
  /** Every run in the experiment named exactly `name`. */
  findRuns(experimentId: string, name: string): Promise<Run[]>;

  /** v2 answers without the version; v1 usually includes it. */
  uploadPipeline(file: PipelineFile, name: string, description?: string): WriteSpec<{ pipeline: Pipeline; version?: PipelineVersion }>;
  uploadVersion(file: PipelineFile, pipelineId: string, name: string, description?: string): WriteSpec<PipelineVersion>;
  createExperiment(name: string, description?: string): WriteSpec<DatedExperiment>;
  createRun(req: CreateRunRequest): WriteSpec<Run>;
  terminateRun(runId: string): WriteSpec<void>;
}

/** KFP v1 (Argo) parameters: all text, and optional when they carry a default value. */
export function textParameters(params: readonly { name: string; value?: string }[]): ParameterSpec[] {
  return params.map((p) => ({ name: p.name, type: "STRING", optional: p.value !== undefined, defaultValue: p.value }));
}

/** A read whose answer is checked against its schema. */
export async function readChecked<S extends v.GenericSchema>(
  http: KfpHttp,
  schema: S,
  request: HttpRequest,
  context: RequestContext,
  signal?: AbortSignal,
): Promise<v.InferOutput<S>> {
  const answer = await http.read(request, context, signal);
  return checkAnswer(schema, answer, { operation: context.operation, method: request.method, path: http.pathOf(request) });
}

/** A write's answer parser that checks the schema first. */
export function checkedParser<S extends v.GenericSchema, T>(
  http: KfpHttp,
  schema: S,
  request: HttpRequest,
  context: RequestContext,
  map: (answer: v.InferOutput<S>) => T,
): (body: unknown) => T {
  return (body) => map(checkAnswer(schema, body, { operation: context.operation, method: request.method, path: http.pathOf(request) }));
}

/** A filtered list call that finds objects by exact name. */
interface NamedListing<S extends v.GenericSchema<unknown, { next_page_token?: string }>, T extends { name: string }> {
  operation: string;
  name: string;
  path: string;
  filter: KfpFilter;
  /** Scoping parameters (namespace, owner). */
  query?: Record<string, string | undefined>;
  /** What a 404 of the list means (its parent is gone). */
  notFound?: string;
  schema: S;
  items: (body: v.InferOutput<S>) => T[];
}

/** The one object named exactly `listing.name`, across all pages; "ambiguous" for several. */
export function findNamed<S extends v.GenericSchema<unknown, { next_page_token?: string }>, T extends { name: string }>(
  http: KfpHttp,
  what: string,
  listing: NamedListing<S, T>,
): Promise<T | undefined> {
  return findUnique({
    operation: listing.operation,
    what,
    name: listing.name,
    nameOf: (item: T) => item.name,
    fetchPage: pages(http, listing),
  });
}

/** Every object named exactly `listing.name`, across all pages. */
export function findAllNamed<S extends v.GenericSchema<unknown, { next_page_token?: string }>, T extends { name: string }>(
  http: KfpHttp,
  listing: NamedListing<S, T>,
): Promise<T[]> {
  return findAll({ operation: listing.operation, name: listing.name, nameOf: (item: T) => item.name, fetchPage: pages(http, listing) });
}

function pages<S extends v.GenericSchema<unknown, { next_page_token?: string }>, T extends { name: string }>(
  http: KfpHttp,
  listing: NamedListing<S, T>,
) {
  return async (pageToken: string | undefined): Promise<Page<T>> => {
    // The same filter on every page: KFP rejects a page token sent with another one.
    const query = { filter: filterParam(listing.filter), page_size: PAGE_SIZE, page_token: pageToken, ...listing.query };
    const context = { operation: listing.operation, notFound: listing.notFound };
    const body = await readChecked(http, listing.schema, { method: "GET", path: listing.path, query }, context);
    return { items: listing.items(body), nextPageToken: body.next_page_token };
  };
}

/** Path segment for an ID. */
export function seg(id: string): string {
  return encodeURIComponent(id);
}

/** The outcome for a terminal state (compared case-insensitively), undefined while the run goes on. */
export function outcomeOf(state: string, terminal: Record<string, RunOutcome>): RunOutcome | undefined {
  return terminal[state.toUpperCase()];
}

/** Leaves out empty strings, so optional query parameters are not sent at all. */
export function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

function conflictHint(what: string, namespace: string | undefined, fix: string): string {
  return `${what} already exists${namespace ? ` in namespace "${namespace}"` : ""}: ${fix}`;
}

/*
 * What each write means, in words, and how to resolve a name conflict: the same
 * on both API versions, so both dialects say it the same way.
 */

export function uploadPipelineContext(name: string, namespace: string | undefined): RequestContext {
  return {
    operation: `upload pipeline "${name}"`,
    conflictHint: conflictHint(
      `A pipeline named "${name}"`,
      namespace,
      "upload the file as a new version of that pipeline, or choose another pipeline name.",
    ),
  };
}

export function uploadVersionContext(pipelineId: string, name: string): RequestContext {
  return {
    operation: `upload version "${name}" of pipeline ${pipelineId}`,
    conflictHint:
      `Pipeline ${pipelineId} already has a version named "${name}": version names are unique per pipeline; ` +
      `choose another (e.g. add the build number).`,
  };
}

export function createExperimentContext(name: string, namespace: string | undefined): RequestContext {
  return {
    operation: `create experiment "${name}"`,
    conflictHint: conflictHint(`An experiment named "${name}"`, namespace, "use it, or choose another name."),
  };
}

/** KFP reports unset timestamps as the Unix epoch. */
export function timestamp(value: string | undefined): string | undefined {
  return value && !value.startsWith("1970-01-01") ? value : undefined;
}
