/**
 * Reading a task's inputs into one typed settings object.
 *
 * Each task lists its inputs once, as the keys of a valibot object schema built
 * from the pieces below; `readInputs` reads each with task-lib and parses the
 * record. The first problem becomes an InputError that names the input (the
 * record key), so a task fails with one clear message before it sends anything.
 */
import * as tl from "./task-lib.ts";
import * as v from "valibot";
import { InputError } from "./input-error.ts";

/** An object schema whose keys are input names, alone or first in a pipe of checks across inputs. */
type InputsSchema =
  | v.ObjectSchema<v.ObjectEntries, undefined>
  | v.SchemaWithPipe<readonly [v.ObjectSchema<v.ObjectEntries, undefined>, ...v.GenericPipeItem[]]>;

/** Reads the inputs the schema's keys name and parses them; throws InputError naming the first input at fault. */
export function readInputs<S extends InputsSchema>(schema: S): v.InferOutput<S> {
  return parseInputs(schema, readRawInputs(inputNames(schema)));
}

/** The input names a schema's keys declare. */
export function inputNames(schema: InputsSchema): string[] {
  return Object.keys(("pipe" in schema ? schema.pipe[0] : schema).entries);
}

/** Raw input values by name: "" when the input is not set. */
function readRawInputs<const N extends string>(names: readonly N[]): Record<N, string> {
  const raw = {} as Record<N, string>;
  for (const name of names) raw[name] = tl.getInput(name, false) ?? "";
  return raw;
}

/** Parses raw inputs with a schema whose keys are input names; throws InputError on the first issue. */
export function parseInputs<S extends v.GenericSchema>(schema: S, raw: Record<string, string>): v.InferOutput<S> {
  const result = v.safeParse(schema, raw, { abortEarly: true });
  if (result.success) return result.output;
  const issue = result.issues[0];
  const input = String(issue.path?.[0]?.key ?? "inputs");
  throw new InputError(input, issue.message);
}

const quote = (value: string) => JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);

/** Trimmed text; "" becomes undefined. */
export const optionalText = v.pipe(
  v.string(),
  v.trim(),
  v.transform((s) => (s === "" ? undefined : s)),
);

/** Trimmed text that must be there. */
export function requiredText(fix: string) {
  return v.pipe(v.string(), v.trim(), v.nonEmpty(`is empty. ${fix}`));
}

/** A name KFP will store: no control characters, at most `max` characters. */
export function nameText(max: number, fix: string) {
  return v.pipe(
    requiredText(fix),
    v.check((s) => !/[\u0000-\u001f\u007f]/.test(s), "contains a control character (a newline or tab?). Use printable characters only."),
    v.check((s) => s.length <= max, `is longer than ${max} characters, the most KFP accepts. Shorten it.`),
  );
}

/** `true`/`false` in any case, as YAML gives them; "" takes the default. */
export function booleanInput(defaultValue: boolean) {
  return v.pipe(
    v.string(),
    v.trim(),
    v.check(
      (s) => /^(true|false)?$/i.test(s),
      (issue) => `is ${quote(String(issue.input))}, not true or false. Write true or false.`,
    ),
    v.transform((s) => (s === "" ? defaultValue : s.toLowerCase() === "true")),
  );
}

/** One of a fixed set of values (case-sensitive, as task.json pickLists are); "" takes the default. */
export function choiceInput<const T extends string>(options: readonly T[], defaultValue?: T) {
  return v.pipe(
    v.string(),
    v.trim(),
    v.transform((s) => (s === "" && defaultValue !== undefined ? defaultValue : s)),
    v.check(
      (s) => (options as readonly string[]).includes(s),
      (issue) => `is ${quote(String(issue.input))}, which is not one of: ${options.join(", ")}. Use one of those.`,
    ),
    v.transform((s) => s as T),
  );
}

/** A whole number of seconds within [min, max]; "" takes the default. */
export function secondsInput(defaultValue: number, min: number, max: number) {
  return v.pipe(
    v.string(),
    v.trim(),
    v.check(
      (s) => s === "" || /^\d+$/.test(s),
      (issue) => `is ${quote(String(issue.input))}, not a whole number of seconds. Write a number such as ${defaultValue}.`,
    ),
    v.transform((s) => (s === "" ? defaultValue : Number(s))),
    v.check(
      (n) => n >= min && n <= max,
      (issue) => `is ${issue.input} seconds; it must be between ${min} and ${max}. Pick a value in that range.`,
    ),
  );
}
