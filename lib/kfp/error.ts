/**
 * The one error type the KFP client throws. It carries what a user needs to
 * act: the operation, the HTTP status, KFP's own message and a hint. It never
 * carries credentials: `path` is the request path without the query string.
 */

export type KfpErrorKind =
  /** The server answered with an HTTP error status. */
  | "http"
  /** An authentication proxy (Dex, oauth2-proxy) answered instead of KFP: HTML or a redirect. */
  | "login-page"
  /** A redirect that is not to a login page: to https, to another host, or to another path. */
  | "redirect"
  /** No answer: connection refused, reset, DNS failure, TLS failure or timeout. */
  | "network"
  /** The answer was not what the API documents (bad JSON, missing IDs). */
  | "protocol"
  /** Something we looked for does not exist (or exists more than once). */
  | "not-found"
  | "ambiguous"
  /** A name is already taken. */
  | "conflict"
  /** The caller's input is wrong (file, parameters), detected before sending. */
  | "invalid";

export class KfpError extends Error {
  override readonly name = "KfpError";
  readonly kind: KfpErrorKind;
  /** What we were doing, in words: "upload pipeline version", "create run". */
  readonly operation: string;
  readonly status?: number;
  readonly method?: string;
  readonly path?: string;
  /** KFP's own message (`message`, `error` or `error_message`). */
  readonly kfpMessage?: string;
  /** How to fix it, when we know. */
  readonly hint?: string;

  constructor(init: {
    kind: KfpErrorKind;
    operation: string;
    message: string;
    status?: number;
    method?: string;
    path?: string;
    kfpMessage?: string;
    hint?: string;
    cause?: unknown;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.kind = init.kind;
    this.operation = init.operation;
    this.status = init.status;
    this.method = init.method;
    this.path = init.path;
    this.kfpMessage = init.kfpMessage;
    this.hint = init.hint;
  }
}
