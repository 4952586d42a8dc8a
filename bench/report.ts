/**
 * The benchmark's output: a Markdown table of the figures (figure, value,
 * baseline, ratio, goal), the machine it ran on, and bench/results.json.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { arch, availableParallelism, loadavg, release, totalmem, type } from "node:os";
import { hostNode } from "../lib/dev/agent/mod.ts";
import type { Figure, Unit, Unmeasured } from "./figure.ts";

export interface Machine {
  cpus: number;
  cpuModel: string;
  /** The machine's Node: it runs the tasks and node -e 0 unless a figure names another (npm links Node 24 into node_modules/.bin). */
  node: string;
  bun: string;
  os: string;
  memoryGB: number;
  /** Share of CPU time idle in the second before measuring (/proc/stat): well under 100, other work competed. */
  idlePercentAtStart?: number;
  /** The 1, 5 and 15 minute load averages before and after measuring: above the CPU count, processes queued. */
  loadAverage?: { start: number[]; end?: number[] };
}

export interface Results {
  date: string;
  commit: string;
  machine: Machine;
  settings: unknown;
  figures: Figure[];
  unmeasured: Unmeasured[];
}

/**
 * How idle the CPUs were over the next `ms`, in percent, from /proc/stat
 * (undefined without it). Unlike the load average it does not lag.
 */
export async function idlePercent(ms = 1000): Promise<number | undefined> {
  const sample = () => {
    try {
      const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
      return { idle: fields[3]! + fields[4]!, total: fields.reduce((a, b) => a + b, 0) };
    } catch {
      return undefined;
    }
  };
  const before = sample();
  await Bun.sleep(ms);
  const after = sample();
  if (!before || !after || after.total === before.total) return undefined;
  return Math.round((100 * (after.idle - before.idle)) / (after.total - before.total));
}

export function describeMachine(idlePercentAtStart: number | undefined, loadAverageAtStart?: number[]): Machine {
  const cpuinfo = (() => {
    try {
      return readFileSync("/proc/cpuinfo", "utf8");
    } catch {
      return "";
    }
  })();
  return {
    cpus: availableParallelism(),
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    node: commandOutput([hostNode(), "--version"]),
    bun: Bun.version,
    os: `${type()} ${release()} ${arch()}`,
    memoryGB: Math.round(totalmem() / 2 ** 30),
    ...(idlePercentAtStart !== undefined ? { idlePercentAtStart } : {}),
    ...(loadAverageAtStart ? { loadAverage: { start: loadAverageAtStart, end: loadavg() } } : {}),
  };
}

/** The commit measured, `+changes` when the tree differs from it. */
export function describeCommit(root: string): string {
  const head = commandOutput(["git", "rev-parse", "--short", "HEAD"], root);
  const dirty = commandOutput(["git", "status", "--porcelain", "--untracked-files=no"], root);
  return dirty && dirty !== "unknown" ? `${head}+changes` : head;
}

function commandOutput(argv: string[], cwd?: string): string {
  const [command, ...args] = argv;
  const r = spawnSync(command!, args, { cwd, encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : "unknown";
}

export function formatValue(value: number, unit: Unit): string {
  switch (unit) {
    case "ms":
      return `${value < 100 ? value.toFixed(1) : value.toFixed(0)} ms`;
    case "KB":
      return value >= 1024 ? `${(value / 1024).toFixed(1)} MB` : `${value.toFixed(1)} KB`;
    case "MB":
      return `${value.toFixed(1)} MB`;
    case "requests/poll":
      return `${Number(value.toFixed(2))} per poll`;
    default:
      return `${Number(value.toFixed(1))} ${unit}`;
  }
}

function goalCell(f: Figure): string {
  if (f.met === undefined) return f.goal || "-";
  return `${f.goal}: ${f.met ? "met" : "**missed**"}`;
}

/** Pipes would end a table cell. */
const cell = (text: string) => text.replace(/\|/g, "\\|");

export function markdownTable(figures: readonly Figure[], unmeasured: readonly Unmeasured[] = []): string {
  const rows = figures.map((f) => [
    f.figure,
    formatValue(f.value, f.unit),
    f.baseline ? `${formatValue(f.baseline.value, f.baseline.unit)} (${f.baseline.label})` : "-",
    f.ratio !== undefined ? `${f.ratio.toFixed(2)}x` : "-",
    goalCell(f),
  ]);
  for (const u of unmeasured) rows.push([u.id, "could not measure", "-", "-", u.reason.split("\n")[0]!]);
  return [
    "| figure | value | baseline | ratio | goal |",
    "|---|---:|---:|---:|---|",
    ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`),
  ].join("\n");
}

export function machineLine(m: Machine): string {
  const idle = m.idlePercentAtStart !== undefined ? `; CPUs ${m.idlePercentAtStart}% idle before the run` : "";
  const loads = (l: number[]) => l.map((n) => n.toFixed(2)).join(" ");
  const load = m.loadAverage
    ? `; load average ${loads(m.loadAverage.start)} before, ${m.loadAverage.end ? loads(m.loadAverage.end) : "?"} after`
    : "";
  return `${m.cpus} CPUs (nproc), ${m.cpuModel}, ${m.memoryGB} GB RAM, ${m.os}; Node ${m.node}, Bun ${m.bun}${idle}${load}`;
}

export function writeResults(file: string, results: Results): void {
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
}
