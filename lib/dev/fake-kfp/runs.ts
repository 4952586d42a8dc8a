/**
 * The life of runs in the fake KFP server. A run moves only when it is read
 * (each GET is one poll) or when a test moves it: `manual` runs stay PENDING,
 * scripted runs report their script's states one per GET and then the end
 * state, `auto` runs go PENDING -> RUNNING -> end over `autoMs`. Terminate
 * makes the next GET report CANCELING and the ones after CANCELED.
 * States are kept in v2 words plus `ERROR` (reported as `Error` on v1beta1).
 */

import type { FakeExperiment, FakeRun, RunScript } from "./types.ts";
import { FAKE_END_STATE_PARAMETER, type FakeStore, type StoredVersion } from "./state.ts";

export const TERMINAL_STATES = new Set(["SUCCEEDED", "FAILED", "SKIPPED", "CANCELED", "ERROR"]);

/** Words a test may use for a state, in either API's vocabulary, to the fake's v2 words. */
const STATE_WORDS: Record<string, string> = {
  pending: "PENDING",
  running: "RUNNING",
  succeeded: "SUCCEEDED",
  failed: "FAILED",
  error: "ERROR",
  skipped: "SKIPPED",
  canceled: "CANCELED",
  cancelled: "CANCELED",
  canceling: "CANCELING",
  terminating: "CANCELING",
  paused: "PAUSED",
  runtime_state_unspecified: "",
  unknown: "",
  "": "",
};

export function normalizeState(word: string): string {
  const state = STATE_WORDS[word.toLowerCase()];
  if (state === undefined) throw new Error(`fake KFP: unknown run state "${word}"`);
  return state;
}

interface StateChange {
  time: string;
  state: string;
  error?: string;
}

export interface Step {
  name: string;
  state: string;
}

interface Life {
  script?: RunScript;
  /** The run's poll count when the script was attached. */
  scriptStart: number;
  /** Poll count when terminate was called (the run was not terminal then). */
  terminatedAtPoll?: number;
  /** Set by setRunState: the run keeps the state it was given. */
  pinned: boolean;
  createdMs: number;
  history: StateChange[];
  steps?: Step[];
}

const AUTO_STEPS = ["preprocess", "train", "evaluate"];

export class FakeRuns {
  private readonly queuedScripts: RunScript[] = [];
  private readonly lives = new Map<string, Life>();
  private readonly waiters: { predicate: (run: FakeRun) => boolean; resolve: (run: FakeRun) => void }[] = [];

  constructor(
    private readonly store: FakeStore,
    private readonly mode: "manual" | "auto",
    private readonly autoMs: number,
  ) {}

  create(init: {
    name: string;
    description?: string;
    experiment: FakeExperiment;
    version: StoredVersion;
    parameters: Record<string, unknown>;
    serviceAccount?: string;
  }): FakeRun {
    const run: FakeRun = {
      id: this.store.newId(),
      name: init.name,
      description: init.description ?? "",
      experimentId: init.experiment.id,
      pipelineId: init.version.pipelineId,
      versionId: init.version.id,
      namespace: init.experiment.namespace,
      parameters: init.parameters,
      ...(init.serviceAccount ? { serviceAccount: init.serviceAccount } : {}),
      state: "",
      createdAt: this.store.now(),
      polls: 0,
      terminated: false,
    };
    const script = this.queuedScripts.shift();
    this.lives.set(run.id, { script, scriptStart: 0, pinned: false, createdMs: Date.now(), history: [] });
    this.store.state.runs.push(run);
    for (const waiter of [...this.waiters]) {
      if (waiter.predicate(run)) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve(run);
      }
    }
    return run;
  }

  /** The run as stored, without counting a poll (lists, tests). */
  get(id: string): FakeRun | undefined {
    return this.store.state.runs.find((r) => r.id === id);
  }

  /** A GET of the run: counts a poll and moves the run on by its script, mode or termination. */
  poll(run: FakeRun): FakeRun {
    const life = this.life(run);
    run.polls++;
    if (life.pinned) return run;
    if (life.terminatedAtPoll !== undefined) {
      this.move(run, run.polls - life.terminatedAtPoll === 1 ? "CANCELING" : "CANCELED");
    } else if (life.script) {
      const script = life.script;
      const index = run.polls - life.scriptStart - 1;
      const state = index < (script.states?.length ?? 0) ? normalizeState(script.states![index]!) : script.end;
      if (script.steps) life.steps = script.steps.map((s) => ({ ...s }));
      this.move(run, state, TERMINAL_STATES.has(state) ? script.error : undefined);
    } else if (this.mode === "auto") {
      this.advanceAuto(run, life);
    } else if (!run.state) {
      this.move(run, "PENDING");
    }
    return run;
  }

  private advanceAuto(run: FakeRun, life: Life): void {
    const fraction = (Date.now() - life.createdMs) / this.autoMs;
    const wanted = run.parameters[FAKE_END_STATE_PARAMETER];
    const end = typeof wanted === "string" ? normalizeState(wanted) || "SUCCEEDED" : "SUCCEEDED";
    const state = fraction < 0.2 ? "PENDING" : fraction < 1 ? "RUNNING" : end;
    if (state !== "PENDING") {
      // Steps finish one after another while the run is RUNNING.
      const done = Math.floor(((Math.min(fraction, 1) - 0.2) / 0.8) * AUTO_STEPS.length);
      life.steps = AUTO_STEPS.map((name, i) => ({
        name,
        state:
          i < done
            ? "SUCCEEDED"
            : i === done
              ? TERMINAL_STATES.has(state)
                ? end
                : "RUNNING"
              : TERMINAL_STATES.has(state)
                ? "SKIPPED"
                : "PENDING",
      }));
    }
    const failed = state === "FAILED" || state === "ERROR";
    this.move(run, state, failed ? `fake_end_state asked this run to end ${state}` : undefined);
  }

  terminate(run: FakeRun): void {
    const life = this.life(run);
    run.terminated = true;
    if (TERMINAL_STATES.has(run.state) || life.terminatedAtPoll !== undefined) return;
    life.terminatedAtPoll = run.polls;
    life.pinned = false;
  }

  script(script: RunScript, runId?: string): void {
    if (!runId) {
      this.queuedScripts.push(script);
      return;
    }
    const run = this.get(runId);
    if (!run) throw new Error(`fake KFP: no run ${runId}`);
    Object.assign(this.life(run), { script, scriptStart: run.polls, pinned: false });
  }

  setState(runId: string, state: string, error?: string): void {
    const run = this.get(runId);
    if (!run) throw new Error(`fake KFP: no run ${runId}`);
    const life = this.life(run);
    life.pinned = true;
    life.script = undefined;
    this.move(run, normalizeState(state), error);
  }

  waitFor(predicate: (run: FakeRun) => boolean = () => true): Promise<FakeRun> {
    const existing = this.store.state.runs.find(predicate);
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve) => this.waiters.push({ predicate, resolve }));
  }

  history(run: FakeRun): StateChange[] {
    return this.life(run).history;
  }

  steps(run: FakeRun): Step[] | undefined {
    return this.life(run).steps;
  }

  private life(run: FakeRun): Life {
    let life = this.lives.get(run.id);
    if (!life) {
      life = { scriptStart: run.polls, pinned: false, createdMs: Date.now(), history: [] };
      this.lives.set(run.id, life);
    }
    return life;
  }

  private move(run: FakeRun, state: string, error?: string): void {
    if (error !== undefined) run.error = error;
    if (state === run.state) return;
    run.state = state;
    const time = this.store.now();
    this.life(run).history.push({ time, state, ...(error ? { error } : {}) });
    if (TERMINAL_STATES.has(state)) run.finishedAt = time;
  }
}
