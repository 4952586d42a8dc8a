/**
 * An error in what the user typed. It names the input, says what was wrong and
 * how to fix it, so the task can fail with one clear message before it sends
 * anything to KFP.
 */
export class InputError extends Error {
  override readonly name = "InputError";
  /** The task.json input name, e.g. `pipelineFilePath`. */
  readonly input: string;

  constructor(input: string, problem: string, fix?: string) {
    super(`Input '${input}': ${problem}${fix ? ` ${fix}` : ""}`);
    this.input = input;
  }
}

/** The same for a pipeline variable (or one the agent sets): it names the variable. */
export class VariableError extends InputError {
  constructor(variable: string, problem: string, fix: string) {
    super(variable, problem, fix);
    this.message = `Variable '${variable}': ${problem} ${fix}`;
  }
}
