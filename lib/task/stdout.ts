/**
 * THE low-level writer of an agent task's stdout: every byte the agent reads
 * goes through `writeStdout`, task-lib's `##vso[...]` commands (build.ts points
 * task-lib's output stream here) and our own lines alike.
 *
 * It writes synchronously to file descriptor 1, so lines reach the agent in
 * the order they were written on every platform (Node's process.stdout is
 * asynchronous for pipes on Linux and macOS, for terminals on Windows: see
 * "A note on process I/O" in Node's process docs), nothing is lost when the
 * process exits right after, and no stream (node:net, node:stream) is created
 * at start-up. It does not neutralise anything: text from outside goes
 * through the log writer that ends here, never straight to this one.
 */
import { writeSync } from "node:fs";

const STDOUT_FD = 1;

/** Blocks this thread for `ms` (a pipe the agent has not drained yet). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Writes all of `text` to stdout before returning. A pipe left non-blocking
 * by whoever created it can take part of a write or refuse it (EAGAIN): the
 * rest is written once the reader has made room. A reader that has gone away
 * (EPIPE) is not an error of the task: nobody is left to read.
 */
export function writeStdout(text: string): void {
  const bytes = Buffer.from(text, "utf8");
  let written = 0;
  while (written < bytes.length) {
    try {
      written += writeSync(STDOUT_FD, bytes, written, bytes.length - written);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EAGAIN") pause(1);
      else if (code === "EPIPE") return;
      else throw error;
    }
  }
}

/** Writes one line (a newline is added). */
export function writeStdoutLine(line: string): void {
  writeStdout(`${line}\n`);
}

/**
 * The stream task-lib writes its commands to (its `_outStream`, given by the
 * build in place of process.stdout): only `write` is ever called on it.
 */
export const taskLibStdout = {
  write(text: string): boolean {
    writeStdout(text);
    return true;
  },
};
