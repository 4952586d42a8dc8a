/**
 * The KFP exit handler that completes a waiting "Kubeflow Experiment Run
 * Async" task: build.ts bundles it into one dependency-free script, and the
 * component in dist/exit-handler/component.yaml runs it in a stock Node image.
 *
 *   node exit-handler.js --callback-info <azdocallbackinfo> --azure-devops-url <url>
 *     --status <run status> --run-id <id> [--kfp-ui-url <url>] [--pat-env NAME]
 *     [--pat-file PATH] [--attempts N] [--retry-delay SECONDS]
 *
 * Exit codes: 0 reported (or nothing to report), 1 Azure DevOps could not be
 * told, 2 bad arguments, no credential, or a PlanUri outside the pinned URL.
 * A non-zero exit marks the exit handler failed in the KFP UI, the only place
 * anyone would see it. Everything printed goes through the scrubber.
 */
import { readFileSync } from "node:fs";
import { CallbackError, DEFAULT_RETRY, postFeedLines, postTaskCompleted, type AzdoCredential, type RetryPolicy } from "./azdo-callback.ts";
import { CallbackInfoError, parseCallbackInfo, type CallbackInfo } from "./callback-info.ts";
import { parseExitStatus, type ExitStatus } from "./exit-status.ts";
import { checkPlanUri, parsePinnedUrl, PinnedUrlError } from "./pinned-url.ts";
import { Scrubber } from "./scrub.ts";

/** The environment variable holding a PAT when `--pat-env` is not given. */
const DEFAULT_PAT_ENV = "AZDO_PAT";

const OPTIONS = [
  "callback-info",
  "azure-devops-url",
  "status",
  "run-id",
  "kfp-ui-url",
  "pat-env",
  "pat-file",
  "attempts",
  "retry-delay",
] as const;
type Options = Partial<Record<(typeof OPTIONS)[number], string>>;

class UsageError extends Error {}

/** Every credential the handler knows of, masked in all it prints. */
const scrubber = new Scrubber();

async function main(argv: string[]): Promise<number> {
  const options = parseOptions(argv);
  const info = parseCallbackInfo(options["callback-info"]);
  scrubber.addText(info?.authToken);
  if (!info) {
    say(
      "azdocallbackinfo is empty: this run was not started by a waiting Kubeflow Experiment Run Async task, so there is nothing to report.",
    );
    return 0;
  }
  // Before any credential is read: a PlanUri outside the pinned URL gets nothing at all.
  checkPlanUri(parsePinnedUrl(options["azure-devops-url"]), info.planUri);
  const status = parseExitStatus(options.status);
  const runId = options["run-id"]?.trim() ?? "";
  const credential = readCredential(info, options);
  scrubber.add(credential);
  const policy = retryPolicy(options);
  say(
    `Run ${runId || "(id not given)"} ended ${status.state || "with no status"}: ` +
      `reporting "${status.outcome}" to plan ${info.planId} (${info.hubName}) at ${info.planUri}.`,
  );

  if (info.timelineId) {
    const lines = logLines(status, runId, options["kfp-ui-url"]);
    try {
      await postFeedLines({ ...info, timelineId: info.timelineId }, lines, credential, policy, say);
    } catch (error) {
      // The log line is a courtesy; the result still matters.
      say(`warning: could not write to the job's log: ${(error as Error).message}`);
    }
  }
  await postTaskCompleted(info, status.outcome, credential, policy, say);
  say(`Azure DevOps task ${info.taskInstanceId} completed as ${status.outcome}.`);
  return 0;
}

/** `--name value` pairs; an empty value is kept (KFP passes "" for unset optional inputs). */
function parseOptions(argv: string[]): Options {
  const options: Options = {};
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i]!.replace(/^--/, "") as (typeof OPTIONS)[number];
    if (!argv[i]!.startsWith("--") || !OPTIONS.includes(name))
      throw new UsageError(`unknown argument ${JSON.stringify(argv[i])}; expected one of ${OPTIONS.map((o) => `--${o}`).join(", ")}`);
    if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value`);
    options[name] = argv[i + 1];
  }
  return options;
}

/** A PAT from a mounted file or an environment variable (Basic); else the job token the user chose to pass (Bearer). */
function readCredential(info: CallbackInfo, options: Options): AzdoCredential {
  const file = options["pat-file"]?.trim();
  if (file) {
    let pat: string;
    try {
      pat = readFileSync(file, "utf8").trim();
    } catch (error) {
      throw new UsageError(
        `cannot read the PAT file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}. ` +
          `Mount the secret there or fix pat_file.`,
      );
    }
    if (!pat) throw new UsageError(`the PAT file ${file} (pat_file) is empty: put the PAT in the secret mounted there, or fix pat_file.`);
    say(`Authenticating with the PAT in ${file}.`);
    return { kind: "pat", pat };
  }
  const envName = options["pat-env"]?.trim() || DEFAULT_PAT_ENV;
  const pat = process.env[envName]?.trim();
  if (pat) {
    say(`Authenticating with the PAT in environment variable ${envName}.`);
    return { kind: "pat", pat };
  }
  if (info.authToken) {
    say("Authenticating with the job access token passed in azdocallbackinfo.");
    return { kind: "bearer", token: info.authToken };
  }
  throw new UsageError(
    `no Azure DevOps credential: environment variable ${envName} is not set, ` +
      `no pat_file was given, and azdocallbackinfo carries no job token. ` +
      "Mount a PAT from a Kubernetes secret as that variable or file (or set passAccessToken on the task).",
  );
}

function retryPolicy(options: Options): RetryPolicy {
  const attempts = numberOption(
    options,
    "attempts",
    DEFAULT_RETRY.attempts,
    (n) => Number.isInteger(n) && n >= 1 && n <= 20,
    "a whole number from 1 to 20",
  );
  const delaySeconds = numberOption(
    options,
    "retry-delay",
    DEFAULT_RETRY.baseDelayMs / 1000,
    (n) => n >= 0 && n <= 600,
    "a number of seconds from 0 to 600",
  );
  return { ...DEFAULT_RETRY, attempts, baseDelayMs: Math.round(delaySeconds * 1000) };
}

/** The component input behind each numeric option, so an error names what the user set. */
const COMPONENT_INPUT = { attempts: "attempts", "retry-delay": "retry_delay_seconds" } as const;

function numberOption(
  options: Options,
  name: "attempts" | "retry-delay",
  fallback: number,
  valid: (n: number) => boolean,
  expected: string,
): number {
  const text = options[name]?.trim();
  if (!text) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || !valid(value))
    throw new UsageError(`${COMPONENT_INPUT[name]}: --${name} ${JSON.stringify(text)} is out of range; give ${expected}.`);
  return value;
}

/** What the Azure DevOps job's log shows: the run, how it ended, and where to look. */
function logLines(status: ExitStatus, runId: string, uiUrl: string | undefined): string[] {
  const base = uiUrl?.trim().replace(/\/+$/, "");
  const link = base && runId ? ` ${base}/#/runs/details/${encodeURIComponent(runId)}` : "";
  const lines = [`Kubeflow run ${runId || "(id unknown)"} ended ${status.state || "with no status"}.${link}`];
  if (status.error) lines.push(`KFP says: ${status.error}`);
  return lines;
}

function say(line: string): void {
  console.log(scrubber.scrub(line));
}

/** Run as a file (`node exit-handler.js ...`) or inline (`node -e <script> -- ...`). */
const args = process.argv.slice(process.argv[1] === __filename ? 2 : 1);
main(args).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const usage = error instanceof UsageError || error instanceof CallbackInfoError || error instanceof PinnedUrlError;
    const known = usage || error instanceof CallbackError;
    console.error(scrubber.scrub(`error: ${known ? (error as Error).message : String((error as Error)?.stack ?? error)}`));
    if (usage) console.error("usage: see the component's description in component.yaml.");
    process.exit(usage ? 2 : 1);
  },
);
