/**
 * The build outputs the benchmarks measure: each agent task's bundle, the
 * exit handler's bundle and the vsix, and a build run when asked for.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

export const REPO_ROOT = resolve(import.meta.dir, "..");

export interface Artefacts {
  /** tasks/<name> folders whose task.json runs index.js under Node. */
  agentTasks: { name: string; dir: string; bundle: string }[];
  /** dist/exit-handler/exit-handler.js, when the build made it. */
  exitHandler?: string;
  /** The newest dist/*.vsix, when there is one. */
  vsix?: string;
}

/** Agent tasks are the ones with a Node execution handler; server tasks have none. */
function runsOnNode(taskJsonFile: string): boolean {
  const task = JSON.parse(readFileSync(taskJsonFile, "utf8")) as { execution?: Record<string, unknown> };
  return Object.keys(task.execution ?? {}).some((handler) => handler.startsWith("Node"));
}

/** What the last build left in `root`; throws naming what is missing. */
export function findArtefacts(root = REPO_ROOT): Artefacts {
  const tasksDir = join(root, "tasks");
  const agentTasks = readdirSync(tasksDir)
    .map((name) => ({ name, dir: join(tasksDir, name) }))
    .filter(({ dir }) => existsSync(join(dir, "task.json")) && runsOnNode(join(dir, "task.json")))
    .map((t) => ({ ...t, bundle: join(t.dir, "index.js") }));
  const missing = agentTasks.filter((t) => !existsSync(t.bundle)).map((t) => `tasks/${t.name}/index.js`);
  if (agentTasks.length === 0) throw new Error(`no agent task found under ${tasksDir}`);
  if (missing.length) throw new Error(`${missing.join(", ")} not built: run \`npm run build\` (or \`npm run bench\` without --no-build)`);
  const exitHandler = join(root, "dist", "exit-handler", "exit-handler.js");
  const distDir = join(root, "dist");
  const vsix = existsSync(distDir)
    ? readdirSync(distDir)
        .filter((f) => f.endsWith(".vsix"))
        .map((f) => join(distDir, f))
        .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]
    : undefined;
  return { agentTasks, ...(existsSync(exitHandler) ? { exitHandler } : {}), ...(vsix ? { vsix } : {}) };
}

/** Runs `bun build.ts` in `root`; throws with the build's own words when it fails. */
export function runBuild(root = REPO_ROOT): void {
  const build = spawnSync(process.execPath, ["build.ts"], { cwd: root, encoding: "utf8" });
  if (build.status !== 0) {
    const said = `${build.stdout ?? ""}${build.stderr ?? ""}`.trim().split("\n").slice(-15).join("\n");
    throw new Error(
      `the build failed (bun build.ts, exit ${build.status ?? build.signal}), so there is nothing current to measure:\n${said}`,
    );
  }
}
