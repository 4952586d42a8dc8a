/**
 * Checks a compiled pipeline package before it is uploaded, so a wrong path or
 * a wrong file fails with one clear message instead of a KFP 400: it must
 * exist, be a non-empty regular file of at most 32 MiB with a name KFP
 * understands, its first bytes must fit that name, and an archive must read to
 * its end (a cut-off download is caught here, not after an upload) within the
 * caps of lib/kfp/archive.ts (entries, unpacked size, ratio: a bomb fails fast).
 */

// Synchronous reads: node:fs is loaded anyway, the check has nothing to do meanwhile, and node:fs/promises took ~1.3 ms to load.
import { closeSync, openSync, readFileSync, readSync, statSync, type Stats } from "node:fs";
import { basename } from "node:path";
import { ArchiveError, readTarGzFile, readZipBytes } from "./archive.ts";
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

/** Loaded on first use: a task that fails on its inputs never needs it (require, not import(): see lib/net/transport.ts). */
const zlib = (): typeof import("node:zlib") => require("node:zlib");

const GZIP_MAGIC = [0x1f, 0x8b];
const ZIP_MAGIC = [0x50, 0x4b]; // "PK"

/**
 * `meanwhile` runs once while a .tar.gz is inflated on libuv's thread pool, so the caller can do
 * other start-up work (loading what connecting needs) on the otherwise idle main thread instead
 * of after. It does not run for a file that fails before that, nor for a .zip (inflated in one call).
 */
export async function checkPipelineFile(path: string, meanwhile?: () => void): Promise<PipelineFile> {
  if (path.trim() === "")
    throw new PipelineFileError(
      "missing",
      "No pipeline file was given. Give the path of the compiled pipeline (.yaml, .json, .zip or .tar.gz).",
    );
  let info: Stats;
  try {
    info = statSync(path);
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    const reason = code === "ENOENT" ? "does not exist" : `cannot be read (${code ?? message})`;
    throw new PipelineFileError(
      "missing",
      `Pipeline file '${path}' ${reason}. Check the path; relative paths start at the working directory.`,
      error,
    );
  }
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
  const head = readHead(path, 512);
  checkContent(path, extension.format, head);
  if (extension.format === "tar.gz" || extension.format === "zip") await checkArchive(path, extension.format, meanwhile);
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

/** An archive past the caps, damaged or empty (lib/kfp/archive.ts), as the file's problem. */
async function checkArchive(path: string, format: "tar.gz" | "zip", meanwhile?: () => void): Promise<void> {
  try {
    if (format === "tar.gz") {
      const reading = readTarGzFile(path);
      try {
        meanwhile?.();
      } finally {
        await reading;
      }
    } else readZipBytes(readFileSync(path), zlib().inflateRawSync, { keepFirstFile: false });
  } catch (error) {
    if (!(error instanceof ArchiveError)) throw error;
    const fix =
      error.problem === "damaged" || error.problem === "empty"
        ? "it may have been cut off or damaged. Compile it again, or check the step that produced or downloaded it."
        : "KFP reads one compiled pipeline file from it. Give the compiled pipeline (kfp dsl compile), not an archive of other files.";
    throw new PipelineFileError("content", `Pipeline file '${path}' ${error.message}: ${fix}`, error);
  }
}

function readHead(path: string, bytes: number): Uint8Array {
  const fd = openSync(path, "r");
  try {
    const buffer = new Uint8Array(bytes);
    return buffer.subarray(0, readSync(fd, buffer, 0, bytes, 0));
  } finally {
    closeSync(fd);
  }
}

function mebibytes(size: number): string {
  return `${(size / (1024 * 1024)).toFixed(1)} MiB (${size} bytes)`;
}
