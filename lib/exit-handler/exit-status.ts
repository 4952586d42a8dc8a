/**
 * How a KFP run ended, as its exit handler is told.
 *
 * - KFP 1.x (Argo): `{{workflow.status}}`, the workflow phase: `Succeeded`, `Failed` or `Error`.
 * - KFP 2.x: the `PipelineTaskFinalStatus` its driver fills in (kubeflow/pipelines
 *   backend/src/v2/driver/resolve.go), e.g.
 *   `{"error":{},"pipelineJobResourceName":"…","pipelineTaskName":"exit-handler-1","state":"COMPLETE"}`.
 *   `state` is the MLMD execution state of the ExitHandler group (backend/src/v2/metadata/converter.go):
 *   NEW, RUNNING, COMPLETE, FAILED, CACHED or CANCELED. `error` is always `{}` on KFP OSS.
 */

export interface ExitStatus {
  /** The word the run ended with, as given (`Succeeded`, `COMPLETE`, ...); "" when none was. */
  state: string;
  outcome: "succeeded" | "failed";
  /** KFP's error message, when the v2 status carries a non-empty one. */
  error?: string;
}

/** MLMD states of a group whose tasks all ran (or were taken from the cache) without failing. */
const V2_SUCCESS = new Set(["COMPLETE", "CACHED"]);
/** Argo's phase for a workflow that succeeded. */
const ARGO_SUCCESS = "succeeded";

/** Anything but a success word is a failure: a run we cannot read did not visibly succeed. */
export function parseExitStatus(text: string | undefined): ExitStatus {
  const trimmed = (text ?? "").trim();
  const object = jsonObject(trimmed);
  if (object) {
    const state = typeof object.state === "string" ? object.state.trim() : "";
    const error = object.error as { message?: unknown } | undefined;
    const message = typeof error?.message === "string" && error.message.trim() ? error.message.trim() : undefined;
    return { state, outcome: V2_SUCCESS.has(state.toUpperCase()) ? "succeeded" : "failed", ...(message ? { error: message } : {}) };
  }
  // An Argo placeholder that was never substituted is not a status.
  const state = /^\{\{.*\}\}$/.test(trimmed) ? "" : trimmed;
  return { state, outcome: state.toLowerCase() === ARGO_SUCCESS ? "succeeded" : "failed" };
}

function jsonObject(text: string): Record<string, unknown> | undefined {
  // "{" then "{" is an unsubstituted placeholder, not JSON.
  if (!text.startsWith("{") || text[1] === "{") return undefined;
  try {
    const value = JSON.parse(text);
    return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
