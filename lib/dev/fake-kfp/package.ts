/**
 * Reads a compiled pipeline package the way the KFP API server does on upload:
 * picks the format (YAML/JSON by file name, zip or gzip tarball by magic bytes),
 * unpacks archives (first file, which must be YAML; through the shipped reader,
 * lib/kfp/archive.ts, with its caps), parses the spec and lists
 * the parameters the pipeline declares. Used by the fake KFP server and test
 * helpers; it runs under Bun only (it parses YAML with `Bun.YAML`).
 */

import { gunzipSync, inflateRawSync } from "node:zlib";
import { ArchiveError, readTarGzBytes, readZipBytes } from "../../kfp/mod.ts";

type ParameterType = "STRING" | "NUMBER_INTEGER" | "NUMBER_DOUBLE" | "BOOLEAN" | "LIST" | "STRUCT";

interface DeclaredParameter {
  name: string;
  type: ParameterType;
  /** True when the pipeline marks it optional or gives a default. */
  optional: boolean;
  defaultValue?: unknown;
}

export interface PipelinePackage {
  /** `ir`: KFP v2 pipeline spec (IR). `argo`: KFP v1 Argo workflow. */
  kind: "ir" | "argo";
  /** The parsed spec. For IR with a platform spec: `{ pipeline_spec, platform_spec }`, as KFP 2.x returns it. */
  spec: Record<string, unknown>;
  /** `pipelineInfo.name` (IR) or `metadata.generateName`/`metadata.name` (Argo), when present. */
  specName?: string;
  parameters: DeclaredParameter[];
}

/** A package KFP would refuse; `message` reads like the server's InvalidArgument text. */
export class PipelinePackageError extends Error {
  override name = "PipelinePackageError";
}

export const MAX_PACKAGE_BYTES = 32 << 20;

type PackageFormat = "yaml" | "json" | "zip" | "tar.gz";

/** The format KFP would read the file as, or undefined when it would refuse it. */
function packageFormat(fileName: string, bytes: Uint8Array): PackageFormat | undefined {
  const lower = fileName.toLowerCase();
  if (lower.endsWith(".yaml") || lower.endsWith(".yml")) return "yaml";
  if (lower.endsWith(".json")) return "json";
  if (bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) return "zip";
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return "tar.gz";
  return undefined;
}

/** Reads and parses a package; throws PipelinePackageError with KFP-like messages. */
export function readPipelinePackage(fileName: string, bytes: Uint8Array): PipelinePackage {
  if (bytes.length > MAX_PACKAGE_BYTES) {
    throw new PipelinePackageError(
      `File size too large. Maximum supported size: ${MAX_PACKAGE_BYTES} bytes. ` +
        `Consider moving large embedded artifacts or notebooks out of the pipeline.`,
    );
  }
  const format = packageFormat(fileName, bytes);
  if (!format) throw new PipelinePackageError("Unexpected pipeline file format. Support .zip, .tar.gz, .json or YAML");
  let text: string;
  if (format === "zip" || format === "tar.gz") {
    const entry = firstFile(format, bytes);
    if (!/\.(ya?ml|json)$/i.test(entry.name)) {
      throw new PipelinePackageError(
        `Error extracting pipeline from the ${format === "zip" ? "zip" : "tarball"} file. ` +
          `Expecting a YAML file inside the ${format === "zip" ? "zip" : "tarball"}. Got: ${entry.name}`,
      );
    }
    text = new TextDecoder().decode(entry.data);
  } else {
    text = new TextDecoder().decode(bytes);
  }
  return parsePipelineSpec(text);
}

/** Parses spec text (YAML or JSON, possibly several YAML documents) and reads its parameters. */
export function parsePipelineSpec(text: string): PipelinePackage {
  let parsed: unknown;
  try {
    parsed = Bun.YAML.parse(text);
  } catch (err) {
    throw new PipelinePackageError(`Failed to parse the pipeline spec: ${(err as Error).message}`);
  }
  const docs = (Array.isArray(parsed) ? parsed : [parsed]).filter(isObject);
  const first = docs[0];
  if (!first) throw new PipelinePackageError("Failed to parse the pipeline spec: the file holds no YAML/JSON object");
  return describeSpec(first, docs[1]);
}

/** Describes an already-parsed spec object (also used for inline run specs). */
export function describeSpec(spec: Record<string, unknown>, platformSpec?: Record<string, unknown>): PipelinePackage {
  // An inline spec may come wrapped as KFP returns it: { pipeline_spec, platform_spec }.
  if (isObject(spec.pipeline_spec) && !spec.root)
    return describeSpec(spec.pipeline_spec, isObject(spec.platform_spec) ? spec.platform_spec : undefined);
  if (isObject(spec.root) && isObject(spec.pipelineInfo)) {
    const name = spec.pipelineInfo.name;
    return {
      kind: "ir",
      spec: platformSpec ? { pipeline_spec: spec, platform_spec: platformSpec } : spec,
      specName: typeof name === "string" ? name : undefined,
      parameters: irParameters(spec.root),
    };
  }
  if (spec.kind === "Workflow" && typeof spec.apiVersion === "string" && spec.apiVersion.startsWith("argoproj.io/")) {
    const metadata = isObject(spec.metadata) ? spec.metadata : {};
    const name = metadata.generateName ?? metadata.name;
    return {
      kind: "argo",
      spec,
      specName: typeof name === "string" ? name.replace(/-$/, "") : undefined,
      parameters: argoParameters(spec.spec),
    };
  }
  throw new PipelinePackageError(
    "Invalid input error: unknown template format: the file is neither a KFP v2 pipeline spec (pipelineInfo, root) nor an Argo Workflow",
  );
}

const LEGACY_IR_TYPES: Record<string, ParameterType> = { STRING: "STRING", INT: "NUMBER_INTEGER", DOUBLE: "NUMBER_DOUBLE" };

function irParameters(root: Record<string, unknown>): DeclaredParameter[] {
  const inputs = isObject(root.inputDefinitions) ? root.inputDefinitions : {};
  const params = isObject(inputs.parameters) ? inputs.parameters : {};
  return Object.entries(params).map(([name, raw]) => {
    const def = isObject(raw) ? raw : {};
    const declared = typeof def.parameterType === "string" ? def.parameterType : undefined;
    const legacy = typeof def.type === "string" ? LEGACY_IR_TYPES[def.type] : undefined;
    const type = (declared ?? legacy ?? "STRING") as ParameterType;
    const hasDefault = "defaultValue" in def;
    return {
      name,
      type,
      optional: def.isOptional === true || hasDefault,
      ...(hasDefault ? { defaultValue: def.defaultValue } : {}),
    };
  });
}

function argoParameters(workflowSpec: unknown): DeclaredParameter[] {
  const args = isObject(workflowSpec) && isObject(workflowSpec.arguments) ? workflowSpec.arguments : {};
  const params = Array.isArray(args.parameters) ? args.parameters : [];
  return params.filter(isObject).map((p) => {
    const hasValue = p.value !== undefined && p.value !== null;
    return {
      name: String(p.name),
      type: "STRING" as const,
      optional: hasValue,
      ...(hasValue ? { defaultValue: String(p.value) } : {}),
    };
  });
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The first file of an archive, read like KFP reads it, within the caps of the shipped reader (lib/kfp/archive.ts). */
function firstFile(format: "zip" | "tar.gz", bytes: Uint8Array): { name: string; data: Uint8Array } {
  const kind = format === "zip" ? "zip" : "tarball";
  try {
    const contents = format === "zip" ? readZipBytes(bytes, inflateRawSync, { keepFirstFile: true }) : readTarGzBytes(bytes, gunzipSync);
    return { name: contents.first!.name, data: contents.first!.data ?? new Uint8Array() };
  } catch (error) {
    if (!(error instanceof ArchiveError)) throw error;
    if (error.problem === "empty") throw new PipelinePackageError(`Error extracting pipeline from the ${kind} file. Empty ${kind} file`);
    throw new PipelinePackageError(
      `Error extracting pipeline from the ${kind} file. Not a valid ${kind} file: the archive ${error.message}`,
    );
  }
}
