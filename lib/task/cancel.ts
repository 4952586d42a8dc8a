/**
 * Cancellation of an agent task. When a job is cancelled (or times out) the
 * agent sends SIGINT, then SIGTERM a few seconds later, then kills the process.
 * Node's default for both signals is to exit at once, which would leave a KFP
 * run going that the user asked us to stop. A task that must clean up watches
 * for the signals instead: the first one aborts `signal` (waits stop and
 * `race` rejects with CancelledError at once), later ones are absorbed so the
 * clean-up can finish, and `exitIfCancelled` ends the process once it has.
 */
import { say } from "./log.ts";

/** Thrown where a task notices it has been cancelled. */
export class CancelledError extends Error {
  override readonly name = "CancelledError";
  constructor(readonly by: NodeJS.Signals) {
    super(`The task was cancelled (${by}).`);
  }
}

export interface CancelWatch {
  /** Aborted by the first cancel signal. */
  readonly signal: AbortSignal;
  /** Throws CancelledError if the task has been cancelled. */
  throwIfCancelled(): void;
  /** Settles like `work`, unless a cancel comes first: then rejects with CancelledError at once. */
  race<T>(work: Promise<T>): Promise<T>;
  /** If cancelled, exits (work still pending, like a poll timer, must not keep us alive; stdout is written synchronously). */
  exitIfCancelled(): Promise<void>;
}

export function watchCancel(signals: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM"]): CancelWatch {
  const controller = new AbortController();
  let cancelledBy: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (cancelledBy) return; // The agent's second signal: keep cleaning up.
    cancelledBy = sig;
    say(`Cancel requested (${sig}).`);
    controller.abort(new CancelledError(sig));
  };
  for (const sig of signals) process.on(sig, onSignal);

  const throwIfCancelled = () => {
    if (cancelledBy) throw new CancelledError(cancelledBy);
  };

  return {
    signal: controller.signal,
    throwIfCancelled,
    race<T>(work: Promise<T>): Promise<T> {
      throwIfCancelled();
      return new Promise<T>((resolve, reject) => {
        const onAbort = () => reject(controller.signal.reason);
        controller.signal.addEventListener("abort", onAbort, { once: true });
        work.then(resolve, reject).finally(() => controller.signal.removeEventListener("abort", onAbort));
      });
    },
    async exitIfCancelled() {
      if (!cancelledBy) return;
      process.exit(0);
    },
  };
}
