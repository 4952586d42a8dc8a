/**
 * List requests of the fake KFP server: the `filter` JSON (unescaped a second
 * time as the API server does, parsed strictly with `op` on v1beta1 and
 * `operation` on v2beta1), `sort_by`, `page_size` (default 20, capped at 200)
 * and opaque keyset `page_token`s that must match the filter and sort.
 */

import { FakeHttpError, badRequest, goQueryUnescape } from "./http.ts";

type ListKey<T> = (item: T) => string | number | undefined;

/** The filterable and sortable keys of one resource, API field name to value. */
export type ListKeys<T> = Record<string, ListKey<T>>;

export interface ListPage<T> {
  items: T[];
  total: number;
  nextPageToken?: string;
}

type Operation =
  | "EQUALS"
  | "NOT_EQUALS"
  | "GREATER_THAN"
  | "GREATER_THAN_EQUALS"
  | "LESS_THAN"
  | "LESS_THAN_EQUALS"
  | "IN"
  | "IS_SUBSTRING";

interface Predicate {
  key: string;
  operation: Operation;
  value: string | number | (string | number)[];
}

/** Enum names by number, as in the protos; index 4 is unused. */
const OPERATIONS = [
  "",
  "EQUALS",
  "NOT_EQUALS",
  "GREATER_THAN",
  "",
  "GREATER_THAN_EQUALS",
  "LESS_THAN",
  "LESS_THAN_EQUALS",
  "IN",
  "IS_SUBSTRING",
];

const VALUE_FIELDS = ["int_value", "long_value", "string_value", "timestamp_value", "int_values", "long_values", "string_values"];

const DEFAULT_PAGE_SIZE = 20;
const MAX_PAGE_SIZE = 200;

/** Applies the list query (filter, sort_by, page_size, page_token) of a KFP list call to `items`. */
export function listPage<T extends { id: string }>(
  items: T[],
  query: Record<string, string>,
  api: "v1" | "v2",
  keys: ListKeys<T>,
): ListPage<T> {
  const pageSize = readPageSize(query.page_size);
  let filterText = query.filter ?? "";
  let sortBy = query.sort_by ?? "";
  let after: { value: string | number | undefined; id: string } | undefined;
  if (query.page_token) {
    const token = readToken(query.page_token);
    if ((query.filter !== undefined && query.filter !== token.filter) || (query.sort_by !== undefined && query.sort_by !== token.sortBy)) {
      throw badRequest("page token does not match the supplied filter or sort order. Send the same filter and sort_by, or omit them");
    }
    filterText = token.filter;
    sortBy = token.sortBy;
    after = { value: token.value, id: token.id };
  }
  const predicates = filterText ? parseFilter(filterText, api, keys) : [];
  const sort = parseSort(sortBy, keys);
  const matching = items.filter((item) => predicates.every((p) => matches(keys[p.key]!(item), p)));
  const compare = (a: T, b: T) => sort.direction * (compareValues(sort.key(a), sort.key(b)) || a.id.localeCompare(b.id));
  matching.sort(compare);
  let start = 0;
  if (after) {
    const cursor = after;
    start = matching.findIndex(
      (item) => sort.direction * (compareValues(sort.key(item), cursor.value) || item.id.localeCompare(cursor.id)) > 0,
    );
    if (start < 0) start = matching.length;
  }
  const page = matching.slice(start, start + pageSize);
  const last = page[page.length - 1];
  const more = start + pageSize < matching.length && last !== undefined;
  return {
    items: page,
    total: matching.length,
    ...(more ? { nextPageToken: writeToken({ filter: filterText, sortBy, value: sort.key(last), id: last.id }) } : {}),
  };
}

function readPageSize(raw: string | undefined): number {
  if (raw === undefined || raw === "") return DEFAULT_PAGE_SIZE;
  if (!/^-?\d+$/.test(raw))
    throw new FakeHttpError(400, `type mismatch, parameter: page_size, error: strconv.ParseInt: parsing "${raw}": invalid syntax`);
  const size = Number(raw);
  if (size < 0) throw badRequest(`The page size should be greater than 0. Got ${size}`);
  if (size === 0) return DEFAULT_PAGE_SIZE;
  return Math.min(size, MAX_PAGE_SIZE);
}

interface Token {
  filter: string;
  sortBy: string;
  value: string | number | undefined;
  id: string;
}

function writeToken(token: Token): string {
  return Buffer.from(JSON.stringify(token)).toString("base64");
}

function readToken(text: string): Token {
  try {
    const token = JSON.parse(Buffer.from(text, "base64").toString("utf8")) as Token;
    if (typeof token.id !== "string" || typeof token.filter !== "string" || typeof token.sortBy !== "string") throw new Error("shape");
    return token;
  } catch {
    throw badRequest(`Invalid page token "${text.slice(0, 40)}"`);
  }
}

function parseSort<T>(sortBy: string, keys: ListKeys<T>): { key: ListKey<T>; direction: 1 | -1 } {
  if (!sortBy.trim()) return { key: keys.created_at!, direction: 1 };
  const [field = "", order = "asc", ...rest] = sortBy.trim().split(/\s+/);
  if (rest.length || !["asc", "desc"].includes(order)) throw badRequest(`Invalid sorting field: "${sortBy}"`);
  const key = keys[field];
  if (!key) throw badRequest(`Cannot sort on field ${field}. Supported fields ${Object.keys(keys).join(", ")}`);
  return { key, direction: order === "desc" ? -1 : 1 };
}

/** Parses the filter query value: Go-unescaped once more, then strict proto JSON. */
function parseFilter<T>(filterText: string, api: "v1" | "v2", keys: ListKeys<T>): Predicate[] {
  const message = api === "v1" ? "api.Predicate" : "v2beta1.Predicate";
  const opField = api === "v1" ? "op" : "operation";
  const fail = (why: string) => badRequest(`Failed to parse valid filter from ${JSON.stringify(filterText)}: ${why}`);
  let json: unknown;
  try {
    json = JSON.parse(goQueryUnescape(filterText));
  } catch (err) {
    throw fail((err as Error).message);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw fail("a filter is a JSON object");
  for (const key of Object.keys(json)) {
    if (key !== "predicates") throw fail(`unknown field "${key}" in ${api === "v1" ? "api.Filter" : "v2beta1.Filter"}`);
  }
  const raw = (json as { predicates?: unknown }).predicates ?? [];
  if (!Array.isArray(raw)) throw fail("predicates must be a list");
  return raw.map((p) => {
    if (typeof p !== "object" || p === null || Array.isArray(p)) throw fail("a predicate is a JSON object");
    let operation: string | undefined;
    let key: unknown;
    const values: unknown[] = [];
    for (const [field, value] of Object.entries(p as Record<string, unknown>)) {
      const snake = field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
      if (field === "key") key = value;
      else if (field === opField) operation = typeof value === "number" ? OPERATIONS[value] : String(value);
      else if (VALUE_FIELDS.includes(snake)) values.push(readPredicateValue(snake, value, fail));
      else throw fail(`unknown field "${field}" in ${message}`);
    }
    if (!operation || !OPERATIONS.includes(operation))
      throw fail(`invalid value for enum field ${opField}: ${JSON.stringify((p as Record<string, unknown>)[opField])}`);
    if (typeof key !== "string") throw fail("predicate key must be a string");
    if (!keys[key]) throw badRequest(`Invalid filter key "${key}": no such field. Supported keys ${Object.keys(keys).join(", ")}`);
    if (values.length !== 1) throw fail("a predicate needs exactly one value");
    const value = values[0] as Predicate["value"];
    if ((operation === "IN") !== Array.isArray(value)) throw badRequest(`Invalid predicate: operation ${operation} does not fit its value`);
    if (operation === "IS_SUBSTRING" && typeof value !== "string") throw badRequest("Invalid predicate: IS_SUBSTRING needs a string_value");
    return { key, operation: operation as Operation, value };
  });
}

function readPredicateValue(field: string, value: unknown, fail: (why: string) => Error): string | number | (string | number)[] {
  switch (field) {
    case "int_value":
      if (!Number.isInteger(value)) throw fail(`invalid value for int32 field int_value: ${JSON.stringify(value)}`);
      return value as number;
    case "long_value":
      if (!/^-?\d+$/.test(String(value))) throw fail(`invalid value for int64 field long_value: ${JSON.stringify(value)}`);
      return Number(value);
    case "string_value":
      if (typeof value !== "string") throw fail(`invalid value for string field string_value: ${JSON.stringify(value)}`);
      return value;
    case "timestamp_value": {
      const ms = typeof value === "string" ? Date.parse(value) : NaN;
      if (Number.isNaN(ms)) throw fail(`invalid value for timestamp field timestamp_value: ${JSON.stringify(value)}`);
      return ms;
    }
    default: {
      const list = (value as { values?: unknown })?.values;
      if (!Array.isArray(list)) throw fail(`${field} needs {"values": [...]}`);
      return list.map((v) => (field === "string_values" ? String(v) : Number(v)));
    }
  }
}

function compareValues(a: string | number | undefined, b: string | number | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a) < String(b) ? -1 : 1;
}

function matches(actual: string | number | undefined, predicate: Predicate): boolean {
  const { operation, value } = predicate;
  if (operation === "IN") return (value as (string | number)[]).some((v) => String(v) === String(actual ?? ""));
  if (operation === "IS_SUBSTRING") return String(actual ?? "").includes(String(value));
  const order = compareValues(actual ?? "", typeof actual === "number" ? Number(value) : String(value));
  switch (operation) {
    case "EQUALS":
      return order === 0;
    case "NOT_EQUALS":
      return order !== 0;
    case "GREATER_THAN":
      return order > 0;
    case "GREATER_THAN_EQUALS":
      return order >= 0;
    case "LESS_THAN":
      return order < 0;
    default:
      return order <= 0;
  }
}
