/**
 * build.ts replaces parts of azure-pipelines-task-lib by the specifier task-lib
 * requires them with (TASK_LIB_STAND_INS). That only works while task-lib is
 * the version it was written against: pinned exactly, requiring those modules
 * by those names, and using no more of them than the stand-ins provide. An
 * upgrade that changes any of this fails here, before a bundle quietly grows
 * or a stand-in breaks a task at run time.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { TASK_LIB_STAND_INS } from "../build.ts";
import { REPO_ROOT } from "./harness.ts";

const TASK_LIB = join(REPO_ROOT, "node_modules", "azure-pipelines-task-lib");
const source = (file: string) => readFileSync(join(TASK_LIB, file), "utf8");
const json = (file: string) => JSON.parse(readFileSync(file, "utf8"));

/** The literal `require("x")` specifiers of a file. */
function requires(file: string): string[] {
  return [...new Set([...source(file).matchAll(/\brequire\((["'])([^"']+)\1\)/g)].map((m) => m[2]!))].sort();
}

/** The members task-lib reads of `object` (a variable name or a property path) in a file. */
function membersOf(file: string, object: string): string[] {
  const escaped = object.replace(/\./g, "\\.");
  return [...new Set([...source(file).matchAll(new RegExp(`(?<![\\w.])${escaped}\\.(\\w+)`, "g"))].map((m) => m[1]!))].sort();
}

/** The exports of a stand-in, evaluated as the CommonJS module esbuild bundles it as. */
function standIn(name: string): any {
  const module = { exports: {} as any };
  const requireFromTaskLib = createRequire(join(TASK_LIB, "task.js"));
  new Function("exports", "module", "require", TASK_LIB_STAND_INS[name]!())(module.exports, module, requireFromTaskLib);
  return module.exports;
}

describe("azure-pipelines-task-lib, as build.ts's stand-ins expect it", () => {
  test("is pinned to one exact version, the one installed and locked", () => {
    const wanted = json(join(REPO_ROOT, "package.json")).dependencies["azure-pipelines-task-lib"];
    expect(wanted).toMatch(/^\d+\.\d+\.\d+$/);
    expect(json(join(REPO_ROOT, "package-lock.json")).packages["node_modules/azure-pipelines-task-lib"].version).toBe(wanted);
    expect(json(join(TASK_LIB, "package.json")).version).toBe(wanted);
  });

  test("its bundled modules require exactly these modules, by these names", () => {
    // A stand-in replaces a require by its exact specifier: "node:crypto" or "./vault.js" would get past it.
    expect(requires("task.js").join(" ")).toBe(
      "./externaloutput ./internal ./taskcommand ./toolrunner child_process fs minimatch os path semver",
    );
    expect(requires("internal.js").join(" ")).toBe("./lib-resource ./taskcommand ./vault crypto fs minimatch os path semver util");
    const required = new Set([...requires("task.js"), ...requires("internal.js")]);
    expect(Object.keys(TASK_LIB_STAND_INS).filter((name) => !required.has(name))).toEqual([]);
  });

  test("uses no member of a replaced module that its stand-in lacks", () => {
    // By file: the variable task-lib binds a replaced module to, and the module.
    const bindings: Record<string, Record<string, string>> = {
      "task.js": { semver: "semver", minimatch: "minimatch", trm: "./toolrunner", childProcess: "child_process" },
      "internal.js": { semver: "semver", minimatch: "minimatch", vm: "./vault", crypto: "crypto" },
    };
    const uses = Object.entries(bindings).flatMap(([file, names]) =>
      Object.entries(names).map(([variable, name]) => ({ file, variable, name })),
    );
    for (const { file, variable, name } of uses) {
      expect(source(file)).toMatch(new RegExp(`var ${variable} = require\\("${name.replace(/[./]/g, "\\$&")}"\\);`));
      const exports = standIn(name);
      const missing = membersOf(file, variable).filter((member) => exports[member] === undefined);
      expect({ file, name, missing }).toEqual({ file, name, missing: [] });
    }
    // semver: only `lt`, which the stand-in implements (the others would be undefined above).
    expect([...membersOf("task.js", "semver"), ...membersOf("internal.js", "semver")]).toEqual(["lt", "lt"]);
  });

  test("its vault is used only through methods the in-memory vault has, and has no new ones", () => {
    const vault = new (standIn("./vault").Vault)("unused-key-path");
    const used = [...new Set([...membersOf("task.js", "im._vault"), ...membersOf("internal.js", "exports._vault")])].sort();
    expect(used).toEqual(["retrieveSecret", "storeSecret"]);
    expect(used.filter((method) => typeof vault[method] !== "function")).toEqual([]);
    const real = createRequire(join(TASK_LIB, "task.js"))("./vault.js").Vault;
    expect(Object.getOwnPropertyNames(real.prototype).sort()).toEqual([
      "constructor",
      "genKey",
      "getKey",
      "initialize",
      "retrieveSecret",
      "storeSecret",
    ]);
  });

  test("keeps its English messages under `messages` in lib-resource.js", () => {
    const resources = createRequire(join(TASK_LIB, "task.js"))("./lib-resource.js");
    expect(Object.keys(resources.messages ?? {}).length).toBeGreaterThan(20);
  });
});
