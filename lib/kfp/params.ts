/**
 * Pipeline run parameters as users type them, and their conversion to what
 * the KFP server accepts: typed JSON values on v2beta1 (checked against the
 * pipeline's declared parameters), strings on v1beta1.
 */

import { lineAndColumn, parseJsonText, type JsonParseResult } from "./json-text.ts";
import { KfpError } from "./error.ts";
import type { ApiVersion, ParameterSpec } from "./types.ts";

export interface PipelineParam {
  name: string;
  value: unknown;
}

/** A parameter problem found before anything is sent; the message names the parameter. */
export class PipelineParamsError extends KfpError {
  constructor(operation: string, message: string) {
    super({ kind: "invalid", operation, message });
  }
}

const ACCEPTED_PARAM_FORMS =
  'Accepted forms: name=value lines (one per line, # comments allowed); a JSON object {"name": value, ...}; ' +
  'a JSON array [{"name": "n1", "value": "v1"}, ...]; ' +
  'or the list without brackets {"name": "n1", "value": "v1"}, {"name": "n2", "value": "v2"}.';

const PARSE = "read pipeline parameters";

/** Parses parameters in any of the accepted forms; empty text gives []. */
export function parsePipelineParams(text: string): PipelineParam[] {
  const trimmed = text.trim();
  if (trimmed === "") return [];
  let params: PipelineParam[];
  if (trimmed.startsWith("[")) {
    params = itemList(parsedOrFail(parseJsonText(trimmed), "a JSON array"), "JSON array");
  } else if (trimmed.startsWith("{")) {
    params = fromBraces(trimmed);
  } else {
    params = fromLines(text);
  }
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const p of params) (seen.has(p.name) ? duplicates : seen).add(p.name);
  if (duplicates.size > 0) fail(`Pipeline parameter ${quoteList([...duplicates])} is given more than once. Give each parameter once.`);
  return params;
}

/** `{...}` is a JSON object of name -> value, one `{"name","value"}` item, or the 2021 list without brackets. */
function fromBraces(text: string): PipelineParam[] {
  const asObject = parseJsonText(text);
  if (asObject.ok) {
    const value = asObject.value as Record<string, unknown>;
    if (isLegacyItem(value)) return [{ name: value.name as string, value: value.value }];
    return Object.entries(value).map(([name, v]) => {
      if (name.trim() === "") fail(`Pipeline parameters look like a JSON object, but one name is empty. ${ACCEPTED_PARAM_FORMS}`);
      return { name, value: v };
    });
  }
  // `{...}, {...}` is the 2021 extension's form: a JSON array without its brackets.
  if (asObject.problem.includes("after the end of the JSON value") && text[asObject.offset] === ",") {
    const form = 'list of {"name": ..., "value": ...} objects';
    const asList = parseJsonText(`[${text}]`);
    if (asList.ok) return itemList(asList.value, form);
    return brokenJson(`a ${form}`, { ...asList, ...lineAndColumn(text, asList.offset - 1) });
  }
  return brokenJson("a JSON object", asObject);
}

function isLegacyItem(value: Record<string, unknown>): boolean {
  const keys = Object.keys(value);
  return keys.length === 2 && typeof value.name === "string" && "value" in value;
}

function itemList(value: unknown, form: string): PipelineParam[] {
  if (!Array.isArray(value)) fail(`Pipeline parameters look like a ${form}, but it is not an array. ${ACCEPTED_PARAM_FORMS}`);
  return value.map((item, index) => {
    const where = `item ${index + 1} of the ${form}`;
    if (item === null || typeof item !== "object" || Array.isArray(item)) {
      fail(`Pipeline parameters: ${where} is not an object like {"name": "n", "value": "v"}. ${ACCEPTED_PARAM_FORMS}`);
    }
    const record = item as Record<string, unknown>;
    if (typeof record.name !== "string" || record.name.trim() === "") {
      fail(`Pipeline parameters: ${where} has no "name" text. Write it as {"name": "n", "value": "v"}.`);
    }
    if (!("value" in record))
      fail(`Pipeline parameters: ${where} ("${record.name}") has no "value". Write it as {"name": "${record.name}", "value": "v"}.`);
    const extra = Object.keys(record).filter((k) => k !== "name" && k !== "value");
    if (extra.length > 0)
      fail(`Pipeline parameters: ${where} ("${record.name}") has unexpected key ${quoteList(extra)}; only "name" and "value" are allowed.`);
    return { name: record.name, value: record.value };
  });
}

function fromLines(text: string): PipelineParam[] {
  const params: PipelineParam[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const eq = line.indexOf("=");
    const name = eq < 0 ? "" : line.slice(0, eq).trim();
    if (eq < 0 || name === "") {
      fail(
        `Pipeline parameters look like name=value lines, but line ${index + 1} ("${line.slice(0, 40)}") ` +
          `has ${eq < 0 ? "no '='" : "no name before '='"}. ${ACCEPTED_PARAM_FORMS}`,
      );
    }
    params.push({ name, value: line.slice(eq + 1).trim() });
  });
  return params;
}

function parsedOrFail(result: JsonParseResult, form: string): unknown {
  return result.ok ? result.value : brokenJson(form, result);
}

function brokenJson(form: string, at: { problem: string; line: number; column: number }): never {
  fail(
    `Pipeline parameters look like ${form}, ` +
      `but the JSON is broken at line ${at.line}, column ${at.column}: ${at.problem}. ${ACCEPTED_PARAM_FORMS}`,
  );
}

/**
 * Converts parsed parameters to what the server accepts.
 * v2beta1 with declared parameters: each value becomes its declared type; unknown
 * names and missing required ones are errors. v1beta1: every value becomes text.
 * Without declarations (v2), values are sent as given.
 */
export function convertParameters(
  params: PipelineParam[],
  specs: ParameterSpec[] | undefined,
  apiVersion: ApiVersion,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (apiVersion === "v1beta1") {
    for (const p of params) out[p.name] = asText(p.value);
    return out;
  }
  if (!specs) {
    for (const p of params) out[p.name] = p.value;
    return out;
  }
  const declared = new Map(specs.map((s) => [s.name, s]));
  const problems: string[] = [];
  const unknown = params.filter((p) => !declared.has(p.name)).map((p) => p.name);
  if (unknown.length > 0) {
    const list = specs.length > 0 ? `it declares ${specs.map(describeSpec).join(", ")}` : "it declares no parameters";
    problems.push(`the pipeline has no parameter ${quoteList(unknown)} (${list})`);
  }
  const given = new Set(params.map((p) => p.name));
  const missing = specs.filter((s) => !s.optional && !given.has(s.name)).map((s) => `${s.name} (${s.type})`);
  if (missing.length > 0) problems.push(`required parameter ${missing.join(", ")} has no value and no default`);
  for (const p of params) {
    const spec = declared.get(p.name);
    if (!spec) continue;
    const converted = toDeclaredType(p.value, spec);
    if (converted.ok) out[p.name] = converted.value;
    else problems.push(`parameter "${p.name}" is ${spec.type} but got ${show(p.value)}: ${converted.problem}`);
  }
  if (problems.length > 0)
    throw new PipelineParamsError("convert pipeline parameters", `Pipeline parameters don't fit the pipeline: ${problems.join("; ")}.`);
  return out;
}

type Converted = { ok: true; value: unknown } | { ok: false; problem: string };

function toDeclaredType(value: unknown, spec: ParameterSpec): Converted {
  if (value === null || value === undefined) return { ok: false, problem: "give a value, or leave the parameter out to use its default" };
  switch (spec.type) {
    case "STRING":
      return { ok: true, value: asText(value) };
    case "NUMBER_INTEGER": {
      if (typeof value === "number")
        return Number.isSafeInteger(value) ? { ok: true, value } : { ok: false, problem: "expected a whole number" };
      if (typeof value === "string" && /^[+-]?\d+$/.test(value.trim())) {
        const n = Number(value.trim());
        return Number.isSafeInteger(n) ? { ok: true, value: n } : { ok: false, problem: "the number is too large" };
      }
      return { ok: false, problem: "expected a whole number such as 3" };
    }
    case "NUMBER_DOUBLE": {
      if (typeof value === "number") return { ok: true, value };
      const n = typeof value === "string" && value.trim() !== "" ? Number(value.trim()) : NaN;
      return Number.isFinite(n) ? { ok: true, value: n } : { ok: false, problem: "expected a number such as 0.5" };
    }
    case "BOOLEAN": {
      if (typeof value === "boolean") return { ok: true, value };
      const word = typeof value === "string" ? value.trim().toLowerCase() : "";
      if (word === "true" || word === "false") return { ok: true, value: word === "true" };
      return { ok: false, problem: "expected true or false" };
    }
    case "LIST":
      return structured(value, "list", Array.isArray, 'a JSON list such as ["a", "b"]');
    case "STRUCT":
      return structured(
        value,
        "object",
        (v) => v !== null && typeof v === "object" && !Array.isArray(v),
        'a JSON object such as {"key": "value"}',
      );
  }
}

function structured(value: unknown, what: string, fits: (v: unknown) => boolean, example: string): Converted {
  if (fits(value)) return { ok: true, value };
  if (typeof value === "string") {
    const parsed = parseJsonText(value.trim());
    if (parsed.ok && fits(parsed.value)) return { ok: true, value: parsed.value };
    if (!parsed.ok) return { ok: false, problem: `expected ${example}; the JSON is broken at column ${parsed.column}: ${parsed.problem}` };
  }
  return { ok: false, problem: `expected ${example}, not a ${what === "list" ? "non-list" : "non-object"} value` };
}

/** The text form of a value: strings as they are, everything else as JSON. */
function asText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === undefined || value === null) return "";
  return JSON.stringify(value);
}

function describeSpec(spec: ParameterSpec): string {
  return `${spec.name} (${spec.type}${spec.optional ? ", optional" : ""})`;
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function quoteList(names: string[]): string {
  return names.map((n) => `"${n}"`).join(", ");
}

function fail(message: string): never {
  throw new PipelineParamsError(PARSE, message);
}
