/**
 * The environment an Azure Pipelines agent gives a Node task: inputs
 * (task.json defaults merged, `$(var)` macros expanded), service connections,
 * public and secret variables, and nothing else of the host.
 */
import type { ServiceConnection } from "./types.ts";

/** The agent's variable-to-environment mangling: upper-case, `.` and space to `_`. */
export function agentEnvName(name: string): string {
  return name.replace(/[. ]/g, "_").toUpperCase();
}

/** A fixed 40-hex commit, so runs are reproducible. */
const SOURCE_VERSION = "4f3c2a1b9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b";

/**
 * The public variables a task may read, as a hosted YAML build sets them.
 * `tempDir` is Agent.TempDirectory, `workDir` the job's working folder.
 */
export function defaultVariables(tempDir: string, workDir: string, workFolder: string): Record<string, string> {
  return {
    "system.debug": "false",
    "system.collectionUri": "https://dev.azure.com/contoso/",
    "system.teamFoundationCollectionUri": "https://dev.azure.com/contoso/",
    "system.teamProject": "kfp-demo",
    "system.teamProjectId": "7a1f4c2e-3b5d-4e6f-8a9b-0c1d2e3f4a5b",
    "system.planId": "1b2c3d4e-5f60-4718-92a3-b4c5d6e7f809",
    "system.jobId": "2c3d4e5f-6071-4829-a3b4-c5d6e7f8091a",
    "system.taskInstanceId": "3d4e5f60-7182-493a-b4c5-d6e7f8091a2b",
    // "Set to 1 the first time this job is attempted, and increments every time the job is retried"
    // (MicrosoftDocs/azure-devops-docs, pipelines/build/variables.md, System.JobAttempt).
    "system.jobAttempt": "1",
    "system.timelineId": "1b2c3d4e-5f60-4718-92a3-b4c5d6e7f809",
    "system.hostType": "build",
    "system.defaultWorkingDirectory": workDir,
    "system.culture": "en-US",
    "build.buildNumber": "20261126.1",
    "build.buildId": "1126",
    "build.sourceVersion": SOURCE_VERSION,
    "build.definitionName": "kfp-ci",
    "build.sourceBranch": "refs/heads/main",
    "build.sourcesDirectory": workDir,
    "build.repository.name": "kfp-demo",
    "agent.tempDirectory": tempDir,
    "agent.workFolder": workFolder,
    "agent.os": "Linux",
    "agent.name": "emulated-agent",
    "agent.version": "4.266.0",
  };
}

/** Merges variables by their environment name (names are case-insensitive); later wins. */
export function mergeVariables(...layers: (Record<string, string> | undefined)[]): Record<string, string> {
  const byEnv = new Map<string, [string, string]>();
  for (const layer of layers) for (const [name, value] of Object.entries(layer ?? {})) byEnv.set(agentEnvName(name), [name, value]);
  return Object.fromEntries(byEnv.values());
}

/** A variable's value by its case-insensitive name. */
export function variableValue(variables: Record<string, string>, name: string): string | undefined {
  const wanted = agentEnvName(name);
  return Object.entries(variables).find(([n]) => agentEnvName(n) === wanted)?.[1];
}

/** Replaces `$(name)` with a known variable's value, leaving unknown macros as they are. */
export function expandMacros(value: string, variables: Record<string, string>): string {
  const byEnv = new Map(Object.entries(variables).map(([name, v]) => [agentEnvName(name), v]));
  return value.replace(/\$\(([^()]+)\)/g, (macro, name: string) => byEnv.get(agentEnvName(name.trim())) ?? macro);
}

interface TaskJsonInput {
  name: string;
  defaultValue?: string | boolean;
}

/**
 * The inputs the agent passes (TaskRunner.cs): every input task.json declares
 * (its default), overridden by the step's inputs, declared or not (a misspelt
 * name reaches the task as its own INPUT_*), names and values trimmed (the
 * DISABLE_INPUT_TRIMMING knob is off by default), then macros expanded.
 */
export function taskInputs(
  declared: readonly TaskJsonInput[],
  given: Record<string, string> = {},
  variables: Record<string, string> = {},
): Record<string, string> {
  const defaults = Object.fromEntries(declared.map((i) => [i.name.trim(), String(i.defaultValue ?? "").trim()]));
  const step = Object.fromEntries(Object.entries(given).map(([name, value]) => [name.trim(), value.trim()]));
  const merged = mergeVariables(defaults, step);
  return Object.fromEntries(Object.entries(merged).map(([name, value]) => [name, expandMacros(value, variables)]));
}

/** ENDPOINT_* variables for each connection, as the agent's handler sets them. */
export function connectionEnv(connections: readonly ServiceConnection[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const c of connections) {
    const parameters = c.parameters ?? {};
    const data = c.data ?? {};
    env[`ENDPOINT_URL_${c.id}`] = c.url;
    env[`ENDPOINT_AUTH_${c.id}`] = JSON.stringify({ parameters, scheme: c.scheme });
    env[`ENDPOINT_AUTH_SCHEME_${c.id}`] = c.scheme;
    for (const [key, value] of Object.entries(parameters)) env[`ENDPOINT_AUTH_PARAMETER_${c.id}_${agentEnvName(key)}`] = value;
    env[`ENDPOINT_DATA_${c.id}`] = JSON.stringify(data);
    for (const [key, value] of Object.entries(data)) env[`ENDPOINT_DATA_${c.id}_${agentEnvName(key)}`] = value;
  }
  return env;
}

export interface AgentEnvRequest {
  inputs: Record<string, string>;
  connections?: readonly ServiceConnection[];
  variables: Record<string, string>;
  secretVariables?: Record<string, string>;
  /** Extra raw environment, applied last. */
  env?: Record<string, string>;
  /** The host environment: only PATH and HOME are taken from it. */
  host?: NodeJS.ProcessEnv;
}

/** The complete child environment: no other host variable leaks in. */
export function agentEnvironment(req: AgentEnvRequest): Record<string, string> {
  const host = req.host ?? process.env;
  const env: Record<string, string> = {};
  for (const key of ["PATH", "HOME"]) if (host[key] !== undefined) env[key] = host[key]!;
  for (const [name, value] of Object.entries(req.variables)) env[agentEnvName(name)] = value;
  env.VSTS_PUBLIC_VARIABLES = JSON.stringify(Object.keys(req.variables));
  const secrets = req.secretVariables ?? {};
  for (const [name, value] of Object.entries(secrets)) env[`SECRET_${agentEnvName(name)}`] = value;
  env.VSTS_SECRET_VARIABLES = JSON.stringify(Object.keys(secrets));
  for (const [name, value] of Object.entries(req.inputs)) env[`INPUT_${agentEnvName(name)}`] = value;
  Object.assign(env, connectionEnv(req.connections ?? []));
  Object.assign(env, req.env ?? {});
  return env;
}
