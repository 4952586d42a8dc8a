/**
 * HTTP plumbing of the fake KFP server: KFP-style errors and error bodies,
 * multipart parsing, and the proto-JSON reading of request bodies (snake_case
 * or lowerCamel names, enum names or numbers, unknown fields by server version).
 */

/** gRPC codes as grpc-gateway maps them to HTTP statuses. */
const GRPC_CODE_BY_STATUS: Record<number, number> = { 400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 500: 13, 501: 12, 503: 14 };

/** An error the fake answers with; the body shape depends on the endpoint and server version. */
export class FakeHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const badRequest = (message: string) => new FakeHttpError(400, `Invalid input error: ${message}`);
export const notFound = (message: string) => new FakeHttpError(404, message);

/** "2.5.0" >= "2.14"? Compares numerically, missing parts count as 0. */
export function versionAtLeast(version: string, minimum: string): boolean {
  const a = version
    .replace(/^v/, "")
    .split(/[.-]/)
    .map((n) => parseInt(n, 10) || 0);
  const b = minimum.split(".").map((n) => parseInt(n, 10) || 0);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

/** The JSON error body KFP sends: upload handlers, grpc-gateway v2 (>= 2.14) or v1. */
export function errorBody(status: number, message: string, serverVersion: string, upload: boolean): Record<string, unknown> {
  if (upload) return { error_message: message, error_details: message };
  const code = GRPC_CODE_BY_STATUS[status] ?? 2;
  if (versionAtLeast(serverVersion, "2.14")) return { code, message, details: [] };
  return { error: message, code, message, details: [] };
}

export interface MultipartPart {
  field: string;
  filename?: string;
  data: Buffer;
}

/** Splits a multipart/form-data body; undefined when the content type is not multipart or the body is malformed. */
export function parseMultipart(body: Buffer, contentType: string | undefined): MultipartPart[] | undefined {
  const match = /^multipart\/form-data\s*;.*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? "");
  if (!match) return undefined;
  const delimiter = Buffer.from(`--${match[1] ?? match[2]}`);
  const parts: MultipartPart[] = [];
  let at = body.indexOf(delimiter);
  if (at < 0) return undefined;
  for (;;) {
    at += delimiter.length;
    if (body[at] === 0x2d && body[at + 1] === 0x2d) return parts; // closing "--"
    const headerStart = body.indexOf("\r\n", at) + 2;
    const headerEnd = body.indexOf("\r\n\r\n", headerStart);
    if (headerStart < 2 || headerEnd < 0) return undefined;
    const next = body.indexOf(Buffer.concat([Buffer.from("\r\n"), delimiter]), headerEnd);
    if (next < 0) return undefined;
    const headers = body.subarray(headerStart, headerEnd).toString("utf8");
    const disposition = /content-disposition:([^\r\n]*)/i.exec(headers)?.[1] ?? "";
    const field = /\bname="([^"]*)"/i.exec(disposition)?.[1] ?? "";
    const filename = /\bfilename="([^"]*)"/i.exec(disposition)?.[1];
    parts.push({ field, ...(filename !== undefined ? { filename } : {}), data: body.subarray(headerEnd + 4, next) });
    at = next + 2;
  }
}

/** Go's url.QueryUnescape: `+` is a space, `%XX` is a byte; throws on a bad escape. */
export function goQueryUnescape(text: string): string {
  if (/%(?![0-9a-fA-F]{2})/.test(text)) throw new Error(`invalid URL escape in ${JSON.stringify(text.slice(0, 40))}`);
  return decodeURIComponent(text.replace(/\+/g, " "));
}

// ---- proto-JSON bodies -------------------------------------------------------

/** How one field of a request message is read. Enums list their value names in number order. */
export type FieldSpec =
  | "string"
  | "bool"
  | "number"
  | "any"
  | "object"
  | { enum: readonly (string | undefined)[] }
  | { message: MessageSpec }
  | { repeated: FieldSpec }
  | { map: FieldSpec };

export interface MessageSpec {
  name: string;
  fields: Record<string, FieldSpec>;
}

const camel = (snake: string) => snake.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/**
 * Reads a JSON value as protojson would into `spec`: returns a copy keyed by the
 * proto (snake_case) names with enum numbers turned into names. Unknown fields are
 * dropped, or rejected with 400 when `strict` (KFP >= 2.14).
 */
export function readMessage(value: unknown, spec: MessageSpec, strict: boolean, path = ""): Record<string, unknown> {
  if (value === null || value === undefined) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new FakeHttpError(400, `invalid value for message ${spec.name}${path ? ` at ${path}` : ""}: ${JSON.stringify(value)}`);
  }
  const byJsonName = new Map<string, string>();
  for (const name of Object.keys(spec.fields)) {
    byJsonName.set(name, name);
    byJsonName.set(camel(name), name);
  }
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(value)) {
    const name = byJsonName.get(key);
    if (!name) {
      if (strict) throw new FakeHttpError(400, `proto: unknown field "${key}" in ${spec.name}`);
      continue;
    }
    if (raw === null) continue;
    out[name] = readField(raw, spec.fields[name]!, strict, path ? `${path}.${name}` : name);
  }
  return out;
}

function readField(raw: unknown, spec: FieldSpec, strict: boolean, path: string): unknown {
  const wrong = (what: string) => new FakeHttpError(400, `proto: invalid value for ${what} field ${path}: ${JSON.stringify(raw)}`);
  if (spec === "any") return raw;
  if (spec === "string") {
    if (typeof raw !== "string") throw wrong("string");
    return raw;
  }
  if (spec === "bool") {
    if (typeof raw !== "boolean") throw wrong("bool");
    return raw;
  }
  if (spec === "number") {
    if (typeof raw !== "number" && !(typeof raw === "string" && /^-?\d+$/.test(raw))) throw wrong("number");
    return Number(raw);
  }
  if (spec === "object") {
    if (typeof raw !== "object" || Array.isArray(raw)) throw wrong("object");
    return raw;
  }
  if ("enum" in spec) {
    if (typeof raw === "number" && spec.enum[raw] !== undefined) return spec.enum[raw];
    if (typeof raw === "string" && spec.enum.includes(raw)) return raw;
    throw wrong("enum");
  }
  if ("message" in spec) return readMessage(raw, spec.message, strict, path);
  if ("repeated" in spec) {
    if (!Array.isArray(raw)) throw wrong("repeated");
    return raw.map((item, i) => readField(item, spec.repeated, strict, `${path}[${i}]`));
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw wrong("map");
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, readField(v, spec.map, strict, `${path}.${k}`)]));
}

/** Drops undefined, null, empty strings and empty arrays, as KFP's marshaler omits unpopulated fields. */
export function omitEmpty<T extends Record<string, unknown>>(object: T): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) {
    if (value === undefined || value === null || value === "") continue;
    if (Array.isArray(value) && value.length === 0) continue;
    out[key] = value;
  }
  return out as Partial<T>;
}
