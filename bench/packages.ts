/**
 * Pipeline packages of a given size for the upload benchmarks: the KFP v2
 * sample pipeline from the test fixtures, padded with a YAML comment to the
 * exact byte count, so KFP (and the fake, which reads every package it
 * receives) accepts it and the bytes on the wire are the size asked for.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const SAMPLE_PIPELINE = resolve(import.meta.dir, "..", "test", "fixtures", "pipelines", "hello-v2.yaml");

export const MiB = 1024 * 1024;

/** Writes `<dir>/<name>.yaml` of exactly `bytes` bytes and returns its path. */
export function writePaddedPipeline(dir: string, name: string, bytes: number): string {
  const spec = readFileSync(SAMPLE_PIPELINE, "utf8").replace(/\n*$/, "\n");
  const header = "# padding:";
  const room = bytes - Buffer.byteLength(spec) - header.length - 1;
  if (room < 0) throw new Error(`a pipeline package cannot be smaller than the sample (${Buffer.byteLength(spec)} bytes)`);
  // One long comment line: YAML parsers skip it without building anything.
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `${spec}${header}${"x".repeat(room)}\n`);
  return file;
}
