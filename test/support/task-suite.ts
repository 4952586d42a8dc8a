/**
 * What an agent task's own test file sets up around its tests: the task bundled
 * once before them, fakes that accept the suite's token, each closed after its
 * test (close() also checks every request against the official swagger), and
 * the `hello` pipeline seeded into one.
 */
import { afterEach, beforeAll } from "bun:test";
import { join } from "node:path";
import { bundleTask } from "../../build.ts";
import type { FakeApi, FakeKfp, FakeKfpOptions } from "../../lib/dev/fake-kfp/types.ts";
import { REPO_ROOT, taskDir } from "../harness.ts";
import { startFake } from "./fake.ts";

const PIPELINES = join(import.meta.dir, "..", "fixtures", "pipelines");

export function taskSuite(task: string, token: string) {
  const fakes: FakeKfp[] = [];
  const suite = {
    /** The bundled task's folder (set before the first test). */
    dir: "",
    /** A fake KFP that accepts the suite's token, closed after the test. */
    async fake(options: FakeKfpOptions = {}): Promise<FakeKfp> {
      const fake = await startFake({ token, ...options });
      fakes.push(fake);
      return fake;
    },
    /** A fake with the `hello` pipeline compiled for its API, with versions `v1.0` (or those named). */
    async seeded(api: FakeApi, options: FakeKfpOptions & { versions?: string[] } = {}) {
      const kfp = await suite.fake({ api, ...options });
      const file = join(PIPELINES, api === "v2" ? "hello-v2.yaml" : "hello-v1.yaml");
      const seeds = [];
      for (const versionName of options.versions ?? ["v1.0"]) seeds.push(await kfp.seedPipeline({ name: "hello", file, versionName }));
      return { kfp, pipeline: seeds[0]!.pipeline, version: seeds[0]!.version, versions: seeds.map((s) => s.version) };
    },
  };
  beforeAll(async () => {
    await bundleTask(join(REPO_ROOT, "tasks", task));
    suite.dir = taskDir(task);
  });
  afterEach(async () => {
    for (const fake of fakes.splice(0)) await fake.close();
  });
  return suite;
}
