/**
 * Runs the exit handler exactly as its KFP component would: the command and
 * arguments come from the component.yaml the build writes, with each
 * `{inputValue: x}` replaced by the value KFP would pass (or the input's default),
 * through lib/dev/local/component.ts.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildExitHandler } from "../../build.ts";
import { REPO_ROOT } from "../harness.ts";
import type { ComponentSpec } from "../../lib/dev/local/mod.ts";

// Running the component as KFP would is shared with `npm run demo`.
export {
  componentArgv,
  runComponent,
  type ComponentResult as ExitHandlerResult,
  type ComponentSpec,
} from "../../lib/dev/local/mod.ts";

export interface ExitHandlerBuild {
  dir: string;
  script: string;
  yaml: string;
  component: ComponentSpec;
  cleanup(): void;
}

/** Builds lib/exit-handler/main.ts and its component with build.ts, into a temp dist folder. */
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
