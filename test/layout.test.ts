/**
 * The layout of lib/ (lib/README.md) held in place: which folder may import
 * which, every import across folders through the target's mod.ts, and the dev
 * tools using only build.ts's small API. The build itself refuses a bundle
 * that includes lib/dev/ (test/build.test.ts); this catches the rest at once.
 */
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { REPO_ROOT } from "./harness.ts";

/** What each shipping folder may import of ours (lib/README.md); lib/dev/* may import anything. */
const MAY_IMPORT: Record<string, string[]> = {
  "lib/net": [],
  "lib/kfp": ["lib/net"],
  "lib/task": ["lib/kfp", "lib/net"],
  "lib/exit-handler": ["lib/net"],
  tasks: ["lib/task", "lib/kfp", "lib/net"],
};
/** build.ts's API for the dev tools (its header comment says so). */
const BUILD_API = ["build", "bundleTask", "BuildError"];

interface Import {
  file: string;
  /** The imported file, relative to the repository. */
  target: string;
  specifier: string;
  names: string[];
}

/**
 * `import … from "./x.ts"`, `export … from "./x.ts"`, `import "./x.ts"` (names in group 1,
 * specifier in 2) or `import("./x.ts")` (specifier in 3).
 */
const STATIC_IMPORT = String.raw`(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?(?:([^"'\x60;]*?)\s+from\s+)?["'](\.[^"']+)["']`;
const IMPORT = new RegExp(`${STATIC_IMPORT}|${String.raw`import\(\s*["'](\.[^"']+)["']\s*\)`}`, "g");

function sources(dir: string): string[] {
  return readdirSync(join(REPO_ROOT, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join(dir, f));
}

/** Every relative import and re-export in lib/ and tasks/ (static and dynamic). */
function imports(): Import[] {
  const found: Import[] = [];
  for (const file of [...sources("lib"), ...sources("tasks")]) {
    const text = readFileSync(join(REPO_ROOT, file), "utf8");
    for (const m of text.matchAll(IMPORT)) {
      const specifier = (m[2] ?? m[3])!;
      const names = [...(m[1] ?? "").matchAll(/(?:type\s+)?(\w+)(?:\s+as\s+\w+)?\s*[,}]/g)].map((n) => n[1]!);
      found.push({ file, specifier, names, target: relative(REPO_ROOT, join(REPO_ROOT, dirname(file), specifier)) });
    }
  }
  return found;
}

/** The folder a file belongs to: lib/<role>, lib/dev/<tool>, tasks/<task> or the file itself (build.ts). */
function folderOf(file: string): string {
  const parts = file.split(/[\\/]/);
  if (parts[0] === "lib") return parts.slice(0, parts[1] === "dev" ? 3 : 2).join("/");
  if (parts[0] === "tasks") return parts.slice(0, 2).join("/");
  return file;
}

/** The rules a folder's imports follow: lib/dev/* and tasks/* by their parent. */
function ruleOf(folder: string): string {
  return folder.startsWith("tasks/") ? "tasks" : folder.startsWith("lib/dev/") ? "lib/dev" : folder;
}

const all = imports();
const crossing = all.filter((i) => folderOf(i.file) !== folderOf(i.target));

describe("lib/ layout", () => {
  test("the scan sees the imports it checks", () => {
    // A scan that found nothing would pass every rule below.
    expect(crossing.some((i) => i.file === "lib/kfp/http.ts" && i.target === "lib/net/mod.ts")).toBe(true);
    expect(crossing.some((i) => i.file.startsWith("tasks/") && i.target === "lib/task/mod.ts")).toBe(true);
    expect(crossing.some((i) => i.file.startsWith("lib/dev/local/") && i.target === "build.ts")).toBe(true);
  });

  test("a folder imports another only through its mod.ts", () => {
    const private_ = crossing.filter((i) => i.target !== "build.ts" && i.target !== `${folderOf(i.target)}/mod.ts`);
    expect(private_.map((i) => `${i.file} imports ${i.specifier}`)).toEqual([]);
  });

  test("what ships imports only what it may: never lib/dev/ or build.ts, and lib/net nothing of ours", () => {
    const forbidden = crossing.filter((i) => {
      const rule = ruleOf(folderOf(i.file));
      return rule !== "lib/dev" && !MAY_IMPORT[rule]!.includes(folderOf(i.target));
    });
    expect(forbidden.map((i) => `${i.file} imports ${i.specifier}`)).toEqual([]);
  });

  test("every folder of lib/ with code has a documented mod.ts, and lib/README.md maps it", () => {
    const map = readFileSync(join(REPO_ROOT, "lib", "README.md"), "utf8");
    const folders = [...new Set(sources("lib").map(folderOf))].sort();
    const problems = folders.flatMap((folder) => {
      const entry = join(REPO_ROOT, folder, "mod.ts");
      const name = `\`${folder.slice("lib/".length)}/\``;
      return [
        ...(existsSync(entry) && readFileSync(entry, "utf8").startsWith("/**") ? [] : [`${folder} has no mod.ts with a doc comment`]),
        ...(map.includes(name) ? [] : [`lib/README.md does not list ${name}`]),
      ];
    });
    expect(folders.length).toBeGreaterThan(5);
    expect(problems).toEqual([]);
  });

  test("the dev tools use only build.ts's small API", () => {
    const uses = crossing.filter((i) => i.target === "build.ts");
    expect(uses.map((i) => folderOf(i.file)).filter((f) => f !== "lib/dev/local")).toEqual([]);
    expect(uses.flatMap((i) => i.names).filter((n) => !BUILD_API.includes(n))).toEqual([]);
  });
});

/** Biome's lineWidth; its formatter does not split strings or comments, so this holds them to it too. */
const MAX_LINE = 140;
/** Files we do not write by hand: vendored specs, the lock file, test data. */
const NOT_OURS = /^(lib\/dev\/vendor\/|test\/fixtures\/|package-lock\.json$)/;
/** A JSON line holding one string (a member or an array item): JSON cannot split a string, so only such a line may run long. */
const JSON_STRING_LINE = /^\s*("(?:[^"\\]|\\.)*"\s*:\s*)?"(?:[^"\\]|\\.)*",?$/;

test(`no line of a tracked .ts, .js or .json file we write is longer than ${MAX_LINE} characters`, () => {
  const listed = spawnSync("git", ["ls-files", "-z", "*.ts", "*.js", "*.json"], { cwd: REPO_ROOT, encoding: "utf8" });
  expect(listed.status).toBe(0);
  const files = listed.stdout.split("\0").filter((f) => f && !NOT_OURS.test(f));
  expect(files.filter((f) => f.endsWith(".ts")).length).toBeGreaterThan(50);
  const long = files.flatMap((file) =>
    readFileSync(join(REPO_ROOT, file), "utf8")
      .split("\n")
      .flatMap((line, i) => {
        if ([...line].length <= MAX_LINE || (file.endsWith(".json") && JSON_STRING_LINE.test(line))) return [];
        return [`${file}:${i + 1} is ${[...line].length} characters`];
      }),
  );
  expect(long).toEqual([]);
});
