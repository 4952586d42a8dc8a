/**
 * Output variables, set so that every way of reading them works: `$(kf_run_id)`
 * in later steps, as the 2021 tasks allowed, and `$(step.kf_run_id)` or
 * `dependencies.<job>.outputs['step.kf_run_id']` in other jobs and stages.
 */
import * as tl from "./task-lib.ts";

export function setOutputs(values: Record<string, string | undefined>): void {
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) continue;
    tl.setVariable(name, value, false, false);
    tl.setVariable(name, value, false, true);
  }
}
