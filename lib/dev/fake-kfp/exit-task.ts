/**
 * How KFP treats a pipeline's exit task: whether its backend can run one that
 * takes the run's final status, and the text that input receives when the run ends.
 *
 * Sources (kubeflow/pipelines):
 *   [dag.go]        backend/src/v2/compiler/argocompiler/dag.go: before 2.14 a task input of kind
 *                   `taskFinalStatus` fails compilation, "task final status not supported yet", at run creation.
 *   [resolve.go]    backend/src/v2/driver/resolve.go: the driver fills the input with the protobuf JSON of
 *                   PipelineTaskFinalStatus: `{"error":{},"pipelineJobResourceName":…,"pipelineTaskName":…,"state":…}`.
 *   [converter.go]  backend/src/v2/metadata/converter.go: `state` is the MLMD execution state name of the
 *                   producer (the ExitHandler DAG): NEW, RUNNING, COMPLETE, FAILED, CACHED, CANCELED.
 *   [status-test]   test_data/sdk_compiled_pipelines/valid/critical/pipeline_with_input_status_state.py
 *                   asserts `status.state == 'COMPLETE'` for a run that succeeded.
 *   [argo]          KFP 1.x (Argo): the exit handler gets `{{workflow.status}}`: Succeeded, Failed or Error.
 */
import { FakeHttpError, versionAtLeast } from "./http.ts";
import { isObject } from "./package.ts";
import type { StoredVersion } from "./state.ts";
import type { FakeRun } from "./types.ts";

/** [dag.go] Support for final-status inputs arrived in KFP 2.14.0. */
const FINAL_STATUS_SINCE = "2.14";

/** The producer task of the first task input fed by `taskFinalStatus`, in the root DAG or any component's DAG. */
function finalStatusProducer(spec: unknown): string | undefined {
  const pipeline = isObject(spec) && isObject(spec.pipeline_spec) ? spec.pipeline_spec : spec;
  if (!isObject(pipeline)) return undefined;
  const dags = [pipeline.root, ...Object.values(isObject(pipeline.components) ? pipeline.components : {})];
  for (const holder of dags) {
    const tasks = isObject(holder) && isObject(holder.dag) && isObject(holder.dag.tasks) ? holder.dag.tasks : {};
    for (const task of Object.values(tasks)) {
      const inputs = isObject(task) && isObject(task.inputs) && isObject(task.inputs.parameters) ? task.inputs.parameters : {};
      for (const input of Object.values(inputs)) {
        if (isObject(input) && isObject(input.taskFinalStatus)) return String(input.taskFinalStatus.producerTask ?? "");
      }
    }
  }
  return undefined;
}

/** [dag.go] A server before 2.14 refuses to compile, so to create, a run whose pipeline has a final-status input. */
export function checkFinalStatusSupported(serverVersion: string, version: StoredVersion): void {
  if (version.kind !== "ir" || versionAtLeast(serverVersion, FINAL_STATUS_SINCE)) return;
  if (finalStatusProducer(version.spec) === undefined) return;
  throw new FakeHttpError(500, "Failed to create a run: Failed to compile job: task final status not supported yet");
}

/** [converter.go] The exit-handler DAG's MLMD state for how the fake's run ended. */
const MLMD_STATE: Record<string, string> = { SUCCEEDED: "COMPLETE", FAILED: "FAILED", ERROR: "FAILED", CANCELED: "CANCELED" };
/** [argo] The workflow phase for how the fake's run ended. */
const ARGO_PHASE: Record<string, string> = { SUCCEEDED: "Succeeded", FAILED: "Failed", ERROR: "Error", CANCELED: "Failed" };

/**
 * What the run's exit task receives as the run's status once the run has ended:
 * the driver's JSON for a KFP 2.x pipeline [resolve.go], Argo's phase for a v1 one [argo].
 */
export function exitTaskStatus(run: FakeRun, version: StoredVersion): string {
  const phase = ARGO_PHASE[run.state];
  if (!phase) throw new Error(`fake KFP: run ${run.id} has not ended (state "${run.state}"): KFP runs the exit task only at the end`);
  if (version.kind === "argo") return phase;
  const producer = finalStatusProducer(version.spec);
  if (producer === undefined) throw new Error(`fake KFP: the pipeline of run ${run.id} has no task taking the final status`);
  const pipelineName = isObject(version.spec) ? pipelineNameOf(version.spec) : "pipeline";
  return JSON.stringify({
    // [resolve.go] KFP OSS never fills the error: it is always an empty object.
    error: {},
    pipelineJobResourceName: `${pipelineName}-${run.id.slice(0, 5)}`,
    pipelineTaskName: producer,
    state: MLMD_STATE[run.state]!,
  });
}

function pipelineNameOf(spec: Record<string, unknown>): string {
  const pipeline = isObject(spec.pipeline_spec) ? spec.pipeline_spec : spec;
  const info = isObject(pipeline.pipelineInfo) ? pipeline.pipelineInfo : {};
  return typeof info.name === "string" ? info.name : "pipeline";
}
