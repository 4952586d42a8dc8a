/**
 * Finding KFP objects by exact name: the server-side `filter` query parameter
 * (its JSON differs by API version and is double-encoded, as the KFP UI sends
 * it) and the paging loop that checks every match client-side too.
 */

import { KfpError } from "./error.ts";
import type { ApiVersion } from "./types.ts";

/** The server caps page_size at 200. */
export const PAGE_SIZE = 200;
/** A guard against a server that hands out page tokens forever. */
const MAX_PAGES = 1000;

export type KfpFilter = { predicates: Record<string, string>[] };

/** `key EQUALS value`: v1beta1 calls the operator field `op`, v2beta1 `operation`; each rejects the other's. */
export function equalsFilter(api: ApiVersion, key: string, value: string): KfpFilter {
  const operatorField = api === "v1beta1" ? "op" : "operation";
  return { predicates: [{ key, [operatorField]: "EQUALS", string_value: value }] };
}

/**
 * The value to put in the `filter` query parameter. The server unescapes the
 * filter once more after the gateway decoded the query, so it is encoded here
 * and again by URLSearchParams (names with `+` or `%` survive only this way).
 */
export function filterParam(filter: KfpFilter): string {
  return encodeURIComponent(JSON.stringify(filter));
}

export interface Page<T> {
  items: T[];
  nextPageToken?: string;
}

/**
 * Pages through a filtered listing (same filter on every page, as the server
 * demands) and returns the one item whose name is exactly `name`: undefined for
 * none, a KfpError "ambiguous" for several. The server's match may be
 * case-insensitive (MySQL collation), so names are compared here again.
 */
export async function findUnique<T>(init: {
  operation: string;
  /** What is looked for, in words: `pipeline "x"`. */
  what: string;
  name: string;
  nameOf: (item: T) => string | undefined;
  fetchPage: (pageToken: string | undefined) => Promise<Page<T>>;
}): Promise<T | undefined> {
  const matches = await findAll(init);
  if (matches.length > 1) {
    throw new KfpError({
      kind: "ambiguous",
      operation: init.operation,
      message: `${init.operation}: ${matches.length} objects match ${init.what}; expected at most one.`,
      hint: "Names are unique per namespace: set the namespace (Kubeflow profile) to pick one.",
    });
  }
  return matches[0];
}

/** Every item on every page whose name is exactly `name`. */
export async function findAll<T>(init: {
  operation: string;
  name: string;
  nameOf: (item: T) => string | undefined;
  fetchPage: (pageToken: string | undefined) => Promise<Page<T>>;
}): Promise<T[]> {
  const matches: T[] = [];
  const seenTokens = new Set<string>();
  let token: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const { items, nextPageToken } = await init.fetchPage(token);
    matches.push(...items.filter((item) => init.nameOf(item) === init.name));
    if (!nextPageToken) return matches;
    if (seenTokens.has(nextPageToken)) break;
    seenTokens.add(nextPageToken);
    token = nextPageToken;
  }
  throw new KfpError({
    kind: "protocol",
    operation: init.operation,
    message: `${init.operation}: the server kept returning more pages (a page token repeated or over ${MAX_PAGES} pages); giving up.`,
  });
}
