/**
 * What the Upload Pipeline task's tests share: the bundle built once per file,
 * a fake KFP with our token, and one call that runs the task against a fake
 * through the 2021 inputs or a service connection.
 */
import { beforeAll } from "bun:test";
import { join } from "node:path";
import { bundleTask } from "../../build.ts";
import { defaultVariables } from "../../lib/dev/agent/env.ts";
import type { FakeApi, FakeKfp, FakeKfpOptions, RecordedRequest } from "../../lib/dev/fake-kfp/types.ts";
import { REPO_ROOT, runTask, type ServiceConnection, type TaskRunResult } from "../harness.ts";
import { startFake } from "./fake.ts";

export const TOKEN = "kfp-upload-token-7c41e2";
export const PIPELINES = join(REPO_ROOT, "test", "fixtures", "pipelines");
const TASK_DIR = join(REPO_ROOT, "tasks", "upload-pipeline");

/** The version name the task derives from the emulated build: build number and short commit. */
export const BUILD_VERSION_NAME = (() => {
  const variables = defaultVariables("", "", "");
  return `${variables["build.buildNumber"]}-${variables["build.sourceVersion"]!.slice(0, 8)}`;
})();

/** Builds tasks/upload-pipeline/index.js before the file's tests run. */
export function useUploadTask(): void {
  beforeAll(async () => {
    await bundleTask(TASK_DIR);
  });
}

/** A fake KFP that requires our token (close it; close also checks the KFP API contract). */
export function fakeKfp(options: FakeKfpOptions = {}): Promise<FakeKfp> {
  return startFake({ token: TOKEN, ...options });
}

/** Runs `use` with a fresh fake KFP and closes it afterwards, however `use` ends. */
export async function withFake<T>(options: FakeKfpOptions, use: (kfp: FakeKfp) => Promise<T>): Promise<T> {
  const kfp = await fakeKfp(options);
  try {
    return await use(kfp);
  } finally {
    await kfp.close();
  }
}

/** The compiled package each API's tests upload. */
export function packageFor(api: FakeApi): string {
  return join(PIPELINES, api === "v1" ? "hello-v1.tar.gz" : "hello-v2.yaml");
}

/** The inputs of the step most tests run, mode uploadNew: `api`'s package (packageFor) as a new pipeline named `name`. */
export function uploadNew(name: string, api: FakeApi): Record<string, string> {
  return { kubeflowPipelineTask: "uploadNew", pipelineFilePath: packageFor(api), newPipelineName: name };
}

export type ConnectVia = "2021 inputs" | "service connection";

export interface UploadRunOptions {
  /** How the task reaches KFP; default the 2021 inputs. */
  via?: ConnectVia;
  /** The token given (default: the one the fake wants). */
  token?: string;
  variables?: Record<string, string>;
  /** Agent.TempDirectory shared with other steps of the same job. */
  jobTempDir?: string;
}

/** Runs the task against `kfp`, connected the way `via` says. */
export function uploadTask(
  kfp: Pick<FakeKfp, "url">,
  inputs: Record<string, string>,
  options: UploadRunOptions = {},
): Promise<TaskRunResult> {
  const { via = "2021 inputs", token = TOKEN, variables = {}, jobTempDir } = options;
  const connection: { inputs: Record<string, string>; connections: ServiceConnection[] } =
    via === "service connection"
      ? {
          inputs: { kfpConnection: "kfp-test" },
          // No token: a connection made with the None scheme ("no authentication").
          connections: [
            token
              ? { id: "kfp-test", url: kfp.url, scheme: "Token", parameters: { apitoken: token } }
              : { id: "kfp-test", url: kfp.url, scheme: "None" },
          ],
        }
      : { inputs: { kubeflowEndpoint: kfp.url, bearerToken: token }, connections: [] };
  return runTask({
    taskDir: TASK_DIR,
    inputs: { ...connection.inputs, ...inputs },
    connections: connection.connections,
    variables,
    jobTempDir,
    timeoutMs: 30_000,
  });
}

/** Requests the fake received since `since` (an earlier `kfp.requests.length`). */
export function newRequests(kfp: FakeKfp, since: number): RecordedRequest[] {
  return kfp.requests.slice(since);
}

/** `/apis/<version>/<rest>` as the fake records it. */
export function apiPath(api: FakeApi, rest: string): string {
  return `/apis/${api === "v1" ? "v1beta1" : "v2beta1"}/${rest}`;
}

/** Variables set both ways (plain, then isOutput), in the order the task set them. */
export function outputVariables(r: TaskRunResult): string[] {
  const names = [...new Set(r.variables.map((v) => v.name))];
  return names.filter((name) => {
    const modes = r.variables.filter((v) => v.name === name).map((v) => v.isOutput);
    return modes.includes(false) && modes.includes(true) && !r.variables.some((v) => v.name === name && v.isSecret);
  });
}
