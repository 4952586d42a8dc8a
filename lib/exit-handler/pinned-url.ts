/**
 * The Azure DevOps organization or collection the exit handler may call: a
 * constant in the user's compiled pipeline (component input `azure_devops_url`).
 * `PlanUri` comes from a run parameter, which anyone allowed to start a run
 * chooses: the credential goes to it only when it lies under the pinned URL.
 */

/** The PlanUri is not one the handler may call; the message names both URLs. */
export class PinnedUrlError extends Error {
  override name = "PinnedUrlError";
}

/** Reads the pinned URL: an absolute http(s) URL without credentials, query or fragment. */
export function parsePinnedUrl(text: string | undefined): URL {
  const trimmed = (text ?? "").trim();
  const example = "e.g. https://dev.azure.com/contoso/ (the value of System.CollectionUri)";
  if (!trimmed) throw new PinnedUrlError(`azure_devops_url is empty: set it to your organization's or collection's URL, ${example}.`);
  const url = URL.canParse(trimmed) ? new URL(trimmed) : undefined;
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:") || url.username || url.password || url.search || url.hash) {
    throw new PinnedUrlError(
      `azure_devops_url ${JSON.stringify(trimmed)} is not an http(s) URL of an organization or collection, ${example}.`,
    );
  }
  return url;
}

/**
 * Throws unless `planUri` is the pinned collection or lies under it: same scheme
 * (so https unless the pinned URL is http), host and port, and a path that
 * starts with the pinned path at a segment boundary. Letter case is ignored, as
 * Azure DevOps ignores it in organization and collection names.
 */
export function checkPlanUri(pinned: URL, planUri: string): void {
  const plan = URL.canParse(planUri) ? new URL(planUri) : undefined;
  const refuse = (why: string) =>
    new PinnedUrlError(
      `azdocallbackinfo names PlanUri ${planUri}, which is not under azure_devops_url ${pinned.href}: ${why}. ` +
        "Nothing was sent. If this pipeline really reports to that organization, change azure_devops_url and recompile it.",
    );
  if (!plan) throw refuse("it is not a URL");
  if (plan.protocol !== pinned.protocol) {
    throw refuse(pinned.protocol === "https:" ? "the credential is only ever sent over https" : "the scheme differs");
  }
  if (plan.host !== pinned.host) throw refuse("another server");
  const base = segments(pinned.pathname);
  const path = segments(plan.pathname);
  if (base.some((segment, i) => segment !== path[i])) throw refuse("another organization or collection");
}

function segments(pathname: string): string[] {
  return pathname
    .toLowerCase()
    .split("/")
    .filter((s) => s !== "");
}
