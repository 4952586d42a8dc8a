/**
 * Runs the fake KFP server on its own, for trying the tasks by hand:
 * `npm run fake-kfp -- --port 8888 [--api v1|v2] [--prefix /pipeline] [--token T]
 * [--multi-user] [--server-version 2.14.0] [--auto-ms 3000] [--seed name=file ...]`.
 * Runs advance by themselves (PENDING, RUNNING, SUCCEEDED, or the run parameter
 * `fake_end_state`). Prints the URL, then one line per request; Ctrl-C stops it.
 */

import { parseArgs } from "node:util";
import { startFakeKfp } from "./mod.ts";

const USAGE = `usage: npm run fake-kfp -- [options]

  --port N               port on 127.0.0.1 (default 8888; 0 picks a free one)
  --api v1|v2            v1 is KFP 1.8 (v1beta1 only), v2 is KFP 2.x (default v2)
  --prefix /pipeline     serve the API under a path prefix, as Kubeflow's dashboard route does
  --token T              require Authorization: Bearer T
  --multi-user           multi-user mode: namespaced experiments and runs
  --server-version V     the version /apis/v2beta1/healthz reports (e.g. 2.14.0)
  --auto-ms MS           how long an auto run takes to end (default a few seconds)
  --seed name=file       a pipeline the fake holds from the start (repeatable)

Runs end SUCCEEDED by themselves (or in the state named by a run parameter fake_end_state). Ctrl-C stops it.`;

/** A usage mistake: said on stderr with the usage, exit code 2 (as npm run task does). */
function usageError(message: string): never {
  console.error(`npm run fake-kfp: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function readArgs() {
  try {
    return parseArgs({
      options: {
        port: { type: "string", default: "8888" },
        api: { type: "string", default: "v2" },
        prefix: { type: "string" },
        token: { type: "string" },
        "multi-user": { type: "boolean", default: false },
        "server-version": { type: "string" },
        "auto-ms": { type: "string" },
        seed: { type: "string", multiple: true },
        help: { type: "boolean", short: "h", default: false },
      },
    }).values;
  } catch (error) {
    return usageError((error as Error).message);
  }
}

const values = readArgs();
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (values.api !== "v1" && values.api !== "v2") usageError(`--api must be v1 or v2, got ${values.api}`);
if (!/^\d+$/.test(values.port)) usageError(`--port must be a number, got ${values.port}`);
if (values["auto-ms"] !== undefined && !/^\d+$/.test(values["auto-ms"])) usageError(`--auto-ms must be a number, got ${values["auto-ms"]}`);

const fake = await startFakeKfp({
  api: values.api as "v1" | "v2",
  port: Number(values.port),
  prefix: values.prefix,
  token: values.token,
  multiUser: values["multi-user"],
  serverVersion: values["server-version"],
  runs: "auto",
  autoMs: values["auto-ms"] ? Number(values["auto-ms"]) : undefined,
});

for (const seed of values.seed ?? []) {
  const [name, file] = seed.split("=");
  if (!name || !file) usageError(`--seed takes name=file, got ${seed}`);
  const { pipeline, version } = await fake.seedPipeline({ name, file });
  console.log(`seeded pipeline ${name}: ${pipeline.id} (version ${version.id})`);
}

console.log(fake.url);

// Log requests as they are answered, without credentials (the fake redacts them when recording).
let logged = 0;
setInterval(() => {
  for (; logged < fake.requests.length; logged++) {
    const r = fake.requests[logged]!;
    if (r.status === 0 && !r.fault) break; // still being answered
    console.log(`${r.method} ${r.path} ${r.status || "(no answer)"}${r.fault ? " [fault]" : ""}`);
  }
}, 200);

process.on("SIGINT", () => void fake.close().then(() => process.exit(0)));
process.on("SIGTERM", () => void fake.close().then(() => process.exit(0)));
