/**
 * The build (`npm run build`): bundles each agent task and the exit handler with
 * esbuild, validates every task.json the way the service and tfx would, stages a
 * clean package folder and packs it into the vsix with tfx.
 *
 * Each step is an exported function so tests can run it on bad inputs in a temp
 * folder; `build()` runs them all for one repository root.
 *
 * The dev tools (lib/dev/local) use only `build`, `bundleTask` and `BuildError`
 * (test/layout.test.ts holds them to it); every other export is for the tests.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, copyFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { isBuiltin } from "node:module";
import { createRequire } from "node:module";
import { spawnSync } from "node:child_process";
import { pathToFileURL } from "node:url";
import * as esbuild from "esbuild";
import Ajv from "ajv-draft-04";
import type { ValidateFunction } from "ajv";
import { CHANGELOG_FILE, readReleases, recordRelease, taskVersion, versionProblems, type TaskNow } from "./lib/dev/release/mod.ts";
import { type ZipEntry, zipEntries } from "./lib/kfp/mod.ts";

/** The repository that holds this file: its node_modules serve bundles built from any folder. */
const REPO = import.meta.dir;
/** The official task.json schema, vendored unmodified (lib/dev/vendor/README.md). */
const DEFAULT_SCHEMA_FILE = join(REPO, "lib", "dev", "vendor", "task-schema", "task.schema.json");

/** A failure the build reports as a plain message (no stack trace). */
export class BuildError extends Error {
  override name = "BuildError";
}

// ---------------------------------------------------------------------------
// Bundling

export interface BundleResult {
  entry: string;
  outfile: string;
  bytes: number;
  /** The npm packages inlined in the bundle, with their licences. */
  packages: BundledPackage[];
}

export interface BundledPackage {
  name: string;
  version: string;
  license: string;
  /** The package's licence file, or its package.json `license` when it ships none. */
  text: string;
}

/** Where a bundle's third-party licences go: whole at its end, or listed there and kept in ThirdPartyNotices.txt. */
export type LicenceNotices = "inline" | "listed";

/** The file at the root of the extension that holds the licences of everything the task bundles inline. */
export const NOTICES_FILE = "ThirdPartyNotices.txt";

/**
 * task-lib embeds its own messages in ten languages (lib-resource.js, ~64 KB
 * minified). Keep only the English `messages`: task-lib falls back to them.
 */
const englishOnlyTaskLibMessages: esbuild.Plugin = {
  name: "task-lib-english-only",
  setup(build) {
    build.onLoad({ filter: /azure-pipelines-task-lib[\\/]lib-resource\.js$/ }, (args) => {
      const resources = createRequire(args.path)(args.path) as { messages?: Record<string, string> };
      if (!resources.messages) {
        throw new Error(`${args.path} has no "messages": task-lib changed its resource format`);
      }
      return { contents: `module.exports = ${JSON.stringify({ messages: resources.messages })};`, loader: "js" };
    });
  },
};

/** Our one writer of stdout (lib/task/stdout.ts): task-lib's commands go through it too. */
const STDOUT_MODULE = join(REPO, "lib", "task", "stdout.ts");

/** A module whose exports are those of `real`, which loads on first use. */
function loadedOnFirstUse(real: string): string {
  return `
    let real;
    module.exports = new Proxy({}, { get: (_, key) => (real ??= require(${JSON.stringify(real)}))[key] });`;
}

/**
 * task-lib's vault, in memory. task-lib moves every input, endpoint and secret
 * variable out of process.env into its vault when it loads; its own vault
 * writes a random key to `.taskkey` in Agent.TempDirectory and keeps each value
 * AES-encrypted with it, in the same process that can read that file. That
 * costs node:crypto, a file write and a cipher per input on every start, for
 * little: whoever can read this process's memory can read the key file too.
 * This one keeps the values as they are, in a private field of the vault,
 * in this process only; they still leave process.env (task-lib deletes them).
 */
const IN_MEMORY_VAULT = `
  class Vault {
    #values = new Map();
    constructor(_keyPath) {}
    initialize() {}
    storeSecret(name, data) {
      if (!name) return false;
      name = name.toLowerCase();
      if (!data) {
        this.#values.delete(name);
        return false;
      }
      this.#values.set(name, data);
      return true;
    }
    retrieveSecret(name) {
      return this.#values.get((name || "").toLowerCase());
    }
  }
  exports.Vault = Vault;`;

/**
 * task-lib loads its ToolRunner (and with it q), minimatch and semver when it starts,
 * for features our tasks never use: running tools, find/match/filter, and
 * version checks. Together they are ~95 KB of every bundle, most of what stands
 * between a bundle and its 150 KB budget. They are replaced by stand-ins:
 * semver keeps the one call task-lib makes (`lt` on x.y.z versions, at load and
 * in assertAgent); the others throw, naming the task-lib feature that would
 * need them, so a future use fails loudly in the tests, which run bundles.
 * What task-lib needs only for rare calls loads on first use: child_process
 * (rmRF on Windows) and crypto (handing the proxy password to a tool). Its
 * external-output filters (with node:stream) are not bundled: the tasks
 * neutralise outside text themselves (lib/task). Its vault keeps values in memory.
 */
export const TASK_LIB_STAND_INS: Record<string, () => string> = {
  semver: () => `
    const parts = (v) => String(v).split(/[.+-]/).slice(0, 3).map((n) => parseInt(n, 10) || 0);
    exports.lt = (a, b) => {
      const x = parts(a), y = parts(b);
      for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] < y[i];
      return false;
    };`,
  minimatch: () => `
    const missing = () => { throw new Error("task-lib's find/match/filter (minimatch) are not bundled (see build.ts)"); };
    module.exports = Object.assign(missing, { match: missing, filter: missing, braceExpand: missing, Minimatch: missing });`,
  // Loading child_process (and node:net with it) costs ~3 ms of every start; crypto as much.
  child_process: () => loadedOnFirstUse("node:child_process"),
  crypto: () => loadedOnFirstUse("node:crypto"),
  "./externaloutput": () => `
    module.exports = new Proxy({}, {
      get: (_, key) => { throw new Error("task-lib's external output (" + String(key) + ") is not bundled (see build.ts)"); },
    });`,
  "./vault": () => IN_MEMORY_VAULT,
  "./toolrunner": () => `
    class ToolRunner {
      constructor() { throw new Error("task-lib's ToolRunner (tool, exec, execAsync, execSync) is not bundled (see build.ts)"); }
    }
    exports.ToolRunner = ToolRunner;`,
};

const taskLibStandIns: esbuild.Plugin = {
  name: "task-lib-stand-ins",
  setup(build) {
    const names = Object.keys(TASK_LIB_STAND_INS)
      .map((name) => name.replace(/[./]/g, "\\$&"))
      .join("|");
    build.onResolve({ filter: new RegExp(`^(${names})$`) }, (args) =>
      /azure-pipelines-task-lib[\\/]/.test(args.importer) ? { path: args.path, namespace: "task-lib-stand-in" } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "task-lib-stand-in" }, (args) => ({
      contents: TASK_LIB_STAND_INS[args.path]!(),
      loader: "js",
    }));
  },
};

/**
 * Lines of task-lib's own files replaced at bundling, each because of what it
 * costs every start (a task-lib upgrade that changes one fails the build).
 */
const TASK_LIB_PATCHES: Record<string, [line: string, replacement: string][]> = {
  // task-lib writes its commands to `_outStream`, which it sets to process.stdout when it loads: that alone
  // creates the stdout stream (node:net for a pipe, ~3 ms), and our own lines would go another way and could
  // overtake its commands. It writes to our stdout writer instead; `_errStream` is never written to.
  "internal.js": [
    ["var _outStream = process.stdout;", `var _outStream = require(${JSON.stringify(STDOUT_MODULE)}).taskLibStdout;`],
    ["var _errStream = process.stderr;", "var _errStream = undefined;"],
  ],
  // Read at load, this would reach the external-output filters, which are not bundled.
  "task.js": [
    [
      "exports.defaultAllowedVsoCommands = eom.defaultAllowedVsoCommands;",
      'Object.defineProperty(exports, "defaultAllowedVsoCommands", { enumerable: true, get: () => eom.defaultAllowedVsoCommands });',
    ],
  ],
};

/**
 * Functions of task-lib's files that no task calls, bundled as stubs that throw
 * naming them (as the ToolRunner stand-in does): find/match, file operations,
 * running tools, secure files, external output. Each start parses every byte of a bundle, and
 * these are about a third of task-lib's code. A task that needs one takes it
 * off this list (and lib/task/task-lib.ts names it); the tests run the bundles.
 */
const TASK_LIB_UNUSED: Record<string, string[]> = {
  "task.js": [
    "getDelimitedInput",
    "filePathSupplied",
    "getPathInput",
    "getSecureFileName",
    "getSecureFileTicket",
    "stats",
    "writeFile",
    "getSprint",
    "cd",
    "pushd",
    "popd",
    "resolve",
    "mkdirP",
    "ls",
    "cp",
    "mv",
    "retry",
    "_getStats",
    "find",
    "legacyFindFiles",
    "_legacyFindFiles_getMatchingItems",
    "rmRF",
    "execAsync",
    "exec",
    "execSync",
    "tool",
    "match",
    "filter",
    "_debugMatchOptions",
    "_getDefaultMatchOptions",
    "findMatch",
    "_getDefaultFindOptions",
    "logDetail",
    "logIssue",
    "createExternalOutputStream",
    "writeExternalOutput",
    "debugExternalOutput",
    "warningExternalOutput",
    "errorExternalOutput",
  ],
  "internal.js": [
    "_which",
    "_tryGetExecutablePath",
    "_legacyFindFiles_convertPatternToRegExp",
    "_cloneMatchOptions",
    "_getFindInfoFromPattern",
    "_ensurePatternRooted",
  ],
};

/**
 * Replaces each named top-level `function name(...) {...}` of tsc's output (its
 * closing brace alone on a line at column 0) with a stub that throws.
 */
export function stubFunctions(source: string, file: string, names: readonly string[]): string {
  const lines = source.split("\n");
  for (const name of names) {
    const start = lines.findIndex((line) => line.startsWith(`function ${name}(`));
    const end = lines.findIndex((line, i) => i > start && line.replace(/\r$/, "") === "}");
    if (start < 0 || end < 0)
      throw new Error(`${file} has no top-level function ${name}: task-lib changed; see TASK_LIB_UNUSED in build.ts`);
    lines.splice(start, end - start + 1, `function ${name}() { throw new Error("task-lib's ${name} is not bundled (see build.ts)"); }`);
  }
  return lines.join("\n");
}

const taskLibPatches: esbuild.Plugin = {
  name: "task-lib-patches",
  setup(build) {
    const files = [...new Set([...Object.keys(TASK_LIB_PATCHES), ...Object.keys(TASK_LIB_UNUSED)])]
      .map((name) => name.replace(/\./g, "\\."))
      .join("|");
    build.onLoad({ filter: new RegExp(`azure-pipelines-task-lib[\\\\/](${files})$`) }, (args) => {
      const file = basename(args.path);
      let contents = stubFunctions(readFileSync(args.path, "utf8"), args.path, TASK_LIB_UNUSED[file] ?? []);
      for (const [line, replacement] of TASK_LIB_PATCHES[file] ?? []) {
        if (!contents.includes(line)) throw new Error(`${args.path} has no "${line}": task-lib changed; see TASK_LIB_PATCHES in build.ts`);
        contents = contents.replace(line, replacement);
      }
      return { contents, loader: "js" };
    });
  },
};

/**
 * Our modules do nothing when loaded but define things, so a bundle keeps only
 * the ones whose exports it uses: a task that imports one name from a folder's
 * mod.ts does not carry the folder's other modules (nor task-lib, which
 * lib/task/main.ts loads). The modules that act when loaded, input-names.ts
 * and early-secrets.ts, are put first in each task by the build itself
 * (taskPrelude, by absolute path, which this leaves alone). Any other bare import of ours
 * would be dropped, and esbuild's warning about that fails the build (bundleFile).
 */
const ownModulesArePure: esbuild.Plugin = {
  name: "own-modules-are-pure",
  setup(build) {
    build.onResolve({ filter: /^\.\.?\/.*\.ts$/ }, (args) => {
      const path = resolve(args.resolveDir, args.path);
      return path.includes(`${sep}node_modules${sep}`) ? undefined : { path, sideEffects: false };
    });
  },
};

/** Literal `require("x")` calls left in bundled code. */
function requiredModules(code: string): string[] {
  return [...code.matchAll(/\brequire\(\s*(["'`])([^"'`]+)\1\s*\)/g)].map((m) => m[2]!);
}

/**
 * What a bundle would load at run time that is neither a Node built-in nor in
 * `allowed` (the task's own task.json): from esbuild's metafile (externals it
 * could not or was told not to bundle) and from the output text itself.
 */
export function foreignRequires(code: string, metafile: esbuild.Metafile | undefined, allowed: readonly string[] = []): string[] {
  const external = Object.values(metafile?.outputs ?? {}).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path));
  const all = new Set([...external, ...requiredModules(code)]);
  return [...all].filter((m) => !isBuiltin(m) && !allowed.includes(m)).sort();
}

/** Module specifiers a task bundle may require besides Node built-ins. */
export const TASK_ALLOWED_REQUIRES = ["./task.json"];

/**
 * Bundles one entry into one CommonJS file for Node 20 that needs no
 * node_modules. Fails (writing nothing) if the result would require a package.
 */
export async function bundleFile(
  entry: string,
  outfile: string,
  allowedRequires: readonly string[] = [],
  notices: LicenceNotices = "inline",
  extraPlugins: esbuild.Plugin[] = [],
  first: readonly string[] = [],
): Promise<BundleResult> {
  // Messages name files relative to the repository when the entry is in it.
  const workingDir = entry.startsWith(REPO + sep) ? REPO : dirname(entry);
  let result: esbuild.BuildResult<{ write: false; metafile: true }>;
  try {
    result = await esbuild.build({
      ...entryPoint(entry, first),
      outfile,
      bundle: true,
      platform: "node",
      format: "cjs",
      target: "node20",
      plugins: [ownModulesArePure, englishOnlyTaskLibMessages, taskLibStandIns, taskLibPatches, ...extraPlugins],
      // Full minification keeps the vsix under 150 KB (whitespace+syntax only: 165 KB). No keepNames: its
      // __name() call for every function and class ran at each start (~5% of node -e 0) and took 8 KB.
      // Messages and error names do not need it (our error classes set `name` themselves); what is lost is
      // function names in the stack trace runMain debug-logs on an unexpected error. esbuild's output is
      // deterministic: rebuilding that commit with a source map maps such a trace back to the sources.
      minify: true,
      // Licences are added by noticesComment (the packages carry no legal comments to keep).
      legalComments: "none",
      // Entries outside the repository (test fixtures in temp folders) use its packages.
      nodePaths: [join(REPO, "node_modules")],
      absWorkingDir: workingDir,
      metafile: true,
      write: false,
      logLevel: "silent",
    });
  } catch (error) {
    const errors = (error as { errors?: esbuild.Message[] }).errors;
    const detail = errors?.length ? errors.map(formatEsbuildMessage).join("\n") : String(error);
    throw new BuildError(`bundling ${entry} failed:\n${detail}`);
  }
  const dropped = result.warnings.filter((w) => w.id === "ignored-bare-import");
  if (dropped.length > 0) {
    const detail = dropped.map(formatEsbuildMessage).join("\n");
    throw new BuildError(`${entry}: a bare import of ours would be dropped (see ownModulesArePure in build.ts):\n${detail}`);
  }
  const output = result.outputFiles.find((f) => f.path.endsWith(".js"));
  if (!output) throw new BuildError(`bundling ${entry} produced no JavaScript`);
  const dev = devImports(result.metafile, workingDir);
  if (dev.length > 0) {
    throw new BuildError(
      `${entry}: the bundle would include lib/dev/, which never ships (see lib/README.md):\n${dev.map((d) => `  ${d}`).join("\n")}`,
    );
  }
  const foreign = foreignRequires(output.text, result.metafile, allowedRequires);
  if (foreign.length > 0) {
    throw new BuildError(
      `${entry}: the bundle would require ${foreign.map((m) => `"${m}"`).join(", ")} at run time; ` +
        `a task bundle may only require Node built-ins${allowedRequires.length ? ` and ${allowedRequires.join(", ")}` : ""} ` +
        "(no node_modules ship with it)",
    );
  }
  const packages = bundledPackages(result.metafile);
  const contents = output.text + noticesComment(packages, notices);
  mkdirSync(dirname(outfile), { recursive: true });
  writeFileSync(outfile, contents);
  return { entry, outfile, bytes: Buffer.byteLength(contents), packages };
}

/** A file of ours in the never-shipping lib/dev/ folder (of this repository or of a tree built with --root). */
function isDevFile(file: string): boolean {
  const path = file.split(sep).join("/");
  return path.includes("/lib/dev/") && !path.includes("/node_modules/");
}

/**
 * How a bundle reaches into lib/dev/, from esbuild's metafile: each import that
 * crosses into it, as `<importer> imports "<specifier>"` (the entry itself when it is there).
 * The metafile's paths are relative to `workingDir`.
 */
function devImports(metafile: esbuild.Metafile, workingDir: string): string[] {
  const isDev = (path: string) => isDevFile(resolve(workingDir, path));
  const found: string[] = [];
  for (const [importer, input] of Object.entries(metafile.inputs)) {
    if (isDev(importer)) continue;
    for (const imported of input.imports) {
      if (isDev(imported.path)) found.push(`${importer} imports "${imported.original ?? imported.path}"`);
    }
  }
  const entries = Object.values(metafile.outputs).flatMap((o) => (o.entryPoint && isDev(o.entryPoint) ? [o.entryPoint] : []));
  return [...entries.map((e) => `${e} is the entry`), ...found];
}

/** The npm packages (and their licences) a bundle inlines, from esbuild's metafile. */
function bundledPackages(metafile: esbuild.Metafile): BundledPackage[] {
  const names = new Set<string>();
  for (const input of Object.keys(metafile.inputs)) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input.split(sep).join("/"));
    if (match) names.add(match[1]!);
  }
  return [...names].sort().map((name) => {
    const dir = join(REPO, "node_modules", name);
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version?: string; license?: string };
    const file = readdirSync(dir).find((f) => /^licen[sc]e(\.(md|txt))?$/i.test(f));
    const license = pkg.license ?? "see the package";
    return { name, version: pkg.version ?? "", license, text: file ? readFileSync(join(dir, file), "utf8").trim() : `License: ${license}` };
  });
}

/** The licences of many bundles' packages, once each: the text of ThirdPartyNotices.txt. */
function noticesText(packages: BundledPackage[]): string {
  const unique = [...new Map(packages.map((p) => [`${p.name}@${p.version}`, p])).values()].sort((a, b) => a.name.localeCompare(b.name));
  return `${unique.map((p) => `${p.name} ${p.version}\n\n${p.text}`).join("\n\n---\n\n")}\n`;
}

/**
 * The closing comment of a bundle. MIT-style licences ask for their notice in
 * every copy: the exit handler travels alone (inline, whole texts); the task
 * bundles travel in the vsix, whose ThirdPartyNotices.txt holds the texts once,
 * which keeps each bundle inside its 150 KB budget.
 */
function noticesComment(packages: BundledPackage[], mode: LicenceNotices): string {
  if (packages.length === 0) return "";
  if (mode === "listed") {
    const list = packages.map((p) => `${p.name} ${p.version} (${p.license})`).join(", ");
    return `\n/*! Includes ${list}; their licences are in ${NOTICES_FILE} at the root of the extension. */\n`;
  }
  return `\n/*! Third-party software in this file:\n\n${noticesText(packages).trim().replace(/\*\//g, "* /")}\n*/\n`;
}

function formatEsbuildMessage(m: esbuild.Message): string {
  const where = m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ` : "";
  return `  ${where}${m.text}`;
}

/** The module through which a task inlines the exit handler's KFP component text. */
const EXIT_HANDLER_COMPONENT_MODULE = "kfp:exit-handler-component";

/**
 * Serves EXIT_HANDLER_COMPONENT_MODULE: the component text given (the one this
 * build just made), or, for a task bundled on its own, the one made now from
 * <root>/lib/exit-handler. Either way the task ships what the build generates.
 */
function exitHandlerComponentModule(root: string, componentText?: string): esbuild.Plugin {
  return {
    name: "exit-handler-component",
    setup(build) {
      build.onResolve({ filter: new RegExp(`^${EXIT_HANDLER_COMPONENT_MODULE}$`) }, (args) => ({
        path: args.path,
        namespace: "exit-handler-component",
      }));
      build.onLoad({ filter: /.*/, namespace: "exit-handler-component" }, async () => {
        let text = componentText;
        if (text === undefined) {
          const { componentFile } = await buildExitHandler(root);
          if (!componentFile) throw new Error(`${root}/lib/exit-handler makes no component.yaml`);
          text = readFileSync(componentFile, "utf8");
        }
        return { contents: text, loader: "text" };
      });
    },
  };
}

/**
 * The bundle's entry: the file itself, or, when modules must run `first`, a
 * synthetic entry that imports them and then the file, in that order (ES
 * modules run in import order), so no edit of the file can reorder them.
 */
function entryPoint(entry: string, first: readonly string[]): esbuild.BuildOptions {
  if (first.length === 0) return { entryPoints: [entry] };
  // Absolute paths: ownModulesArePure leaves them alone, so these bare imports keep their effects.
  const contents = [...first, entry].map((file) => `import ${JSON.stringify(file)};`).join("\n");
  return { stdin: { contents, resolveDir: dirname(entry), sourcefile: `${basename(entry)} (entry)`, loader: "ts" } };
}

/**
 * What every agent task runs before its own code: the registration of its
 * credentials as secrets, which must come before task-lib loads (early-secrets.ts).
 */
function taskPrelude(root: string): string[] {
  // Both read the environment the agent gave before task-lib moves INPUT_*, SECRET_*, ... into its vault.
  return ["input-names.ts", "early-secrets.ts"].map((file) => join(root, "lib", "task", file)).filter((file) => existsSync(file));
}

/** Bundles tasks/<name>/<name>.ts, after the task prelude, into tasks/<name>/index.js. */
export function bundleTask(taskDir: string, componentText?: string): Promise<BundleResult> {
  const name = basename(taskDir);
  const root = resolve(taskDir, "..", "..");
  const plugins = [exitHandlerComponentModule(root, componentText)];
  return bundleFile(join(taskDir, `${name}.ts`), join(taskDir, "index.js"), TASK_ALLOWED_REQUIRES, "listed", plugins, taskPrelude(root));
}

/** The task folders under <root>/tasks (every sub-folder is one task). */
export function taskDirs(root: string): string[] {
  const tasks = join(root, "tasks");
  if (!existsSync(tasks)) return [];
  return readdirSync(tasks, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => join(tasks, d.name))
    .sort();
}

/** Agent tasks are those with a TypeScript entry named after the folder. */
function hasTaskSource(taskDir: string): boolean {
  return existsSync(join(taskDir, `${basename(taskDir)}.ts`));
}

/**
 * The exit handler (lib/exit-handler/main.ts, if present) goes to
 * dist/exit-handler/exit-handler.js, and its KFP component (from
 * lib/exit-handler/component.ts `componentYaml(script)`, if present) to
 * dist/exit-handler/component.yaml.
 */
export async function buildExitHandler(
  root: string,
  distDir = join(root, "dist"),
): Promise<{ bundle?: BundleResult; componentFile?: string }> {
  const entry = join(root, "lib", "exit-handler", "main.ts");
  if (!existsSync(entry)) return {};
  const outDir = join(distDir, "exit-handler");
  const bundle = await bundleFile(entry, join(outDir, "exit-handler.js"));
  const componentSource = join(root, "lib", "exit-handler", "component.ts");
  if (!existsSync(componentSource)) return { bundle };
  const module = (await import(pathToFileURL(componentSource).href)) as { componentYaml?: unknown };
  if (typeof module.componentYaml !== "function") {
    throw new BuildError(`${componentSource} must export componentYaml(script: string): string`);
  }
  const componentFile = join(outDir, "component.yaml");
  writeFileSync(componentFile, String(module.componentYaml(readFileSync(bundle.outfile, "utf8"))));
  return { bundle, componentFile };
}

// ---------------------------------------------------------------------------
// task.json validation

export interface TaskSchemas {
  agent: ValidateFunction;
  server: ValidateFunction;
}

const macro = { type: "string", pattern: "^\\$\\(.+\\)$" };
const httpMethod = { anyOf: [{ enum: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE"] }, macro] };
const httpCall = {
  EndpointId: { type: "string" },
  EndpointUrl: { type: "string", minLength: 1 },
  Method: httpMethod,
  Body: { type: "string" },
  Headers: { type: "string" },
};
const eventTimeout = {
  type: "object",
  additionalProperties: false,
  properties: { Timeout: { type: "string", pattern: "^(\\d+:)?\\d{1,2}:\\d{2}:\\d{2}$" } },
};

/**
 * The official schema with one relaxation: output variable names may hold `_`.
 * Its pattern forbids them, but the agent's own docs declare `MY_OUTPUTVARIABLE_1`
 * and our tasks keep the 2021 extension's `kf_*` names.
 */
function agentTaskSchema(official: Record<string, any>): Record<string, any> {
  const overlay = structuredClone(official);
  overlay.id = "kfp-devops:agent-task.schema.json";
  overlay.properties.outputVariables.items.properties.name.pattern = "^[A-Za-z][A-Za-z0-9_]*$";
  return overlay;
}

/**
 * The official schema rejects every agentless handler; a server task is checked
 * against a copy whose `execution` holds exactly one HttpRequest handler.
 */
function serverTaskSchema(official: Record<string, any>): Record<string, any> {
  const overlay = agentTaskSchema(official);
  overlay.id = "kfp-devops:server-task.schema.json";
  overlay.properties.execution = {
    type: "object",
    additionalProperties: false,
    required: ["HttpRequest"],
    properties: {
      HttpRequest: {
        type: "object",
        additionalProperties: false,
        required: ["Execute"],
        properties: {
          Execute: {
            type: "object",
            additionalProperties: false,
            required: ["EndpointUrl", "Method"],
            // AllowEmptyEndpointId: an EndpointId input left empty means "no endpoint" (in-box AzureFunctionV2).
            properties: {
              ...httpCall,
              WaitForCompletion: { type: "string" },
              Expression: { type: "string" },
              AllowEmptyEndpointId: { type: "boolean" },
            },
          },
          Cancel: { type: "object", additionalProperties: false, required: ["EndpointUrl", "Method"], properties: httpCall },
          Events: {
            type: "object",
            additionalProperties: false,
            properties: { TaskAssigned: eventTimeout, TaskStarted: eventTimeout, TaskCompleted: eventTimeout },
          },
        },
      },
    },
  };
  return overlay;
}

/** Compiles the schemas for agent and server tasks from the official one. */
export function loadTaskSchemas(schemaFile = DEFAULT_SCHEMA_FILE): TaskSchemas {
  if (!existsSync(schemaFile)) {
    throw new BuildError(`task.json schema not found at ${schemaFile}: the official schema is vendored at lib/dev/vendor/task-schema`);
  }
  const official = JSON.parse(readFileSync(schemaFile, "utf8"));
  // unicodeRegExp: the schema's `^connectedService\:.+$` is an invalid escape under the u flag.
  const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
  return { agent: ajv.compile(agentTaskSchema(official)), server: ajv.compile(serverTaskSchema(official)) };
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EXECUTION_SECTIONS = ["prejobexecution", "execution", "postjobexecution"] as const;

/** A server (agentless) task: runs on the server and is validated with the overlay. */
function isServerTask(task: { runsOn?: unknown }): boolean {
  return Array.isArray(task.runsOn) && task.runsOn.some((r) => r === "Server" || r === "ServerGate");
}

/** The files a task's script handlers (Node*, PowerShell*, Process) run, relative to the task folder. */
export function handlerTargets(task: Record<string, any>): string[] {
  const targets = new Set<string>();
  for (const section of EXECUTION_SECTIONS) {
    for (const [handler, spec] of Object.entries(task[section] ?? {})) {
      if (/^(Node|PowerShell|Process)/.test(handler) && typeof (spec as any)?.target === "string") {
        targets.add((spec as any).target.replace(/^\$\(currentDirectory\)[\\/]/, ""));
      }
    }
  }
  return [...targets];
}

/** The files of a task folder that ship: what the version rules hash and what the stage copies. */
function shippedTaskFiles(task: Record<string, any>): string[] {
  return ["task.json", "icon.png", ...handlerTargets(task)];
}

/**
 * Checks <taskDir>/task.json against the schema (overlay for server tasks) and
 * what tfx checks; handler targets must exist, so call it after bundling.
 * Throws a BuildError listing every problem; returns the parsed task.json.
 */
export function validateTaskJson(taskDir: string, schemas: TaskSchemas | undefined): Record<string, any> {
  const file = join(taskDir, "task.json");
  if (!existsSync(file)) throw new BuildError(`${file} is missing: every task folder needs a task.json`);
  let task: Record<string, any>;
  try {
    task = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new BuildError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  const problems: string[] = [];
  const validate = schemas && (isServerTask(task) ? schemas.server : schemas.agent);
  if (validate && !validate(task)) {
    for (const e of validate.errors ?? []) {
      const extra = e.keyword === "additionalProperties" ? ` (${(e.params as any).additionalProperty})` : "";
      problems.push(`${e.instancePath || "/"} ${e.message}${extra}`);
    }
  }
  if (typeof task.id !== "string" || !GUID.test(task.id)) problems.push(`id must be a GUID (got ${JSON.stringify(task.id)})`);
  if (typeof task.name !== "string" || !/^[A-Za-z0-9-]+$/.test(task.name))
    problems.push(`name must match ^[A-Za-z0-9-]+$ (got ${JSON.stringify(task.name)})`);
  if (typeof task.friendlyName !== "string" || task.friendlyName.length < 1 || task.friendlyName.length > 40) {
    problems.push(`friendlyName must be 1 to 40 characters (got ${JSON.stringify(task.friendlyName)})`);
  }
  if (typeof task.instanceNameFormat !== "string" || task.instanceNameFormat.length === 0) problems.push("instanceNameFormat is missing");
  for (const target of handlerTargets(task)) {
    if (!existsSync(join(taskDir, target))) problems.push(`handler target ${target} does not exist (run the bundler first)`);
  }
  if (!isServerTask(task) && handlerTargets(task).length === 0) problems.push("an agent task needs a Node handler in execution");
  if (problems.length > 0) throw new BuildError(`${file} is invalid:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  return task;
}

/** ADO silently ignores the second of two tasks sharing an id or a name. */
function checkUniqueTasks(tasks: { dir: string; json: Record<string, any> }[]): void {
  for (const key of ["id", "name"] as const) {
    const seen = new Map<string, string>();
    for (const { dir, json } of tasks) {
      const value = String(json[key]).toLowerCase();
      const other = seen.get(value);
      if (other) throw new BuildError(`tasks ${other} and ${dir} share the ${key} ${json[key]}`);
      seen.set(value, dir);
    }
  }
}

// ---------------------------------------------------------------------------
// Versions (lib/dev/release/mod.ts has the rules)

function readManifestVersion(root: string): string {
  return String(JSON.parse(readFileSync(join(root, "vss-extension.json"), "utf8")).version);
}

/** Fails when a task moved without the extension, or its files without its version (see lib/dev/release). */
function checkVersions(root: string, tasks: { dir: string; json: Record<string, any> }[]): TaskNow[] {
  const now: TaskNow[] = tasks.map(({ dir, json }) => ({
    name: String(json.name),
    dir: dir.split(sep).join("/"),
    version: taskVersion(json),
    files: shippedTaskFiles(json)
      .map((f) => join(root, dir, f))
      .filter((f) => existsSync(f)),
  }));
  const changelogFile = join(root, CHANGELOG_FILE);
  const changelog = existsSync(changelogFile) ? readFileSync(changelogFile, "utf8") : undefined;
  const problems = versionProblems(readManifestVersion(root), readReleases(root), now, changelog);
  if (problems.length > 0) throw new BuildError(`versions:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  return now;
}

// ---------------------------------------------------------------------------
// Staging and packaging

const TASK_CONTRIBUTION = "ms.vss-distributed-task.task";

/**
 * Copies into `stageDir` only what ships: the manifest, the files it names
 * (icon, overview, license) and per contributed task its task.json, icon.png
 * and handler targets (index.js). Returns the staged paths, relative.
 */
export function stageExtension(
  root: string,
  stageDir: string,
  manifestName = "vss-extension.json",
  generated: Record<string, string> = {},
): string[] {
  const manifestFile = join(root, manifestName);
  if (!existsSync(manifestFile)) throw new BuildError(`${manifestFile} is missing`);
  const manifest = JSON.parse(readFileSync(manifestFile, "utf8"));
  const taskFolders = new Set<string>(
    (manifest.contributions ?? []).filter((c: any) => c.type === TASK_CONTRIBUTION).map((c: any) => String(c.properties?.name)),
  );
  const wanted: { path: string; why: string }[] = [];
  if (manifest.icons?.default) wanted.push({ path: manifest.icons.default, why: "icons.default" });
  for (const [key, value] of Object.entries(manifest.content ?? {})) {
    if ((value as any)?.path) wanted.push({ path: (value as any).path, why: `content.${key}` });
  }
  const listedFolders = new Set<string>();
  for (const entry of manifest.files ?? []) {
    const path = String(entry.path);
    if (taskFolders.has(path)) {
      listedFolders.add(path);
      const taskDir = join(root, path);
      const taskJson = join(taskDir, "task.json");
      if (!existsSync(taskJson)) throw new BuildError(`${taskJson} is missing (${path} is contributed in ${manifestName})`);
      const task = JSON.parse(readFileSync(taskJson, "utf8"));
      for (const file of shippedTaskFiles(task)) wanted.push({ path: `${path}/${file}`, why: `task ${path}` });
    } else if (existsSync(join(root, path)) && statSync(join(root, path)).isDirectory()) {
      throw new BuildError(
        `${manifestName} files: ${path} is a folder but not a task; tfx would pack it recursively, list its files one by one`,
      );
    } else {
      wanted.push({ path, why: `files` });
    }
  }
  for (const folder of taskFolders) {
    if (!listedFolders.has(folder)) throw new BuildError(`${manifestName}: task contribution ${folder} is not listed in files`);
  }
  for (const dir of taskDirs(root)) {
    const path = relative(root, dir).split("\\").join("/");
    if (!taskFolders.has(path)) throw new BuildError(`${path} is not contributed in ${manifestName}`);
  }

  rmSync(stageDir, { recursive: true, force: true });
  const staged = [manifestName];
  mkdirSync(stageDir, { recursive: true });
  // Files the build made (the licence notices) join the package through the staged manifest.
  for (const [path, text] of Object.entries(generated)) {
    writeFileSync(join(stageDir, path), text);
    manifest.files = [...(manifest.files ?? []), { path }];
    staged.push(path);
  }
  writeFileSync(join(stageDir, manifestName), JSON.stringify(manifest, null, 2));
  for (const { path, why } of wanted) {
    const source = join(root, path);
    if (!existsSync(source)) throw new BuildError(`${path} is missing (needed by ${why} in ${manifestName})`);
    if (staged.includes(path)) continue;
    mkdirSync(dirname(join(stageDir, path)), { recursive: true });
    copyFileSync(source, join(stageDir, path));
    staged.push(path);
  }
  return staged;
}

export interface PackageResult {
  vsix: string;
  bytes: number;
  /** File entries in the vsix (folders left out). */
  files: string[];
}

/** Packs a staged folder with tfx (offline). Any tfx `warning:` line fails the build. */
export function packageVsix(stageDir: string, outDir: string, manifestName = "vss-extension.json"): PackageResult {
  mkdirSync(outDir, { recursive: true });
  const tfx = join(REPO, "node_modules", ".bin", "tfx");
  const run = spawnSync(
    tfx,
    [
      "extension",
      "create",
      "--root",
      stageDir,
      "--manifest-globs",
      manifestName,
      "--output-path",
      outDir,
      "--no-prompt",
      "--no-color",
      "--json",
    ],
    { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } },
  );
  // Strip colour codes in case tfx ignores --no-color.
  const output = `${run.stdout ?? ""}\n${run.stderr ?? ""}`.replace(/\x1b\[[0-9;]*m/g, "");
  if (run.error) throw new BuildError(`could not run tfx: ${run.error.message}`);
  const warnings = output.split("\n").filter((l) => /^\s*warning:/i.test(l));
  if (warnings.length > 0 || run.status !== 0) {
    throw new BuildError(`tfx extension create ${run.status !== 0 ? `failed (exit ${run.status})` : "warned"}:\n${output.trim()}`);
  }
  const json = output.match(/\{[\s\S]*"path"[\s\S]*\}/);
  if (!json) throw new BuildError(`tfx printed no result:\n${output.trim()}`);
  const vsix = JSON.parse(json[0]).path as string;
  return {
    vsix,
    bytes: statSync(vsix).size,
    files: listZip(vsix)
      .filter((e) => !e.name.endsWith("/"))
      .map((e) => e.name),
  };
}

/** Lists a zip's entries from its central directory (no unzip needed), with the shipped zip reader. */
export function listZip(file: string): ZipEntry[] {
  try {
    return zipEntries(readFileSync(file));
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message}`);
  }
}

// ---------------------------------------------------------------------------
// The whole build

export interface BuildOptions {
  /** Repository root to build (default: this file's folder). */
  root?: string;
  schemaFile?: string;
  /** Where the stage folder and the vsix go (default <root>/dist). */
  distDir?: string;
  log?: (line: string) => void;
  /** Record this version in releases.json (after publishing it). */
  recordRelease?: boolean;
}

export interface BuildReport {
  bundles: BundleResult[];
  componentFile?: string;
  staged: string[];
  vsix: PackageResult;
}

export async function build(options: BuildOptions = {}): Promise<BuildReport> {
  const root = resolve(options.root ?? REPO);
  const distDir = options.distDir ?? join(root, "dist");
  const log = options.log ?? console.log;
  const schemas = loadTaskSchemas(options.schemaFile);

  const dirs = taskDirs(root);
  // The exit handler first: a task may ship its component (tasks/exit-handler-component).
  const exitHandler = await buildExitHandler(root, distDir);
  const componentText = exitHandler.componentFile ? readFileSync(exitHandler.componentFile, "utf8") : undefined;
  const taskBundles = await Promise.all(dirs.filter(hasTaskSource).map((dir) => bundleTask(dir, componentText)));
  const tasks = dirs.map((dir) => ({ dir: relative(root, dir), json: validateTaskJson(dir, schemas) }));
  checkUniqueTasks(tasks);
  const tasksNow = checkVersions(root, tasks);

  const stageDir = join(distDir, "stage");
  const staged = stageExtension(root, stageDir, undefined, { [NOTICES_FILE]: noticesText(taskBundles.flatMap((b) => b.packages)) });
  const vsix = packageVsix(stageDir, distDir);
  // Only a build that packaged is recorded: what was published is this vsix.
  if (options.recordRelease) log(`recorded release ${recordRelease(root, readManifestVersion(root), tasksNow).version} in releases.json`);

  const bundles = exitHandler.bundle ? [...taskBundles, exitHandler.bundle] : taskBundles;
  const rows: [string, string][] = bundles.map((b) => [relative(root, b.outfile), kb(b.bytes)]);
  rows.push([relative(root, vsix.vsix), `${kb(vsix.bytes)}, ${vsix.files.length} files`]);
  const width = Math.max(...rows.map(([name]) => name.length));
  for (const [name, size] of rows) log(`${name.padEnd(width)}  ${size}`);
  return { bundles, componentFile: exitHandler.componentFile, staged, vsix };
}

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KB`;
}

/** `--root <dir>` builds another tree (tests); `--schema <file>` another schema. */
function parseArgs(argv: string[]): BuildOptions {
  const options: BuildOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag === "--record-release") {
      options.recordRelease = true;
    } else if ((flag === "--root" || flag === "--schema" || flag === "--dist") && value) {
      if (flag === "--root") options.root = resolve(value);
      if (flag === "--schema") options.schemaFile = resolve(value);
      if (flag === "--dist") options.distDir = resolve(value);
      i++;
    } else {
      throw new BuildError(`unknown argument ${flag} (usage: bun build.ts [--root DIR] [--dist DIR] [--schema FILE] [--record-release])`);
    }
  }
  return options;
}

if (import.meta.main) {
  const started = performance.now();
  try {
    await build(parseArgs(process.argv.slice(2)));
    console.log(`build done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } catch (error) {
    console.error(error instanceof BuildError ? `build failed: ${error.message}` : error);
    process.exit(1);
  }
}
