/**
 * The one interface the tasks use to talk to Kubeflow Pipelines, whatever the
 * server's API version (v1beta1 on KFP 1.8, v2beta1 on KFP 2.x).
 *
 * Everything here is plain data: IDs are strings, states are the server's own
 * words, and nothing leaks which API version produced it except `apiVersion`.
 */

import type { KfpError } from "./error.ts";
import type { PipelineFile } from "./pipeline-file.ts";
import type { TransportProxy } from "../net/mod.ts";
import type { KfpSession } from "./dialect.ts";

export type ApiVersion = "v1beta1" | "v2beta1";

/** How requests prove who we are. Credentials never appear in URLs or logs. */
export type KfpAuth =
  | { kind: "none" }
  | { kind: "bearer"; token: string }
  /** A whole Cookie header value, e.g. `authservice_session=...` or `oauth2_proxy_kubeflow=...`. */
  | { kind: "cookie"; cookie: string };

export interface KfpConnectOptions {
  /** The endpoint as the user wrote it: any scheme, port and path prefix, trailing slash or not. */
  endpoint: string;
  /** `auto` (default) detects from healthz: v2beta1 first, then v1beta1. */
  apiVersion?: ApiVersion | "auto";
  auth?: KfpAuth;
  /** `kubeflow-userid` header, for direct API-server access in multi-user mode. */
  userId?: string;
  /** Kubeflow profile; required by multi-user servers for experiments and runs. */
  namespace?: string;
  /** Per-request timeout. Default 30 s (uploads: 5 min). */
  requestTimeoutMs?: number;
  /** Retry budget for safe retries. Defaults: 5 attempts, 60 s in total. */
  retry?: { attempts?: number; totalMs?: number; baseDelayMs?: number };
  /** One line per request: method, path (no query secrets), status, milliseconds. */
  onRequest?: (line: RequestLogLine) => void;
  /** PEM certificate authorities to verify an https KFP against, in place of Node's own (include tls.rootCertificates to add to them). */
  ca?: readonly string[];
  /** An HTTP proxy to reach KFP through (the agent's; see agent-proxy.ts). */
  proxy?: TransportProxy;
  /**
   * The owner marker put at the end of the description of everything this client
   * creates, and required of what it adopts after a lost answer (lib/kfp/ownership.ts).
   * Default: a marker of this client alone.
   */
  owner?: string;
  /** Dry run: reads are made, writes are not sent but reported through `onPlannedWrite`. */
  dryRun?: boolean;
  onPlannedWrite?: (write: PlannedWrite) => void;
}

export interface RequestLogLine {
  method: string;
  /** Path and query of the request, with the endpoint's own prefix. */
  path: string;
  status: number | "error";
  ms: number;
  attempt: number;
}

export interface PlannedWrite {
  method: string;
  path: string;
  /** JSON body, or a description of a multipart upload. */
  body: unknown;
}

export interface Pipeline {
  id: string;
  name: string;
  displayName?: string;
  description?: string;
  namespace?: string;
  createdAt?: string;
}

export interface PipelineVersion {
  id: string;
  name: string;
  pipelineId: string;
  description?: string;
  createdAt?: string;
}

export interface Experiment {
  id: string;
  name: string;
  description?: string;
  namespace?: string;
}

/** A parameter the pipeline declares (v2: root inputDefinitions; v1: the version's parameters). */
export interface ParameterSpec {
  name: string;
  type: "STRING" | "NUMBER_INTEGER" | "NUMBER_DOUBLE" | "BOOLEAN" | "LIST" | "STRUCT";
  /** True when the pipeline gives a default or marks it optional. */
  optional: boolean;
  defaultValue?: unknown;
}

export type RunOutcome = "succeeded" | "failed" | "skipped" | "canceled";

export interface RunSteps {
  total: number;
  done: number;
  running: string[];
  failed: string[];
  /** Each known step with its state, for the summary table. */
  list: { name: string; state: string }[];
}

export interface Run {
  id: string;
  name: string;
  /** Ends with the owner marker of the task that created it (lib/kfp/ownership.ts). */
  description?: string;
  /** The server's own word (`RUNNING`, `Succeeded`, ...); "" when the server has not reported one yet. */
  state: string;
  /** Set once the state is terminal. */
  outcome?: RunOutcome;
  /** KFP's error message for failed runs, when it gives one. */
  error?: string;
  experimentId?: string;
  createdAt?: string;
  finishedAt?: string;
  /** v2 only, when KFP reports task details. */
  steps?: RunSteps;
}

export interface CreateRunRequest {
  name: string;
  description?: string;
  experimentId: string;
  pipelineId: string;
  versionId: string;
  /** Already converted to the declared types (strings on v1). */
  parameters: Record<string, unknown>;
  serviceAccount?: string;
}

export interface WaitOptions {
  intervalMs: number;
  timeoutMs: number;
  /** Called on every poll with the run and the time since waiting began (progress lines, heartbeats). */
  onPoll?: (run: Run, elapsedMs: number) => void;
  /** Called once per KFP outage (polls failing past their retries), when it ends, with its length and the failure that began it. */
  onOutage?: (outage: { lengthMs: number; first: KfpError }) => void;
  signal?: AbortSignal;
}

/** The wait ended without a terminal state. */
export interface WaitTimeout {
  timedOut: true;
  run: Run;
}

export interface KfpLinks {
  pipeline(pipelineId: string): string;
  version(pipelineId: string, versionId: string): string;
  experiment(experimentId: string): string;
  run(runId: string): string;
}

/** The KFP that connecting found (lib/kfp/endpoint.ts, discoverServer). */
export interface KfpServer {
  readonly apiVersion: ApiVersion;
  readonly multiUser: boolean;
  /** The base URL in use (prefix found or given), without a trailing slash. */
  readonly baseUrl: string;
  /** The server's tag (e.g. `2.5.0`) when healthz reports it. */
  readonly serverVersion?: string;
}

/** The client; what it shares with API areas kept in their own modules (KfpSession, e.g. recurring.ts) tasks do not use directly. */
export interface KfpClient extends KfpSession, KfpServer {
  readonly namespace?: string;
  readonly links: KfpLinks;

  findPipeline(name: string): Promise<Pipeline | undefined>;
  getPipeline(pipelineId: string): Promise<Pipeline>;
  /**
   * Creates the pipeline and its first version (named like the pipeline) from a local file.
   * `file` is what checkPipelineFile returned: the check reads an archive once, and a
   * client that never uploads (the run task) carries no archive reader.
   */
  uploadPipeline(req: {
    file: PipelineFile;
    name: string;
    description?: string;
  }): Promise<{ pipeline: Pipeline; version: PipelineVersion }>;
  uploadVersion(req: { file: PipelineFile; pipelineId: string; name: string; description?: string }): Promise<PipelineVersion>;
  findVersion(pipelineId: string, name: string): Promise<PipelineVersion | undefined>;
  getVersion(pipelineId: string, versionId: string): Promise<PipelineVersion>;
  /** The server's own notion: v1's default version, v2's latest. */
  defaultVersion(pipelineId: string): Promise<PipelineVersion | undefined>;
  /** Declared parameters of a version; undefined when the server does not say. */
  versionParameters(pipelineId: string, versionId: string): Promise<ParameterSpec[] | undefined>;

  findExperiment(name: string): Promise<Experiment | undefined>;
  getExperiment(experimentId: string): Promise<Experiment>;
  createExperiment(req: { name: string; description?: string }): Promise<Experiment>;
  getOrCreateExperiment(req: { name: string; description?: string }): Promise<{ experiment: Experiment; created: boolean }>;

  createRun(req: CreateRunRequest): Promise<Run>;
  getRun(runId: string): Promise<Run>;
  waitForRun(runId: string, options: WaitOptions): Promise<Run | WaitTimeout>;
  /** `withinMs` bounds the call, retries included: a cancelled job is killed soon after it is told. */
  terminateRun(runId: string, options?: { withinMs?: number }): Promise<void>;
}
