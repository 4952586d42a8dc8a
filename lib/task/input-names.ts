/**
 * The names of the INPUT_* variables the agent gave this step, as the agent
 * passes them (upper case, `.` and space as `_`). Read when this module loads,
 * before task-lib does: task-lib moves every non-empty INPUT_* out of
 * process.env into its vault. The build puts it first in every task
 * (taskPrelude in build.ts); it must import nothing itself.
 */
export const GIVEN_INPUT_NAMES: readonly string[] = Object.keys(process.env)
  .filter((key) => key.startsWith("INPUT_"))
  .map((key) => key.slice("INPUT_".length));
