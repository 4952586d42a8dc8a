/**
 * Kubeflow Upload Pipeline: uploads a compiled pipeline as a new pipeline, a
 * new version of an existing one, or either (uploadNewOrVersion), then sets the
 * kf_* output variables and a summary with links to the KFP UI.
 *
 * Flow: read and check every input and the file (no request before that) ->
 * connect -> look the pipeline and version up (uploadNew lets KFP refuse a
 * taken name instead) -> upload -> outputs, summary.
 *
 * Its credentials are registered as secrets before this file runs: the build
 * puts lib/task/early-secrets.ts first in the bundle.
 */
import * as v from "valibot";
import {
  booleanInput,
  choiceInput,
  connectionProblem,
  type ConnectionSettings,
  connectTask,
  InputError,
  md,
  mdLink,
  mdTable,
  nameText,
  optionalText,
  readConnectionSettings,
  inputNames,
  readInputs,
  warnMisspeltInputs,
  requiredText,
  runMain,
  sentence,
  setOutputs,
  tl,
  uploadSummary,
  say,
  finish,
  loadUploadModules,
} from "../../lib/task/mod.ts";
import {
  checkPipelineFile,
  type KfpClient,
  KfpError,
  type Pipeline,
  type PipelineFile,
  PipelineFileError,
  type PipelineVersion,
} from "../../lib/kfp/mod.ts";

// ---------------------------------------------------------------------------
// Settings: every input, read and checked in one place.

const MODES = ["uploadNew", "uploadNewVersion", "uploadNewOrVersion"] as const;
type Mode = (typeof MODES)[number];

/** KFP 2.x limits (1.8 allows 100 for pipeline names and says so itself). */
const PIPELINE_NAME_MAX = 128;
const VERSION_NAME_MAX = 127;

/** A name that may be left empty; when given, KFP must be able to store it. */
const optionalName = (max: number) => v.pipe(optionalText, v.optional(nameText(max, "")));

const taskInputs = v.object({
  kubeflowPipelineTask: choiceInput(MODES),
  pipelineFilePath: requiredText("Give the path of the compiled pipeline (.yaml, .yml, .json, .zip, .tar.gz or .tgz)."),
  newPipelineName: optionalName(PIPELINE_NAME_MAX),
  newPipelineDescription: optionalText,
  existingPipelineName: optionalName(PIPELINE_NAME_MAX),
  versionName: optionalName(VERSION_NAME_MAX),
  versionDescription: optionalText,
  ifVersionExists: choiceInput(["fail", "reuse"] as const, "fail"),
  dryRun: booleanInput(false),
});

type TaskInputs = v.InferOutput<typeof taskInputs>;

/** uploadNew and uploadNewOrVersion need the name of the pipeline to create (uploadNewOrVersion takes either name). */
const hasNameToCreate = (i: TaskInputs) =>
  i.kubeflowPipelineTask === "uploadNewVersion" ||
  !!i.newPipelineName ||
  (i.kubeflowPipelineTask === "uploadNewOrVersion" && !!i.existingPipelineName);
/** uploadNewVersion needs the name of the pipeline that gets the version. */
const hasNameToVersion = (i: TaskInputs) => i.kubeflowPipelineTask !== "uploadNewVersion" || !!i.existingPipelineName;

const inputsSchema = v.pipe(
  taskInputs,
  v.forward(
    v.check(hasNameToCreate, (issue) =>
      (issue.input as TaskInputs).kubeflowPipelineTask === "uploadNew"
        ? "is empty. uploadNew needs the name of the pipeline to create."
        : "is empty, and so is existingPipelineName. uploadNewOrVersion needs the name of the pipeline to create or add a version to.",
    ),
    ["newPipelineName"],
  ),
  v.forward(v.check(hasNameToVersion, "is empty. uploadNewVersion needs the name of the pipeline that gets the new version."), [
    "existingPipelineName",
  ]),
);

type PipelineNameInput = "newPipelineName" | "existingPipelineName";

interface Settings {
  connection: ConnectionSettings;
  mode: Mode;
  file: string;
  pipelineName: string;
  /** The input the pipeline name came from, for messages. */
  pipelineNameInput: PipelineNameInput;
  pipelineDescription?: string;
  versionName: string;
  versionNameDerived: boolean;
  versionDescription?: string;
  ifVersionExists: "fail" | "reuse";
  /** uploadNew with a versionName: KFP names the first version like the pipeline. */
  versionNameIgnored: boolean;
  dryRun: boolean;
}

function readSettings(): Settings {
  const connection = readConnectionSettings();
  const inputs = readInputs(inputsSchema);
  const pipelineNameInput: PipelineNameInput =
    inputs.kubeflowPipelineTask === "uploadNewVersion" || !inputs.newPipelineName ? "existingPipelineName" : "newPipelineName";
  return {
    connection,
    mode: inputs.kubeflowPipelineTask,
    file: inputs.pipelineFilePath,
    pipelineName: (pipelineNameInput === "newPipelineName" ? inputs.newPipelineName : inputs.existingPipelineName)!,
    pipelineNameInput,
    pipelineDescription: inputs.newPipelineDescription,
    versionName: inputs.versionName ?? versionNameFromBuild(),
    versionNameDerived: !inputs.versionName,
    versionDescription: inputs.versionDescription,
    ifVersionExists: inputs.ifVersionExists,
    versionNameIgnored: inputs.kubeflowPipelineTask === "uploadNew" && !!inputs.versionName,
    dryRun: inputs.dryRun,
  };
}

/**
 * A version name unique to this build: build number and short commit, e.g.
 * `20260101.3-1a2b3c4d`. A re-run of the same build gets the same name, so
 * ifVersionExists=reuse finds what the failed attempt uploaded.
 */
function versionNameFromBuild(): string {
  const buildNumber = tl.getVariable("Build.BuildNumber")?.trim();
  const commit = tl.getVariable("Build.SourceVersion")?.trim().slice(0, 8);
  const name = [buildNumber, commit].filter(Boolean).join("-") || `upload-${new Date().toISOString().replace(/[:.]/g, "-")}`;
  return name.slice(-VERSION_NAME_MAX);
}

// ---------------------------------------------------------------------------
// The task.

interface Outcome {
  action: "created pipeline" | "added version" | "reused version";
  pipeline: Pipeline;
  version: PipelineVersion;
}

runMain(async () => {
  warnMisspeltInputs(inputNames(inputsSchema));
  const settings = readSettings();
  // What connecting needs loads while an archive inflates on the thread pool (README, Performance).
  const file = await checkedFile(settings.file, () => loadUploadModules(settings.connection.endpoint));
  if (settings.versionNameIgnored) say("versionName is not used with uploadNew: KFP names the first version like the pipeline.");

  const kfp = await connectTask(settings.connection, { dryRun: settings.dryRun });
  let outcome: Outcome;
  try {
    outcome = await upload(kfp, settings, file);
  } catch (error) {
    throw connectionProblem(error, settings.connection) ?? error;
  }

  const links = {
    pipeline: kfp.links.pipeline(outcome.pipeline.id),
    version: kfp.links.version(outcome.pipeline.id, outcome.version.id),
  };
  setOutputs({
    kf_pipeline_id: outcome.pipeline.id,
    kf_pipeline_name: outcome.pipeline.name,
    kf_pipeline_version_id: outcome.version.id,
    kf_pipeline_version_name: outcome.version.name,
    kf_pipeline_url: links.pipeline,
    kf_pipeline_version_url: links.version,
  });
  uploadSummary("kubeflow-upload-pipeline.md", summary(kfp, settings, outcome, links));

  const done = settings.dryRun ? `Dry run: would have ${describe(outcome)}` : capitalize(describe(outcome));
  say(`${done}\n  Pipeline: ${links.pipeline}\n  Version:  ${links.version}`);
  if (settings.dryRun) say("Dry run: nothing was changed in KFP; the output variables hold placeholders.");
  finish(tl.TaskResult.Succeeded, done);
});

/** The package once it passed the checks KFP would make (type, size, content): read once, here. */
async function checkedFile(path: string, meanwhile: () => void): Promise<PipelineFile> {
  try {
    return await checkPipelineFile(path, meanwhile);
  } catch (error) {
    throw packageRejected(error);
  }
}

async function upload(kfp: KfpClient, s: Settings, file: PipelineFile): Promise<Outcome> {
  if (s.mode === "uploadNew") {
    // KFP refuses a taken name itself (409, or 500 "already exist" on 1.8 and 2.0), atomically:
    // no look-up first, except in a dry run, where no upload is sent to be refused.
    const existing = s.dryRun ? await kfp.findPipeline(s.pipelineName) : undefined;
    if (existing) throw pipelineExists(s, existing);
    return createPipeline(kfp, s, file);
  }
  const existing = await kfp.findPipeline(s.pipelineName);
  switch (s.mode) {
    case "uploadNewVersion":
      if (!existing) {
        throw new InputError(
          s.pipelineNameInput,
          `names pipeline '${s.pipelineName}', which does not exist in KFP${kfp.namespace ? ` (namespace ${kfp.namespace})` : ""}.`,
          "Check the name, or set kubeflowPipelineTask to uploadNew or uploadNewOrVersion to create it.",
        );
      }
      say(`Found pipeline '${existing.name}' (${existing.id}).`);
      return addVersion(kfp, s, file, existing);
    case "uploadNewOrVersion":
      if (existing) {
        say(`Found pipeline '${existing.name}' (${existing.id}): adding a version.`);
        return addVersion(kfp, s, file, existing);
      }
      say(`Pipeline '${s.pipelineName}' does not exist yet: creating it.`);
      try {
        return await createPipeline(kfp, s, file);
      } catch (error) {
        // Created meanwhile by a concurrent job: add the version to it instead.
        if (!(error instanceof InputError) || error.input !== s.pipelineNameInput) throw error;
        const created = await kfp.findPipeline(s.pipelineName);
        if (!created) throw error;
        say(`Pipeline '${created.name}' was created meanwhile (${created.id}): adding a version.`);
        return addVersion(kfp, s, file, created);
      }
  }
}

async function createPipeline(kfp: KfpClient, s: Settings, file: PipelineFile): Promise<Outcome> {
  try {
    const { pipeline, version } = await kfp.uploadPipeline({ file, name: s.pipelineName, description: s.pipelineDescription });
    return { action: "created pipeline", pipeline, version };
  } catch (error) {
    if (error instanceof KfpError && error.kind === "conflict") {
      throw pipelineExists(s, await kfp.findPipeline(s.pipelineName));
    }
    throw packageRejected(error);
  }
}

async function addVersion(kfp: KfpClient, s: Settings, file: PipelineFile, pipeline: Pipeline): Promise<Outcome> {
  const taken = await kfp.findVersion(pipeline.id, s.versionName);
  if (taken) return reuseOrFail(s, pipeline, taken);
  try {
    const version = await kfp.uploadVersion({ file, pipelineId: pipeline.id, name: s.versionName, description: s.versionDescription });
    return { action: "added version", pipeline, version };
  } catch (error) {
    if (error instanceof KfpError && error.kind === "conflict") {
      // Uploaded meanwhile by a concurrent job.
      const raced = await kfp.findVersion(pipeline.id, s.versionName);
      if (raced) return reuseOrFail(s, pipeline, raced);
      throw new InputError(
        "versionName",
        `'${s.versionName}' is already taken in pipeline '${pipeline.name}' (KFP answered ${error.status ?? "conflict"}).`,
        "Give a new versionName.",
      );
    }
    throw packageRejected(error);
  }
}

/** A version with the wanted name exists: the outcome when reusing is allowed, else an InputError. */
function reuseOrFail(s: Settings, pipeline: Pipeline, version: PipelineVersion): Outcome {
  if (s.ifVersionExists === "reuse") {
    say(`Version '${version.name}' (${version.id}) of pipeline '${pipeline.name}' already exists: reusing it (ifVersionExists is reuse).`);
    return { action: "reused version", pipeline, version };
  }
  const from = s.versionNameDerived ? "was derived from the build number and commit; it " : "";
  throw new InputError(
    "versionName",
    `'${version.name}' ${from}is already taken: pipeline '${pipeline.name}' has that version (${version.id}).`,
    "Give a new versionName, or set ifVersionExists to reuse to use that version (e.g. when re-running a failed job).",
  );
}

function pipelineExists(s: Settings, existing: Pipeline | undefined): InputError {
  return new InputError(
    s.pipelineNameInput,
    `names pipeline '${s.pipelineName}', which already exists${existing ? ` (${existing.id})` : ""}.`,
    "Choose a new name, or set kubeflowPipelineTask to uploadNewVersion (add a version to it) " +
      "or uploadNewOrVersion (create it, or add a version when it exists).",
  );
}

/** The file is wrong (our check) or KFP refused it (400): blame pipelineFilePath, with KFP's own words. */
function packageRejected(error: unknown): unknown {
  if (error instanceof PipelineFileError) return new InputError("pipelineFilePath", error.message);
  if (error instanceof KfpError && (error.kind === "invalid" || (error.kind === "http" && error.status === 400))) {
    return new InputError(
      "pipelineFilePath",
      `was rejected by KFP: ${sentence(error.kfpMessage ?? error.message)}`,
      "Check it is a pipeline compiled by the KFP SDK for this KFP version (kfp dsl compile).",
    );
  }
  return error;
}

// ---------------------------------------------------------------------------
// Reporting.

function describe(o: Outcome): string {
  const version = `version '${o.version.name}' (${o.version.id})`;
  const pipeline = `pipeline '${o.pipeline.name}' (${o.pipeline.id})`;
  if (o.action === "created pipeline") return `created ${pipeline} with its first ${version}.`;
  if (o.action === "added version") return `added ${version} to ${pipeline}.`;
  return `reused ${version} of ${pipeline}.`;
}

const capitalize = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

function summary(kfp: KfpClient, s: Settings, o: Outcome, links: { pipeline: string; version: string }): string {
  const heading = s.dryRun ? "Kubeflow pipeline upload (dry run: nothing was changed)" : "Kubeflow pipeline upload";
  return [
    `### ${heading}`,
    "",
    md(capitalize(describe(o))),
    "",
    mdTable([
      ["Pipeline", mdLink(o.pipeline.name, links.pipeline)],
      ["Pipeline ID", `\`${md(o.pipeline.id)}\``],
      ["Version", mdLink(o.version.name, links.version)],
      ["Version ID", `\`${md(o.version.id)}\``],
      ["Package", md(s.file)],
      ["KFP", `${md(kfp.baseUrl)} (${kfp.serverVersion ? `${md(kfp.serverVersion)}, ` : ""}API ${kfp.apiVersion})`],
    ]),
    "",
  ].join("\n");
}
