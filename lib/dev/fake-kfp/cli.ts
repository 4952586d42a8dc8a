/**
 * Runs the fake KFP server on its own, for trying the tasks by hand:
 * `npm run fake-kfp -- --port 8888 [--api v1|v2] [--prefix /pipeline] [--token T]
 * [--multi-user] [--server-version 2.14.0] [--auto-ms 3000] [--seed name=file ...]`.
 * Runs advance by themselves (PENDING, RUNNING, SUCCEEDED, or the run parameter
 * `fake_end_state`). Prints the URL, then one line per request; Ctrl-C stops it.
 */

import { parseArgs } from "node:util";
import { startFakeKfp } from "./mod.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8888" },
    api: { type: "string", default: "v2" },
    prefix: { type: "string" },
    token: { type: "string" },
    "multi-user": { type: "boolean", default: false },
    "server-version": { type: "string" },
    "auto-ms": { type: "string" },
    seed: { type: "string", multiple: true },
  },
});

if (values.api !== "v1" && values.api !== "v2") throw new Error(`--api must be v1 or v2, got ${values.api}`);

const fake = await startFakeKfp({
  api: values.api,
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
  if (!name || !file) throw new Error(`--seed takes name=file, got ${seed}`);
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
