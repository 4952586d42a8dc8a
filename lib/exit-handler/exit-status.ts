/**
 * How a KFP run ended, as its exit handler is told: on KFP v1 the Argo
 * workflow status passed as `{{workflow.status}}` (`Succeeded`, `Failed`,
 * `Error`); on KFP v2 the `PipelineTaskFinalStatus` the backend fills in, a
 * JSON object `{"state": "SUCCEEDED"|"FAILED"|"CANCELLED", "error": {...}, ...}`.
 */

export interface ExitStatus {
  /** The word the run ended with, as given (`Succeeded`, `FAILED`, ...); "" when none was. */
  state: string;
  outcome: "succeeded" | "failed";
  /** KFP's error message, when the v2 status carries one. */
  error?: string;
}

const SUCCESS = new Set(["succeeded", "success", "completed"]);

/** Anything but a success word is a failure: a run we cannot read did not visibly succeed. */
export function parseExitStatus(text: string | undefined): ExitStatus {
  const trimmed = (text ?? "").trim();
  const object = jsonObject(trimmed);
  if (object) {
    const state = typeof object.state === "string" ? object.state : "";
    const error = object.error as { message?: unknown } | undefined;
    const message = typeof error?.message === "string" && error.message.trim() ? error.message.trim() : undefined;
    return { state, outcome: SUCCESS.has(state.toLowerCase()) ? "succeeded" : "failed", ...(message ? { error: message } : {}) };
  }
  // An Argo placeholder that was never substituted is not a status.
  const state = /^\{\{.*\}\}$/.test(trimmed) ? "" : trimmed;
  return { state, outcome: SUCCESS.has(state.toLowerCase()) ? "succeeded" : "failed" };
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
