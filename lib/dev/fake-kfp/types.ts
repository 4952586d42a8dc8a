/**
 * The public shape of the fake KFP server (`lib/dev/fake-kfp/mod.ts`): what tests,
 * the local runner and the benchmarks may rely on.
 */

export type FakeApi = "v1" | "v2";

export interface FakeKfpOptions {
  /** `v1`: KFP 1.8 (v1beta1 only). `v2`: KFP 2.x (v2beta1 and v1beta1). Default `v2`. */
  api?: FakeApi;
  /** Serve under this prefix as the Kubeflow dashboard does, e.g. `/pipeline`. */
  prefix?: string;
  /** When set, every request needs `Authorization: Bearer <token>` (401 otherwise). */
  token?: string;
  /** When set, requests may authenticate with this Cookie header value instead. */
  cookie?: string;
  /** Multi-user mode: identity required (token, cookie or `kubeflow-userid`), namespace required. */
  multiUser?: boolean;
  /**
   * Answer every request with a 301 elsewhere, as a gateway does: `https` to the
   * same host and path over https (an http listener that only redirects), or a
   * base URL on another host that the path is appended to.
   */
  redirect?: "https" | string;
  /** Answer every API request with a Dex-style login page (302 to /dex/auth, or 200 HTML). */
  loginPage?: "redirect" | "html";
  port?: number;
  /**
   * How runs advance when no script is set for them. `manual` (default in tests):
   * they stay PENDING until the test advances them. `auto`: PENDING, RUNNING, then
   * SUCCEEDED (or the state named by a run parameter `fake_end_state`) over `autoMs`.
   */
  runs?: "manual" | "auto";
  autoMs?: number;
  /**
   * Server tag reported by healthz. Default "1.8.5" for v1, "2.5.0" for v2. It also picks
   * the behaviours that differ by release: the error body shape (`error`+`message` before
   * 2.14, `message` only after), the duplicate-name status on upload (500 on 1.8/2.0, 409
   * on >= 2.1), and unknown body fields (ignored before 2.14, 400 after).
   */
  serverVersion?: string;
  /**
   * The clock of the gateway in front of KFP, as its Date header tells it, minus
   * KFP's own (which stamps created_at): clocks of different machines disagree.
   */
  gatewayClockSkewMs?: number;
  /** TLS: serve https with this key and certificate (PEM). */
  tls?: { key: string; cert: string };
}

/** A run's scripted life: the states it reports, one per GET, then `end` from then on. */
export interface RunScript {
  /** States reported in order by successive GETs of the run (server's words for its API). */
  states?: string[];
  /** Final state: v2 words (`SUCCEEDED`, `FAILED`, `SKIPPED`, `CANCELED`); the fake maps them for v1. */
  end: "SUCCEEDED" | "FAILED" | "SKIPPED" | "CANCELED" | "ERROR";
  /** Error message on failed runs. */
  error?: string;
  /** Step (task) details reported on v2 while running and at the end. */
  steps?: { name: string; state: string }[];
}

export type FaultKind =
  | { status: number; retryAfterSeconds?: number; body?: unknown }
  /** Destroy the socket before reading the request body: the request never reaches KFP. */
  | { reset: "before-read" }
  /** Read and process the request, then destroy the socket without answering. */
  | { reset: "after-read" }
  /** Process the request, then wait this long before answering. */
  | { delayMs: number }
  /**
   * Slow accept: read the request, act on it only after this long (the object
   * appears then), then answer. A busy API server or database does this; the Go
   * server goes on with a request whose client has gone.
   */
  | { slowAcceptMs: number }
  /**
   * An answer of this many bytes (spaces, then `{}`: valid JSON), with its
   * Content-Length, streamed until done or the client hangs up: a broken gateway
   * or a wrong endpoint serving a huge file.
   */
  | { oversizedAnswerBytes: number };

export interface FaultRule {
  /** HTTP method to match; any when omitted. */
  method?: string;
  /** Matched against the path without the prefix and query, e.g. `/apis/v2beta1/runs` or a RegExp. */
  path: string | RegExp;
  fault: FaultKind;
  /** How many matching requests get the fault; Infinity for persistent. Default 1. */
  times?: number;
  /** Once it first matches, the rule holds for this long and then no more: an outage of that length. */
  forMs?: number;
}

/** Where a request goes, as the fake routes and records it. */
export interface FakeRequestLine {
  method: string;
  /** Path without the prefix, e.g. `/apis/v1beta1/runs`. */
  path: string;
  /** Query parameters, decoded once (as the gateway hands them to KFP). */
  query: Record<string, string>;
}

export interface RecordedRequest extends FakeRequestLine {
  /** Request headers, lower-cased, with `authorization` and `cookie` replaced by `<redacted>`. */
  headers: Record<string, string>;
  /** JSON body, or for multipart: `{ multipart: { field, filename, size } }`. */
  body?: unknown;
  status: number;
  /** The JSON body the fake answered with (undefined for faults that send none). */
  response?: unknown;
  /** Fault injected on this request, if any. */
  fault?: FaultKind;
  /** The raw Authorization header value was exactly `Bearer <token>`. */
  authorized: boolean;
}

export interface FakePipeline {
  id: string;
  name: string;
  displayName: string;
  description: string;
  namespace: string;
  createdAt: string;
  defaultVersionId?: string;
}

export interface FakeVersion {
  id: string;
  pipelineId: string;
  name: string;
  description: string;
  createdAt: string;
  /** Declared parameters read from the uploaded package (v2 IR) or v1 Argo spec. */
  parameters: { name: string; type: string; optional: boolean; defaultValue?: unknown }[];
  /** The uploaded package's parsed spec (IR JSON object), when it could be read. */
  spec?: unknown;
  fileName: string;
  size: number;
}

export interface FakeExperiment {
  id: string;
  name: string;
  description: string;
  namespace: string;
  createdAt: string;
}

export interface FakeRun {
  id: string;
  name: string;
  description: string;
  experimentId: string;
  pipelineId: string;
  versionId: string;
  namespace: string;
  /** Parameters as received: v2 typed map, or v1 `{name: value}` strings. */
  parameters: Record<string, unknown>;
  serviceAccount?: string;
  /** Current state in v2 words ("" before the first GET of a manual run). */
  state: string;
  error?: string;
  createdAt: string;
  finishedAt?: string;
  polls: number;
  terminated: boolean;
}

/** What starts runs of a recurring run: a cron (KFP's six fields, seconds first) or an interval. */
export interface FakeTrigger {
  cron?: string;
  intervalSecond?: number;
  /** RFC 3339, whole seconds (KFP stores Unix seconds). */
  startTime?: string;
  endTime?: string;
}

/** A recurring run (v2beta1) or job (v1beta1): one object, two API views. */
export interface FakeRecurringRun {
  id: string;
  name: string;
  description: string;
  experimentId: string;
  namespace: string;
  pipelineId: string;
  versionId: string;
  /** As received: v2 typed map (or v1 runtime_config), or v1 `{name: value}` strings. */
  parameters: Record<string, unknown>;
  /** Parameters came as a typed map (runtime_config) rather than v1 strings. */
  typed: boolean;
  serviceAccount: string;
  maxConcurrency: number;
  noCatchup: boolean;
  enabled: boolean;
  trigger: FakeTrigger;
  createdAt: string;
  updatedAt: string;
}

export interface FakeKfpState {
  pipelines: FakePipeline[];
  versions: FakeVersion[];
  experiments: FakeExperiment[];
  runs: FakeRun[];
  recurringRuns: FakeRecurringRun[];
}

export interface FakeKfp {
  /** Base URL including the prefix, no trailing slash, e.g. `http://127.0.0.1:40123/pipeline`. */
  readonly url: string;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  readonly state: FakeKfpState;
  /** Requests that changed state (POST/PUT/PATCH/DELETE), excluding healthz. */
  writes(): RecordedRequest[];
  /** Inject faults; they apply in the order added. */
  fault(rule: FaultRule): void;
  clearFaults(): void;
  /** Script the run created next (or the run with this id). */
  scriptRun(script: RunScript, runId?: string): void;
  /** Move a run to a state now (v2 words). */
  setRunState(runId: string, state: string, error?: string): void;
  /**
   * What KFP hands the run's exit task as the run's status once it has ended: KFP 2.x's
   * PipelineTaskFinalStatus JSON (MLMD state names), or Argo's phase for a v1 pipeline.
   */
  exitTaskStatus(runId: string): string;
  /** Resolves when a run exists (optionally matching a name): lets tests await "run created". */
  waitForRun(predicate?: (run: FakeRun) => boolean): Promise<FakeRun>;
  /** Seed state directly (bypassing HTTP): a pipeline with one version from a package file. */
  seedPipeline(init: {
    name: string;
    file: string;
    namespace?: string;
    versionName?: string;
  }): Promise<{ pipeline: FakePipeline; version: FakeVersion }>;
  seedExperiment(init: { name: string; namespace?: string }): FakeExperiment;
  close(): Promise<void>;
}
