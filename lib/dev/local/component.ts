/**
 * Running a KFP container component (v1 component YAML) on this machine the
 * way KFP starts its container: the component's own command and args, each
 * `{inputValue: x}` replaced by the value KFP would pass (or the input's
 * default), with nothing of this machine's environment but PATH. The exit
 * handler's tests (test/support/exit-handler-run.ts) and `npm run demo` run
 * dist/exit-handler/component.yaml so.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";

export interface ComponentSpec {
  name: string;
  inputs: { name: string; type: string; default?: string; description?: string }[];
  implementation: { container: { image: string; command: unknown[]; args: unknown[] } };
}

export interface ComponentResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function readComponent(file: string): ComponentSpec {
  const component = Bun.YAML.parse(readFileSync(file, "utf8")) as ComponentSpec;
  if (!component?.implementation?.container) throw new Error(`${file} is not a container component`);
  return component;
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

/**
 * Spawns the component's argv (the container's `node` is this machine's) with
 * only PATH and the given environment, as in a fresh container. `onLine` sees
 * each output line as it comes.
 */
export function runComponent(
  component: ComponentSpec,
  values: Record<string, string>,
  env: Record<string, string> = {},
  onLine: (line: string) => void = () => {},
): Promise<ComponentResult> {
  const [program, ...rest] = componentArgv(component, values);
  if (!program) throw new Error(`component ${component.name} has no command`);
  return new Promise((resolve, reject) => {
    const child = spawn(program, rest, { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    const out = { stdout: "", stderr: "" };
    for (const stream of ["stdout", "stderr"] as const) {
      let pending = "";
      child[stream].setEncoding("utf8");
      child[stream].on("data", (chunk: string) => {
        out[stream] += chunk;
        const lines = (pending + chunk).split("\n");
        pending = lines.pop() ?? "";
        for (const line of lines) onLine(line);
      });
      child[stream].on("end", () => pending && onLine(pending));
    }
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, ...out }));
  });
}
