/**
 * Recurring runs: v2beta1 `recurringruns` on KFP 2.x, v1beta1 `jobs` on KFP 1.8
 * (one object in KFP, two API views). Kept out of the client so that tasks that
 * never schedule do not carry it: `recurringRuns(kfp)` builds on the client's session.
 *
 * Creating is a safe write: what is created carries the owner's marker
 * (ownership.ts), and after a lost answer a recurring run of that name in the
 * experiment, not known before and carrying the marker, is adopted: never two. Enabling and disabling are re-sent freely;
 * a delete that finds nothing has already happened.
 */

import { DRY_RUN_IDS, requireName } from "./client.ts";
import type { KfpSession, WriteSpec } from "./dialect.ts";
import { KfpError } from "./error.ts";
import { adoptable, describedAsOwned, ownedBy } from "./ownership.ts";
import { v1Recurring } from "./recurring-v1.ts";
import { v2Recurring } from "./recurring-v2.ts";
import type { KfpClient } from "./types.ts";
import {
  recurringContext,
  type RecurringDialect,
  type RecurringRun,
  type RecurringRunSpec,
  type RecurringSchedule,
} from "./recurring-dialect.ts";

const DRY_RUN_RECURRING_RUN_ID = "dry-run-recurring-run";

/** The recurring run's page in the KFP UI (frontend/src/components/Router.tsx RECURRING_RUN_DETAILS). */
export function recurringRunLink(kfp: KfpClient, id: string): string {
  return `${kfp.baseUrl}/#/recurringrun/details/${encodeURIComponent(id)}`;
}

export function recurringRuns(kfp: KfpClient): RecurringRuns {
  return new RecurringRuns(kfp, kfp.apiVersion === "v1beta1" ? v1Recurring(kfp) : v2Recurring(kfp));
}

export class RecurringRuns {
  constructor(
    private readonly session: KfpSession,
    private readonly dialect: RecurringDialect,
  ) {}

  /** Oldest first, as KFP lists them by default. */
  find(experimentId: string, name: string): Promise<RecurringRun[]> {
    // A dry run's planned experiment does not exist yet, so holds nothing.
    if (this.session.options.dryRun && experimentId === DRY_RUN_IDS.experiment) return Promise.resolve([]);
    return this.dialect.find(experimentId, name);
  }

  /** `known`: the IDs of the recurring runs of that name seen before, which an adoption must not take for ours. */
  async create(spec: RecurringRunSpec, known: ReadonlySet<string>): Promise<RecurringRun> {
    requireName(spec.name, "create recurring run", "recurring run name");
    const { owner } = this.session;
    const write = this.dialect.create({ ...spec, description: describedAsOwned(spec.description, owner) });
    if (this.session.options.dryRun) {
      this.session.plan(write);
      return { ...spec, id: DRY_RUN_RECURRING_RUN_ID };
    }
    return this.session.http.write(write.request, write.context, {
      parse: write.parse,
      // Names are not unique: only a new recurring run of that name carrying our marker is ours.
      adopt: async () => {
        const found = await this.dialect.find(spec.experimentId, spec.name);
        const ours = found.filter((r) => !known.has(r.id) && ownedBy(r.description, owner));
        const what = `${ours.length} recurring runs of that name created by this task exist in experiment ${spec.experimentId}`;
        return adoptable(ours, write.context.operation, what);
      },
    });
  }

  /** Idempotent in KFP; after a lost answer the recurring run is read to see whether it took effect. */
  async setEnabled(id: string, enabled: boolean): Promise<void> {
    const verb = enabled ? "enable" : "disable";
    const write = { request: { method: "POST" as const, path: this.dialect.path(id, verb) }, context: recurringContext.of(verb, id) };
    await this.send(write, async () => (await this.dialect.get(id)).enabled === enabled);
  }

  /** A recurring run that is not there (any more) counts as deleted: a re-sent delete finds nothing. */
  async remove(id: string): Promise<void> {
    const gone = (error: unknown) => error instanceof KfpError && error.kind === "not-found";
    const write = { request: { method: "DELETE" as const, path: this.dialect.path(id) }, context: recurringContext.of("delete", id) };
    try {
      await this.send(write, () =>
        this.dialect.get(id).then(
          () => false,
          (error) => gone(error) || Promise.reject(error),
        ),
      );
    } catch (error) {
      if (!gone(error)) throw error;
    }
  }

  /** Sends a change, or plans it in a dry run; `done` tells after a lost answer whether it happened anyway. */
  private async send(write: Omit<WriteSpec<void>, "parse">, done: () => Promise<boolean>): Promise<void> {
    if (this.session.options.dryRun) return this.session.plan(write);
    await this.session.http.write(write.request, write.context, {
      parse: () => true,
      adopt: async () => ((await done()) ? true : undefined),
    });
  }
}

/** What differs between a recurring run and the spec it should match, in words; empty when it matches. */
export function differences(existing: RecurringRun, spec: RecurringRunSpec): string[] {
  const out: string[] = [];
  if (existing.versionId !== spec.versionId) out.push("pipeline version");
  if (!sameParameters(existing.parameters, spec.parameters)) out.push("parameters");
  if (!sameSchedule(existing.schedule, spec.schedule)) out.push("schedule");
  if (existing.maxConcurrency !== spec.maxConcurrency) out.push("maxConcurrency");
  if (existing.catchup !== spec.catchup) out.push("catchup");
  // An empty service account means KFP's default, which KFP fills in (template.go setDefaultServiceAccount).
  if (spec.serviceAccount && existing.serviceAccount !== spec.serviceAccount) out.push("runServiceAccount");
  return out;
}

function sameParameters(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const text = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value));
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => key in b && text(a[key]) === text(b[key]));
}

function sameSchedule(a: RecurringSchedule, b: RecurringSchedule): boolean {
  // KFP keeps times in whole seconds.
  const seconds = (time: string | undefined) => (time ? Math.floor(Date.parse(time) / 1000) : undefined);
  return (
    (a.cron ?? "") === (b.cron ?? "") &&
    a.intervalSeconds === b.intervalSeconds &&
    seconds(a.startTime) === seconds(b.startTime) &&
    seconds(a.endTime) === seconds(b.endTime)
  );
}
