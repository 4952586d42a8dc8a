/**
 * A TypeScript scenario bundled the way build.ts bundles the tasks (one CJS
 * file for Node 20, everything inlined), so a test can run it with `node`:
 * Bun's node:http is its own implementation, the agent runs Node's.
 */
import { build } from "esbuild";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

/** Writes `source` to `<dir>/<name>.ts`, bundles it to `<dir>/<name>.js` and returns that path. */
export async function bundleForNode(dir: string, name: string, source: string): Promise<string> {
  const entry = join(dir, `${name}.ts`);
  const script = join(dir, `${name}.js`);
  writeFileSync(entry, source);
  await build({
    entryPoints: [entry],
    outfile: script,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    logLevel: "error",
  });
  return script;
}
