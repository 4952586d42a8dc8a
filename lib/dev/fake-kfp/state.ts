/**
 * The fake KFP server's data and the rules KFP applies to it, independent of the
 * API version: unique names per namespace, pipeline + first version created
 * together, versions unique per pipeline, default/latest versions, experiments,
 * and the checks on run parameters (typed on IR pipelines, names on Argo ones).
 */

import { randomUUID } from "node:crypto";
import type { FakeExperiment, FakeKfpState, FakePipeline, FakeVersion } from "./types.ts";
import { FakeHttpError, badRequest, notFound, versionAtLeast } from "./http.ts";
import type { PipelinePackage } from "./package.ts";

interface StoreOptions {
  api: "v1" | "v2";
  serverVersion: string;
  multiUser: boolean;
}

/** Versions keep their package's kind so runs know how parameters apply. */
export interface StoredVersion extends FakeVersion {
  kind: "ir" | "argo";
}

export class FakeStore {
  readonly state: FakeKfpState = { pipelines: [], versions: [], experiments: [], runs: [], recurringRuns: [] };
  private lastMs = 0;

  constructor(readonly options: StoreOptions) {}

  /** RFC 3339 timestamps that strictly increase, so `created_at` orders objects. */
  now(): string {
    this.lastMs = Math.max(Date.now(), this.lastMs + 1);
    return new Date(this.lastMs).toISOString();
  }

  newId(): string {
    return randomUUID();
  }

  /** Namespace as KFP keeps it: forced to "" in single-user mode. */
  namespace(requested: string | undefined): string {
    return this.options.multiUser ? (requested ?? "") : "";
  }

  private get nameLimits() {
    return this.options.api === "v1" ? { pipeline: 100, version: 100 } : { pipeline: 128, version: 127 };
  }

  /** 409 on KFP >= 2.1, 500 "already exist" on 1.8 and 2.0. */
  private duplicate(what: string, name: string): FakeHttpError {
    if (versionAtLeast(this.options.serverVersion, "2.1")) {
      return new FakeHttpError(
        409,
        `Already exist error: Failed to create a new ${what}. The name ${name} already exists. Please specify a new name`,
      );
    }
    return new FakeHttpError(
      500,
      `Internal error: Failed to create a new ${what}. The name ${name} already exist. Please specify a new name`,
    );
  }

  createPipeline(init: {
    name: string;
    displayName?: string;
    description?: string;
    namespace?: string;
    versionName?: string;
    fileName: string;
    size: number;
    pkg: PipelinePackage;
  }): { pipeline: FakePipeline; version: StoredVersion } {
    const namespace = this.namespace(init.namespace);
    if (!init.name.trim()) throw badRequest("pipeline name is empty. Please specify a valid name");
    if (init.name.length > this.nameLimits.pipeline)
      throw badRequest(`pipeline name is too long: ${init.name.length} > ${this.nameLimits.pipeline}`);
    if (this.state.pipelines.some((p) => p.name === init.name && p.namespace === namespace)) throw this.duplicate("pipeline", init.name);
    const pipeline: FakePipeline = {
      id: this.newId(),
      name: init.name,
      displayName: init.displayName || init.name,
      description: init.description ?? "",
      namespace,
      createdAt: this.now(),
    };
    const version = this.newVersion(pipeline, { ...init, name: init.versionName ?? init.name });
    pipeline.defaultVersionId = version.id;
    this.state.pipelines.push(pipeline);
    this.state.versions.push(version);
    return { pipeline, version };
  }

  createVersion(
    pipelineId: string,
    init: { name: string; displayName?: string; description?: string; fileName: string; size: number; pkg: PipelinePackage },
  ): StoredVersion {
    const pipeline = this.state.pipelines.find((p) => p.id === pipelineId);
    if (!pipeline) throw badRequest(`Failed to create a pipeline version: pipeline ${pipelineId} not found`);
    if (!init.name.trim()) throw badRequest("pipeline version name is empty. Please specify a valid name");
    if (init.name.length > this.nameLimits.version)
      throw badRequest(`pipeline version name is too long: ${init.name.length} > ${this.nameLimits.version}`);
    if (this.versionsOf(pipelineId).some((v) => v.name === init.name)) throw this.duplicate("pipeline version", init.name);
    const version = this.newVersion(pipeline, init);
    this.state.versions.push(version);
    // KFP 1.8 keeps a default-version pointer that follows uploads.
    pipeline.defaultVersionId = version.id;
    return version;
  }

  private newVersion(
    pipeline: FakePipeline,
    init: { name: string; description?: string; fileName: string; size: number; pkg: PipelinePackage },
  ): StoredVersion {
    return {
      id: this.newId(),
      pipelineId: pipeline.id,
      name: init.name,
      description: init.description ?? "",
      createdAt: this.now(),
      parameters: init.pkg.parameters,
      spec: init.pkg.spec,
      kind: init.pkg.kind,
      fileName: init.fileName,
      size: init.size,
    };
  }

  pipeline(id: string): FakePipeline {
    const pipeline = this.state.pipelines.find((p) => p.id === id);
    if (!pipeline) throw notFound(`Pipeline ${id} not found`);
    return pipeline;
  }

  version(id: string): StoredVersion {
    const version = this.state.versions.find((v) => v.id === id) as StoredVersion | undefined;
    if (!version) throw notFound(`Pipeline version ${id} not found`);
    return version;
  }

  versionsOf(pipelineId: string): StoredVersion[] {
    return this.state.versions.filter((v) => v.pipelineId === pipelineId) as StoredVersion[];
  }

  latestVersion(pipelineId: string): StoredVersion | undefined {
    return this.versionsOf(pipelineId).at(-1);
  }

  /** v1 `default_version`: the stored pointer on 1.8, the latest version on 2.x. */
  defaultVersion(pipeline: FakePipeline): StoredVersion | undefined {
    if (this.options.api === "v1" && pipeline.defaultVersionId) return this.version(pipeline.defaultVersionId);
    return this.latestVersion(pipeline.id);
  }

  createExperiment(init: { name: string; description?: string; namespace?: string }): FakeExperiment {
    const namespace = this.namespace(init.namespace);
    if (!init.name.trim()) throw badRequest("Experiment name is empty. Please specify a valid experiment name");
    if (this.options.multiUser && !namespace) throw badRequest("An experiment cannot have an empty namespace in multi-user mode");
    if (this.state.experiments.some((e) => e.name === init.name && e.namespace === namespace)) {
      throw new FakeHttpError(
        409,
        `Already exist error: Failed to create a new experiment. The name ${init.name} already exists. Please specify a new name`,
      );
    }
    const experiment: FakeExperiment = {
      id: this.newId(),
      name: init.name,
      description: init.description ?? "",
      namespace,
      createdAt: this.now(),
    };
    this.state.experiments.push(experiment);
    return experiment;
  }

  experiment(id: string): FakeExperiment {
    const experiment = this.state.experiments.find((e) => e.id === id);
    if (!experiment) throw notFound(`Experiment ${id} not found`);
    return experiment;
  }

  /** The experiment a run without one falls into: "Default" in single-user mode. */
  defaultExperiment(): FakeExperiment {
    if (this.options.multiUser) throw badRequest("A run cannot have an empty namespace in multi-user mode");
    return this.state.experiments.find((e) => e.name === "Default" && !e.namespace) ?? this.createExperiment({ name: "Default" });
  }
}

/** Name of the run parameter that picks the end state of auto-advancing runs; never checked against the pipeline. */
export const FAKE_END_STATE_PARAMETER = "fake_end_state";

/**
 * KFP 2.x's check of a typed runtime_config against the root inputDefinitions:
 * JSON types must match, required parameters must be present, unknown names are refused.
 */
export function checkTypedParameters(
  declared: readonly { name: string; type: string; optional: boolean }[],
  given: Record<string, unknown>,
): void {
  const names = new Set(declared.map((p) => p.name));
  const unknown = Object.keys(given).filter((name) => !names.has(name) && name !== FAKE_END_STATE_PARAMETER);
  if (unknown.length) throw badRequest(`parameter(s) provided are not required by pipeline: ${unknown.sort().join(", ")}`);
  for (const parameter of declared) {
    const value = given[parameter.name];
    if (value === undefined || value === null) {
      if (!parameter.optional) throw badRequest(`parameter ${parameter.name} is required by the pipeline but was not provided`);
      continue;
    }
    if (!fitsType(value, parameter.type)) {
      throw badRequest(
        `input parameter ${parameter.name} requires type ${parameter.type} but got ${JSON.stringify(value)} (${describeJsonType(value)})`,
      );
    }
  }
}

/** KFP 1.8's check of v1 `{name, value}` parameters against an Argo workflow's arguments. */
export function checkArgoParameters(declared: readonly { name: string; optional: boolean }[], given: Record<string, unknown>): void {
  const names = new Set(declared.map((p) => p.name));
  for (const name of Object.keys(given)) {
    if (!names.has(name) && name !== FAKE_END_STATE_PARAMETER) throw badRequest(`Unrecognized input parameter: ${name}`);
  }
  for (const parameter of declared) {
    if (!parameter.optional && given[parameter.name] === undefined) {
      throw badRequest(`spec.arguments.${parameter.name}.value is required`);
    }
  }
}

function fitsType(value: unknown, type: string): boolean {
  switch (type) {
    case "NUMBER_INTEGER":
      return typeof value === "number" && Number.isInteger(value);
    case "NUMBER_DOUBLE":
      return typeof value === "number";
    case "BOOLEAN":
      return typeof value === "boolean";
    case "LIST":
      return Array.isArray(value);
    case "STRUCT":
      return typeof value === "object" && value !== null && !Array.isArray(value);
    default:
      return typeof value === "string";
  }
}

function describeJsonType(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (value === null) return "null";
  return typeof value === "object" ? "a struct" : `a ${typeof value}`;
}
