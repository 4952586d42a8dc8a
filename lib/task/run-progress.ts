/**
 * What a task says while it waits for a KFP run: a line on each change of
 * state, a line when the run's steps progress (v2, when KFP reports them), and
 * a heartbeat when nothing has changed for a while. A long wait never looks
 * hung, and a poll every few seconds never floods the log.
 *
 * Pure: lines go to the writer given, times are the caller's elapsed times.
 */
import type { Run, RunSteps } from "../kfp/mod.ts";
import { formatDuration } from "../net/mod.ts";

/** Longest silence while waiting. */
const HEARTBEAT_MS = 5 * 60_000;

/** "4/7 steps done; running: train; failed: lint". */
export function describeSteps(steps: RunSteps): string {
  const parts = [`${steps.done}/${steps.total} steps done`];
  if (steps.running.length > 0) parts.push(`running: ${steps.running.join(", ")}`);
  if (steps.failed.length > 0) parts.push(`failed: ${steps.failed.join(", ")}`);
  return parts.join("; ");
}

/** The state as a word people can read; "" means KFP has not reported one yet. */
function stateWord(state: string): string {
  return state === "" ? "not reported yet" : state;
}

export class RunProgress {
  private state: string | undefined;
  private steps: string | undefined;
  private lastLineMs = 0;

  constructor(
    private readonly write: (line: string) => void,
    private readonly heartbeatMs: number = HEARTBEAT_MS,
  ) {}

  /** Call with every poll's answer (more than once per poll is harmless). */
  observe(run: Run, elapsedMs: number): void {
    const steps = run.steps && run.steps.total > 0 ? describeSteps(run.steps) : undefined;
    if (run.state !== this.state) {
      this.state = run.state;
      this.say(elapsedMs, `Run state: ${stateWord(run.state)}${steps ? ` (${steps})` : ""}`);
      this.steps = steps;
    } else if (steps !== undefined && steps !== this.steps) {
      this.steps = steps;
      this.say(elapsedMs, steps);
    } else if (elapsedMs - this.lastLineMs >= this.heartbeatMs) {
      this.say(elapsedMs, `Still ${stateWord(run.state)}${steps ? ` (${steps})` : ""}`);
    }
  }

  private say(elapsedMs: number, text: string): void {
    this.lastLineMs = elapsedMs;
    this.write(`[${formatDuration(elapsedMs)}] ${text}`);
  }
}
