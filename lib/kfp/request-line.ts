/**
 * The one-line record of a KFP request that agent tasks write to the debug log
 * ("KFP GET /apis/v2beta1/runs/r1 -> 200 in 12 ms"), and its reverse, so that
 * `npm run task` can lay the lines out as a readable table.
 */
import type { RequestLogLine } from "./types.ts";

const PATTERN = /^KFP (\S+) (\S+) -> (\S+) in (\d+) ms(?: \(attempt (\d+)\))?$/;

export function formatRequestLine(line: RequestLogLine): string {
  return `KFP ${line.method} ${line.path} -> ${line.status} in ${line.ms} ms${line.attempt > 1 ? ` (attempt ${line.attempt})` : ""}`;
}

/** The request a debug line records, or undefined when the line is something else. */
export function parseRequestLine(text: string): RequestLogLine | undefined {
  const match = PATTERN.exec(text);
  if (!match) return undefined;
  const [, method, path, status, ms, attempt] = match;
  return {
    method: method!,
    path: path!,
    status: status === "error" ? "error" : Number(status),
    ms: Number(ms),
    attempt: attempt ? Number(attempt) : 1,
  };
}
