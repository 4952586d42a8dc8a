/**
 * Who created a KFP object. Every object the client creates carries its
 * owner's marker at the end of its description (KFP stores and returns the
 * description of pipelines, versions, experiments and runs on v1beta1 and
 * v2beta1), and after a lost answer only an object with our marker is
 * adopted as ours: never one of another job, matrix leg or attempt.
 *
 * An agent task's owner is one attempt of one step of one job
 * (lib/task/owner.ts); a client given no owner is its own (a random marker).
 */

import { KfpError } from "./error.ts";

/**
 * node:crypto, loaded on first use: a task failing on its inputs never needs it,
 * and loading it (it pulls in node:stream) costs ~2 ms of every start.
 */
const crypto = (): typeof import("node:crypto") => require("node:crypto");

/** What identifies one attempt of one step; the marker is a hash of it. */
export interface OwnerIdentity {
  planId: string;
  jobId: string;
  /** Re-running a job is a new attempt: it must not adopt the runs of the attempt before. */
  jobAttempt: string;
  /** Two steps of one job are two owners. */
  taskInstanceId: string;
}

/** A marker at the end of a description. */
const TRAILING_MARKER = /\[azp:[0-9a-f]{16}\]\s*$/;

/** `[azp:` + 16 hex digits of SHA-256 over the identity + `]`: short, and the same on every look-up. */
export function ownerMarker(identity: OwnerIdentity): string {
  const { planId, jobId, jobAttempt, taskInstanceId } = identity;
  const digest = crypto().createHash("sha256").update([planId, jobId, jobAttempt, taskInstanceId].join("/").toLowerCase()).digest("hex");
  return `[azp:${digest.slice(0, 16)}]`;
}

/** A marker no one else has: for a client used outside an agent job. */
export function randomOwnerMarker(): string {
  return `[azp:${crypto().randomBytes(8).toString("hex")}]`;
}

/** The description to send: the caller's text, then the marker on its own line. */
export function describedAsOwned(description: string | undefined, marker: string): string {
  const text = description?.trim();
  return text ? `${text}\n\n${marker}` : marker;
}

/** True when an object's description carries exactly this marker (at its end: a user's text may quote another). */
export function ownedBy(description: string | undefined, marker: string): boolean {
  return markerOf(description) === marker;
}

/** The marker an object carries, if any. */
export function markerOf(description: string | undefined): string | undefined {
  return description?.match(TRAILING_MARKER)?.[0].trimEnd();
}

/**
 * The object to adopt after a lost answer: the one of ours found, or none. Several of ours
 * (`found` says what they are) leave it unclear which is this write's: it fails, sending nothing again.
 */
export function adoptable<T>(ours: T[], operation: string, found: string): T | undefined {
  if (ours.length > 1) {
    throw new KfpError({
      kind: "ambiguous",
      operation,
      message: `${operation} failed: the answer was lost, and ${found}; not sending it again. Check the experiment in the KFP UI.`,
    });
  }
  return ours[0];
}
