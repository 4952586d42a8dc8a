/**
 * What the v1beta1 and v2beta1 routes of the fake KFP server share: the route
 * table type and matcher (KFP's `{run_id}:terminate` style paths included), the
 * list keys and answers, reading an upload, and creating a run once each API has
 * read its body.
 */

import type { FakeExperiment, FakePipeline, FakeRequestLine, FakeRun } from "./types.ts";
import { FakeHttpError, badRequest, omitEmpty, readMessage, type MessageSpec, type MultipartPart } from "./http.ts";
import type { ListKeys, ListPage } from "./list.ts";
import type { FakeRuns } from "./runs.ts";
import { type FakeStore, type StoredVersion, checkArgoParameters, checkTypedParameters } from "./state.ts";
import { MAX_PACKAGE_BYTES, PipelinePackageError, type PipelinePackage, describeSpec, isObject } from "./package.ts";
import { readPipelinePackageCached } from "./package-cache.ts";
import { checkFinalStatusSupported } from "./exit-task.ts";

/** A request as the handlers get it: its headers as sent, its body parsed. */
export interface ApiRequest extends FakeRequestLine {
  headers: Record<string, string>;
  /** Parsed JSON body, when the request had one. */
  json?: unknown;
  /** Multipart parts, when the request was multipart/form-data. */
  parts?: MultipartPart[];
}

export interface FakeContext {
  store: FakeStore;
  runs: FakeRuns;
  api: "v1" | "v2";
  serverVersion: string;
  multiUser: boolean;
  /** Unknown request-body fields give 400 (KFP >= 2.14). */
  strictBodies: boolean;
}

export interface Route {
  method: string;
  /** Swagger-style template, e.g. `/apis/v2beta1/runs/{run_id}:terminate`. */
  template: string;
  /** Multipart upload handler: errors use `{error_message, error_details}`, auth failures 400. */
  upload?: boolean;
  handle(ctx: FakeContext, req: ApiRequest, params: Record<string, string>): unknown;
}

interface CompiledRoute extends Route {
  pattern: RegExp;
  names: string[];
}

export function compileRoutes(routes: Route[]): CompiledRoute[] {
  return routes.map((route) => {
    const names: string[] = [];
    const source = route.template
      .replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
      .replace(/\\\{([^}]+)\\\}(:?)/g, (_, name: string, colon: string) => {
        names.push(name);
        return colon ? "([^/:]+):" : "([^/]+)";
      });
    return { ...route, pattern: new RegExp(`^${source}$`), names };
  });
}

/** The route for a path: `{route, params}`, `"method"` when only the method is wrong, or undefined. */
export function matchRoute(
  routes: CompiledRoute[],
  method: string,
  path: string,
): { route: CompiledRoute; params: Record<string, string> } | undefined {
  for (const route of routes) {
    const match = route.pattern.exec(path);
    if (!match || route.method !== method) continue;
    const params = Object.fromEntries(route.names.map((name, i) => [name, decodeURIComponent(match[i + 1] ?? "")]));
    return { route, params };
  }
  return undefined;
}

export interface Upload {
  fileName: string;
  size: number;
  pkg: PipelinePackage;
}

/** Reads the `uploadfile` part as KFP's upload handler does, with its error messages. */
function readUpload(ctx: FakeContext, req: ApiRequest): Upload {
  const file = req.parts?.find((p) => p.field === "uploadfile");
  if (!file) throw new FakeHttpError(400, "Failed to read pipeline from file: http: no such file");
  if (file.data.length > MAX_PACKAGE_BYTES) {
    throw new FakeHttpError(400, `Error read pipeline file: File size too large. Maximum supported size: ${MAX_PACKAGE_BYTES}`);
  }
  const fileName = file.filename ?? "";
  let pkg: PipelinePackage;
  try {
    pkg = readPipelinePackageCached(fileName, file.data);
  } catch (err) {
    if (err instanceof PipelinePackageError) throw new FakeHttpError(400, `Invalid input error: ${err.message}`);
    throw err;
  }
  if (ctx.api === "v1" && pkg.kind === "ir") {
    throw new FakeHttpError(
      400,
      "Invalid input error: Failed to parse the pipeline spec: unknown template format (KFP 1.8 reads Argo workflows only)",
    );
  }
  return { fileName, size: file.data.length, pkg };
}

/**
 * What the two APIs' upload routes differ in. KFP serves both from one upload handler
 * (server/pipeline_upload_server.go), so the routes are one frame (uploadRoutes) filled in from this.
 */
export interface UploadApi {
  /** `/apis/v1beta1` or `/apis/v2beta1`. */
  base: string;
  /** The new pipeline's or version's names, from the query and the file's name. */
  names(ctx: FakeContext, query: Record<string, string>, fileName: string): { name: string; displayName?: string };
  renderPipeline(ctx: FakeContext, pipeline: FakePipeline): unknown;
  renderVersion(ctx: FakeContext, version: StoredVersion): unknown;
}

/** POST pipelines/upload and pipelines/upload_version, as `api` names and renders them. */
export function uploadRoutes(api: UploadApi): Route[] {
  return [
    {
      method: "POST",
      template: `${api.base}/pipelines/upload`,
      upload: true,
      handle: (ctx, req) => {
        const upload = readUpload(ctx, req);
        const { pipeline } = ctx.store.createPipeline({
          ...upload,
          ...api.names(ctx, req.query, upload.fileName),
          description: req.query.description,
          namespace: req.query.namespace,
        });
        return api.renderPipeline(ctx, pipeline);
      },
    },
    {
      method: "POST",
      template: `${api.base}/pipelines/upload_version`,
      upload: true,
      handle: (ctx, req) => {
        const upload = readUpload(ctx, req);
        if (!req.query.pipelineid)
          throw badRequest("Failed to create a pipeline version. Pipeline id is empty: set the pipelineid query parameter");
        const names = api.names(ctx, req.query, upload.fileName);
        const version = ctx.store.createVersion(req.query.pipelineid, { ...upload, ...names, description: req.query.description });
        return api.renderVersion(ctx, version);
      },
    },
  ];
}

/** Looks up the version a run uses; `pipelineId` alone means its latest (2.x) or default (1.8) version. */
export function runVersion(ctx: FakeContext, pipelineId: string | undefined, versionId: string | undefined): StoredVersion {
  if (versionId) {
    const version = ctx.store.version(versionId);
    if (pipelineId && version.pipelineId !== pipelineId) {
      throw badRequest(`pipeline version ${versionId} does not belong to pipeline ${pipelineId}`);
    }
    return version;
  }
  if (pipelineId) {
    const pipeline = ctx.store.pipeline(pipelineId);
    const version = ctx.store.defaultVersion(pipeline);
    if (version) return version;
    throw badRequest(`pipeline ${pipelineId} has no versions`);
  }
  throw badRequest("Run has no pipeline source: specify a pipeline version (or a pipeline id, or an inline pipeline spec)");
}

/** A version-like object for a run made from an inline spec (no pipeline stored). */
export function inlineVersion(ctx: FakeContext, spec: unknown): StoredVersion {
  if (!isObject(spec)) throw badRequest("pipeline_spec must be a JSON object");
  let pkg: PipelinePackage;
  try {
    pkg = describeSpec(spec);
  } catch (err) {
    throw badRequest((err as Error).message);
  }
  return {
    id: "",
    pipelineId: "",
    name: "",
    description: "",
    createdAt: ctx.store.now(),
    parameters: pkg.parameters,
    spec: pkg.spec,
    kind: pkg.kind,
    fileName: "",
    size: 0,
  };
}

/** What a run's body says, once its API has read it. */
export interface RunInit {
  name: string | undefined;
  description?: string;
  experimentId?: string;
  version: StoredVersion;
  parameters: Record<string, unknown>;
  typed: boolean;
  serviceAccount?: string;
}

/** What the two APIs' run routes differ in (listing, which each scopes its own way, aside). */
export interface RunApi {
  /** `/apis/v1beta1` or `/apis/v2beta1`. */
  base: string;
  /** Between a run's ID and terminate: `/terminate` on v1, `:terminate` on v2. */
  methodSeparator: "/" | ":";
  /** The create request's body (api.Run or v2beta1.Run). */
  body: MessageSpec;
  init(ctx: FakeContext, body: Record<string, unknown>): RunInit;
  render(ctx: FakeContext, run: FakeRun): unknown;
}

/** POST runs, GET runs/{run_id} (each read advances a scripted run) and terminate, as `api` spells them. */
export function runRoutes(api: RunApi): Route[] {
  const one = `${api.base}/runs/{run_id}`;
  return [
    {
      method: "POST",
      template: `${api.base}/runs`,
      handle: (ctx, req) => api.render(ctx, createRun(ctx, api.init(ctx, readMessage(req.json, api.body, ctx.strictBodies)))),
    },
    { method: "GET", template: one, handle: (ctx, _req, params) => api.render(ctx, ctx.runs.poll(findRun(ctx, params.run_id!))) },
    {
      method: "POST",
      template: `${one}${api.methodSeparator}terminate`,
      handle: (ctx, _req, params) => {
        ctx.runs.terminate(findRun(ctx, params.run_id!));
        return {};
      },
    },
  ];
}

/**
 * Creates a run after its API-specific reading: checks name, experiment (or the
 * default one), and the parameters against what the version declares.
 * `typed` parameters come from a runtime_config map; otherwise they are v1 strings.
 */
function createRun(ctx: FakeContext, init: RunInit): FakeRun {
  if (!init.name?.trim()) throw badRequest("The run name is empty. Please specify a valid name");
  const experiment: FakeExperiment = init.experimentId ? ctx.store.experiment(init.experimentId) : ctx.store.defaultExperiment();
  if (ctx.multiUser && !experiment.namespace) throw badRequest("A run cannot have an empty namespace in multi-user mode");
  if (init.version.kind === "ir") checkFinalStatusSupported(ctx.serverVersion, init.version);
  checkRunParameters(init.version, init.parameters, init.typed);
  return ctx.runs.create({
    name: init.name,
    description: init.description,
    experiment,
    version: init.version,
    parameters: init.parameters,
    serviceAccount: init.serviceAccount,
  });
}

/** The parameters of a run or recurring run against what its version declares: typed on IR pipelines, names on Argo ones. */
export function checkRunParameters(version: StoredVersion, parameters: Record<string, unknown>, typed: boolean): void {
  if (version.kind === "ir") {
    checkTypedParameters(version.parameters, parameters);
    return;
  }
  for (const [name, value] of Object.entries(parameters)) {
    if (typed && typeof value === "object" && value !== null) {
      throw badRequest(`input parameter ${name} of an Argo workflow must be a scalar value`);
    }
  }
  checkArgoParameters(version.parameters, parameters);
}

function findRun(ctx: FakeContext, id: string): FakeRun {
  const run = ctx.runs.get(id);
  if (!run) throw new FakeHttpError(404, `Run ${id} not found`);
  return run;
}

/** The filter and sort keys of a pipeline, a version and an experiment alike (their v1beta1 names). */
function namedKeys<T extends { id: string; name: string; createdAt: string; description?: string }>(): ListKeys<T> {
  return { id: (o) => o.id, name: (o) => o.name, created_at: (o) => Date.parse(o.createdAt), description: (o) => o.description };
}

/** Filter and sort keys both APIs know, by their v1beta1 names; v2beta1 adds `*_id` and `display_name` aliases. */
export const PIPELINE_KEYS: ListKeys<FakePipeline> = { ...namedKeys<FakePipeline>(), namespace: (p) => p.namespace };

export const VERSION_KEYS: ListKeys<StoredVersion> = namedKeys<StoredVersion>();

export const EXPERIMENT_KEYS: ListKeys<FakeExperiment> = { ...namedKeys<FakeExperiment>(), namespace: (e) => e.namespace };

export const RUN_KEYS: ListKeys<FakeRun> = {
  id: (r) => r.id,
  name: (r) => r.name,
  created_at: (r) => Date.parse(r.createdAt),
  finished_at: (r) => (r.finishedAt ? Date.parse(r.finishedAt) : 0),
  description: (r) => r.description,
  namespace: (r) => r.namespace,
};

/** A list answer: the items under `key`, with total_size and next_page_token when they are not empty. */
export function listAnswer<T>(key: string, page: ListPage<T>, render: (item: T) => unknown) {
  return omitEmpty({ [key]: page.items.map(render), total_size: page.total || undefined, next_page_token: page.nextPageToken });
}

/** In multi-user mode, experiment and run lists must name a namespace (or an experiment). */
export function requireNamespace(ctx: FakeContext, namespace: string | undefined, what: string): void {
  if (ctx.multiUser && !namespace) throw badRequest(`In multi-user mode, ${what} requires filtering by namespace`);
}
