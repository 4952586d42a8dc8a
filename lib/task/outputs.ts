/**
 * Output variables, set so that every way of reading them works on a real
 * agent: `$(kf_run_id)` in later steps, as the 2021 tasks allowed, and
 * `$(step.kf_run_id)` or `dependencies.<job>.outputs['step.kf_run_id']` in
 * other jobs and stages. For that, task.json declares none of them: the agent
 * stores a declared name only as `<step>.<name>` (ExecutionContext.SetVariable),
 * so each is set twice here, plain and with isOutput=true.
 *
 * A later step's `$(kf_run_id)` is pasted into its script before the shell
 * reads it, so what KFP answered is checked first: IDs must have KFP's shape
 * (a UUID: the API server makes every pipeline, version, experiment and run ID
 * with uuid.NewRandom, or a Kubernetes UID for runs it adopts) and states must
 * be one word. A dry run's placeholders (DRY_RUN_IDS) are IDs too.
 */
import * as tl from "./task-lib.ts";
import { DRY_RUN_IDS } from "../kfp/mod.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PLACEHOLDERS: readonly string[] = Object.values(DRY_RUN_IDS);
const STATE = /^[A-Za-z_]{1,40}$/;

/** KFP answered something that must not become an output variable. */
export class UnexpectedKfpValueError extends Error {
  override readonly name = "UnexpectedKfpValueError";
}

/** Throws unless `value` is what KFP gives for the output `name` (`*_id`: an ID, `*_status`: a state word). */
export function checkOutput(name: string, value: string): void {
  const shape = name.endsWith("_id") ? "ID" : name.endsWith("_status") ? "state" : undefined;
  if (!shape) return;
  const ok = shape === "ID" ? UUID.test(value) || PLACEHOLDERS.includes(value) : STATE.test(value);
  if (ok) return;
  const what = shape === "ID" ? "a UUID, the shape of every KFP ID" : "one word, as KFP reports states";
  throw new UnexpectedKfpValueError(
    `KFP answered ${JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)} for ${name}, which is not ${what}; ` +
      "it is not set as an output variable. Check the endpoint is a Kubeflow Pipelines API server (and not a proxy rewriting its answers).",
  );
}

/** Checks every value, then sets each one both ways; undefined values are skipped. */
export function setOutputs(values: Record<string, string | undefined>): void {
  const set = Object.entries(values).filter((entry): entry is [string, string] => entry[1] !== undefined);
  for (const [name, value] of set) checkOutput(name, value);
  for (const [name, value] of set) {
    tl.setVariable(name, value, false, false);
    tl.setVariable(name, value, false, true);
  }
}
