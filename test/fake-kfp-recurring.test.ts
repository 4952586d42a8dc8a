/**
 * Raw-HTTP tests of the fake KFP's recurring runs (v2beta1) and jobs (v1beta1):
 * KFP's checks on creation, the two API views of one object, enable, disable,
 * delete, and listing by experiment with filters and paging.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { FakeKfp } from "../lib/dev/fake-kfp/types.ts";
import { robfigCronProblem } from "../lib/dev/fake-kfp/recurring.ts";
import { startFake } from "./support/fake.ts";

const V2_YAML = join(import.meta.dir, "fixtures", "pipelines", "hello-v2.yaml");

const fakes: FakeKfp[] = [];
afterEach(async () => {
  for (const fake of fakes.splice(0)) await fake.close();
});

async function call(f: FakeKfp, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${f.url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/** A KFP 2.x fake with the hello pipeline and an experiment; `bad` skips the contract check for deliberately odd requests. */
async function world(bad = false) {
  const f = await startFake({ api: "v2" }, { skipContract: bad });
  fakes.push(f);
  const { pipeline, version } = await f.seedPipeline({ name: "hello", file: V2_YAML, versionName: "v1" });
  const experiment = f.seedExperiment({ name: "schedules" });
  const v2 = (extra: Record<string, unknown> = {}) => ({
    display_name: "nightly",
    experiment_id: experiment.id,
    pipeline_version_reference: { pipeline_id: pipeline.id, pipeline_version_id: version.id },
    runtime_config: { parameters: { message: "hi" } },
    max_concurrency: "1",
    trigger: { cron_schedule: { cron: "0 0 2 * * *" } },
    mode: "ENABLE",
    ...extra,
  });
  return { f, pipeline, version, experiment, v2 };
}

describe("creating", () => {
  test("v2 answers the recurring run; v1 shows the same object as a job", async () => {
    const { f, version, experiment, v2 } = await world();
    const created = await call(f, "POST", "/apis/v2beta1/recurringruns", v2({ no_catchup: true }));
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({
      display_name: "nightly",
      status: "ENABLED",
      mode: "ENABLE",
      max_concurrency: "1",
      no_catchup: true,
      service_account: "pipeline-runner",
      experiment_id: experiment.id,
      trigger: { cron_schedule: { cron: "0 0 2 * * *" } },
    });
    const job = await call(f, "GET", `/apis/v1beta1/jobs/${created.body.recurring_run_id}`);
    expect(job.body).toMatchObject({ name: "nightly", enabled: true, status: "ENABLED", max_concurrency: "1" });
    expect(job.body.resource_references).toContainEqual(expect.objectContaining({ key: { type: "PIPELINE_VERSION", id: version.id } }));
  });

  test.each([
    [{ max_concurrency: "0" }, "Max concurrency of a recurring run must be at least 1 and at most 10. Received 0"],
    [{ max_concurrency: "11" }, "at most 10. Received 11"],
    [{ max_concurrency: undefined }, "Received 0"],
    [{ trigger: { cron_schedule: { cron: "0 0 25 * * *" } } }, "End of range (25) above maximum (23): 25"],
    [{ trigger: { periodic_schedule: { interval_second: "0" } } }, "Set at interval to least 1 second"],
    [{ display_name: "" }, "name cannot be empty"],
    [{ runtime_config: { parameters: { nope: 1 } } }, "not required by pipeline: nope"],
    [{ trigger: { cron_schedule: { cron: "0 0 2 * * *", start_time: "tomorrow" } } }, "Timestamp"],
  ])("refuses %j with 400", async (change, says) => {
    const { f, v2 } = await world(true);
    const answer = await call(f, "POST", "/apis/v2beta1/recurringruns", v2(change));
    expect(answer.status).toBe(400);
    expect(answer.body.message).toContain(says);
    expect(f.state.recurringRuns).toEqual([]);
  });

  test("mode left out means disabled; times are kept to whole seconds", async () => {
    const { f, v2 } = await world();
    const trigger = { periodic_schedule: { interval_second: "3600", start_time: "2030-01-01T00:00:00.250Z" } };
    const created = await call(f, "POST", "/apis/v2beta1/recurringruns", v2({ mode: undefined, trigger }));
    expect(created.body.status).toBe("DISABLED");
    expect(created.body.trigger).toEqual({ periodic_schedule: { interval_second: "3600", start_time: "2030-01-01T00:00:00Z" } });
  });
});

describe("robfig/cron v1.2.0 as KFP parses crons", () => {
  test.each([
    ["0 0 2 * * *", undefined],
    ["0 2 * * *", undefined],
    ["@daily", undefined],
    ["@every 1h30m", undefined],
    ["0 0 9 ? * MON-FRI", undefined],
    ["*/5 * * * * *", undefined],
    ["0 0 2 * *  * *", "Expected 5 to 6 fields, found 7"],
    ["0 0 2 * * 7", "End of range (7) above maximum (6): 7"],
    ["@fortnightly", "Unrecognized descriptor"],
    ["0 0 2 * * mon-", "Failed to parse int from "],
    ["0 0 */0 * * *", "Step of range should be a positive number"],
  ])("%j: %j", (spec, problem) => {
    const found = robfigCronProblem(spec);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toContain(problem);
  });
});

describe("enable, disable, delete", () => {
  test("toggle on both APIs; a second delete is a 404", async () => {
    const { f, v2 } = await world();
    const id = (await call(f, "POST", "/apis/v2beta1/recurringruns", v2())).body.recurring_run_id;
    expect((await call(f, "POST", `/apis/v2beta1/recurringruns/${id}:disable`)).status).toBe(200);
    expect(f.state.recurringRuns[0]!.enabled).toBe(false);
    expect((await call(f, "POST", `/apis/v1beta1/jobs/${id}/enable`)).status).toBe(200);
    expect((await call(f, "GET", `/apis/v2beta1/recurringruns/${id}`)).body.status).toBe("ENABLED");
    expect((await call(f, "DELETE", `/apis/v2beta1/recurringruns/${id}`)).status).toBe(200);
    expect((await call(f, "DELETE", `/apis/v1beta1/jobs/${id}`)).status).toBe(404);
    expect((await call(f, "POST", `/apis/v2beta1/recurringruns/${id}:enable`)).status).toBe(404);
  });
});

describe("listing", () => {
  test("by experiment, filtered by name, in pages; the v2 list field is recurringRuns", async () => {
    const { f, experiment, v2 } = await world();
    for (const name of ["nightly", "hourly", "nightly"]) await call(f, "POST", "/apis/v2beta1/recurringruns", v2({ display_name: name }));
    const filter = encodeURIComponent(
      JSON.stringify({ predicates: [{ key: "display_name", operation: "EQUALS", string_value: "nightly" }] }),
    );
    const query = `experiment_id=${experiment.id}&filter=${encodeURIComponent(filter)}&page_size=1`;
    const first = await call(f, "GET", `/apis/v2beta1/recurringruns?${query}`);
    expect(first.body.recurringRuns).toHaveLength(1);
    expect(first.body.total_size).toBe(2);
    const second = await call(f, "GET", `/apis/v2beta1/recurringruns?${query}&page_token=${first.body.next_page_token}`);
    expect(second.body.recurringRuns).toHaveLength(1);
    expect(second.body.next_page_token).toBeUndefined();

    const v1Filter = encodeURIComponent(JSON.stringify({ predicates: [{ key: "name", op: "EQUALS", string_value: "hourly" }] }));
    const jobs = await call(
      f,
      "GET",
      `/apis/v1beta1/jobs?resource_reference_key.type=EXPERIMENT&resource_reference_key.id=${experiment.id}` +
        `&filter=${encodeURIComponent(v1Filter)}`,
    );
    expect(jobs.body.jobs.map((j: { name: string }) => j.name)).toEqual(["hourly"]);
  });

  test("multi-user: a list without namespace or experiment is refused", async () => {
    const f = await startFake({ api: "v2", multiUser: true }, { skipContract: true });
    fakes.push(f);
    const res = await fetch(`${f.url}/apis/v2beta1/recurringruns`, { headers: { "kubeflow-userid": "a@example.com" } });
    expect(res.status).toBe(400);
  });
});
