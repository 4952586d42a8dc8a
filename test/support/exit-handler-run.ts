/**
 * Runs the exit handler exactly as its KFP component would: the command and
 * arguments come from the component.yaml the build writes, with each
 * `{inputValue: x}` replaced by the value KFP would pass (or the input's default).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildExitHandler } from "../../build.ts";
import { REPO_ROOT } from "../harness.ts";

export interface ComponentSpec {
  name: string;
  inputs: { name: string; type: string; default?: string; description?: string }[];
  implementation: { container: { image: string; command: unknown[]; args: unknown[] } };
}

export interface ExitHandlerBuild {
  dir: string;
  script: string;
  yaml: string;
  component: ComponentSpec;
  cleanup(): void;
}

/** Builds lib/exit-handler.ts and its component with build.ts, into a temp dist folder. */
export async function buildExitHandlerForTest(): Promise<ExitHandlerBuild> {
  const dist = mkdtempSync(join(tmpdir(), "exit-handler-"));
  const result = await buildExitHandler(REPO_ROOT, dist);
  if (!result.bundle || !result.componentFile) throw new Error("build.ts built no exit handler or component");
  const yaml = readFileSync(result.componentFile, "utf8");
  return {
    dir: join(dist, "exit-handler"),
    script: readFileSync(result.bundle.outfile, "utf8"),
    yaml,
    component: Bun.YAML.parse(yaml) as ComponentSpec,
    cleanup: () => rmSync(dist, { recursive: true, force: true }),
  };
}

/** The container's argv: command then args, placeholders resolved as KFP resolves `{inputValue}`. */
export function componentArgv(component: ComponentSpec, values: Record<string, string>): string[] {
  const known = new Set(component.inputs.map((i) => i.name));
  for (const name of Object.keys(values)) if (!known.has(name)) throw new Error(`the component has no input ${name}`);
  const resolve = (item: unknown): string => {
    if (typeof item === "string") return item;
    const name = (item as { inputValue?: string }).inputValue;
    const input = component.inputs.find((i) => i.name === name);
    if (!input) throw new Error(`placeholder ${JSON.stringify(item)} names no input`);
    const value = values[input.name] ?? input.default;
    if (value === undefined) throw new Error(`input ${input.name} is required by the component and was not given`);
    return String(value);
  };
  const { command, args } = component.implementation.container;
  return [...command, ...args].map(resolve);
}

export interface ExitHandlerResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Spawns the component's argv with only PATH and the given environment, as in a fresh container. */
export async function runComponent(component: ComponentSpec, values: Record<string, string>, env: Record<string, string> = {}): Promise<ExitHandlerResult> {
  const child = Bun.spawn(componentArgv(component, values), {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr };
}
