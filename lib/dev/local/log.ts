/**
 * The readable log of `npm run task` and `npm run demo`: a task's inputs
 * (secrets masked), its log as the agent renders it with each KFP request laid
 * out as status, time, method and path, then its outputs and result. Colour
 * only on a terminal, and never with NO_COLOR.
 */
import { type TaskRunResult, maskSecrets } from "../agent/mod.ts";
import type { RecordedRequest } from "../fake-kfp/mod.ts";
import { parseRequestLine } from "../../kfp/mod.ts";
import { formatDuration } from "../../net/mod.ts";

type Paint = (text: string) => string;

export interface LocalLogOptions {
  /** Where lines go (default: stdout). */
  write?: (line: string) => void;
  /** Colour (default: stdout is a terminal and NO_COLOR is unset). */
  color?: boolean;
  /** Show every debug line, not only the KFP request lines. */
  verbose?: boolean;
}

export class LocalLog {
  private readonly out: (line: string) => void;
  private readonly verbose: boolean;
  readonly bold: Paint;
  readonly dim: Paint;
  readonly red: Paint;
  readonly green: Paint;
  readonly yellow: Paint;
  readonly cyan: Paint;

  constructor(options: LocalLogOptions = {}) {
    this.out = options.write ?? ((line) => console.log(line));
    this.verbose = options.verbose ?? false;
    const color = options.color ?? (Boolean(process.stdout.isTTY) && !process.env.NO_COLOR);
    const paint = (code: string): Paint => (color ? (text) => `\x1b[${code}m${text}\x1b[0m` : (text) => text);
    this.bold = paint("1");
    this.dim = paint("2");
    this.red = paint("31");
    this.green = paint("32");
    this.yellow = paint("33");
    this.cyan = paint("36");
  }

  line(text = ""): void {
    this.out(text);
  }

  heading(text: string): void {
    this.out("");
    this.out(this.bold(text));
  }

  /** `name  value` rows, names padded to one column. */
  table(title: string, rows: [string, string][]): void {
    this.out(`  ${this.dim(title)}`);
    if (rows.length === 0) {
      this.out(`    ${this.dim("(none)")}`);
      return;
    }
    const width = Math.max(...rows.map(([name]) => name.length));
    for (const [name, value] of rows) this.out(`    ${name.padEnd(width)}  ${value}`);
  }

  /** Inputs as given, with every known secret value masked. */
  inputs(inputs: Record<string, string>, secrets: readonly string[]): void {
    this.table(
      "inputs",
      Object.entries(inputs).map(([name, value]) => [name, maskSecrets(oneLine(value), secrets)]),
    );
  }

  /**
   * One line of the agent's log (already masked by the agent emulation). A
   * command's message may span lines (a multi-line input in task-lib's debug
   * line): the whole text belongs to the one command.
   */
  agentLine(text: string): void {
    const debug = /^##\[debug\]([\s\S]*)$/.exec(text);
    if (debug) {
      const request = parseRequestLine(debug[1]!);
      if (request) {
        const ok = typeof request.status === "number" && request.status < 400;
        const retry = request.attempt > 1 ? `, attempt ${request.attempt}` : "";
        this.out(
          `    ${this.dim(`KFP ${request.method} ${readablePath(request.path)} ->`)} ` +
            `${(ok ? this.green : this.red)(String(request.status))} ${this.dim(`(${request.ms} ms${retry})`)}`,
        );
      } else if (this.verbose && !debug[1]!.startsWith("Processed: ")) {
        for (const line of debug[1]!.split("\n")) this.out(`    ${this.dim(`debug ${line}`)}`);
      }
      return;
    }
    const issue = /^##\[(error|warning)\]([\s\S]*)$/.exec(text);
    if (issue) {
      this.out(`    ${issue[1] === "error" ? this.red(`ERROR ${issue[2]}`) : this.yellow(`WARNING ${issue[2]}`)}`);
      return;
    }
    this.out(`    ${text.startsWith("Dry run") ? this.cyan(text) : text}`);
  }

  /** The variables the task set (secret ones masked) and how it ended. */
  ending(result: TaskRunResult): void {
    const secret = new Set(result.variables.filter((v) => v.isSecret).map((v) => v.name));
    this.table(
      "outputs",
      Object.entries(result.outputs).map(([name, value]) => [name, secret.has(name) ? "***" : oneLine(value)]),
    );
    const word = result.timedOut ? "TimedOut" : (result.result ?? `no result (exit code ${result.exitCode ?? result.signal})`);
    const paint = succeeded(result) ? this.green : this.red;
    // A failure's message was just printed as the error it is.
    const message = result.message && result.message !== result.errors.at(-1) ? `: ${result.message}` : "";
    this.out(`  ${this.dim("result")}  ${paint(word)}${message} ${this.dim(`(${formatDuration(result.ms)})`)}`);
  }

  /** What a fake KFP received: the count, and each write with its status. */
  fakeRecord(requests: readonly RecordedRequest[], writes: readonly RecordedRequest[]): void {
    const summary =
      `fake KFP received ${requests.length} request${requests.length === 1 ? "" : "s"}, ` +
      `${writes.length} write${writes.length === 1 ? "" : "s"}`;
    this.out(`  ${this.dim(summary)}${writes.length ? ":" : ""}`);
    for (const w of writes) this.out(`    ${w.method} ${w.path} -> ${w.status}`);
  }
}

export function succeeded(result: TaskRunResult): boolean {
  return !result.timedOut && (result.result === "Succeeded" || result.result === "SucceededWithIssues");
}

/** The query decoded, so filters read as the JSON they are. */
function readablePath(path: string): string {
  try {
    return decodeURIComponent(path.replace(/\+/g, " "));
  } catch {
    return path;
  }
}

function oneLine(value: string): string {
  return value.includes("\n") ? JSON.stringify(value) : value;
}
