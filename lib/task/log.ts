/**
 * The one writer for everything an agent task prints itself.
 *
 * The agent runs a logging command wherever `##vso[` appears in a line (agent
 * Command.TryParse: `message.IndexOf("##vso[")`), from stdout and stderr alike,
 * and its log viewer formats `##[error]`, `##[group]`, ... So every line goes
 * through `untrusted` (untrusted.ts) here: text from outside (KFP's answers, input values,
 * file names) cannot issue a command or fake a log format, wherever it sits in
 * the line. Our own commands go through task-lib, never through here.
 *
 * It ends in stdout.ts, the one low-level writer that task-lib's commands go
 * through too, so lines keep their order.
 */
import * as tl from "./task-lib.ts";
import { writeStdoutLine } from "./stdout.ts";
import { untrusted } from "./untrusted.ts";

/** One log line (or several, if the text holds line breaks). */
export function say(text: string): void {
  writeStdoutLine(untrusted(text));
}

/** A warning on the run's summary and in the log. */
export function warn(text: string): void {
  tl.warning(untrusted(text));
}

/** A line in the debug log (system.debug). */
export function debug(text: string): void {
  tl.debug(untrusted(text));
}

/** How the task ended, in one message. */
export function finish(result: tl.TaskResult, message: string): void {
  tl.setResult(result, untrusted(message));
}
