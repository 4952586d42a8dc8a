/**
 * The part of azure-pipelines-task-lib the tasks use, and the one module that
 * imports it: everything else takes `tl` from here (tasks through mod.ts).
 *
 * task-lib is CommonJS. Each `import * as tl from "azure-pipelines-task-lib/task"`
 * makes the bundle copy its ~190 exports into a namespace object when the task
 * starts; through this module that happens once, and the list below says what
 * of task-lib a change must keep working (build.ts replaces some of its insides).
 */
export {
  debug,
  getEndpointAuthorizationParameter,
  getEndpointAuthorizationScheme,
  getEndpointUrl,
  getHttpCertConfiguration,
  getHttpProxyConfiguration,
  getInput,
  getVariable,
  setResult,
  setSecret,
  setVariable,
  TaskResult,
  uploadSummary,
  warning,
} from "azure-pipelines-task-lib/task";
