/**
 * The Kubeflow Pipelines client the tasks ship: `connectKfp` finds the server
 * and speaks its API version (v1beta1 or v2beta1); the pipeline-file check and
 * the run-parameter parser are the task-side checks before anything is sent;
 * the request line is how a task logs each request (and `npm run task` reads it).
 *
 * May import: lib/net. Imported by: lib/task, tasks/, and the dev tools and
 * tests. Everything else in this folder is private to it.
 *
 * @module
 */
export { connectKfp, DRY_RUN_IDS } from "./client.ts";
export { endpointProblem } from "./endpoint.ts";
export { KfpError } from "./error.ts";
export { convertParameters, type PipelineParam, PipelineParamsError, parsePipelineParams } from "./params.ts";
export { ARCHIVE_LIMITS, ArchiveError, readTarGzBytes, readZipBytes, type ZipEntry, zipEntries } from "./archive.ts";
export { ownerMarker, randomOwnerMarker } from "./ownership.ts";
export { checkPipelineFile, type PipelineFile, PipelineFileError } from "./pipeline-file.ts";
export { formatRequestLine, parseRequestLine } from "./request-line.ts";
export { differences, recurringRunLink, recurringRuns, type RecurringRuns } from "./recurring.ts";
export type { RecurringRun, RecurringRunSpec } from "./recurring-dialect.ts";
export { describeSchedule, nextFireTimes, parseSchedule, SCHEDULE_EXAMPLES, type Schedule, ScheduleError } from "./schedule.ts";
export type {
  ApiVersion,
  Experiment,
  KfpAuth,
  KfpClient,
  KfpConnectOptions,
  ParameterSpec,
  Pipeline,
  PipelineVersion,
  PlannedWrite,
  RequestLogLine,
  Run,
  RunSteps,
} from "./types.ts";
