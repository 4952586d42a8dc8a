/**
 * Kubeflow Recurring Run: puts a pipeline version on a schedule. After it,
 * exactly one recurring run named `recurringRunName` exists in the experiment,
 * pointing at that version with those parameters and that schedule.
 *
 * The flow: settings (read and checked in one place, the schedule included) ->
 * connect -> pipeline, version, parameters -> experiment -> the recurring runs
 * of that name -> a plan -> its steps, one at a time -> result.
 *
 * Same inputs again: the matching recurring run is kept and nothing is written.
 * Anything else is a replacement in which two are never enabled at once: the new
 * one is created disabled (enabled at once when no other is), the old ones are
 * disabled, the new one enabled, the old ones deleted. A step that fails says
 * what is done and what is left; running the task again finishes the job, since
 * the plan starts from whatever it finds.
 *
 * Its credentials are registered as secrets before this file runs: the build
 * puts lib/task/early-secrets.ts first in the bundle.
 */
import * as v from "valibot";
import {
  describeSchedule,
  differences,
  type Experiment,
  type KfpClient,
  KfpError,
  nextFireTimes,
  parseSchedule,
  type Pipeline,
  type PipelineVersion,
  type RecurringRun,
  type RecurringRuns,
  type RecurringRunSpec,
  recurringRunLink,
  recurringRuns,
  SCHEDULE_EXAMPLES,
  type Schedule,
  ScheduleError,
} from "../../lib/kfp/mod.ts";
import {
  booleanInput,
  checkParameters,
  checkVersionIdHasPipelineId,
  type ConnectionSettings,
  connectionProblem,
  connectTask,
  describeError,
  experimentNamed,
  InputError,
  md,
  mdLink,
  mdPipelineRows,
  mdParameterNames,
  mdTable,
  nameText,
  optionalText,
  pipelineParamsInput,
  readConnectionSettings,
  inputNames,
  readInputs,
  warnMisspeltInputs,
  resolvePipelineVersion,
  runMain,
  setOutputs,
  tl,
  uploadSummary,
  type VersionChoice,
  choiceInput,
  say,
  warn,
  finish,
} from "../../lib/task/mod.ts";

// ---------------------------------------------------------------------------
// Settings

/** KFP stores experiment and recurring run names in 128-character columns. */
const NAME_MAX = 128;
/** Fire times listed in the summary. */
const NEXT_TIMES = 5;

/** A KFP schedule, parsed now so a mistake names `schedule` before anything is sent. */
const WRITE_A_SCHEDULE = `Write a KFP cron with seconds or an interval, ${SCHEDULE_EXAMPLES}.`;
const scheduleInput = v.pipe(
  v.string(),
  v.trim(),
  v.nonEmpty(`is empty. ${WRITE_A_SCHEDULE}`),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    try {
      return parseSchedule(dataset.value);
    } catch (error) {
      if (!(error instanceof ScheduleError)) throw error;
      addIssue({ message: `${error.message} ${WRITE_A_SCHEDULE}` });
      return NEVER;
    }
  }),
);

/** Optional RFC 3339 time, kept as milliseconds. */
const timeInput = v.pipe(
  optionalText,
  v.check(
    (s) => s === undefined || (/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i.test(s) && !Number.isNaN(Date.parse(s))),
    (issue) => `is ${JSON.stringify(issue.input)}, not an RFC 3339 time. Write it like 2026-01-31T02:00:00Z (or with an offset: +01:00).`,
  ),
  v.transform((s) => (s === undefined ? undefined : Date.parse(s))),
);

const inputsSchema = v.object({
  pipeline: optionalText,
  pipelineId: optionalText,
  pipelineVersion: optionalText,
  pipelineVersionId: optionalText,
  experimentName: nameText(NAME_MAX, "Give the name of the experiment the schedule belongs to, e.g. nightly."),
  recurringRunName: nameText(NAME_MAX, "Give the schedule a name, e.g. nightly-training."),
  schedule: scheduleInput,
  pipelineParams: pipelineParamsInput(),
  // api_converter.go toModelJob: KFP refuses anything outside 1..10.
  maxConcurrency: v.pipe(choiceInput(["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"] as const, "1"), v.transform(Number)),
  catchup: booleanInput(false),
  enabled: booleanInput(true),
  startTime: timeInput,
  endTime: timeInput,
  runServiceAccount: optionalText,
  dryRun: booleanInput(false),
});

interface Settings extends v.InferOutput<typeof inputsSchema> {
  connection: ConnectionSettings;
  version: VersionChoice;
}

/** Reads every input once; throws InputError on the first problem. */
function readSettings(): Settings {
  const connection = readConnectionSettings();
  const inputs = readInputs(inputsSchema);
  if (!inputs.pipeline && !inputs.pipelineId) {
    throw new InputError(
      "pipeline",
      "is empty, and a schedule needs a pipeline.",
      "Set pipeline to the pipeline's name, or pipelineId to its ID (e.g. $(kf_pipeline_id) from the upload task).",
    );
  }
  checkVersionIdHasPipelineId(inputs);
  const { startTime, endTime } = inputs;
  if (endTime !== undefined && startTime !== undefined && endTime <= startTime) {
    throw new InputError(
      "endTime",
      "is not after startTime, so the schedule would never start a run.",
      "Make endTime later than startTime.",
    );
  }
  if (endTime !== undefined && endTime <= Date.now()) {
    throw new InputError("endTime", "is in the past, so the schedule would never start a run.", "Give a future time, or leave it empty.");
  }
  const version: VersionChoice = inputs.pipelineVersionId
    ? { by: "id", id: inputs.pipelineVersionId }
    : inputs.pipelineVersion
      ? { by: "name", name: inputs.pipelineVersion }
      : { by: "default", input: "pipelineVersion" };
  return { ...inputs, connection, version };
}

// ---------------------------------------------------------------------------
// The flow

/** One write of the plan; without a target it acts on the recurring run this task creates. */
interface Step {
  action: "create" | "enable" | "disable" | "delete";
  target?: RecurringRun;
}

/** What the task has found and done so far: the outputs, the summary and a failure's account are made from it. */
interface Progress {
  pipeline?: Pipeline;
  version?: PipelineVersion;
  experiment?: Experiment;
  experimentPlanned?: boolean;
  parameters?: Record<string, unknown>;
  /** The recurring run that stays: kept or created. */
  current?: RecurringRun;
  steps: Step[];
  done: number;
  /** One line on how it ended, for the summary. */
  outcome?: string;
}

async function recurringRunTask(): Promise<void> {
  warnMisspeltInputs(inputNames(inputsSchema));
  const settings = readSettings();
  const kfp = await connectTask(settings.connection, { dryRun: settings.dryRun }, true);
  const progress: Progress = { steps: [], done: 0 };
  try {
    await reconcile(kfp, settings, progress);
  } catch (error) {
    const cause = connectionProblem(error, settings.connection) ?? error;
    throw halfDone(cause, settings, progress) ?? cause;
  } finally {
    const placeholder = settings.dryRun;
    setOutputs({
      kf_recurring_run_id: placeholder && progress.steps[0]?.action === "create" ? undefined : progress.current?.id,
      kf_experiment_id: progress.experimentPlanned ? undefined : progress.experiment?.id,
      kf_pipeline_version_id: progress.version?.id,
    });
    if (progress.experiment) uploadSummary("kubeflow-recurring-run.md", summary(kfp, settings, progress));
  }
}

async function reconcile(kfp: KfpClient, settings: Settings, progress: Progress): Promise<void> {
  const { pipeline, version } = await resolvePipelineVersion(kfp, settings, settings.version);
  Object.assign(progress, { pipeline, version });
  const parameters = checkParameters(settings.pipelineParams, await kfp.versionParameters(pipeline.id, version.id), kfp);
  progress.parameters = parameters;
  warnAboutCatchup(settings);

  const found = await experimentNamed(kfp, settings.experimentName, { create: true, dryRun: settings.dryRun });
  const experiment = found.experiment;
  Object.assign(progress, { experiment, experimentPlanned: found.created && settings.dryRun });

  const api = recurringRuns(kfp);
  const name = settings.recurringRunName;
  const existing = await api.find(experiment.id, name);
  const spec: RecurringRunSpec = {
    name,
    experimentId: experiment.id,
    pipelineId: pipeline.id,
    versionId: version.id,
    parameters,
    serviceAccount: settings.runServiceAccount,
    schedule: {
      ...(settings.schedule.kind === "cron" ? { cron: settings.schedule.cron } : { intervalSeconds: settings.schedule.seconds }),
      startTime: isoTime(settings.startTime),
      endTime: isoTime(settings.endTime),
    },
    maxConcurrency: settings.maxConcurrency,
    catchup: settings.catchup,
    enabled: settings.enabled,
  };
  for (const r of existing) {
    const differs = differences(r, spec);
    const state = r.enabled ? "enabled" : "disabled";
    say(`Found recurring run '${name}' (${r.id}, ${state}): ${differs.length ? `differs in ${differs.join(", ")}` : "matches"}.`);
  }
  // The newest that matches stays; every other one of that name goes.
  const keep = existing.filter((r) => differences(r, spec).length === 0).at(-1);
  const others = existing.filter((r) => r !== keep);
  progress.current = keep;
  progress.steps = plan(keep, others, settings.enabled);

  const known = new Set(existing.map((r) => r.id));
  // Created enabled straight away when nothing else of that name is enabled: never two at once, fewest writes.
  const createEnabled = settings.enabled && !progress.steps.some((s) => s.action === "enable");
  for (const step of progress.steps) {
    if (step.action === "create") {
      progress.current = await api.create({ ...spec, enabled: createEnabled }, known);
      if (!settings.dryRun) say(`Created recurring run '${name}' (${progress.current.id}, ${createEnabled ? "enabled" : "disabled"}).`);
    } else {
      const target = step.target ?? progress.current!;
      await apply(api, step.action, target.id);
      if (step.action !== "delete") target.enabled = step.action === "enable";
      if (!settings.dryRun) say(`${past(step.action)} recurring run ${target.id}.`);
    }
    progress.done++;
  }
  progress.outcome = outcome(progress, others.length, settings.dryRun);
  finish(tl.TaskResult.Succeeded, progress.outcome);
}

/**
 * The writes that leave `keep` (or a new one) alone under that name, in an order
 * where two are never enabled: create, disable the others, enable, delete the others.
 */
function plan(keep: RecurringRun | undefined, others: RecurringRun[], enabled: boolean): Step[] {
  const steps: Step[] = keep ? [] : [{ action: "create" }];
  for (const other of others) if (other.enabled) steps.push({ action: "disable", target: other });
  const othersEnabled = others.some((r) => r.enabled);
  if (keep && keep.enabled !== enabled) steps.push({ action: enabled ? "enable" : "disable", target: keep });
  if (!keep && enabled && othersEnabled) steps.push({ action: "enable" });
  for (const other of others) steps.push({ action: "delete", target: other });
  return steps;
}

function apply(api: RecurringRuns, action: Step["action"], id: string): Promise<void> {
  return action === "delete" ? api.remove(id) : api.setEnabled(id, action === "enable");
}

const past = (action: Step["action"]) => `${action[0]!.toUpperCase()}${action.slice(1)}d`;

function outcome(progress: Progress, replaced: number, dryRun: boolean): string {
  const current = progress.current!;
  const state = current.enabled ? "enabled" : "disabled";
  if (dryRun) return `Dry run: every check passed; ${progress.steps.length} write(s) planned, none made.`;
  if (progress.steps.length === 0) return `Recurring run ${current.id} already matches (${state}): nothing changed.`;
  const created = progress.steps[0]!.action === "create";
  const what = created ? `Recurring run ${current.id} created (${state})` : `Recurring run ${current.id} kept (${state})`;
  return replaced ? `${what}; ${replaced} older one(s) of that name removed.` : `${what}.`;
}

/** Steps that were not all made: the failure says what is done, what is left, and that a re-run finishes it. */
function halfDone(error: unknown, settings: Settings, progress: Progress): KfpError | undefined {
  if (progress.done === 0) return undefined;
  const name = `'${settings.recurringRunName}'`;
  const words = (step: Step) =>
    `${step.action} ${step.action === "create" ? name : `recurring run ${(step.target ?? progress.current)?.id}`}`;
  const done = progress.steps.slice(0, progress.done).map(words).join(", ");
  const left = progress.steps.slice(progress.done).map(words).join(", then ");
  progress.outcome = `Stopped half way: done: ${done}; not done: ${left}.`;
  const message =
    `${describeError(error)} The recurring runs named ${name} are half replaced. Done: ${done}. Not done: ${left}. ` +
    "Run this task again to finish (it starts from what it finds), or do what is left by hand in the KFP UI.";
  const cause = error instanceof KfpError ? error : undefined;
  return new KfpError({
    ...cause,
    kind: cause?.kind ?? "http",
    operation: cause?.operation ?? "replace recurring run",
    message,
    cause: error,
  });
}

function warnAboutCatchup(settings: Settings): void {
  // cron_schedule.go: a cron counts from its start time, so one in the past with catchup fires once per missed time.
  if (settings.catchup && settings.schedule.kind === "cron" && settings.startTime !== undefined && settings.startTime < Date.now()) {
    warn("startTime is in the past and catchup is true: KFP will start one run for every cron time since startTime.");
  }
}

function isoTime(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

// ---------------------------------------------------------------------------
// Summary

function summary(kfp: KfpClient, settings: Settings, progress: Progress): string {
  const { pipeline, version, experiment, current } = progress;
  const real = current && !(settings.dryRun && progress.steps[0]?.action === "create");
  const schedule = settings.schedule;
  const lines = [`## Kubeflow recurring run ${md(settings.recurringRunName)}`, ""];
  lines.push(
    mdTable([
      [
        "Recurring run",
        current && real ? mdLink(current.id, recurringRunLink(kfp, current.id)) : settings.dryRun ? "none (dry run)" : undefined,
      ],
      ["State", current ? (current.enabled ? "enabled" : "disabled") : undefined],
      ["Outcome", progress.outcome ? md(progress.outcome) : undefined],
      ["Schedule", `\`${md(schedule.kind === "cron" ? schedule.cron : describeSchedule(schedule))}\`: ${md(describeSchedule(schedule))}`],
      ["Next runs", nextRuns(schedule, settings)],
      ["Max concurrency", String(settings.maxConcurrency)],
      ["Catch up", settings.catchup ? "yes" : "no"],
      [
        "Experiment",
        experiment
          ? progress.experimentPlanned
            ? `${md(experiment.name)} (would be created)`
            : mdLink(experiment.name, kfp.links.experiment(experiment.id))
          : undefined,
      ],
      ...mdPipelineRows(kfp, pipeline, version),
    ]),
  );
  const parameters = mdParameterNames(progress.parameters);
  if (parameters) lines.push("", parameters);
  return `${lines.join("\n")}\n`;
}

/** The next fire times in UTC (the scheduler's zone unless KFP sets CRON_SCHEDULE_TIMEZONE). */
function nextRuns(schedule: Schedule, settings: Settings): string {
  if (!settings.enabled) return "none while disabled";
  const times = nextFireTimes(schedule, { now: Date.now(), start: settings.startTime, end: settings.endTime, count: NEXT_TIMES });
  if (times.length === 0) return "none before endTime";
  return times.map((t) => t.toISOString().replace(".000Z", "Z")).join(", ");
}

// ---------------------------------------------------------------------------

void runMain(recurringRunTask);
