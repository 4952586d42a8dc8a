/**
 * The owner marker of this task's KFP objects (lib/kfp/ownership.ts): one
 * attempt of one step of one job, from the agent's predefined variables
 * System.PlanId (the pipeline run), System.JobId (the job; each matrix leg is a
 * job of its own), System.JobAttempt (1, then +1 per re-run of the job) and
 * System.TaskInstanceId (the step). Outside an agent (no such variables) the
 * marker is this process's own.
 */
import * as tl from "./task-lib.ts";
import { ownerMarker, randomOwnerMarker } from "../kfp/mod.ts";

export function taskOwnerMarker(): string {
  const [planId, jobId, jobAttempt, taskInstanceId] = ["System.PlanId", "System.JobId", "System.JobAttempt", "System.TaskInstanceId"].map(
    (name) => tl.getVariable(name)?.trim() ?? "",
  );
  if (!planId || !jobId) return randomOwnerMarker();
  return ownerMarker({ planId, jobId, jobAttempt: jobAttempt || "1", taskInstanceId: taskInstanceId ?? "" });
}
