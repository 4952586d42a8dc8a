/**
 * The HTTP transport: one request over node:http(s), through an agent's proxy
 * when asked, its failures sorted by what a caller may conclude; the one
 * retry policy (backoff with jitter, Retry-After, a time budget); and how a
 * length of time is written, for every message about waiting. It ships in
 * every bundle (tasks and exit handler) and knows no service.
 *
 * May import: nothing of ours. Imported by: lib/kfp, lib/task (proxy settings),
 * lib/exit-handler, and the dev tools and tests.
 *
 * @module
 */
export { formatDuration } from "./duration.ts";
export {
  AnswerTooLargeError,
  FileReadError,
  loadUploadModules,
  MAX_ANSWER_BYTES,
  ProxyError,
  sendRequest,
  speaksNoTls,
  TransportError,
} from "./transport.ts";
export type { TransportProxy, TransportRequest } from "./transport.ts";
export { backoffMs, type RetryPolicy, RetrySchedule, sleep } from "./retry.ts";
