/**
 * `npm run demo`: the whole extension end to end on this machine, in seconds.
 * It builds, starts a fake KFP 2.x, a fake KFP 1.8 and a fake Azure DevOps on
 * 127.0.0.1, and runs every task as an agent and Azure DevOps would, with the
 * sample pipelines in test/fixtures/pipelines: upload, upload a new version,
 * experiment and run with wait, a recurring run (twice: the second changes
 * nothing), a KFP v1 package and a dry run on KFP 1.8, the
 * agentless task's request and the exit handler's callback. Each step checks
 * what the fakes received; the demo exits 1 at the first step that fails.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { build, BuildError } from "../../../build.ts";
import { type TaskRunResult, defaultVariables, maskSecrets } from "../agent/mod.ts";
import { startFakeAzdo, type FakeAzdo } from "../fake-azdo/mod.ts";
import { startFakeKfp, type FakeKfp } from "../fake-kfp/mod.ts";
import { connectKfp } from "../../kfp/mod.ts";
import { formatDuration } from "../../net/mod.ts";
import { componentArgv, readComponent, runComponent, type ComponentSpec } from "./component.ts";
import { LocalLog, succeeded } from "./log.ts";
import { findTask, LOCAL_CONNECTION_ID, REPO_ROOT, runLocalTask } from "./run.ts";
import { executeServerTask } from "../server-task/mod.ts";

const PIPELINES = join(REPO_ROOT, "test", "fixtures", "pipelines");
/** The new version: the same pipeline, now with the Azure DevOps exit handler wired in. */
const CALLBACK_PIPELINE = join(REPO_ROOT, "test", "fixtures", "async", "callback-v2.yaml");
/** Credentials the fakes accept; they are masked in the output all the same. */
export const KFP_TOKEN = "demo-kfp-token-4e1f";
export const AZDO_PAT = "demo-azdo-pat-93c7";
/** Runs on the fakes go PENDING -> RUNNING -> SUCCEEDED in this long; the run task polls every second. */
const RUN_MS = 2000;
const STEP_TIMEOUT_MS = 30_000;

/** A step did not do what it should: the demo stops with this message. */
class DemoFailure extends Error {
  override name = "DemoFailure";
}

function check(condition: unknown, problem: string): asserts condition {
  if (!condition) throw new DemoFailure(problem);
}

const STEPS = 9;

/** The fakes the demo runs against. */
export interface DemoFakes {
  kfp2: FakeKfp;
  kfp1: FakeKfp;
  azdo: FakeAzdo;
}

export interface DemoOptions {
  log?: LocalLog;
  /** Called once the fakes are up, before the first task: lets a test inject a fault. */
  prepare?: (fakes: DemoFakes) => void;
}

export type DemoResult = { ok: true; vsix: string; seconds: number } | { ok: false; step: number; problem: string };

/** What the steps share: the log, the step counter, and per KFP the outputs so far. */
class Demo {
  stepNumber = 0;
  constructor(readonly log: LocalLog) {}

  step(title: string): void {
    this.log.heading(`[${++this.stepNumber}/${STEPS}] ${title}`);
  }
}

/** The variables an agent job holds, for the fake plan's ids (the emulation's own defaults). */
const system = defaultVariables("", "", "");

interface Kfp {
  fake: FakeKfp;
  /** Outputs of the tasks run against this KFP so far: later inputs use them as `$(kf_pipeline_id)`. */
  variables: Record<string, string>;
}

/** Runs an agent task against one of the fakes; it must succeed. */
async function agentTask(demo: Demo, kfp: Kfp, folder: string, inputs: Record<string, string>, dryRun = false): Promise<TaskRunResult> {
  const result = await runLocalTask({
    task: findTask(folder),
    inputs,
    connection: kfp.fake.url,
    token: KFP_TOKEN,
    tokenSource: "the demo",
    dryRun,
    variables: kfp.variables,
    log: demo.log,
    timeoutMs: STEP_TIMEOUT_MS,
  });
  check(
    succeeded(result),
    `${folder} ended ${result.timedOut ? "timed out" : (result.result ?? "without a result")}` +
      `${result.message ? `: ${result.message}` : ""}`,
  );
  if (!dryRun) Object.assign(kfp.variables, result.outputs);
  return result;
}

/** Runs the whole demo; never throws. */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const started = performance.now();
  const demo = new Demo(options.log ?? new LocalLog());
  try {
    const vsix = await allSteps(demo, options);
    return { ok: true, vsix, seconds: (performance.now() - started) / 1000 };
  } catch (error) {
    const known = error instanceof DemoFailure || error instanceof BuildError;
    return { ok: false, step: demo.stepNumber, problem: known ? error.message : ((error as Error).stack ?? String(error)) };
  }
}

async function allSteps(demo: Demo, options: DemoOptions): Promise<string> {
  const { log } = demo;
  demo.step("Build: bundles, task.json validation, exit handler, vsix");
  const report = await build({ log: (line) => log.line(`  ${line}`) });
  check(
    report.componentFile && existsSync(join(REPO_ROOT, "dist", "exit-handler", "exit-handler.js")),
    "the build made no exit handler component",
  );

  // 2.14 is the first KFP that runs a pipeline whose exit task takes the final status (the callback pipeline's does).
  const v2Fake = await startFakeKfp({ api: "v2", serverVersion: "2.14.0", token: KFP_TOKEN, runs: "auto", autoMs: RUN_MS });
  const v2: Kfp = { fake: v2Fake, variables: {} };
  const v1: Kfp = { fake: await startFakeKfp({ api: "v1", token: KFP_TOKEN, runs: "auto", autoMs: RUN_MS }), variables: {} };
  const azdo = await startFakeAzdo({ pats: [AZDO_PAT] });
  try {
    log.line();
    log.line(`  fake KFP 2.5 (v2beta1)    ${v2.fake.url}`);
    log.line(`  fake KFP 1.8 (v1beta1)    ${v1.fake.url}`);
    log.line(`  fake Azure DevOps         ${azdo.collectionUri}`);
    options.prepare?.({ kfp2: v2.fake, kfp1: v1.fake, azdo });
    await agentSteps(demo, v2, v1);
    await agentlessSteps(demo, v2, azdo);
  } finally {
    await Promise.all([v2.fake.close(), v1.fake.close(), azdo.close()]);
  }
  return report.vsix.vsix;
}

async function agentSteps(demo: Demo, v2: Kfp, v1: Kfp): Promise<void> {
  demo.step("Kubeflow Upload Pipeline: a new pipeline from a KFP v2 YAML, on KFP 2.x");
  await agentTask(demo, v2, "upload-pipeline", {
    kubeflowPipelineTask: "uploadNew",
    pipelineFilePath: join(PIPELINES, "hello-v2.yaml"),
    newPipelineName: "hello-demo",
    newPipelineDescription: "Uploaded by npm run demo",
  });
  check(
    v2.fake.state.pipelines.some((p) => p.name === "hello-demo"),
    "KFP holds no pipeline hello-demo",
  );

  demo.step("Kubeflow Upload Pipeline: a new version of it, with the Azure DevOps exit handler");
  await agentTask(demo, v2, "upload-pipeline", {
    kubeflowPipelineTask: "uploadNewVersion",
    pipelineFilePath: CALLBACK_PIPELINE,
    existingPipelineName: "hello-demo",
    versionName: "v2",
    versionDescription: "Reports back to Azure DevOps when it ends",
  });
  const versions = v2.fake.state.versions.filter((v) => v.pipelineId === v2.variables.kf_pipeline_id);
  check(versions.length === 2, `pipeline hello-demo has ${versions.length} version(s), not 2`);

  demo.step("Kubeflow Experiment and Run: experiment, run, and wait for it");
  await agentTask(demo, v2, "experiment-run", {
    pipelineId: "$(kf_pipeline_id)",
    pipelineVersionId: "$(kf_pipeline_version_id)",
    experiment: "createNewExperiment",
    experimentName: "demo",
    createNewRun: "true",
    runName: "demo run",
    pipelineParams: "message=hello from the demo\nepochs=5",
    waitForRunToFinish: "true",
    pollIntervalSeconds: "1",
  });
  check(v2.variables.kf_run_status === "SUCCEEDED", `the run ended ${v2.variables.kf_run_status}`);

  demo.step("Kubeflow Recurring Run: the version on a nightly schedule, then the same inputs again (no change)");
  const schedule = {
    pipelineId: "$(kf_pipeline_id)",
    pipelineVersionId: "$(kf_pipeline_version_id)",
    experimentName: "demo",
    recurringRunName: "demo nightly",
    schedule: "0 0 2 * * *",
    pipelineParams: "message=hello from the schedule\nepochs=5",
  };
  await agentTask(demo, v2, "recurring-run", schedule);
  const scheduleWrites = v2.fake.writes().length;
  await agentTask(demo, v2, "recurring-run", schedule);
  const schedules = v2.fake.state.recurringRuns.filter((r) => r.name === "demo nightly");
  check(
    schedules.length === 1 && schedules[0]!.enabled,
    `KFP holds ${schedules.length} enabled recurring run(s) named demo nightly, not 1`,
  );
  check(v2.fake.writes().length === scheduleWrites, "the same inputs again wrote to KFP");
  demo.log.line(`  ${demo.log.dim("the second run found the schedule as asked and wrote nothing")}`);

  demo.step("Kubeflow Upload Pipeline: a KFP v1 package, on KFP 1.8");
  await agentTask(demo, v1, "upload-pipeline", {
    kubeflowPipelineTask: "uploadNewOrVersion",
    pipelineFilePath: join(PIPELINES, "hello-v1.tar.gz"),
    newPipelineName: "hello-v1-demo",
  });

  demo.step("Kubeflow Experiment and Run: a dry run on KFP 1.8 (every check, no write)");
  const writesBefore = v1.fake.writes().length;
  await agentTask(
    demo,
    v1,
    "experiment-run",
    {
      pipeline: "hello-v1-demo",
      useDefaultVersion: "true",
      experimentName: "demo",
      createNewRun: "true",
      pipelineParams: "message=hello from a dry run",
    },
    true,
  );
  const writes = v1.fake.writes().length - writesBefore;
  check(writes === 0, `the dry run sent ${writes} write(s) to KFP`);
  demo.log.line(`  ${demo.log.dim(`fake KFP 1.8 received ${writes} writes during the dry run`)}`);
}

async function agentlessSteps(demo: Demo, v2: Kfp, azdo: FakeAzdo): Promise<void> {
  const { log } = demo;
  demo.step("Kubeflow Experiment Run Async: Azure DevOps sends the agentless task's request");
  const plan = {
    projectId: system["system.teamProjectId"]!,
    hubName: system["system.hostType"]!,
    planId: system["system.planId"]!,
    jobId: system["system.jobId"]!,
    taskInstanceId: system["system.taskInstanceId"]!,
    timelineId: system["system.timelineId"]!,
  };
  azdo.addPlan(plan);
  const runName = "demo async run";
  const inputs = {
    kfpConnection: LOCAL_CONNECTION_ID,
    apiVersion: "v2beta1",
    pipelineID: "$(kf_pipeline_id)",
    pipelineVersionID: "$(kf_pipeline_version_id)",
    experimentID: "$(kf_experiment_id)",
    runName,
    pipelineParamsMap: '"message": "hello from the agentless task"',
    waitForCompletion: "true",
  };
  log.inputs({ ...inputs, kfpConnection: `${LOCAL_CONNECTION_ID}: ${v2.fake.url} (token from the demo)` }, []);
  const sent = await executeServerTask({
    taskDir: findTask("experiment-run-async").dir,
    inputs,
    variables: { ...system, "system.collectionUri": azdo.collectionUri, ...v2.variables },
    endpoints: [
      { id: LOCAL_CONNECTION_ID, type: "kubeflow-pipelines", url: v2.fake.url, scheme: "Token", parameters: { apitoken: KFP_TOKEN } },
    ],
  });
  const { request } = sent;
  log.line(`  ${log.dim("request")}`);
  log.line(`    ${request.method} ${request.url}`);
  for (const [name, value] of Object.entries(request.headers)) log.line(`    ${name}: ${maskSecrets(value, [KFP_TOKEN])}`);
  for (const line of prettyJson(request.body).split("\n")) log.line(`    ${line}`);
  log.line(`  ${log.dim("response")}  ${(sent.status < 300 ? log.green : log.red)(String(sent.status))}`);
  check(sent.outcome === "waiting", `KFP answered ${sent.status}: ${sent.responseText.slice(0, 300)}`);
  log.line(`  ${log.dim("result")}  the task waits for TaskCompleted (its agentless job holds no agent)`);

  demo.step("The run ends; KFP runs the exit handler (dist/exit-handler/component.yaml), which calls Azure DevOps back");
  const created = await v2.fake.waitForRun((r) => r.name === runName);
  const callbackInfo = created.parameters.azdocallbackinfo;
  check(typeof callbackInfo === "string" && callbackInfo !== "", "the run has no azdocallbackinfo parameter");
  const kfp = await connectKfp({ endpoint: v2.fake.url, auth: { kind: "bearer", token: KFP_TOKEN } });
  let lastState: string | undefined;
  const ended = await kfp.waitForRun(created.id, {
    intervalMs: 250,
    timeoutMs: STEP_TIMEOUT_MS,
    onPoll: (run) => {
      if (run.state !== lastState) log.line(`  ${log.dim("run")}  ${run.id} ${run.state}`);
      lastState = run.state;
    },
  });
  check(!("timedOut" in ended), "the run did not end");

  const component = readComponent(join(REPO_ROOT, "dist", "exit-handler", "component.yaml"));
  const values = {
    azdocallbackinfo: callbackInfo,
    // The organization the pipeline is pinned to: a constant in the user's compiled pipeline.
    azure_devops_url: azdo.collectionUri,
    // What KFP 2.x's driver fills the PipelineTaskFinalStatus input with.
    run_status: v2.fake.exitTaskStatus(ended.id),
    run_id: ended.id,
    kfp_ui_url: v2.fake.url,
  };
  const argv = componentArgv(component, values);
  const bundle = readFileSync(join(REPO_ROOT, "dist", "exit-handler", "exit-handler.js"), "utf8");
  check(argv[2] === bundle, "component.yaml does not run dist/exit-handler/exit-handler.js");
  log.line(`  ${log.dim("container")}  ${component.implementation.container.image}, AZDO_PAT=*** (a PAT from a Kubernetes secret)`);
  log.line(`    ${argv.map((arg, i) => (i === 2 ? "<dist/exit-handler/exit-handler.js>" : shellWord(arg))).join(" ")}`);
  const handler = await runComponent(component, values, { AZDO_PAT }, (line) => log.line(`    ${maskSecrets(line, [AZDO_PAT])}`));
  check(handler.code === 0, `the exit handler exited ${handler.code}`);

  const completed = azdo.events.find((e) => e.name === "TaskCompleted" && e.taskId === plan.taskInstanceId && e.jobId === plan.jobId);
  check(completed, "Azure DevOps received no TaskCompleted for the task");
  check(completed.result === "succeeded", `Azure DevOps was told the task ${completed.result}`);
  for (const feed of azdo.feed) for (const line of feed.lines) log.line(`  ${log.dim("job log")}  ${line}`);
  log.line(
    `  ${log.dim("result")}  ${log.green("Succeeded")}: ` +
      `Azure DevOps received TaskCompleted (result ${completed.result}) for task ${completed.taskId}`,
  );
  await foreignPlanUri(demo, component, values);
}

/** A run started with someone else's PlanUri: the pinned exit handler sends that server nothing, not even its PAT. */
async function foreignPlanUri(demo: Demo, component: ComponentSpec, values: Record<string, string>): Promise<void> {
  const { log } = demo;
  const foreign = await startFakeAzdo({ pats: [AZDO_PAT] });
  try {
    const info = { ...JSON.parse(values.azdocallbackinfo!), PlanUri: foreign.collectionUri };
    const refused = await runComponent(component, { ...values, azdocallbackinfo: JSON.stringify(info) }, { AZDO_PAT });
    check(refused.code === 2, `with a foreign PlanUri the exit handler exited ${refused.code}`);
    check(foreign.requests.length === 0, `a foreign PlanUri received ${foreign.requests.length} request(s)`);
    const said = refused.stderr.split("\n").find((line) => line.startsWith("error: "));
    log.line(`  ${log.dim("pinned")}  a run naming PlanUri ${foreign.collectionUri}: exit 2, nothing sent`);
    if (said) log.line(`    ${maskSecrets(said, [AZDO_PAT])}`);
  } finally {
    await foreign.close();
  }
}

/** An argument as a shell would need it, long ones shortened. */
function shellWord(arg: string): string {
  const short = arg.length > 60 ? `${arg.slice(0, 57)}...` : arg;
  return /^[\w./:=@%+-]+$/.test(short) ? short : `'${short}'`;
}

function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

if (import.meta.main) {
  const log = new LocalLog();
  const result = await runDemo({ log });
  if (result.ok) {
    log.heading(log.green(`Demo done in ${formatDuration(result.seconds * 1000)}: every task worked end to end.`));
    log.line(`The extension, ready to upload to the Marketplace: ${relative(process.cwd(), result.vsix)}`);
  } else {
    log.line();
    log.line(log.red(`Demo failed at step ${result.step} of ${STEPS}: ${result.problem}`));
    process.exitCode = 1;
  }
}
