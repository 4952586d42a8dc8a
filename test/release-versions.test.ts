/**
 * The version rules the build enforces (lib/dev/release/mod.ts): a task whose
 * shipped files changed since the last release needs a higher version, a task
 * that moves moves the extension, versions only go up, and CHANGELOG.md has a
 * section for the current version.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CHANGELOG_FILE, readReleases, recordRelease, type Release, type TaskNow, versionProblems } from "../lib/dev/release/mod.ts";
import { REPO_ROOT } from "./harness.ts";

const dir = mkdtempSync(join(tmpdir(), "release-versions-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function taskWith(version: string, code: string): TaskNow {
  const file = join(dir, `index-${version}-${code}.js`);
  writeFileSync(file, code);
  return { name: "KubeflowUploadPipeline", dir: "tasks/upload-pipeline", version, files: [file] };
}

function released(version: string, task: TaskNow): Release[] {
  const root = mkdtempSync(join(dir, "root-"));
  recordRelease(root, version, [task]);
  return readReleases(root);
}

const CHANGELOG = "# Changelog\n\n## 1.0.1\n\n- a fix\n\n## 1.0.0\n\n- first\n";

describe("version rules", () => {
  test("nothing released yet: only the changelog is checked", () => {
    expect(versionProblems("1.0.0", [], [taskWith("1.0.0", "a")], CHANGELOG)).toEqual([]);
    expect(versionProblems("1.2.0", [], [taskWith("1.0.0", "a")], CHANGELOG)).toEqual([
      'CHANGELOG.md has no "## 1.2.0" section: say what changed in 1.2.0',
    ]);
  });

  test("the released version again, unchanged: fine", () => {
    const releases = released("1.0.0", taskWith("1.0.0", "a"));
    expect(versionProblems("1.0.0", releases, [taskWith("1.0.0", "a")], CHANGELOG)).toEqual([]);
  });

  test("a task changed (its files or its version) while the extension keeps the released version", () => {
    const releases = released("1.0.0", taskWith("1.0.0", "a"));
    for (const now of [taskWith("1.0.0", "b"), taskWith("1.0.1", "b")]) {
      const problems = versionProblems("1.0.0", releases, [now], CHANGELOG);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toStartWith("tasks/upload-pipeline changed since 1.0.0 was released, but vss-extension.json still says 1.0.0");
    }
  });

  test("a new extension version with a task whose files changed but whose version did not", () => {
    const releases = released("1.0.0", taskWith("1.0.0", "a"));
    const problems = versionProblems("1.0.1", releases, [taskWith("1.0.0", "b")], CHANGELOG);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toStartWith("tasks/upload-pipeline's shipped files changed since 1.0.0, but its version is still 1.0.0");
  });

  test("a new extension version with the changed task's version raised: fine", () => {
    const releases = released("1.0.0", taskWith("1.0.0", "a"));
    expect(versionProblems("1.0.1", releases, [taskWith("1.0.1", "b")], CHANGELOG)).toEqual([]);
  });

  test("versions only go up, the extension's and the tasks'", () => {
    const releases = released("1.0.1", taskWith("1.0.1", "a"));
    expect(versionProblems("1.0.0", releases, [taskWith("1.0.0", "a")], CHANGELOG)).toEqual([
      "vss-extension.json: version 1.0.0 is lower than 1.0.1, already released: versions only go up",
      "tasks/upload-pipeline/task.json: version 1.0.0 is lower than 1.0.1, released in 1.0.1",
    ]);
    expect(versionProblems("1.0", [], [], CHANGELOG)).toEqual(['vss-extension.json: version "1.0" is not major.minor.patch']);
  });

  test("a release is recorded once", () => {
    const root = mkdtempSync(join(dir, "root-"));
    recordRelease(root, "1.0.0", [taskWith("1.0.0", "a")], new Date("2026-12-01T00:00:00Z"));
    const recorded = JSON.parse(readFileSync(join(root, "releases.json"), "utf8")).releases;
    expect(recorded.map((r: Release) => [r.version, r.date, Object.keys(r.tasks)])).toEqual([
      ["1.0.0", "2026-12-01", ["KubeflowUploadPipeline"]],
    ]);
    expect(() => recordRelease(root, "1.0.0", [])).toThrow("already records 1.0.0");
  });
});

test("the repository's CHANGELOG.md has a section for the extension's version", () => {
  const { version } = JSON.parse(readFileSync(join(REPO_ROOT, "vss-extension.json"), "utf8"));
  const changelog = readFileSync(join(REPO_ROOT, CHANGELOG_FILE), "utf8");
  expect(versionProblems(version, [], [], changelog)).toEqual([]);
});
