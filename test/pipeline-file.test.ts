import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, mkdir, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KfpError } from "../lib/kfp/error.ts";
import { checkPipelineFile, MAX_PIPELINE_FILE_BYTES, PipelineFileError, type PipelineFileProblem } from "../lib/kfp/pipeline-file.ts";
import { readPipelinePackage } from "../lib/dev/fake-kfp/package.ts";
import { gzipSync } from "node:zlib";
import { tar, tarGzBomb, zip } from "./fixtures/pipelines/make.ts";

let dir: string;
const fixtures = join(import.meta.dir, "fixtures", "pipelines");

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pipeline-file-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, content: string | Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

async function problem(path: string): Promise<{ problem: PipelineFileProblem; message: string }> {
  try {
    await checkPipelineFile(path);
  } catch (error) {
    expect(error).toBeInstanceOf(PipelineFileError);
    expect(error).toBeInstanceOf(KfpError);
    expect((error as KfpError).kind).toBe("invalid");
    return { problem: (error as PipelineFileError).problem, message: (error as Error).message };
  }
  throw new Error(`expected ${path} to be rejected`);
}

describe("checkPipelineFile accepts", () => {
  // Each is sent under its own name: only .tgz and upper-case extensions are renamed (next test).
  test.each([
    ["hello-v2.yaml", "yaml"],
    ["hello-v2.json", "json"],
    ["hello-v2.zip", "zip"],
    ["hello-v2.tar.gz", "tar.gz"],
    ["hello-v1.yaml", "yaml"],
  ])("fixture %s", async (name, format) => {
    const checked = await checkPipelineFile(join(fixtures, name));
    expect(checked.format).toBe(format as never);
    expect(checked.uploadName).toBe(name);
    expect(checked.size).toBeGreaterThan(0);
  });

  test(".tgz is sent with a .tar.gz name, and upper-case extensions in lower case", async () => {
    const gz = await readFile(join(fixtures, "hello-v2.tar.gz"));
    expect((await checkPipelineFile(await file("pipe.tgz", gz))).uploadName).toBe("pipe.tar.gz");
    expect((await checkPipelineFile(await file("PIPE.TAR.GZ", gz))).uploadName).toBe("PIPE.tar.gz");
    expect((await checkPipelineFile(await file("Pipe.YML", "a: 1\n"))).uploadName).toBe("Pipe.yml");
  });

  test("a JSON spec may start with a byte-order mark and whitespace", async () => {
    expect((await checkPipelineFile(await file("bom.json", '\uFEFF\n  {"a":1}'))).format).toBe("json");
  });

  test("exactly 32 MiB is allowed", async () => {
    const content = Buffer.alloc(MAX_PIPELINE_FILE_BYTES, " ");
    content.write("a: 1\n");
    const path = await file("big.yaml", content);
    expect((await checkPipelineFile(path)).size).toBe(MAX_PIPELINE_FILE_BYTES);
  });
});

describe("checkPipelineFile rejects", () => {
  test("a missing file, naming it", async () => {
    const result = await problem(join(dir, "nope.yaml"));
    expect(result.problem).toBe("missing");
    expect(result.message).toContain("nope.yaml");
    expect(result.message).toContain("does not exist");
  });

  test("an empty path", async () => {
    expect((await problem("")).problem).toBe("missing");
  });

  test("a directory", async () => {
    await mkdir(join(dir, "folder.yaml"));
    const result = await problem(join(dir, "folder.yaml"));
    expect(result.problem).toBe("not-a-file");
    expect(result.message).toContain("directory");
  });

  test("an empty file", async () => {
    expect((await problem(await file("empty.yaml", ""))).problem).toBe("empty");
  });

  test("more than 32 MiB, saying the size", async () => {
    const path = join(dir, "huge.yaml");
    await writeFile(path, "a: 1\n");
    await truncate(path, MAX_PIPELINE_FILE_BYTES + 1);
    const result = await problem(path);
    expect(result.problem).toBe("too-large");
    expect(result.message).toContain("32 MiB");
    expect(result.message).toContain(String(MAX_PIPELINE_FILE_BYTES + 1));
  });

  test("an extension KFP does not accept", async () => {
    const result = await problem(await file("pipeline.py", "print()"));
    expect(result.problem).toBe("extension");
    expect(result.message).toContain(".tar.gz");
  });

  test("a .zip that is not a zip, a .tar.gz that is not gzip", async () => {
    expect((await problem(await file("fake.zip", "a: 1"))).message).toContain("'PK'");
    expect((await problem(await file("fake.tar.gz", "a: 1"))).problem).toBe("content");
    expect((await problem(await file("fake.tgz", "PK\x03\x04"))).message).toContain("gzip");
  });

  test("a cut-off archive, and a gzip file with no tar inside: damaged, read to the end before any upload", async () => {
    for (const name of ["hello-v2.tar.gz", "hello-v2.zip"]) {
      const bytes = await readFile(join(fixtures, name));
      const cut = await problem(await file(`cut-${name}`, bytes.subarray(0, bytes.length - 30)));
      expect(cut).toMatchObject({ problem: "content" });
      expect(cut.message).toContain("cut off or damaged");
    }
    const gzipOnly = await problem(await file("plain.tar.gz", Bun.gzipSync(Buffer.from("a: 1\n"))));
    expect(gzipOnly.message).toContain("holds no tar archive");
  });

  test("an archive named as YAML or JSON, telling the right extension", async () => {
    expect((await problem(await file("archive.yaml", new Uint8Array([0x1f, 0x8b, 8, 0])))).message).toContain("Rename it to .tar.gz");
    expect((await problem(await file("archive.json", "PK\x03\x04xx"))).message).toContain("Rename it to .zip");
    expect((await problem(await file("binary.yml", new Uint8Array([0x61, 0, 0x62])))).message).toContain("binary");
    expect((await problem(await file("list.json", "[1,2]"))).message).toContain("'{'");
  });
});

describe("checkPipelineFile's meanwhile (other start-up work overlapping an archive's inflate)", () => {
  /** Checks `path`, recording whether `meanwhile` ran and whether the check had already ended when it did. */
  async function checkWithMeanwhile(path: string): Promise<{ calls: number; ranBeforeTheEnd: boolean; outcome: unknown }> {
    let calls = 0;
    let ended = false;
    let ranBeforeTheEnd = false;
    const outcome = await checkPipelineFile(path, () => {
      calls++;
      ranBeforeTheEnd = !ended;
    })
      .then((checked) => checked.format)
      .catch((error: unknown) => error)
      .finally(() => {
        ended = true;
      });
    return { calls, ranBeforeTheEnd, outcome };
  }

  test("runs once while a .tar.gz is read, before the check ends", async () => {
    expect(await checkWithMeanwhile(join(fixtures, "hello-v2.tar.gz"))).toEqual({ calls: 1, ranBeforeTheEnd: true, outcome: "tar.gz" });
  });

  test("runs for a damaged .tar.gz too, and the archive's problem is still the error", async () => {
    const bytes = await readFile(join(fixtures, "hello-v2.tar.gz"));
    const result = await checkWithMeanwhile(await file("cut-meanwhile.tar.gz", bytes.subarray(0, bytes.length - 30)));
    expect(result.calls).toBe(1);
    expect(result.outcome).toBeInstanceOf(PipelineFileError);
    expect((result.outcome as PipelineFileError).message).toContain("cut off or damaged");
  });

  test("does not run for a file with nothing to inflate, nor for one that fails its first checks", async () => {
    for (const path of [join(fixtures, "hello-v2.yaml"), join(fixtures, "hello-v2.zip"), join(dir, "missing.tar.gz")]) {
      expect((await checkWithMeanwhile(path)).calls).toBe(0);
    }
  });
});

describe("archive caps (lib/kfp/archive.ts, shared with the fake KFP)", () => {
  const yaml = (n: number) => ({ name: `pipeline-${n}.yaml`, data: Buffer.from(`a: ${n}\n`) });

  test("a 32 MiB .tar.gz bomb fails on its ratio after a few MiB, not after unpacking 32 GiB", async () => {
    const bomb = tarGzBomb(32 * 1024 * 1024);
    expect(bomb.length).toBeGreaterThan(31 * 1024 * 1024);
    const result = await problem(await file("bomb.tar.gz", bomb));
    expect(result.problem).toBe("content");
    expect(result.message).toContain("unpacks to more than 200 times its packed size");
    expect(result.message).toContain("bomb.tar.gz");
  });

  test("more than 1000 entries fail, in a .tar.gz and in a .zip", async () => {
    const entries = Array.from({ length: 1001 }, (_, n) => yaml(n));
    for (const path of [await file("many.tar.gz", gzipSync(tar(entries))), await file("many.zip", zip(entries))]) {
      expect((await problem(path)).message).toContain("holds more than 1000 entries");
    }
  });

  test("a zip declaring more than it can hold fails on its declared sizes, before anything is inflated", async () => {
    const archive = zip([yaml(1)], 0);
    const central = archive.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    archive.writeUInt32LE(0xf0000000, central + 24); // uncompressed size: 3.75 GiB
    const result = await problem(await file("liar.zip", archive));
    expect(result.message).toMatch(/unpacks to more than (200 times its packed size|128 MiB)/);
  });

  test("the fake KFP reads archives through the same reader: a bomb is refused as KFP-style invalid input", () => {
    expect(() => readPipelinePackage("bomb.tar.gz", tarGzBomb(4 * 1024 * 1024))).toThrow(
      /Error extracting pipeline from the tarball file\. Not a valid tarball file: the archive unpacks to more than (200 times|128 MiB)/,
    );
  });
});
