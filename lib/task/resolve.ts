/**
 * Turning what a task's inputs name (pipeline, version, experiment, parameters)
 * into KFP objects, the same way in every task that runs pipelines: a name or
 * an ID that finds nothing is an InputError naming the input.
 */
import * as v from "valibot";
import { InputError } from "./input-error.ts";
import { say } from "./log.ts";
import {
  convertParameters,
  type Experiment,
  type KfpClient,
  KfpError,
  type ParameterSpec,
  parsePipelineParams,
  PipelineParamsError,
  type PipelineParam,
  type Pipeline,
  type PipelineVersion,
} from "../kfp/mod.ts";

/** How the pipeline version is chosen, most specific first; `default` names the input that asked for it. */
export type VersionChoice = { by: "id"; id: string } | { by: "default"; input: string } | { by: "name"; name: string };

/** The `pipelineParams` input, parsed while inputs are read so a syntax error names it before anything is sent. */
export function pipelineParamsInput() {
  return v.pipe(
    v.string(),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      try {
        return parsePipelineParams(dataset.value);
      } catch (error) {
        if (!(error instanceof PipelineParamsError)) throw error;
        addIssue({ message: error.message });
        return NEVER;
      }
    }),
  );
}

/** A 404 (or the client's not-found) on a lookup by ID. */
function isNotFound(error: unknown): boolean {
  return error instanceof KfpError && (error.kind === "not-found" || error.status === 404);
}

/** "on <url> (namespace team-a)", for not-found messages. */
export function where(kfp: KfpClient): string {
  return `on ${kfp.baseUrl}${kfp.namespace ? ` (namespace ${kfp.namespace})` : ""}`;
}

/** The pipeline and then the version the task's inputs name, said in one line. */
export async function resolvePipelineVersion(
  kfp: KfpClient,
  names: { pipeline?: string; pipelineId?: string },
  choice: VersionChoice,
): Promise<{ pipeline: Pipeline; version: PipelineVersion }> {
  const pipeline = await resolvePipeline(kfp, names);
  const version = await resolveVersion(kfp, pipeline, choice);
  say(`Pipeline '${pipeline.name}' (${pipeline.id}), version '${version.name}' (${version.id}).`);
  return { pipeline, version };
}

/** The error for a name that finds nothing: "names no <what>: '<name>' was not found.", then the fix. */
function namesNone(input: string, what: string, name: string, fix: string): InputError {
  return new InputError(input, `names no ${what}: '${name}' was not found.`, fix);
}

async function resolvePipeline(kfp: KfpClient, settings: { pipeline?: string; pipelineId?: string }): Promise<Pipeline> {
  if (settings.pipelineId) {
    let pipeline: Pipeline;
    try {
      pipeline = await kfp.getPipeline(settings.pipelineId);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      throw new InputError(
        "pipelineId",
        `'${settings.pipelineId}' is not a pipeline ${where(kfp)}.`,
        "Pass the ID the upload task output ($(kf_pipeline_id)), or give the pipeline's name in pipeline instead.",
      );
    }
    if (settings.pipeline && settings.pipeline !== pipeline.name && settings.pipeline !== pipeline.displayName) {
      throw new InputError(
        "pipeline",
        `is '${settings.pipeline}', but pipelineId ${pipeline.id} is the pipeline '${pipeline.name}'.`,
        "Give one of them, or make them agree.",
      );
    }
    return pipeline;
  }
  const name = settings.pipeline!;
  const pipeline = await kfp.findPipeline(name);
  if (pipeline) return pipeline;
  const fix = "Check the name (it is case-sensitive), or upload the pipeline first with the Kubeflow Upload Pipeline task.";
  throw namesNone("pipeline", `pipeline ${where(kfp)}`, name, fix);
}

async function resolveVersion(kfp: KfpClient, pipeline: Pipeline, choice: VersionChoice): Promise<PipelineVersion> {
  const of = `pipeline '${pipeline.name}'`;
  switch (choice.by) {
    case "id":
      try {
        return await kfp.getVersion(pipeline.id, choice.id);
      } catch (error) {
        if (!isNotFound(error)) throw error;
        throw new InputError(
          "pipelineVersionId",
          `'${choice.id}' is not a version of ${of} ${where(kfp)}.`,
          "Pass the version ID the upload task output ($(kf_pipeline_version_id)) together with its pipeline's ID.",
        );
      }
    case "default": {
      const version = await kfp.defaultVersion(pipeline.id);
      if (!version)
        throw new InputError(
          choice.input,
          `asks for the default version, but ${of} has none.`,
          "Set pipelineVersion to a version name instead.",
        );
      return version;
    }
    case "name": {
      const version = await kfp.findVersion(pipeline.id, choice.name);
      if (!version) throw namesNone("pipelineVersion", `version of ${of}`, choice.name, "Check the name (it is case-sensitive).");
      return version;
    }
  }
}

/** The parameters converted to what the version declares; a mismatch names `pipelineParams`. */
export function checkParameters(params: PipelineParam[], specs: ParameterSpec[] | undefined, kfp: KfpClient): Record<string, unknown> {
  try {
    return convertParameters(params, specs, kfp.apiVersion);
  } catch (error) {
    if (error instanceof PipelineParamsError)
      throw new InputError("pipelineParams", error.message, "Fix the names and values to match the pipeline's parameters.");
    throw error;
  }
}

/**
 * The experiment named `name`: created when missing if `create` (only planned in a
 * dry run), else an InputError naming `experimentName`. Says which in the log.
 */
export async function experimentNamed(
  kfp: KfpClient,
  name: string,
  options: { create: boolean; description?: string; dryRun: boolean },
): Promise<{ experiment: Experiment; created: boolean }> {
  if (!options.create) {
    const experiment = await kfp.findExperiment(name);
    if (!experiment) {
      const fix = "Check the name, or set experiment: createNewExperiment to create it when it is missing.";
      throw namesNone("experimentName", `experiment ${where(kfp)}`, name, fix);
    }
    say(`Experiment '${name}' (${experiment.id}).`);
    return { experiment, created: false };
  }
  const found = await kfp.getOrCreateExperiment({ name, description: options.description });
  if (found.created && options.dryRun) say(`Experiment '${name}' does not exist; it would be created.`);
  else if (found.created) say(`Experiment '${name}' created (${found.experiment.id}).`);
  else say(`Experiment '${name}' already exists (${found.experiment.id}): reusing it.`);
  return found;
}

/** pipelineVersionId names a version of pipelineId: given alone, the version cannot be looked up. */
export function checkVersionIdHasPipelineId(inputs: { pipelineId?: string; pipelineVersionId?: string }): void {
  if (inputs.pipelineVersionId && !inputs.pipelineId) {
    throw new InputError(
      "pipelineVersionId",
      "is set without pipelineId.",
      "Give pipelineId too: the upload task outputs both, as $(kf_pipeline_id) and $(kf_pipeline_version_id).",
    );
  }
}
