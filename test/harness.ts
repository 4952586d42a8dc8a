/**
 * What every task test uses: run a built task the way the agent does
 * (lib/dev/agent/mod.ts) and find a task's folder, checking its bundle was built.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

export { runTask, startTask, parseAgentOutput, maskSecrets } from "../lib/dev/agent/mod.ts";
export type { ServiceConnection, TaskRun, TaskRunRequest, TaskRunResult, SetVariable } from "../lib/dev/agent/types.ts";

/** The repository root. */
export const REPO_ROOT = resolve(import.meta.dir, "..");

/** tasks/<name>, after checking its bundle exists. */
export function taskDir(name: string): string {
  const dir = join(REPO_ROOT, "tasks", name);
  if (!existsSync(join(dir, "task.json"))) throw new Error(`tasks/${name}/task.json not found: is "${name}" a task folder?`);
  if (!existsSync(join(dir, "index.js"))) throw new Error(`tasks/${name}/index.js not found: run npm run build first`);
  return dir;
}
