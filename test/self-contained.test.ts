/**
 * `npm ci && npm test` passes on a clone with nothing beside it: no tracked file
 * (build, tests, CI, tools) may reach for the reference folder that sits next
 * to the repository on the team's machines. What the build and tests need from
 * it is vendored under lib/dev/vendor.
 */
import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./harness.ts";

test("no tracked file reaches for the reference folder beside the repository", () => {
  const listed = spawnSync("git", ["ls-files", "-z"], { cwd: REPO_ROOT, encoding: "utf8" });
  expect(listed.status).toBe(0);
  const files = listed.stdout.split("\0").filter((f) => f && !/\.(png|gz|tgz|zip)$/.test(f));
  expect(files.length).toBeGreaterThan(50);
  const outside = /\.\.\/shared\b|\/work\/shared\b/;
  const offenders = files.filter((file) => outside.test(readFileSync(join(REPO_ROOT, file), "utf8")));
  expect(offenders).toEqual([]);
});
