/**
 * Task plumbing over azure-pipelines-task-lib, shipped in every agent task:
 * the frame a task runs in (one result, one message), its inputs (one typed
 * settings object), the KFP connection from a service connection and the
 * agent's proxy and certificates, output variables, run progress, summaries
 * and cancellation.
 *
 * `early-secrets.ts` is not re-exported: it must run before task-lib loads,
 * so the build puts it ahead of each task's own file (build.ts, taskPrelude).
 * A task that loads no task-lib (tasks/exit-handler-component) imports from
 * here too: a bundle keeps only the modules whose exports it uses (build.ts,
 * ownModulesArePure), so task-lib stays out of it.
 *
 * May import: lib/kfp, lib/net. Imported by: tasks/, and the dev tools and tests.
 *
 * @module
 */
export { completeTask, writeOutput } from "./agent-commands.ts";
export { CancelledError, type CancelWatch, watchCancel } from "./cancel.ts";
export { connectionProblem, connectTask, sentence } from "./connect.ts";
export { type ConnectionSettings, readConnectionSettings } from "./connection.ts";
export { InputError } from "./input-error.ts";
export {
  booleanInput,
  choiceInput,
  inputNames,
  nameText,
  optionalText,
  parseInputs,
  readInputs,
  requiredText,
  secondsInput,
} from "./inputs.ts";
export { describeError, runMain } from "./main.ts";
export { debug, finish, say, warn } from "./log.ts";
export { untrusted } from "./untrusted.ts";
export {
  checkParameters,
  checkVersionIdHasPipelineId,
  experimentNamed,
  pipelineParamsInput,
  resolvePipelineVersion,
  type VersionChoice,
} from "./resolve.ts";
export { warnMisspeltInputs } from "./misspelt-inputs.ts";
export { setOutputs } from "./outputs.ts";
export { RunProgress } from "./run-progress.ts";
export { md, mdLink, mdParameterNames, mdPipelineRows, mdTable, uploadSummary } from "./summary.ts";
export * as tl from "./task-lib.ts";
export { loadUploadModules } from "../net/mod.ts";
