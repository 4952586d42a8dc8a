/**
 * The owner marker an agent task's KFP objects carry (lib/task/owner.ts), as
 * the emulated agent's variables make it, for tests that check descriptions
 * and adoption.
 */
import { defaultVariables, mergeVariables, variableValue } from "../../lib/dev/agent/env.ts";
import { describedAsOwned, ownerMarker } from "../../lib/kfp/ownership.ts";

/** The marker of a task run with the emulated agent's variables, `overrides` (e.g. System.JobId of a matrix leg) applied. */
export function agentOwner(overrides: Record<string, string> = {}): string {
  // Merged as the agent merges them: names compare without regard to case.
  const variables = mergeVariables(defaultVariables("", "", ""), overrides);
  const get = (name: string) => variableValue(variables, name) ?? "";
  return ownerMarker({
    planId: get("System.PlanId"),
    jobId: get("System.JobId"),
    jobAttempt: get("System.JobAttempt"),
    taskInstanceId: get("System.TaskInstanceId"),
  });
}

/** The description a task with the default variables sends for `text`. */
export const ownedByAgentTask = (text?: string) => describedAsOwned(text, agentOwner());
