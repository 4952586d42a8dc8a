/**
 * `npm run task -- <task> [--input name=value]... [--connection URL | --fake]
 * [--dry-run]`: runs one task's bundle from a laptop exactly as an agent would
 * (lib/dev/agent/mod.ts), against a real KFP or an embedded fake one, and prints a
 * readable log: inputs, each KFP request, outputs and result.
 *
 * Credentials come from the environment only (KFP_TOKEN, KFP_SESSION_COOKIE):
 * a token on a command line lands in shell history and `ps`. Exit code: 0 when
 * the task succeeded, 1 when it did not, 2 on a usage error.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { bundleTask } from "../../../build.ts";
import { startFakeKfp, type FakeApi, type FakeKfp } from "../fake-kfp/mod.ts";
import { LocalLog, succeeded } from "./log.ts";
import { checkInputs, findTask, runLocalTask, taskFolders, UsageError } from "./run.ts";

const USAGE = `usage: npm run task -- <task> [options]

  <task>                 ${taskFolders().join(", ")} (or the YAML name, e.g. KubeflowUploadPipeline@1)
  --input name=value     a task input, as in YAML (repeat for each input)
  --connection URL       use a Kubeflow Pipelines service connection to URL (sets kfpConnection)
  --fake                 start an embedded fake KFP on 127.0.0.1 and connect to it
  --fake-api v1|v2       the fake's KFP: v1 is KFP 1.8, v2 is KFP 2.x (default v2)
  --seed name=file       with --fake: a pipeline the fake holds from the start (repeatable)
  --dry-run              the dryRun input: every read and check, no write
  --variable name=value  a pipeline variable, e.g. build.buildNumber=42 (repeatable)
  --verbose              every debug line of the task, not only the KFP requests

  KFP_TOKEN              bearer token (the connection's token, or bearerToken without --connection)
  KFP_SESSION_COOKIE     session cookie (sessionCookie), e.g. authservice_session=...

examples:
  npm run task -- experiment-run --fake --seed hello=test/fixtures/pipelines/hello-v2.yaml \\
    --input pipeline=hello --input useDefaultVersion=true --input experimentName=try \\
    --input createNewRun=true --input pipelineParams=message=hi --dry-run
  KFP_TOKEN=... npm run task -- upload-pipeline --connection https://kubeflow.example.com/pipeline \\
    --input kubeflowPipelineTask=uploadNewOrVersion --input pipelineFilePath=pipeline.yaml --input newPipelineName=hello`;

/** `name=value` pairs into a record; the value may hold `=`. */
function pairs(option: string, given: string[] | undefined): Record<string, string> {
  const record: Record<string, string> = {};
  for (const pair of given ?? []) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new UsageError(`--${option} takes name=value, got ${JSON.stringify(pair)}`);
    record[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return record;
}

function readArgs(argv: string[]) {
  const parse = () =>
    parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        input: { type: "string", short: "i", multiple: true },
        connection: { type: "string" },
        fake: { type: "boolean", default: false },
        "fake-api": { type: "string", default: "v2" },
        seed: { type: "string", multiple: true },
        "dry-run": { type: "boolean", default: false },
        variable: { type: "string", multiple: true },
        verbose: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return undefined;
  if (positionals.length !== 1)
    throw new UsageError(positionals.length ? `one task at a time, got ${positionals.join(" ")}` : "which task?");
  if (values.fake && values.connection) throw new UsageError("--fake and --connection both name a KFP: give one");
  if (values["fake-api"] !== "v1" && values["fake-api"] !== "v2") throw new UsageError(`--fake-api is v1 or v2, got ${values["fake-api"]}`);
  if (values.seed?.length && !values.fake) throw new UsageError("--seed needs --fake");
  const inputs = pairs("input", values.input);
  if (Object.keys(inputs).some((name) => name.toLowerCase() === "kfpconnection")) {
    throw new UsageError("kfpConnection names a service connection, which exists only in Azure DevOps: use --connection URL (or --fake)");
  }
  return {
    task: positionals[0]!,
    inputs,
    connection: values.connection,
    fake: values.fake ? { api: values["fake-api"] as FakeApi, seeds: pairs("seed", values.seed) } : undefined,
    dryRun: values["dry-run"],
    variables: pairs("variable", values.variable),
    verbose: values.verbose,
  };
}

/** Runs the command line; resolves to the exit code. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const args = readArgs(argv);
  if (!args) {
    console.log(USAGE);
    return 0;
  }
  const task = findTask(args.task);
  // npm run starts us in the package folder; relative paths mean the user's own folder.
  const cwd = env.INIT_CWD ?? process.cwd();
  const inputs = checkInputs(task, args.inputs, cwd);
  if (task.server) {
    throw new UsageError(
      `${task.folder} is an agentless task: Azure DevOps itself sends its HTTP request and no agent runs it. ` +
        `npm run demo shows it end to end.`,
    );
  }
  const log = new LocalLog({ verbose: args.verbose });
  const token = env.KFP_TOKEN?.trim() || undefined;
  await bundleTask(task.dir); // run what the sources say now

  let fake: FakeKfp | undefined;
  if (args.fake) {
    // The fake checks the token when there is one, as a real KFP behind auth would.
    fake = await startFakeKfp({ api: args.fake.api, token, runs: "auto", autoMs: 3000 });
    for (const [name, file] of Object.entries(args.fake.seeds)) {
      const { pipeline, version } = await fake.seedPipeline({ name, file: resolve(cwd, file) });
      log.line(log.dim(`fake KFP: pipeline ${name} (${pipeline.id}), version ${version.name} (${version.id})`));
    }
  }
  try {
    log.heading(
      `${task.folder} (${task.name}@1)${fake ? `, against a fake KFP ${args.fake!.api === "v1" ? "1.8" : "2.x"} at ${fake.url}` : ""}`,
    );
    let cancels = 0;
    const result = await runLocalTask({
      task,
      inputs,
      connection: fake?.url ?? args.connection,
      token,
      tokenSource: "KFP_TOKEN",
      sessionCookie: env.KFP_SESSION_COOKIE?.trim() || undefined,
      dryRun: args.dryRun,
      variables: args.variables,
      log,
      // Ctrl-C cancels the task as an agent does: SIGINT, then SIGTERM.
      onStart: (run) =>
        process.on("SIGINT", () => {
          cancels++;
          run.signal(cancels === 1 ? "SIGINT" : "SIGTERM");
        }),
    });
    if (fake) log.fakeRecord(fake.requests, fake.writes());
    return succeeded(result) ? 0 : 1;
  } finally {
    await fake?.close();
  }
}

if (import.meta.main) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`npm run task: ${error.message}\n(npm run task -- --help shows how to use it)`);
    process.exitCode = 2;
  }
}
