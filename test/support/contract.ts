/**
 * Checks recorded requests against the official KFP swagger (lib/dev/vendor/kfp-api):
 * the path and method exist (KFP's `{run_id}:terminate` style included), query
 * parameters are known and of the right type/enum, JSON bodies hold only known
 * fields (recursively, snake_case as the swagger names them) with valid enums and
 * types, multipart uploads send `uploadfile`, and every 200 JSON answer fits the
 * operation's response schema. Validators are compiled once per process.
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv, { type ValidateFunction } from "ajv-draft-04";
import type { RecordedRequest } from "../../lib/dev/fake-kfp/types.ts";
import type { ApiVersion } from "../../lib/kfp/types.ts";

/** The official swagger, vendored unmodified (see its README). */
const SWAGGER_DIR = join(import.meta.dir, "..", "..", "lib", "dev", "vendor", "kfp-api");

interface Parameter {
  name: string;
  in: "query" | "path" | "body" | "formData" | "header";
  type?: string;
  format?: string;
  enum?: string[];
  items?: { type?: string; enum?: string[] };
  schema?: Schema;
}

type Schema = Record<string, unknown>;

interface Operation {
  method: string;
  template: string;
  pattern: RegExp;
  /** Literal characters in the template: the most specific match wins. */
  specificity: number;
  parameters: Parameter[];
  responseSchema?: Schema;
}

interface Swagger {
  operations: Operation[];
  ajv: Ajv;
  validators: Map<string, ValidateFunction>;
}

const swaggers = new Map<ApiVersion, Swagger>();

function loadSwagger(api: ApiVersion): Swagger {
  const cached = swaggers.get(api);
  if (cached) return cached;
  const files = ["kfp_api_single_file.swagger.json", "pipeline.upload.swagger.json"].map(
    (file) =>
      JSON.parse(readFileSync(join(SWAGGER_DIR, api, file), "utf8")) as {
        paths: Record<string, Record<string, unknown>>;
        definitions: Record<string, Schema>;
      },
  );
  const definitions: Record<string, Schema> = {};
  const operations = new Map<string, Operation>();
  for (const file of files) {
    Object.assign(definitions, file.definitions);
    for (const [template, methods] of Object.entries(file.paths)) {
      for (const [method, raw] of Object.entries(methods)) {
        if (method === "parameters") continue;
        const op = raw as { parameters?: Parameter[]; responses?: Record<string, { schema?: Schema }> };
        operations.set(`${method.toUpperCase()} ${template}`, {
          method: method.toUpperCase(),
          template,
          pattern: templatePattern(template),
          specificity: template.replace(/\{[^}]+\}/g, "").length,
          parameters: op.parameters ?? [],
          responseSchema: op.responses?.["200"]?.schema,
        });
      }
    }
  }
  // int64 values are JSON strings in proto JSON; formats are checked loosely, the types strictly.
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
  ajv.addFormat("int64", /^-?\d+$/);
  ajv.addFormat("uint64", /^\d+$/);
  ajv.addFormat("int32", { type: "number", validate: (n: number) => Number.isInteger(n) });
  ajv.addFormat("double", { type: "number", validate: () => true });
  ajv.addFormat("byte", /^[A-Za-z0-9+/_-]*={0,2}$/);
  ajv.addFormat("date-time", (s: string) => !Number.isNaN(Date.parse(s)));
  ajv.addSchema({ id: api, definitions: rewriteRefs(definitions, api, false) });
  ajv.addSchema({ id: `${api}-strict`, definitions: rewriteRefs(definitions, `${api}-strict`, true) });
  const swagger = { operations: [...operations.values()], ajv, validators: new Map() };
  swaggers.set(api, swagger);
  return swagger;
}

function templatePattern(template: string): RegExp {
  const source = template
    .replace(/[.*+?^$()|[\]\\]/g, "\\$&")
    .replace(/\{[^}]+\}(:?)/g, (_, colon: string) => (colon ? "[^/:]+:" : "[^/]+"));
  return new RegExp(`^${source}$`);
}

/**
 * Points `#/definitions/X` at the registered schema and, for request bodies,
 * closes every object that lists its properties: KFP >= 2.14 rejects unknown fields.
 */
function rewriteRefs(node: unknown, schemaId: string, closeObjects: boolean): any {
  if (Array.isArray(node)) return node.map((item) => rewriteRefs(item, schemaId, closeObjects));
  if (typeof node !== "object" || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "$ref" && typeof value === "string") out[key] = value.replace(/^#/, `${schemaId}#`);
    else if (key === "properties" && typeof value === "object" && value !== null) {
      // Property names are data here, not keywords.
      out[key] = Object.fromEntries(Object.entries(value).map(([name, schema]) => [name, rewriteRefs(schema, schemaId, closeObjects)]));
    } else out[key] = rewriteRefs(value, schemaId, closeObjects);
  }
  if (closeObjects && out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

function validator(swagger: Swagger, key: string, schema: Schema, schemaId: string, strict: boolean): ValidateFunction {
  let validate = swagger.validators.get(key);
  if (!validate) {
    validate = swagger.ajv.compile(rewriteRefs(schema, schemaId, strict));
    swagger.validators.set(key, validate);
  }
  return validate;
}

function findOperation(swagger: Swagger, method: string, path: string): Operation | undefined {
  return swagger.operations.filter((op) => op.method === method && op.pattern.test(path)).sort((a, b) => b.specificity - a.specificity)[0];
}

function checkQueryValue(param: Parameter, value: string): string | undefined {
  const enumValues = param.enum ?? param.items?.enum;
  if (enumValues && !enumValues.includes(value)) return `must be one of ${enumValues.join(", ")}, got "${value}"`;
  const type = param.type === "array" ? param.items?.type : param.type;
  if (type === "integer" && !/^-?\d+$/.test(value)) return `must be an integer, got "${value}"`;
  if (type === "boolean" && value !== "true" && value !== "false") return `must be true or false, got "${value}"`;
  if (param.format === "int64" && !/^-?\d+$/.test(value)) return `must be an int64, got "${value}"`;
  return undefined;
}

function ajvErrors(validate: ValidateFunction): string {
  return (validate.errors ?? [])
    .map((e) => {
      const where = e.instancePath || "(root)";
      const extra = e.keyword === "additionalProperties" ? ` "${(e.params as { additionalProperty: string }).additionalProperty}"` : "";
      const allowed = e.keyword === "enum" ? ` (${(e.params as { allowedValues: unknown[] }).allowedValues.join(", ")})` : "";
      return `${where} ${e.message}${extra}${allowed}`;
    })
    .join("; ");
}

/** Every way the recorded requests (and their 200 answers) differ from the swagger of `api`. */
export function contractViolations(api: ApiVersion, requests: readonly RecordedRequest[]): string[] {
  const swagger = loadSwagger(api);
  const violations: string[] = [];
  for (const request of requests) {
    const where = `${request.method} ${request.path}`;
    const op = findOperation(swagger, request.method, request.path);
    if (!op) {
      violations.push(`${where}: no such operation in the ${api} swagger`);
      continue;
    }
    const problems: string[] = [];
    const byName = new Map(op.parameters.filter((p) => p.in === "query").map((p) => [p.name, p]));
    for (const [name, value] of Object.entries(request.query)) {
      const param = byName.get(name);
      if (!param) problems.push(`unknown query parameter "${name}"`);
      else {
        const wrong = checkQueryValue(param, value);
        if (wrong) problems.push(`query parameter "${name}" ${wrong}`);
      }
    }
    const bodyParam = op.parameters.find((p) => p.in === "body");
    const formParam = op.parameters.find((p) => p.in === "formData");
    const multipart = (request.body as { multipart?: { field?: string } } | undefined)?.multipart;
    // A connection dropped before the body was read (an injected fault) leaves no body to judge.
    const bodyUnread = request.fault !== undefined && "reset" in request.fault && request.fault.reset === "before-read";
    if (bodyUnread) {
      // nothing to check
    } else if (formParam) {
      if (!multipart) problems.push(`body must be multipart/form-data with a "${formParam.name}" part`);
      else if (multipart.field !== formParam.name)
        problems.push(`multipart file part is "${multipart.field}", expected "${formParam.name}"`);
    } else if (multipart) {
      problems.push("multipart body sent to a JSON operation");
    } else if (bodyParam?.schema && request.body !== undefined) {
      const validate = validator(swagger, `request ${op.method} ${op.template}`, bodyParam.schema, `${api}-strict`, true);
      if (!validate(request.body)) problems.push(`body: ${ajvErrors(validate)}`);
    } else if (!bodyParam && request.body !== undefined && request.body !== "" && !isEmptyObject(request.body)) {
      problems.push("body sent to an operation that takes none");
    }
    const answered = request.status === 200 && request.response !== undefined && !request.fault;
    if (answered && op.responseSchema) {
      const validate = validator(swagger, `response ${op.method} ${op.template}`, op.responseSchema, api, false);
      if (!validate(request.response)) problems.push(`200 response: ${ajvErrors(validate)}`);
    }
    for (const problem of problems) violations.push(`${where} (${op.template}): ${problem}`);
  }
  return violations;
}

function isEmptyObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length === 0;
}

/** The API version a path belongs to, if it is a KFP API path. */
export function apiOfPath(path: string): ApiVersion | undefined {
  const match = /^\/apis\/(v1beta1|v2beta1)\//.exec(path);
  return match?.[1] as ApiVersion | undefined;
}
