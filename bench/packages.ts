/**
 * Pipeline packages of a given size for the upload benchmarks: the KFP v2
 * sample pipeline from the test fixtures, padded with a YAML comment to the
 * exact byte count, so KFP (and the fake, which reads every package it
 * receives) accepts it and the bytes on the wire are the size asked for; or
 * the same in a .tar.gz, padded with random text so that the archive (what
 * the task checks by decompressing it, and sends) is about the size asked for.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join, resolve } from "node:path";
import { tar } from "../test/fixtures/pipelines/make.ts";

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

/** Writes `<dir>/<name>.tar.gz`, the sample pipeline with a comment of random text, within 1% of `bytes`; returns its path. */
export function writePaddedTarGz(dir: string, name: string, bytes: number): string {
  const spec = readFileSync(SAMPLE_PIPELINE, "utf8").replace(/\n*$/, "\n");
  const archive = (paddingChars: number) => {
    // Base64 compresses to about 3/4: random, so gzip cannot shrink it further.
    const padding = randomBytes(Math.ceil((paddingChars * 3) / 4))
      .toString("base64")
      .slice(0, paddingChars);
    return gzipSync(tar([{ name: "pipeline.yaml", data: Buffer.from(`${spec}# padding:${padding}\n`) }]));
  };
  let chars = Math.round((bytes * 4) / 3);
  let gz = archive(chars);
  for (let attempt = 0; attempt < 5 && Math.abs(gz.length - bytes) > bytes / 100; attempt++) {
    chars = Math.max(0, Math.round((chars * bytes) / gz.length));
    gz = archive(chars);
  }
  const file = join(dir, `${name}.tar.gz`);
  writeFileSync(file, gz);
  return file;
}
