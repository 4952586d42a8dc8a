/**
 * Version rules the build enforces, from releases.json (the extension versions
 * published to the Marketplace, each with its tasks' versions and a hash of
 * their shipped files) and CHANGELOG.md:
 *
 * - Versions only go up. Agents cache a task by name and version, so a task
 *   whose shipped files changed since the last release needs a higher version
 *   (its task.json), or agents keep running the old code.
 * - The Marketplace refuses a version it already has, and installs only a
 *   higher one: a task that moves moves the extension's version too.
 * - CHANGELOG.md says what each version changed.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const RELEASES_FILE = "releases.json";
export const CHANGELOG_FILE = "CHANGELOG.md";

export interface ReleasedTask {
  version: string;
  /** sha256 of the task's shipped files (task.json, icon.png, index.js), in that order. */
  sha256: string;
}

export interface Release {
  version: string;
  date: string;
  tasks: Record<string, ReleasedTask>;
}

/** A task as the build sees it now. */
export interface TaskNow {
  name: string;
  /** tasks/<folder>, for messages. */
  dir: string;
  version: string;
  /** The files that ship, absolute. */
  files: string[];
}

type Semver = [number, number, number];

export function parseVersion(text: string): Semver | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a) ?? [0, 0, 0];
  const y = parseVersion(b) ?? [0, 0, 0];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

export function taskVersion(json: { version?: { Major?: number; Minor?: number; Patch?: number } }): string {
  return `${json.version?.Major ?? 0}.${json.version?.Minor ?? 0}.${json.version?.Patch ?? 0}`;
}

export function filesHash(files: readonly string[]): string {
  const hash = createHash("sha256");
  for (const file of files) hash.update(readFileSync(file)).update("\0");
  return hash.digest("hex");
}

/** The releases recorded in <root>/releases.json, newest last; none when the file is absent. */
export function readReleases(root: string): Release[] {
  const file = join(root, RELEASES_FILE);
  if (!existsSync(file)) return [];
  const releases = (JSON.parse(readFileSync(file, "utf8")) as { releases?: Release[] }).releases ?? [];
  return [...releases].sort((a, b) => compareVersions(a.version, b.version));
}

const BUMP = "patch for fixes, minor for new inputs or tasks, major for changes that break existing pipelines";

/** Every way the versions break the rules; empty when they keep them. `changelog` is CHANGELOG.md's text, if there is one. */
export function versionProblems(
  extensionVersion: string,
  releases: readonly Release[],
  tasks: readonly TaskNow[],
  changelog?: string,
): string[] {
  if (!parseVersion(extensionVersion)) return [`vss-extension.json: version ${JSON.stringify(extensionVersion)} is not major.minor.patch`];
  const problems: string[] = [];
  const last = releases.at(-1);
  if (last) {
    const order = compareVersions(extensionVersion, last.version);
    if (order < 0)
      problems.push(`vss-extension.json: version ${extensionVersion} is lower than ${last.version}, already released: versions only go up`);
    for (const task of tasks) {
      const released = last.tasks[task.name];
      if (!released) continue;
      const changed = filesHash(task.files) !== released.sha256;
      if (compareVersions(task.version, released.version) < 0) {
        problems.push(`${task.dir}/task.json: version ${task.version} is lower than ${released.version}, released in ${last.version}`);
      } else if (order === 0 && (changed || task.version !== released.version)) {
        problems.push(
          `${task.dir} changed since ${last.version} was released, but vss-extension.json still says ${last.version}: ` +
            `raise its version (${BUMP}) and add a section for it to ${CHANGELOG_FILE}`,
        );
      } else if (changed && task.version === released.version) {
        problems.push(
          `${task.dir}'s shipped files changed since ${last.version}, but its version is still ${released.version}: ` +
            `raise version in ${task.dir}/task.json (${BUMP}); agents that cached ${released.version} would keep running the old code`,
        );
      }
    }
  }
  if (changelog !== undefined && !new RegExp(`^## \\[?${extensionVersion.replace(/\./g, "\\.")}\\]?(\\s|$)`, "m").test(changelog)) {
    problems.push(`${CHANGELOG_FILE} has no "## ${extensionVersion}" section: say what changed in ${extensionVersion}`);
  }
  return problems;
}

/** Adds the current version, with its tasks, to releases.json (after publishing it). */
export function recordRelease(root: string, extensionVersion: string, tasks: readonly TaskNow[], date = new Date()): Release {
  const releases = readReleases(root);
  if (releases.some((r) => r.version === extensionVersion)) {
    throw new Error(`${RELEASES_FILE} already records ${extensionVersion}: raise the version before releasing again`);
  }
  const release: Release = {
    version: extensionVersion,
    date: date.toISOString().slice(0, 10),
    tasks: Object.fromEntries(tasks.map((t) => [t.name, { version: t.version, sha256: filesHash(t.files) }])),
  };
  const text = {
    $comment: "Extension versions published to the Marketplace (bun build.ts --record-release).",
    releases: [...releases, release],
  };
  writeFileSync(join(root, RELEASES_FILE), `${JSON.stringify(text, null, 2)}\n`);
  return release;
}
