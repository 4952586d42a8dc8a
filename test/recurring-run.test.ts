/**
 * The Kubeflow Recurring Run task, run from its bundle as the agent runs it,
 * against the fake KFP (both API versions): creating, keeping, replacing and
 * repairing the recurring run of a name, never two enabled at once, bad input,
 * dry run, outputs and summary.
 */
import { describe, expect, test } from "bun:test";
import type { FakeApi, FakeKfp } from "../lib/dev/fake-kfp/types.ts";
import { runTask, type TaskRunRequest } from "./harness.ts";
import { taskSuite } from "./support/task-suite.ts";
import { ownedByAgentTask } from "./support/owner.ts";
import { mostEnabledAtOnce, writeLog } from "./support/recurring.ts";

const TOKEN = "kfp-test-token-7a41c0";
const APIS: FakeApi[] = ["v1", "v2"];

const suite = taskSuite("recurring-run", TOKEN);
/** A fake with the `hello` pipeline (versions `v1.0` and, when asked, `v2.0`) compiled for its API. */
export const seeded = suite.seeded;

export function request(kfp: FakeKfp, inputs: Record<string, string> = {}): TaskRunRequest {
  return {
    taskDir: suite.dir,
    inputs: {
      kubeflowEndpoint: kfp.url,
      bearerToken: TOKEN,
      pipeline: "hello",
      experimentName: "schedules",
      recurringRunName: "nightly",
      schedule: "0 0 2 * * *",
      pipelineParams: "message=hi",
      ...inputs,
    },
    timeoutMs: 30_000,
  };
}

const run = (kfp: FakeKfp, inputs: Record<string, string> = {}) => runTask(request(kfp, inputs));

describe.each(APIS)("on KFP %s", (api) => {
  test(
    "creates the experiment and one enabled recurring run on the version, " + "with the schedule and parameters, and sets the outputs",
    async () => {
      const { kfp, versions } = await seeded(api);
      const r = await run(kfp, { maxConcurrency: "3", runServiceAccount: "ml-runner" });

      expect(r.result).toBe("Succeeded");
      const [rr, ...more] = kfp.state.recurringRuns;
      expect(more).toEqual([]);
      expect(rr).toMatchObject({
        name: "nightly",
        experimentId: kfp.state.experiments[0]!.id,
        versionId: versions[0]!.id,
        enabled: true,
        maxConcurrency: 3,
        noCatchup: true,
        serviceAccount: "ml-runner",
        trigger: { cron: "0 0 2 * * *" },
        parameters: { message: "hi" },
      });
      // Created enabled at once: nothing else of that name was there.
      expect(writeLog(kfp)).toEqual(["create"]);
      expect(r.outputs).toMatchObject({
        kf_recurring_run_id: rr!.id,
        kf_experiment_id: rr!.experimentId,
        kf_pipeline_version_id: versions[0]!.id,
      });
      for (const name of ["kf_recurring_run_id", "kf_experiment_id", "kf_pipeline_version_id"]) {
        expect(r.variables.filter((v) => v.name === name).map((v) => v.isOutput)).toEqual([false, true]);
      }
      expect(r.log).not.toContain(TOKEN);
    },
  );

  test("the same inputs again change nothing: no write, the same ID out", async () => {
    const { kfp } = await seeded(api);
    const first = await run(kfp);
    const writes = kfp.writes().length;
    const again = await run(kfp);

    expect(again.result).toBe("Succeeded");
    expect(kfp.writes()).toHaveLength(writes);
    expect(again.outputs.kf_recurring_run_id).toBe(first.outputs.kf_recurring_run_id!);
    expect(again.message).toContain("nothing changed");
  });

  test("a new version replaces the old schedule: created disabled, old disabled, new enabled, old deleted; never two enabled", async () => {
    const { kfp, versions } = await seeded(api, { versions: ["v1.0", "v2.0"] });
    await run(kfp, { pipelineVersion: "v1.0" });
    const old = kfp.state.recurringRuns[0]!;
    const before = kfp.writes().length;

    const r = await run(kfp, { pipelineVersion: "v2.0" });

    expect(r.result).toBe("Succeeded");
    const [now, ...more] = kfp.state.recurringRuns;
    expect(more).toEqual([]);
    expect(now).toMatchObject({ versionId: versions[1]!.id, enabled: true });
    expect(now!.id).not.toBe(old.id);
    expect(writeLog(kfp).slice(1)).toEqual(["create", `disable ${old.id}`, `enable ${now!.id}`, `delete ${old.id}`]);
    expect(kfp.writes().length - before).toBe(4);
    expect(mostEnabledAtOnce(kfp, before, [old.id])).toBe(1);
    expect(r.outputs.kf_recurring_run_id).toBe(now!.id);
    // Undeclared in task.json, so a real agent keeps the plain form as well as <step>.kf_recurring_run_id.
    expect(r.outputs["kfpStep.kf_recurring_run_id"]).toBe(now!.id);
    expect(r.stdout).toContain("differs in pipeline version");
  });

  test("an interval schedule, a changed schedule or parameters replace it; enabled: false leaves it disabled", async () => {
    const { kfp } = await seeded(api);
    await run(kfp, { schedule: "every 6h", startTime: "2030-01-01T00:00:00Z" });
    expect(kfp.state.recurringRuns[0]!.trigger).toEqual({ intervalSecond: 21600, startTime: "2030-01-01T00:00:00Z" });

    await run(kfp, { schedule: "every 6h", startTime: "2030-01-01T00:00:00Z", pipelineParams: "message=bye" });
    expect(kfp.state.recurringRuns.map((x) => x.parameters)).toEqual([{ message: "bye" }]);

    const r = await run(kfp, { schedule: "every 6h", startTime: "2030-01-01T00:00:00Z", pipelineParams: "message=bye", enabled: "false" });
    expect(r.result).toBe("Succeeded");
    // Only the state differs: the recurring run is kept and disabled in place.
    expect(writeLog(kfp).at(-1)).toBe(`disable ${kfp.state.recurringRuns[0]!.id}`);
    expect(kfp.state.recurringRuns.map((x) => x.enabled)).toEqual([false]);
  });

  test("a second run of the task repairs what a failed one left: two of the name, both enabled, become one", async () => {
    const { kfp } = await seeded(api, { versions: ["v1.0", "v2.0"] });
    await run(kfp, { pipelineVersion: "v1.0" });
    await run(kfp, { pipelineVersion: "v1.0", schedule: "0 30 2 * * *" });
    // Someone (or a task killed half way) made a second one of that name, enabled.
    kfp.state.recurringRuns.push({ ...kfp.state.recurringRuns[0]!, id: "stray", enabled: true, createdAt: new Date().toISOString() });
    const enabledBefore = kfp.state.recurringRuns.filter((x) => x.enabled).map((x) => x.id);
    const from = kfp.writes().length;

    const r = await run(kfp, { pipelineVersion: "v2.0" });

    expect(r.result).toBe("Succeeded");
    expect(kfp.state.recurringRuns).toHaveLength(1);
    expect(kfp.state.recurringRuns[0]!.enabled).toBe(true);
    // The strays are disabled before the new one is enabled: never more enabled than there were.
    expect(mostEnabledAtOnce(kfp, from, enabledBefore)).toBe(2);
  });

  test("a failure half way says what is done and what is left, and a re-run finishes the job", async () => {
    const { kfp, versions } = await seeded(api, { versions: ["v1.0", "v2.0"] });
    await run(kfp, { pipelineVersion: "v1.0" });
    const old = kfp.state.recurringRuns[0]!;
    const enable = api === "v2" ? /\/recurringruns\/[^/]+:enable$/ : /\/jobs\/[^/]+\/enable$/;
    kfp.fault({ method: "POST", path: enable, fault: { status: 403 }, times: Infinity });

    const failed = await run(kfp, { pipelineVersion: "v2.0" });

    expect(failed.result).toBe("Failed");
    const created = kfp.state.recurringRuns.find((x) => x.id !== old.id)!;
    expect(failed.message).toContain("half replaced");
    expect(failed.message).toContain(`Done: create 'nightly', disable recurring run ${old.id}.`);
    expect(failed.message).toContain(`Not done: enable recurring run ${created.id}, then delete recurring run ${old.id}.`);
    expect(failed.message).toContain("Run this task again");
    expect(kfp.state.recurringRuns.filter((x) => x.enabled)).toEqual([]);

    kfp.clearFaults();
    const again = await run(kfp, { pipelineVersion: "v2.0" });
    expect(again.result).toBe("Succeeded");
    expect(kfp.state.recurringRuns).toEqual([expect.objectContaining({ id: created.id, versionId: versions[1]!.id, enabled: true })]);
  });

  test("a create whose answer is lost is adopted by the task's owner marker: one recurring run, never two", async () => {
    const { kfp } = await seeded(api);
    kfp.fault({ method: "POST", path: /\/(jobs|recurringruns)$/, fault: { reset: "after-read" } });
    const r = await run(kfp);

    expect(r.result).toBe("Succeeded");
    const [created, ...more] = kfp.state.recurringRuns;
    expect(more).toEqual([]);
    expect(created!.description).toBe(ownedByAgentTask());
    expect(r.outputs.kf_recurring_run_id).toBe(created!.id);
    expect(kfp.writes().filter((w) => w.method === "POST" && /\/(jobs|recurringruns)$/.test(w.path))).toHaveLength(1);
  });

  test("dry run: reads, checks and logs the writes it would make, makes none", async () => {
    const { kfp } = await seeded(api);
    const r = await run(kfp, { dryRun: "true" });
    expect(r.result).toBe("Succeeded");
    expect(kfp.writes()).toEqual([]);
    expect(r.stdout).toMatch(/Dry run: would POST \/apis\/v\dbeta\d\/(jobs|recurringruns)/);
    expect(r.outputs.kf_recurring_run_id).toBeUndefined();
  });
});

describe("bad input fails with one message naming the input, before any write", () => {
  test.each([
    ["schedule", "0 2 * * *", "Put the seconds in front: '0 0 2 * * *'"],
    ["schedule", "every 2 weeks", "every <n>s|m|h|d"],
    ["schedule", "0 0 25 * * *", "field 3 (hours) '25'"],
    ["maxConcurrency", "11", "not one of: 1, 2, 3"],
    ["maxConcurrency", "0", "not one of: 1, 2, 3"],
    ["startTime", "tomorrow", "RFC 3339"],
    ["endTime", "2001-01-01T00:00:00Z", "in the past"],
    ["catchup", "yes", "true or false"],
    ["recurringRunName", "", "is empty"],
  ])("%s: %j", async (input, value, says) => {
    const { kfp } = await seeded("v2");
    const r = await run(kfp, { [input]: value });
    expect(r.result).toBe("Failed");
    expect(r.message).toStartWith(`Input '${input}':`);
    expect(r.message).toContain(says);
    expect(r.errors).toHaveLength(1);
    expect(kfp.requests).toEqual([]);
  });

  test("endTime not after startTime names endTime", async () => {
    const { kfp } = await seeded("v2");
    const r = await run(kfp, { startTime: "2031-01-02T00:00:00Z", endTime: "2031-01-01T00:00:00Z" });
    expect(r.result).toBe("Failed");
    expect(r.message).toStartWith("Input 'endTime': is not after startTime");
    expect(kfp.requests).toEqual([]);
  });

  test("parameters the pipeline does not declare name pipelineParams; nothing is written", async () => {
    const { kfp } = await seeded("v2");
    const r = await run(kfp, { pipelineParams: "nope=1" });
    expect(r.result).toBe("Failed");
    expect(r.message).toStartWith("Input 'pipelineParams':");
    expect(kfp.writes()).toEqual([]);
  });
});

test("a cron from a start time in the past, with catchup, warns that KFP will start a run for every missed time", async () => {
  const { kfp } = await seeded("v2");
  const r = await run(kfp, { startTime: "2020-01-01T00:00:00Z", catchup: "true" });
  expect(r.result).toBe("Succeeded");
  expect(r.warnings.some((w) => /startTime is in the past and catchup is true/.test(w))).toBe(true);
  expect(kfp.state.recurringRuns[0]).toMatchObject({ noCatchup: false, trigger: { startTime: "2020-01-01T00:00:00Z" } });
});

describe("the summary", () => {
  test("says the schedule in words, the next fire times, and links the recurring run, version and experiment", async () => {
    const { kfp } = await seeded("v2");
    const r = await run(kfp, { schedule: "0 0 9 * * mon-fri", pipelineParams: "message=hello there" });
    const summary = r.summaries[0]!.content;
    expect(summary).toContain("at 09:00:00 UTC, on Monday to Friday");
    expect(summary).toContain(`#/recurringrun/details/${r.outputs.kf_recurring_run_id}`);
    const times = [...summary.matchAll(/\d{4}-\d\d-\d\dT09:00:00Z/g)].map((m) => new Date(m[0]));
    expect(times).toHaveLength(5);
    for (const time of times) expect([1, 2, 3, 4, 5]).toContain(time.getUTCDay());
    for (const text of ["schedules", "hello", "v1.0", "Parameters (values on the run's page in KFP): message", "enabled"]) {
      expect(summary).toContain(text);
    }
    // A value may come from a secret variable, and the agent uploads summaries unmasked: names only.
    expect(summary).not.toContain("hello there");
  });
});

test("the summary names a secret parameter without its value (the agent uploads summaries unmasked)", async () => {
  const secret = "s3cr3t-param-9e4b";
  const { kfp } = await seeded("v2");
  const r = await runTask({ ...request(kfp, { pipelineParams: "message=$(apiKey)" }), secretVariables: { apiKey: secret } });
  expect(r.result).toBe("Succeeded");
  expect(kfp.state.recurringRuns[0]!.parameters).toMatchObject({ message: secret });
  expect(r.summaries[0]!.content).toContain("Parameters (values on the run's page in KFP): message");
  for (const [path, content] of Object.entries(r.files)) expect([path, content.includes(secret)]).toEqual([path, false]);
});
