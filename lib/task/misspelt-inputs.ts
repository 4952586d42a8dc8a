/**
 * A misspelt input name is silent on a real agent: it passes every input a
 * step gives, declared or not, as INPUT_<NAME> (TaskRunner.cs merges the
 * step's inputs over task.json's), and the task reads only the names it knows.
 * So `waitForRunToFinsh: true` would start a run and not wait. This warns, naming
 * the input that was probably meant, and never fails the task.
 *
 * Other INPUT_* variables can reach a task too (a pipeline variable named
 * `input.x` becomes INPUT_X), so only a name close to a real input is reported.
 */
import { GIVEN_INPUT_NAMES } from "./input-names.ts";
import { warn } from "./log.ts";
import { CONNECTION_INPUTS } from "./connection.ts";

/** The agent's environment form of a name: upper case, `.` and space as `_`. */
const envForm = (name: string) => name.replace(/[. ]/g, "_").toUpperCase();

/** Edits (insert, delete, substitute, swap two neighbours) from `a` to `b`. */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The declared input a given name was probably meant to be, if it is close enough to one. */
export function closestInput(given: string, declared: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of declared) {
    const distance = editDistance(envForm(given), envForm(name));
    if (!best || distance < best.distance) best = { name, distance };
  }
  // Two edits at most, and fewer than a quarter of the name: `pipelin` is a typo, `run` is not `runName`.
  return best && best.distance > 0 && best.distance <= 2 && best.distance * 4 < given.length ? best.name : undefined;
}

/**
 * Warns for each given input that no input of the task declares and that looks
 * like a misspelling of one. `taskInputs`: the task's own inputs (the connection
 * inputs every agent task has are added).
 */
export function warnMisspeltInputs(taskInputs: readonly string[], given: readonly string[] = GIVEN_INPUT_NAMES): void {
  const declared = [...CONNECTION_INPUTS, ...taskInputs];
  const known = new Set(declared.map(envForm));
  for (const name of given) {
    if (known.has(name)) continue;
    const meant = closestInput(name, declared);
    if (meant) {
      warn(`The step sets an input this task does not have, ${name} (as the agent passes it): it is ignored. Did you mean ${meant}?`);
    }
  }
}
