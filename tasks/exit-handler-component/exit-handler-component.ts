/**
 * Kubeflow Exit Handler Component: writes the exit handler's KFP component (the
 * "Azure DevOps callback" that completes Kubeflow Experiment Run Async) into the
 * workspace, for the pipeline's compile step to load. The component's text is
 * the one the build made from lib/exit-handler/, inlined here at build time, so
 * it is always the version that came with the installed tasks.
 *
 * It talks to no server and does not load azure-pipelines-task-lib: it reads
 * its one input from the environment the agent sets and answers with the
 * logging commands it needs (lib/task/agent-commands.ts), which keeps the vsix
 * small.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import * as v from "valibot";
import component from "kfp:exit-handler-component";
import { completeTask, InputError, parseInputs, writeOutput } from "../../lib/task/mod.ts";
import { name as taskName, version as taskVersion } from "./task.json";

const OUTPUT_VARIABLE = "kf_exit_handler_component";

const settingsSchema = v.object({
  outputFile: v.pipe(v.string(), v.trim(), v.nonEmpty("is empty. Give the file to write, e.g. component.yaml.")),
});

/** The one input, as the agent passes it (INPUT_<NAME>, trimmed as task-lib's getInput does). */
function readSettings(env: NodeJS.ProcessEnv): v.InferOutput<typeof settingsSchema> {
  return parseInputs(settingsSchema, { outputFile: env.INPUT_OUTPUTFILE ?? "" });
}

function version(): string {
  const { Major, Minor, Patch } = taskVersion;
  return `${Major}.${Minor}.${Patch}`;
}

/** Writes the component; a relative path is the checkout's, as for every file input. */
function writeComponent(outputFile: string, env: NodeJS.ProcessEnv): string {
  const file = resolve(env.SYSTEM_DEFAULTWORKINGDIRECTORY || process.cwd(), outputFile);
  if (existsSync(file) && statSync(file).isDirectory()) {
    throw new InputError("outputFile", `is a folder (${file}).`, "Give a file name in it, e.g. component.yaml.");
  }
  const header =
    `# The "Azure DevOps callback" exit handler for Kubeflow Experiment Run Async, written by ${taskName} ${version()}.\n` +
    "# Generated: load it with components.load_component_from_file; do not edit.\n";
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, header + component);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new InputError("outputFile", `cannot be written (${code}): ${file}.`, "Give a path the agent can write, e.g. component.yaml.");
  }
  return file;
}

function main(env: NodeJS.ProcessEnv): void {
  try {
    const settings = readSettings(env);
    const file = writeComponent(settings.outputFile, env);
    writeOutput(OUTPUT_VARIABLE, file);
    completeTask("Succeeded", `Wrote the Kubeflow exit handler component (${taskName} ${version()}) to ${file}.`);
  } catch (error) {
    completeTask("Failed", error instanceof InputError ? error.message : `Unexpected error: ${(error as Error).message}`);
  }
}

main(process.env);
