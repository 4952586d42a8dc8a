/**
 * Checks a compiled pipeline package before it is uploaded, so a wrong path or
 * a wrong file fails with one clear message instead of a KFP 400: it must
 * exist, be a non-empty regular file of at most 32 MiB with a name KFP
 * understands, its first bytes must fit that name, and an archive must read to
 * its end (a cut-off download is caught here, not after an upload).
 */

import { createReadStream } from "node:fs";
import { basename } from "node:path";
import { KfpError } from "./error.ts";

/** KFP's `common.MaxFileLength` (32 << 20). */
export const MAX_PIPELINE_FILE_BYTES = 32 * 1024 * 1024;

type PipelineFormat = "tar.gz" | "zip" | "yaml" | "json";

export interface PipelineFile {
  /** The path as given. */
  path: string;
  size: number;
  format: PipelineFormat;
  /** The multipart filename: the file's name with a lower-case extension KFP recognises (`.tgz` becomes `.tar.gz`). */
  uploadName: string;
}

export type PipelineFileProblem = "missing" | "not-a-file" | "empty" | "too-large" | "extension" | "content";

export class PipelineFileError extends KfpError {
  readonly problem: PipelineFileProblem;
  constructor(problem: PipelineFileProblem, message: string, cause?: unknown) {
    super({ kind: "invalid", operation: "check pipeline file", message, cause });
    this.problem = problem;
  }
}

const EXTENSIONS: { suffix: string; format: PipelineFormat; sendAs: string }[] = [
  { suffix: ".tar.gz", format: "tar.gz", sendAs: ".tar.gz" },
  { suffix: ".tgz", format: "tar.gz", sendAs: ".tar.gz" },
  { suffix: ".zip", format: "zip", sendAs: ".zip" },
  { suffix: ".yaml", format: "yaml", sendAs: ".yaml" },
  { suffix: ".yml", format: "yaml", sendAs: ".yml" },
  { suffix: ".json", format: "json", sendAs: ".json" },
];

/** node:fs/promises loads on first use: a task that fails on its inputs never needs it. */
const fsPromises = () => import("node:fs/promises");

const GZIP_MAGIC = [0x1f, 0x8b];
const ZIP_MAGIC = [0x50, 0x4b]; // "PK"

export async function checkPipelineFile(path: string): Promise<PipelineFile> {
  if (path.trim() === "")
    throw new PipelineFileError(
      "missing",
      "No pipeline file was given. Give the path of the compiled pipeline (.yaml, .json, .zip or .tar.gz).",
    );
  const { stat } = await fsPromises();
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    const reason = error.code === "ENOENT" ? "does not exist" : `cannot be read (${error.code ?? error.message})`;
    throw new PipelineFileError(
      "missing",
      `Pipeline file '${path}' ${reason}. Check the path; relative paths start at the working directory.`,
      error,
    );
  });
  if (!info.isFile()) {
    const what = info.isDirectory() ? "a directory" : "not a regular file";
    throw new PipelineFileError("not-a-file", `Pipeline file '${path}' is ${what}. Give the path of the compiled pipeline file itself.`);
  }
  if (info.size === 0)
    throw new PipelineFileError(
      "empty",
      `Pipeline file '${path}' is empty (0 bytes). Check that the pipeline was compiled before this step.`,
    );
  if (info.size > MAX_PIPELINE_FILE_BYTES) {
    throw new PipelineFileError(
      "too-large",
      `Pipeline file '${path}' is ${mebibytes(info.size)}; KFP accepts at most 32 MiB. Keep large data out of the pipeline package.`,
    );
  }
  const name = basename(path);
  const extension = EXTENSIONS.find((e) => name.toLowerCase().endsWith(e.suffix));
  if (!extension) {
    throw new PipelineFileError(
      "extension",
      `Pipeline file '${path}' has an extension KFP does not accept. Use .yaml, .yml, .json, .zip, .tar.gz or .tgz.`,
    );
  }
  const head = await readHead(path, 512);
  checkContent(path, extension.format, head);
  if (extension.format === "tar.gz") await checkTarGz(path);
  if (extension.format === "zip") await checkZip(path, info.size);
  const stem = name.slice(0, name.length - extension.suffix.length) || "pipeline";
  return { path, size: info.size, format: extension.format, uploadName: stem + extension.sendAs };
}

function checkContent(path: string, format: PipelineFormat, head: Uint8Array): void {
  const starts = (magic: number[]) => magic.every((byte, i) => head[i] === byte);
  const wrong = (what: string, fix: string) => {
    throw new PipelineFileError("content", `Pipeline file '${path}' is named as ${format} but ${what}. ${fix}`);
  };
  if (format === "zip" && !starts(ZIP_MAGIC))
    wrong("is not a zip archive (it does not start with 'PK')", "Give a real zip archive, or name the file after its real format.");
  if (format === "tar.gz" && !starts(GZIP_MAGIC))
    wrong("is not gzip-compressed", "Give a real .tar.gz archive, or name the file after its real format.");
  if (format === "yaml" || format === "json") {
    if (starts(GZIP_MAGIC)) wrong("is a gzip archive", "Rename it to .tar.gz.");
    if (starts(ZIP_MAGIC)) wrong("is a zip archive", "Rename it to .zip.");
    if (head.includes(0)) wrong("contains binary data", "Give the compiled pipeline as text.");
  }
  if (format === "json") {
    const text = new TextDecoder()
      .decode(head)
      .replace(/^\uFEFF/, "")
      .trimStart();
    if (!text.startsWith("{")) wrong("does not start with '{'", "A JSON pipeline spec is one JSON object.");
  }
}

function damaged(path: string, what: string): PipelineFileError {
  return new PipelineFileError(
    "content",
    `Pipeline file '${path}' ${what}: it may have been cut off or damaged. Compile it again, or check the step that produced or downloaded it.`,
  );
}

/** Decompresses the whole file (KFP reads the first file of the tar inside), keeping only the first tar header. */
async function checkTarGz(path: string): Promise<void> {
  let header = Buffer.alloc(0);
  // Loaded here, not at start: only archives need them.
  const [{ Writable }, { pipeline }, { createGunzip }] = await Promise.all([
    import("node:stream"),
    import("node:stream/promises"),
    import("node:zlib"),
  ]);
  const firstBlock = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (header.length < TAR_BLOCK) header = Buffer.concat([header, chunk]).subarray(0, TAR_BLOCK);
      done();
    },
  });
  try {
    await pipeline(createReadStream(path), createGunzip(), firstBlock);
  } catch (error) {
    throw damaged(path, `is not a complete gzip archive (${(error as Error).message})`);
  }
  if (!isTarHeader(header)) throw damaged(path, "is gzip-compressed but holds no tar archive");
}

const TAR_BLOCK = 512;

/** A tar header block: a name, and the checksum over the block (its own field counted as spaces) matches. */
function isTarHeader(block: Buffer): boolean {
  if (block.length < TAR_BLOCK || block[0] === 0) return false;
  const recorded = parseInt(
    block
      .subarray(148, 156)
      .toString("latin1")
      .replace(/[\0 ]+$/, "")
      .trim(),
    8,
  );
  let sum = 0;
  for (let i = 0; i < TAR_BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return recorded === sum;
}

/** A zip ends with its central directory; a cut-off file has none. */
async function checkZip(path: string, size: number): Promise<void> {
  // The end record is 22 bytes plus a comment of up to 64 KiB.
  const tailSize = Math.min(size, 22 + 0xffff);
  const { open } = await fsPromises();
  const handle = await open(path, "r");
  const tail = Buffer.alloc(tailSize);
  try {
    await handle.read(tail, 0, tailSize, size - tailSize);
  } finally {
    await handle.close();
  }
  const end = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0 || end + 22 > tail.length) throw damaged(path, "is not a complete zip archive (its central directory is missing)");
  if (tail.readUInt16LE(end + 10) === 0) throw damaged(path, "is an empty zip archive");
}

async function readHead(path: string, bytes: number): Promise<Uint8Array> {
  const { open } = await fsPromises();
  const handle = await open(path, "r");
  try {
    const buffer = new Uint8Array(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function mebibytes(size: number): string {
  return `${(size / (1024 * 1024)).toFixed(1)} MiB (${size} bytes)`;
}
