/**
 * Figure 6, size: each bundle and the vsix, against the 2021 extension's
 * vsix as its release pipeline built it.
 */
import { statSync } from "node:fs";
import { basename, relative } from "node:path";
import { REPO_ROOT, type Artefacts } from "./artefacts.ts";
import { figure, type Figure } from "./figure.ts";

/** KB, as the build prints sizes (1024 bytes). */
export const SIZE_GOAL_KB = 150;
/** The 2021 extension's vsix: 15.5 MB (docs/toolchain.md). */
export const VSIX_2021_KB = 15.5 * 1024;

export function measureSize(artefacts: Artefacts): Figure[] {
  const kb = (file: string) => statSync(file).size / 1024;
  const atMostGoal = { goal: `<= ${SIZE_GOAL_KB} KB`, check: (value: number) => value <= SIZE_GOAL_KB };
  const bundles = [...artefacts.agentTasks.map((t) => t.bundle), ...(artefacts.exitHandler ? [artefacts.exitHandler] : [])];
  const figures = bundles.map((file) =>
    figure({
      id: `size/${relative(REPO_ROOT, file)}`,
      figure: `Size: ${relative(REPO_ROOT, file)}`,
      unit: "KB",
      samples: [kb(file)],
      ...atMostGoal,
    }),
  );
  if (!artefacts.vsix) throw new Error("no dist/*.vsix: run `npm run build` (or `npm run bench` without --no-build)");
  figures.push(
    figure({
      id: "size/vsix",
      figure: `Size: dist/${basename(artefacts.vsix)}`,
      unit: "KB",
      samples: [kb(artefacts.vsix)],
      baseline: { label: "2021 extension's vsix", samples: [VSIX_2021_KB] },
      ...atMostGoal,
    }),
  );
  return figures;
}
