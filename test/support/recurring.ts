/**
 * Reading what happened to recurring runs from the fake KFP's record of
 * requests: the writes in order, and the most that were enabled at once
 * (the recurring-run task's promise: never two).
 */
import type { FakeKfp, RecordedRequest } from "../../lib/dev/fake-kfp/types.ts";

const RECURRING = /\/(jobs|recurringruns)/;

/** The recurring runs' writes in order, as `action id` (create: the name). */
export function writeLog(kfp: FakeKfp): string[] {
  return kfp
    .writes()
    .filter((r) => RECURRING.test(r.path))
    .map((r: RecordedRequest) => {
      if (r.method === "DELETE") return `delete ${r.path.split("/").pop()}`;
      const toggle = /\/([^/:]+)[:/](enable|disable)$/.exec(r.path);
      return toggle ? `${toggle[2]} ${toggle[1]}` : "create";
    });
}

/** KFP acted on the request: it answered 200, or its answer was lost after it did the work (an injected fault). */
const acted = (r: RecordedRequest) =>
  r.status === 200 || (r.fault !== undefined && ("delayMs" in r.fault || ("reset" in r.fault && r.fault.reset === "after-read")));

/**
 * Replays the recurring-run writes KFP acted on, from write number `from` on,
 * starting with `initiallyEnabled`, and returns the most that were enabled at once.
 * A creation whose answer was lost is not seen: callers create disabled while another is enabled.
 */
export function mostEnabledAtOnce(kfp: FakeKfp, from = 0, initiallyEnabled: string[] = []): number {
  const enabled = new Set(initiallyEnabled);
  let most = enabled.size;
  for (const r of kfp
    .writes()
    .slice(from)
    .filter((w) => RECURRING.test(w.path) && acted(w))) {
    const response = r.response as { id?: string; recurring_run_id?: string; enabled?: boolean; status?: string } | undefined;
    const id = r.path.split(/[/:]/).filter(Boolean).at(-2);
    if (r.method === "POST" && /\/(jobs|recurringruns)$/.test(r.path)) {
      if (response?.enabled || response?.status === "ENABLED") enabled.add((response.id ?? response.recurring_run_id)!);
    } else if (r.method === "DELETE") enabled.delete(r.path.split("/").pop()!);
    else if (/enable$/.test(r.path)) enabled.add(id!);
    else if (/disable$/.test(r.path)) enabled.delete(id!);
    most = Math.max(most, enabled.size);
  }
  return most;
}
