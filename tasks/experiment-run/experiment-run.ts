/**
 * Kubeflow Experiment and Run: finds the pipeline and version, creates or
 * reuses the experiment, starts a run and, if asked, waits for it to end,
 * ending this task the way the run ended.
 *
 * The flow: settings (read and checked in one place) -> connect -> pipeline and
 * version -> parameters checked against the version -> experiment -> run ->
 * wait -> result. Every bad input fails before the first write. Output
 * variables and the Markdown summary are written on every path, cancel included.
 *
 * Its credentials are registered as secrets before this file runs: the build
 * puts lib/task/early-secrets.ts first in the bundle.
 */
import * as v from "valibot";
import {
  booleanInput,
  CancelledError,
  checkParameters,
  checkVersionIdHasPipelineId,
  experimentNamed,
  pipelineParamsInput,
  resolvePipelineVersion,
  type VersionChoice,
  type CancelWatch,
  choiceInput,
  connectionProblem,
  type ConnectionSettings,
  connectTask,
  InputError,
  md,
  mdLink,
  mdPipelineRows,
  mdParameterNames,
  mdTable,
  nameText,
  optionalText,
  readConnectionSettings,
  inputNames,
  readInputs,
  warnMisspeltInputs,
  runMain,
  RunProgress,
  secondsInput,
  setOutputs,
  tl,
  uploadSummary,
  watchCancel,
  say,
  warn,
  finish,
} from "../../lib/task/mod.ts";
import {
  DRY_RUN_IDS,
  type Experiment,
  type KfpClient,
  type Pipeline,
  type PipelineParam,
  type PipelineVersion,
  type Run,
} from "../../lib/kfp/mod.ts";
import { formatDuration } from "../../lib/net/mod.ts";

// ---------------------------------------------------------------------------
// Settings

/** KFP stores experiment and run names in 128-character columns. */
const NAME_MAX = 128;
/** A week: longer than any sensible CI wait, so a bigger number is a typo. */
const TIMEOUT_MAX_MINUTES = 7 * 24 * 60;

/** Minutes, decimals allowed (0.5 is 30 s), more than 0 and at most `max`; "" takes the default. */
function minutesInput(defaultValue: number, max: number) {
  return v.pipe(
    v.string(),
    v.trim(),
    v.check(
      (s) => s === "" || /^\d+(\.\d+)?$/.test(s),
      (issue) =>
        `is ${JSON.stringify(issue.input)}, not a number of minutes. ` +
        `Write a number such as ${defaultValue} (decimals allowed: 0.5 is 30 seconds).`,
    ),
    v.transform((s) => (s === "" ? defaultValue : Number(s))),
    v.check(
      (n) => n > 0 && n <= max,
      (issue) => `is ${issue.input} minutes; it must be more than 0 and at most ${max} (7 days). Pick a value in that range.`,
    ),
  );
}

/** Optional run name: "" means the default, anything else must be a name KFP stores. */
const optionalRunName = v.union([
  v.pipe(
    v.string(),
    v.trim(),
    v.empty(),
    v.transform(() => undefined),
  ),
  nameText(NAME_MAX, "Give a run name, or leave it empty for the default."),
]);

const inputsSchema = v.object({
  pipeline: optionalText,
  useDefaultVersion: booleanInput(false),
  pipelineVersion: optionalText,
  pipelineId: optionalText,
  pipelineVersionId: optionalText,
  experiment: choiceInput(["createNewExperiment", "useExistingExperiment"] as const, "createNewExperiment"),
  experimentName: nameText(NAME_MAX, "Give the name of the experiment the run goes into, e.g. ci-runs."),
  experimentDescription: optionalText,
  createNewRun: booleanInput(false),
  runName: optionalRunName,
  runDescription: optionalText,
  pipelineParams: pipelineParamsInput(),
  serviceAccount: optionalText,
  waitForRunToFinish: booleanInput(false),
  pollIntervalSeconds: secondsInput(15, 1, 600),
  runTimeoutMinutes: minutesInput(24 * 60, TIMEOUT_MAX_MINUTES),
  onTimeoutOrCancel: choiceInput(["terminate", "leaveRunning"] as const, "terminate"),
  dryRun: booleanInput(false),
});

type Inputs = v.InferOutput<typeof inputsSchema>;

interface Settings extends Inputs {
  connection: ConnectionSettings;
  /** Undefined when no pipeline is named (allowed only without a run). */
  version?: VersionChoice;
  parameters: PipelineParam[];
}

/** The IDs an upload in dry run outputs instead of real ones. */
const DRY_RUN_PLACEHOLDERS: readonly string[] = [DRY_RUN_IDS.pipeline, DRY_RUN_IDS.version];

/** A dry run fed an upload dry run's outputs: the pipeline and version are placeholders, not KFP objects. */
function isUploadDryRun(settings: Settings): boolean {
  return settings.dryRun && settings.pipelineId === DRY_RUN_IDS.pipeline;
}

/** Reads every input once; throws InputError on the first problem. */
function readSettings(): Settings {
  const connection = readConnectionSettings();
  const inputs = readInputs(inputsSchema);

  const placeholder = [inputs.pipelineId, inputs.pipelineVersionId].find((id) => id && DRY_RUN_PLACEHOLDERS.includes(id));
  if (placeholder && !inputs.dryRun) {
    throw new InputError(
      inputs.pipelineId === placeholder ? "pipelineId" : "pipelineVersionId",
      `is '${placeholder}', the placeholder an upload in dry run outputs: nothing was uploaded.`,
      "Set dryRun: true on this step too, or run the upload for real.",
    );
  }
  checkVersionIdHasPipelineId(inputs);
  const namesPipeline = Boolean(inputs.pipeline || inputs.pipelineId);
  if (inputs.createNewRun && !namesPipeline) {
    throw new InputError(
      "pipeline",
      "is empty, and a run needs a pipeline.",
      "Set pipeline to the pipeline's name, or pipelineId to its ID (e.g. $(kf_pipeline_id) from the upload task).",
    );
  }
  let version: VersionChoice | undefined;
  if (inputs.pipelineVersionId) {
    version = { by: "id", id: inputs.pipelineVersionId };
    if (inputs.useDefaultVersion || inputs.pipelineVersion)
      warn("pipelineVersionId is set: useDefaultVersion and pipelineVersion are ignored.");
  } else if (inputs.useDefaultVersion) {
    version = { by: "default", input: "useDefaultVersion" };
    // The 2021 task let useDefaultVersion win too.
    if (inputs.pipelineVersion) warn(`useDefaultVersion is true: pipelineVersion '${inputs.pipelineVersion}' is ignored.`);
  } else if (inputs.pipelineVersion) {
    version = { by: "name", name: inputs.pipelineVersion };
  } else if (namesPipeline) {
    throw new InputError(
      "pipelineVersion",
      "is empty and useDefaultVersion is false, so no pipeline version is chosen.",
      "Set pipelineVersion to a version name, or useDefaultVersion: true (the latest version on KFP 2.x, the default version on KFP 1.8).",
    );
  }
  if (inputs.runTimeoutMinutes * 60 < inputs.pollIntervalSeconds) {
    throw new InputError(
      "runTimeoutMinutes",
      `is ${inputs.runTimeoutMinutes} minutes, shorter than one poll interval (pollIntervalSeconds: ${inputs.pollIntervalSeconds}).`,
      "Make the timeout longer or the interval shorter (the timeout is in minutes, the interval in seconds).",
    );
  }
  if (inputs.waitForRunToFinish && !inputs.createNewRun)
    warn("waitForRunToFinish is true but createNewRun is false: there is no run to wait for.");
  return { ...inputs, connection, version, parameters: inputs.pipelineParams };
}

// ---------------------------------------------------------------------------
// The flow

/** What the task has found and done so far: the outputs and the summary are made from it. */
interface Progress {
  pipeline?: Pipeline;
  version?: PipelineVersion;
  experiment?: Experiment;
  experimentCreated?: boolean;
  /** A dry run's stand-in for an experiment it would create: no real ID to output or link. */
  experimentPlanned?: boolean;
  parameters?: Record<string, unknown>;
  /** The run as last seen. */
  run?: Run;
  runUrl?: string;
  waitStartedMs?: number;
  waitEndedMs?: number;
  /** One line on how it ended, for the summary. */
  ending?: string;
}

async function experimentRun(cancel: CancelWatch): Promise<void> {
  warnMisspeltInputs(inputNames(inputsSchema));
  const settings = readSettings();
  const kfp = await connectTask(settings.connection, { dryRun: settings.dryRun }, true);
  const done: Progress = {};
  try {
    await startAndWait(kfp, settings, cancel, done);
  } catch (error) {
    if (error instanceof CancelledError) return await endCancelled(kfp, settings, done, error);
    throw connectionProblem(error, settings.connection) ?? error;
  } finally {
    setOutputs({
      kf_pipeline_id: done.pipeline?.id,
      kf_pipeline_version_id: done.version?.id,
      kf_experiment_id: done.experimentPlanned ? undefined : done.experiment?.id,
      kf_run_id: done.run?.id,
      kf_run_status: done.run ? runStatus(kfp, done.run) : undefined,
      kf_run_url: done.runUrl,
    });
    if (done.experiment || done.pipeline) uploadSummary("kubeflow-run.md", summary(kfp, settings, done));
  }
}

async function startAndWait(kfp: KfpClient, settings: Settings, cancel: CancelWatch, done: Progress): Promise<void> {
  if (settings.version && isUploadDryRun(settings)) {
    // Chained after an upload in dry run: its placeholders stand for a pipeline that does not exist yet.
    done.pipeline = { id: DRY_RUN_IDS.pipeline, name: settings.pipeline ?? "the pipeline the upload would create" };
    done.version = { id: DRY_RUN_IDS.version, name: "the version the upload would create", pipelineId: DRY_RUN_IDS.pipeline };
    say(
      "Dry run: pipelineId and pipelineVersionId are an upload dry run's placeholders; " +
        "the run would use the pipeline and version that upload creates (their parameters are not checked).",
    );
  } else if (settings.version) {
    Object.assign(done, await resolvePipelineVersion(kfp, settings, settings.version));
  }
  if (settings.createNewRun && done.pipeline && done.version) {
    const specs = isUploadDryRun(settings) ? undefined : await kfp.versionParameters(done.pipeline.id, done.version.id);
    done.parameters = checkParameters(settings.parameters, specs, kfp);
  }

  const { experiment, created } = await experimentNamed(kfp, settings.experimentName, {
    create: settings.experiment === "createNewExperiment",
    description: settings.experimentDescription,
    dryRun: settings.dryRun,
  });
  done.experiment = experiment;
  done.experimentCreated = created;
  done.experimentPlanned = created && settings.dryRun;

  if (!settings.createNewRun || !done.pipeline || !done.version) {
    finish(tl.TaskResult.Succeeded, "No run created (createNewRun is false).");
    return;
  }

  cancel.throwIfCancelled();
  const runName = settings.runName ?? defaultRunName(done.pipeline.name);
  done.run = await kfp.createRun({
    name: runName,
    description: settings.runDescription,
    experimentId: experiment.id,
    pipelineId: done.pipeline.id,
    versionId: done.version.id,
    parameters: done.parameters ?? {},
    serviceAccount: settings.serviceAccount,
  });
  if (settings.dryRun) {
    done.run = undefined;
    finish(tl.TaskResult.Succeeded, "Dry run: every check passed; nothing was created.");
    return;
  }
  done.runUrl = kfp.links.run(done.run.id);
  say(`Run '${runName}' created (${done.run.id}): ${done.runUrl}`);
  cancel.throwIfCancelled();

  if (!settings.waitForRunToFinish) {
    finish(tl.TaskResult.Succeeded, `Run '${runName}' started: ${done.runUrl}`);
    return;
  }

  const timeoutMs = Math.round(settings.runTimeoutMinutes * 60_000);
  say(`Waiting for the run to finish (polling every ${settings.pollIntervalSeconds}s, timeout ${formatDuration(timeoutMs)}).`);
  const progress = new RunProgress((line) => say(line));
  const seen = (run: Run, elapsedMs: number) => {
    done.run = run;
    progress.observe(run, elapsedMs);
  };
  done.waitStartedMs = Date.now();
  const ended = await cancel.race(
    kfp.waitForRun(done.run.id, {
      intervalMs: settings.pollIntervalSeconds * 1000,
      timeoutMs,
      onPoll: seen,
      onOutage: ({ lengthMs, first }) =>
        say(
          `KFP could not be reached for ${formatDuration(lengthMs)} while waiting (${first.message.replace(/\.$/, "")}); the wait went on.`,
        ),
      signal: cancel.signal,
    }),
  );
  done.waitEndedMs = Date.now();
  done.run = "timedOut" in ended ? ended.run : ended;

  if ("timedOut" in ended) return await endTimedOut(kfp, settings, done, timeoutMs);
  endWithRunOutcome(done);
}

// ---------------------------------------------------------------------------
// Naming the run

/** Traceable to the build: the Azure Pipelines pipeline and its build (or release) number. */
function defaultRunName(pipelineName: string): string {
  const definition = tl.getVariable("Build.DefinitionName") || tl.getVariable("Release.DefinitionName");
  const number = tl.getVariable("Build.BuildNumber") || tl.getVariable("Release.ReleaseName");
  const name = definition && number ? `${definition} ${number}` : `${pipelineName} ${new Date().toISOString()}`;
  return name.slice(0, NAME_MAX);
}

// ---------------------------------------------------------------------------
// Endings

function endWithRunOutcome(done: Progress): void {
  const run = done.run!;
  const took = formatDuration(runDuration(done));
  const link = done.runUrl;
  switch (run.outcome) {
    case "succeeded":
      done.ending = `Succeeded after ${took}.`;
      finish(tl.TaskResult.Succeeded, `Run ${run.state} after ${took}: ${link}`);
      return;
    case "skipped":
      done.ending = `Skipped after ${took}.`;
      finish(tl.TaskResult.SucceededWithIssues, `Run ${run.state}: KFP skipped it. ${link}`);
      return;
    default: {
      const why = run.error ? `: ${run.error}` : "";
      done.ending = `Ended ${run.state} after ${took}${why}`;
      finish(tl.TaskResult.Failed, `Run ended ${run.state} after ${took}${why}. See ${link}`);
    }
  }
}

async function endTimedOut(kfp: KfpClient, settings: Settings, done: Progress, timeoutMs: number): Promise<void> {
  const last = runStatus(kfp, done.run!);
  const fate = await stopRun(kfp, settings, done);
  done.ending = `Timed out after ${formatDuration(timeoutMs)} (last state ${last}); ${fate}.`;
  finish(
    tl.TaskResult.Failed,
    `Run did not finish within ${formatDuration(timeoutMs)} (runTimeoutMinutes: ${settings.runTimeoutMinutes}); ` +
      `last state ${last}. The run ${fate}. See ${done.runUrl}`,
  );
}

/** Cancelled by the agent: stop the run if so chosen, before the process ends. */
async function endCancelled(kfp: KfpClient, settings: Settings, done: Progress, cancelled: CancelledError): Promise<void> {
  done.waitEndedMs ??= Date.now();
  if (!done.run || settings.dryRun) {
    done.ending = "Cancelled before a run was created.";
    finish(tl.TaskResult.Cancelled, `Cancelled (${cancelled.by}) before a run was created.`);
    return;
  }
  const fate = await stopRun(kfp, settings, done, CANCEL_TERMINATE_MS);
  done.ending = `Cancelled (${cancelled.by}); the run ${fate}.`;
  say(done.ending);
  finish(tl.TaskResult.Cancelled, `Cancelled (${cancelled.by}); the run ${fate}. ${done.runUrl}`);
}

/**
 * On cancel the agent sends SIGINT, SIGTERM about 7.5 s later and then kills the
 * process: terminating must be done (or given up) before that.
 */
const CANCEL_TERMINATE_MS = 6_000;

/** Terminates the run if `onTimeoutOrCancel` says so; returns what happened to it, in words. */
async function stopRun(kfp: KfpClient, settings: Settings, done: Progress, withinMs?: number): Promise<string> {
  const run = done.run!;
  if (settings.onTimeoutOrCancel === "leaveRunning") return "was left running (onTimeoutOrCancel: leaveRunning)";
  try {
    await kfp.terminateRun(run.id, { withinMs });
    say(`Run ${run.id} terminated.`);
    return "was terminated";
  } catch (error) {
    warn(`Could not terminate run ${run.id}: ${error instanceof Error ? error.message : String(error)}`);
    return "could not be terminated and may still be running";
  }
}

/** The run's state in KFP's words; none reported yet means pending (as KFP's own clients read it). */
function runStatus(kfp: KfpClient, run: Run): string {
  return run.state || (kfp.apiVersion === "v2beta1" ? "PENDING" : "Pending");
}

/** KFP's own times when it gives both, else how long we waited. */
function runDuration(done: Progress): number {
  const run = done.run;
  const created = run?.createdAt ? Date.parse(run.createdAt) : NaN;
  const finished = run?.finishedAt ? Date.parse(run.finishedAt) : NaN;
  if (Number.isFinite(created) && Number.isFinite(finished) && finished >= created) return finished - created;
  return (done.waitEndedMs ?? Date.now()) - (done.waitStartedMs ?? Date.now());
}

// ---------------------------------------------------------------------------
// Summary

function summary(kfp: KfpClient, settings: Settings, done: Progress): string {
  const { pipeline, version, experiment, run } = done;
  const lines = [`## Kubeflow run${run ? ` ${md(run.name)}` : ""}`, ""];
  lines.push(
    mdTable([
      ["Run", run ? mdLink(run.name, done.runUrl) : settings.dryRun ? "none (dry run)" : "none (createNewRun is false)"],
      ["State", run ? md(runStatus(kfp, run)) : undefined],
      ["Outcome", done.ending ? md(done.ending) : undefined],
      ["Duration", run && done.waitStartedMs !== undefined ? formatDuration(runDuration(done)) : undefined],
      ["Experiment", experiment ? experimentCell(kfp, experiment, done) : undefined],
      ...mdPipelineRows(kfp, pipeline, version),
    ]),
  );
  const parameters = mdParameterNames(done.parameters);
  if (run && parameters) lines.push("", parameters);
  const steps = run?.steps?.list ?? [];
  if (steps.length > 0) {
    lines.push("", "### Steps", "", mdTable(steps.map((step) => [md(step.name), md(step.state)])));
  }
  return `${lines.join("\n")}\n`;
}

function experimentCell(kfp: KfpClient, experiment: Experiment, done: Progress): string {
  if (done.experimentPlanned) return `${md(experiment.name)} (would be created)`;
  return `${mdLink(experiment.name, kfp.links.experiment(experiment.id))}${done.experimentCreated ? " (created)" : ""}`;
}

// ---------------------------------------------------------------------------

const cancel = watchCancel();
void runMain(() => experimentRun(cancel)).then(() => cancel.exitIfCancelled());
