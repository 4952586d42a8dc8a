/**
 * The KFP client the tasks use: `connectKfp` finds the server (prefix, API
 * version, multi-user mode) and returns a KfpClient that speaks its dialect.
 * What both dialects share lives here: input checks, dry runs, and writes that
 * are retried without ever creating an object twice: everything created carries
 * the owner's marker in its description, and after a lost answer an object is
 * adopted only when it has the right name and our marker (lib/kfp/ownership.ts).
 */

import type { DatedExperiment, KfpDialect, WriteSpec } from "./dialect.ts";
import { discoverServer, normalizeEndpoint } from "./endpoint.ts";
import { KfpError } from "./error.ts";
import { KfpHttp, readablePath } from "./http.ts";
import type {
  ApiVersion,
  CreateRunRequest,
  Experiment,
  KfpClient,
  KfpConnectOptions,
  KfpLinks,
  KfpServer,
  ParameterSpec,
  Pipeline,
  PipelineVersion,
  Run,
  WaitOptions,
  WaitTimeout,
} from "./types.ts";
import { V1Dialect } from "./v1.ts";
import { V2Dialect } from "./v2.ts";
import { OutageError, waitForRun } from "./wait.ts";
import { formatDuration } from "../net/mod.ts";
import type { PipelineFile } from "./pipeline-file.ts";
import { adoptable, describedAsOwned, ownedBy, randomOwnerMarker } from "./ownership.ts";

/** IDs of the placeholder objects a dry run returns instead of writing. */
export const DRY_RUN_IDS = {
  pipeline: "dry-run-pipeline",
  version: "dry-run-version",
  experiment: "dry-run-experiment",
  run: "dry-run-run",
} as const;

export async function connectKfp(options: KfpConnectOptions): Promise<KfpClient> {
  const baseUrl = normalizeEndpoint(options.endpoint);
  const forced = options.apiVersion === "auto" ? undefined : options.apiVersion;
  const probe = new KfpHttp({ ...options, baseUrl });
  const server = await discoverServer(probe, forced);
  // Single-user servers force the namespace to "", and a namespace filter would hide everything.
  const namespace = server.multiUser ? options.namespace || undefined : undefined;
  const http = probe.with({ baseUrl: server.baseUrl, namespace });
  const dialect = server.apiVersion === "v1beta1" ? new V1Dialect(http, namespace) : new V2Dialect(http, namespace);
  return new Client(http, dialect, { ...server, namespace }, options);
}

class Client implements KfpClient {
  readonly apiVersion: ApiVersion;
  readonly multiUser: boolean;
  readonly baseUrl: string;
  readonly serverVersion?: string;
  readonly namespace?: string;
  readonly links: KfpLinks;
  /** Placeholders handed out by a dry run, so reads of them are answered locally. */
  private readonly planned = new Map<string, Pipeline | PipelineVersion | Experiment | Run>();
  /** The marker every object we create carries, and every object we adopt must carry. */
  readonly owner: string;

  constructor(
    readonly http: KfpHttp,
    private readonly dialect: KfpDialect,
    server: KfpServer & { namespace?: string },
    readonly options: KfpConnectOptions,
  ) {
    this.apiVersion = server.apiVersion;
    this.multiUser = server.multiUser;
    this.baseUrl = server.baseUrl;
    this.serverVersion = server.serverVersion;
    this.namespace = server.namespace;
    this.links = uiLinks(server.baseUrl);
    this.owner = options.owner ?? randomOwnerMarker();
  }

  // --- pipelines and versions ---

  async findPipeline(name: string): Promise<Pipeline | undefined> {
    requireName(name, "find pipeline", "pipeline name");
    const own = await this.dialect.findPipeline(name);
    if (own || !this.namespace) return own;
    // Multi-user KFP also has shared pipelines (namespace ""), visible to every profile.
    return this.dialect.findPipeline(name, true);
  }

  async getPipeline(pipelineId: string): Promise<Pipeline> {
    return (this.placeholder(pipelineId) as Pipeline | undefined) ?? this.dialect.getPipeline(pipelineId);
  }

  async uploadPipeline(req: {
    file: PipelineFile;
    name: string;
    description?: string;
  }): Promise<{ pipeline: Pipeline; version: PipelineVersion }> {
    requireName(req.name, "upload pipeline", "pipeline name");
    const { file } = req;
    const spec = this.dialect.uploadPipeline(file, req.name, describedAsOwned(req.description, this.owner));
    if (this.options.dryRun) {
      this.plan(spec);
      const pipeline = this.remember<Pipeline>({
        id: DRY_RUN_IDS.pipeline,
        name: req.name,
        description: req.description,
        namespace: this.namespace,
      });
      return {
        pipeline,
        version: this.remember<PipelineVersion>({
          id: DRY_RUN_IDS.version,
          name: req.name,
          pipelineId: pipeline.id,
          description: req.description,
        }),
      };
    }
    const { pipeline, version } = await this.http.write(spec.request, spec.context, {
      parse: spec.parse,
      adopt: async () => {
        const found = await this.dialect.findPipeline(req.name);
        return found && this.owns(found) ? { pipeline: found, version: undefined } : undefined;
      },
    });
    // v2 (and an adopted upload) answers without the version; the upload named it like the pipeline.
    const first =
      version ??
      (await this.dialect.findVersion(pipeline.id, pipeline.name || req.name)) ??
      (await this.dialect.defaultVersion(pipeline.id));
    if (!first) {
      throw new KfpError({
        kind: "protocol",
        operation: spec.context.operation,
        message: `${spec.context.operation}: pipeline ${pipeline.id} was created, but KFP lists no version of it.`,
      });
    }
    return { pipeline, version: first };
  }

  async uploadVersion(req: { file: PipelineFile; pipelineId: string; name: string; description?: string }): Promise<PipelineVersion> {
    requireName(req.name, "upload pipeline version", "version name");
    const { file } = req;
    const spec = this.dialect.uploadVersion(file, req.pipelineId, req.name, describedAsOwned(req.description, this.owner));
    const standIn: PipelineVersion = { id: DRY_RUN_IDS.version, name: req.name, pipelineId: req.pipelineId, description: req.description };
    return this.send(spec, standIn, async () => {
      const found = await this.dialect.findVersion(req.pipelineId, req.name);
      return found && this.owns(found) ? found : undefined;
    });
  }

  async findVersion(pipelineId: string, name: string): Promise<PipelineVersion | undefined> {
    requireName(name, "find pipeline version", "version name");
    if (this.isPlaceholder(pipelineId)) {
      const version = this.planned.get(DRY_RUN_IDS.version) as PipelineVersion | undefined;
      return version?.pipelineId === pipelineId && version.name === name ? version : undefined;
    }
    return this.dialect.findVersion(pipelineId, name);
  }

  async getVersion(pipelineId: string, versionId: string): Promise<PipelineVersion> {
    return (this.placeholder(versionId) as PipelineVersion | undefined) ?? this.dialect.getVersion(pipelineId, versionId);
  }

  async defaultVersion(pipelineId: string): Promise<PipelineVersion | undefined> {
    if (this.isPlaceholder(pipelineId)) return this.planned.get(DRY_RUN_IDS.version) as PipelineVersion | undefined;
    return this.dialect.defaultVersion(pipelineId);
  }

  async versionParameters(pipelineId: string, versionId: string): Promise<ParameterSpec[] | undefined> {
    if (this.isPlaceholder(versionId)) return undefined;
    return this.dialect.versionParameters(pipelineId, versionId);
  }

  // --- experiments ---

  async findExperiment(name: string): Promise<Experiment | undefined> {
    requireName(name, "find experiment", "experiment name");
    this.requireNamespace("find experiment");
    return this.dialect.findExperiment(name);
  }

  async getExperiment(experimentId: string): Promise<Experiment> {
    return (this.placeholder(experimentId) as Experiment | undefined) ?? this.dialect.getExperiment(experimentId);
  }

  async createExperiment(req: { name: string; description?: string }): Promise<Experiment> {
    requireName(req.name, "create experiment", "experiment name");
    this.requireNamespace("create experiment");
    const spec = this.dialect.createExperiment(req.name, describedAsOwned(req.description, this.owner));
    const standIn: Experiment = { id: DRY_RUN_IDS.experiment, name: req.name, description: req.description, namespace: this.namespace };
    // Experiments are reused by name (getOrCreateExperiment), so adopting another's would be harmless there;
    // the marker still keeps createExperiment's promise: what it returns, it created.
    return this.send(spec, standIn, async () => {
      const found = await this.dialect.findExperiment(req.name);
      return found && this.owns(found) ? found : undefined;
    });
  }

  async getOrCreateExperiment(req: { name: string; description?: string }): Promise<{ experiment: Experiment; created: boolean }> {
    const existing = await this.findExperiment(req.name);
    if (existing) return { experiment: existing, created: false };
    try {
      return { experiment: await this.createExperiment(req), created: true };
    } catch (error) {
      // Someone else created it between our lookup and our create: use theirs.
      if (!(error instanceof KfpError && error.kind === "conflict")) throw error;
      const raced: DatedExperiment | undefined = await this.dialect.findExperiment(req.name);
      if (!raced) throw error;
      return { experiment: raced, created: false };
    }
  }

  // --- runs ---

  async createRun(req: CreateRunRequest): Promise<Run> {
    requireName(req.name, "create run", "run name");
    const spec = this.dialect.createRun({ ...req, description: describedAsOwned(req.description, this.owner) });
    const standIn: Run = { id: DRY_RUN_IDS.run, name: req.name, state: "", experimentId: req.experimentId };
    // Run names are not unique: only a run of that name with our marker is ours.
    return this.send(spec, standIn, async () => {
      const ours = (await this.dialect.findRuns(req.experimentId, req.name)).filter((run) => this.owns(run));
      const ids = `${ours
        .slice(0, 3)
        .map((r) => r.id)
        .join(", ")}${ours.length > 3 ? ", ..." : ""}`;
      const found = `${ours.length} runs named "${req.name}" created by this task exist in experiment ${req.experimentId} (${ids})`;
      return adoptable(ours, spec.context.operation, found);
    });
  }

  async getRun(runId: string): Promise<Run> {
    return (this.placeholder(runId) as Run | undefined) ?? this.dialect.getRun(runId);
  }

  async waitForRun(runId: string, options: WaitOptions): Promise<Run | WaitTimeout> {
    // A dry run has nothing to wait for.
    const planned = this.placeholder(runId) as Run | undefined;
    if (planned) return { timedOut: true, run: planned };
    try {
      return await waitForRun((signal) => this.dialect.getRun(runId, signal), options);
    } catch (error) {
      if (!(error instanceof OutageError)) throw error;
      const operation = `wait for run ${runId}`;
      const hint = `The run may still be running: ${this.links.run(runId)} (run ${runId}). Check KFP, then look at the run there.`;
      throw new KfpError({
        kind: error.first.kind,
        operation,
        status: error.first.status,
        method: error.first.method,
        path: error.first.path,
        message:
          `${operation} gave up: KFP has not answered for ${formatDuration(error.outageMs)} and the run's timeout has passed ` +
          `(${error.first.message.replace(/\.$/, "")}). ${hint}`,
        hint,
        cause: error,
      });
    }
  }

  async terminateRun(runId: string, options: { withinMs?: number } = {}): Promise<void> {
    const spec = this.dialect.terminateRun(runId);
    if (this.options.dryRun) return this.plan(spec);
    // Terminating twice is harmless, so a lost answer is simply re-sent.
    await this.http.write({ ...spec.request, withinMs: options.withinMs }, spec.context, { parse: spec.parse });
  }

  // --- helpers ---

  /** Created by this client's owner (the same job attempt and step). */
  private owns(object: { description?: string }): boolean {
    return ownedBy(object.description, this.owner);
  }

  private requireNamespace(operation: string): void {
    if (this.multiUser && !this.namespace) {
      throw new KfpError({
        kind: "invalid",
        operation,
        message:
          `${operation}: this KFP server runs in multi-user mode, ` +
          `where experiments and runs belong to a namespace (Kubeflow profile). Set the namespace.`,
      });
    }
  }

  plan(spec: Pick<WriteSpec<unknown>, "request">): void {
    const url = this.http.url(spec.request);
    const upload = spec.request.upload;
    this.options.onPlannedWrite?.({
      method: spec.request.method,
      path: readablePath(url),
      body: upload ? { file: upload.path, size: upload.size, name: upload.uploadName } : spec.request.json,
    });
  }

  /**
   * Sends a write that creates one object, adopting after a lost answer what `adopt` finds of ours.
   * In dry run it only plans the write and returns `standIn`, remembered so later lookups find it.
   */
  private async send<T extends PipelineVersion | Experiment | Run>(
    spec: WriteSpec<T>,
    standIn: T,
    adopt: () => Promise<T | undefined>,
  ): Promise<T> {
    if (this.options.dryRun) {
      this.plan(spec);
      return this.remember(standIn);
    }
    return this.http.write(spec.request, spec.context, { parse: spec.parse, adopt });
  }

  private remember<T extends Pipeline | PipelineVersion | Experiment | Run>(placeholder: T): T {
    this.planned.set(placeholder.id, placeholder);
    return placeholder;
  }

  private placeholder(id: string) {
    return this.options.dryRun ? this.planned.get(id) : undefined;
  }

  private isPlaceholder(id: string): boolean {
    return this.placeholder(id) !== undefined;
  }
}

export function requireName(name: string, operation: string, what: string): void {
  if (typeof name !== "string" || name.trim() === "") {
    throw new KfpError({ kind: "invalid", operation, message: `${operation}: the ${what} is empty. Give a name.` });
  }
}

/** KFP UI addresses; for a direct API-server endpoint they still derive from its base. */
function uiLinks(base: string): KfpLinks {
  const id = encodeURIComponent;
  return {
    pipeline: (pipelineId) => `${base}/#/pipelines/details/${id(pipelineId)}`,
    version: (pipelineId, versionId) => `${base}/#/pipelines/details/${id(pipelineId)}/version/${id(versionId)}`,
    experiment: (experimentId) => `${base}/#/experiments/details/${id(experimentId)}`,
    run: (runId) => `${base}/#/runs/details/${id(runId)}`,
  };
}
