/**
 * Reads pipeline packages packed as .tar.gz/.tgz or .zip, with caps on the
 * number of entries, the total uncompressed size and the compression ratio, so
 * a damaged archive or a decompression bomb fails fast and clearly instead of
 * being inflated in full. KFP itself reads only the first file of the archive
 * (backend/src/apiserver/server/util.go, DecompressPipelineTarball and
 * DecompressPipelineZip); the rest is read here only to find the end intact.
 *
 * The pipeline-file check streams a .tar.gz from disk; the fake KFP reads the
 * bytes it was sent. Both go through the same tar and zip readers.
 */
import { closeSync, openSync, readSync } from "node:fs";

export interface ArchiveLimits {
  /** Files, directories and links together. */
  maxEntries: number;
  /** All entries together, uncompressed. */
  maxBytes: number;
  /** Uncompressed bytes per compressed byte, checked once past `ratioFloorBytes`. */
  maxRatio: number;
  ratioFloorBytes: number;
}

/**
 * A compiled pipeline is one YAML file of a few MiB that compresses about 10:1:
 * these caps are far above that and far below what hurts an agent.
 */
export const ARCHIVE_LIMITS: ArchiveLimits = {
  maxEntries: 1000,
  maxBytes: 128 * 1024 * 1024,
  maxRatio: 200,
  ratioFloorBytes: 1024 * 1024,
};

export type ArchiveProblem = "damaged" | "empty" | "entries" | "size" | "ratio";

/** Why an archive cannot be used; `message` is a phrase that follows "the archive ...". */
export class ArchiveError extends Error {
  override name = "ArchiveError";
  constructor(
    readonly problem: ArchiveProblem,
    message: string,
  ) {
    super(message);
  }
}

export interface ArchiveFile {
  name: string;
  data: Uint8Array;
}

export interface ArchiveContents {
  entries: number;
  uncompressedBytes: number;
  /** The first regular file, when kept (`keepFirstFile`); else only its name. */
  first?: { name: string; data?: Uint8Array };
}

// --- tar ---

const BLOCK = 512;

/**
 * A tar stream read as it comes, in chunks of any size: counts entries and
 * bytes against the caps and keeps the first regular file's name (and data).
 */
class TarReader {
  private header = Buffer.alloc(0);
  /** Bytes of the current entry's data (and padding) still to pass. */
  private skip = 0;
  /** Data bytes of the current entry still to keep. */
  private keep = 0;
  private kept: Buffer[] = [];
  private longName: string | undefined;
  private longNameData: Buffer[] | undefined;
  private ended = false;
  entries = 0;
  uncompressedBytes = 0;
  first?: { name: string; data?: Uint8Array };

  constructor(
    private readonly limits: ArchiveLimits,
    private readonly keepFirstFile: boolean,
    /** Compressed bytes read so far, for the ratio. */
    private readonly compressedBytes: () => number,
  ) {}

  push(chunk: Buffer): void {
    this.uncompressedBytes += chunk.length;
    checkGrowth(this.uncompressedBytes, this.compressedBytes(), this.limits);
    let at = 0;
    while (at < chunk.length && !this.ended) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - at);
        const part = chunk.subarray(at, at + n);
        if (this.keep > 0) {
          const k = part.subarray(0, this.keep);
          (this.longNameData ?? this.kept).push(k);
          this.keep -= k.length;
          if (this.keep === 0) this.finishKept();
        }
        this.skip -= n;
        at += n;
        continue;
      }
      const need = BLOCK - this.header.length;
      this.header = Buffer.concat([this.header, chunk.subarray(at, at + need)]);
      at += Math.min(need, chunk.length - at);
      if (this.header.length === BLOCK) this.readHeader(this.header);
    }
  }

  /** The stream ended: it must have held at least one file and a whole last entry. */
  end(): ArchiveContents {
    if (this.entries === 0) throw damaged("is gzip-compressed but holds no tar archive");
    if (!this.ended && (this.skip > 0 || this.header.length > 0)) throw damaged("ends in the middle of an entry");
    if (!this.first) throw new ArchiveError("empty", "holds no file");
    return { entries: this.entries, uncompressedBytes: this.uncompressedBytes, first: this.first };
  }

  private readHeader(block: Buffer): void {
    this.header = Buffer.alloc(0);
    if (block.every((b) => b === 0)) {
      // End of archive (two zero blocks); what follows is padding.
      this.ended = this.entries > 0;
      if (!this.ended) throw new ArchiveError("empty", "holds no tar archive");
      return;
    }
    if (!checksumMatches(block)) throw damaged(this.entries === 0 ? "holds no tar archive" : "has a damaged tar header");
    if (++this.entries > this.limits.maxEntries) {
      throw new ArchiveError("entries", `holds more than ${this.limits.maxEntries} entries; a pipeline package holds one file`);
    }
    const text = (from: number, length: number) =>
      block
        .subarray(from, from + length)
        .toString("utf8")
        .replace(/\0.*$/s, "");
    const size = parseInt(text(124, 12).trim() || "0", 8);
    if (!Number.isFinite(size) || size < 0) throw damaged("has a damaged tar header");
    const type = String.fromCharCode(block[156] ?? 0);
    const prefix = text(345, 155);
    const name = this.longName ?? (prefix ? `${prefix}/${text(0, 100)}` : text(0, 100));
    this.skip = Math.ceil(size / BLOCK) * BLOCK;
    if (type === "L") {
      // GNU long name: the next entry's name is this entry's data.
      this.longNameData = [];
      this.keep = size;
      if (size === 0) this.finishKept();
      return;
    }
    this.longName = undefined;
    if ((type === "0" || type === "\0") && !this.first) {
      this.first = { name };
      if (this.keepFirstFile) {
        this.keep = size;
        if (size === 0) this.finishKept();
      }
    }
  }

  private finishKept(): void {
    if (this.longNameData) {
      this.longName = Buffer.concat(this.longNameData).toString("utf8").replace(/\0.*$/s, "");
      this.longNameData = undefined;
      return;
    }
    if (this.first) this.first.data = new Uint8Array(Buffer.concat(this.kept));
    this.kept = [];
  }
}

/** A header's checksum: the sum of its bytes with the checksum field counted as spaces. */
function checksumMatches(block: Buffer): boolean {
  const recorded = parseInt(
    block
      .subarray(148, 156)
      .toString("latin1")
      .replace(/[\0 ]+$/, "")
      .trim(),
    8,
  );
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return recorded === sum;
}

function checkGrowth(uncompressed: number, compressed: number, limits: ArchiveLimits): void {
  if (uncompressed > limits.maxBytes) {
    throw new ArchiveError("size", `unpacks to more than ${mib(limits.maxBytes)}; a compiled pipeline is a few MiB`);
  }
  if (uncompressed > limits.ratioFloorBytes && uncompressed > Math.max(compressed, 1) * limits.maxRatio) {
    throw new ArchiveError(
      "ratio",
      `unpacks to more than ${limits.maxRatio} times its packed size (a decompression bomb, or not a pipeline package)`,
    );
  }
}

/**
 * Sizes for reading a .tar.gz from disk. Each inflated chunk is a trip to
 * libuv's thread pool and back; the file is read synchronously, a slice at a
 * time, since the check has nothing else to do meanwhile (Node's read stream
 * and stream pipeline cost ~6 ms more for the bench's 1 MiB archive, ~16 ms
 * against ~10 ms). At most one slice waits while one is inflated: about
 * 3 MiB held at a time, whatever the archive's size.
 */
const READ_SLICE_BYTES = 1024 * 1024;
const INFLATE_CHUNK_BYTES = 1024 * 1024;

/**
 * A .tar.gz on disk, decompressed as it is read (never whole in memory), within
 * the caps. The ratio is checked against the compressed bytes zlib has consumed
 * (`bytesWritten`), not against what was read ahead, so a bomb fails on its
 * ratio a chunk past `ratioFloorBytes`, however large the slices.
 */
export async function readTarGzFile(path: string, limits: ArchiveLimits = ARCHIVE_LIMITS): Promise<ArchiveContents> {
  // require, not import(): a dynamic import starts Node's ESM loader (see lib/net/transport.ts).
  const { createGunzip }: typeof import("node:zlib") = require("node:zlib");
  const gunzip = createGunzip({ chunkSize: INFLATE_CHUNK_BYTES });
  const tar = new TarReader(limits, false, () => gunzip.bytesWritten);
  const inflated = new Promise<void>((resolve, reject) => {
    gunzip.on("data", (chunk: Buffer) => {
      try {
        tar.push(chunk);
      } catch (error) {
        gunzip.destroy();
        reject(error);
      }
    });
    gunzip.on("end", resolve);
    gunzip.on("error", (error) => reject(damaged(`is not a complete gzip archive (${error.message})`)));
  });
  const fd = readable(() => openSync(path, "r"));
  try {
    for (;;) {
      const slice = Buffer.allocUnsafe(READ_SLICE_BYTES);
      const read = readable(() => readSync(fd, slice, 0, slice.length, null));
      if (read === 0 || gunzip.destroyed) break;
      // Wait for zlib to take the slice; an error or a refused chunk ends the wait (and the read).
      if (!gunzip.write(slice.subarray(0, read))) await Promise.race([once(gunzip, "drain"), inflated]);
    }
  } finally {
    closeSync(fd);
  }
  gunzip.end();
  await inflated;
  return tar.end();
}

/** What `io` returns; a file system error as the archive's problem (it cannot be read to its end). */
function readable<T>(io: () => T): T {
  try {
    return io();
  } catch (error) {
    throw damaged(`cannot be read to its end (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

/** Resolves on the emitter's next `event`. */
function once(emitter: NodeJS.EventEmitter, event: string): Promise<void> {
  return new Promise((resolve) => emitter.once(event, () => resolve()));
}

/** A .tar.gz in memory, within the caps; keeps the first file's data. */
export function readTarGzBytes(bytes: Uint8Array, gunzipSync: GunzipSync, limits: ArchiveLimits = ARCHIVE_LIMITS): ArchiveContents {
  const tar = inflateWithin(gunzipSync, bytes, bytes.length, limits, "is not a complete gzip archive");
  const reader = new TarReader(limits, true, () => bytes.length);
  reader.push(tar);
  return reader.end();
}

/** zlib's gunzipSync or inflateRawSync, passed in so this module loads node:zlib only when an archive is read. */
type GunzipSync = (data: Uint8Array, options: { maxOutputLength: number }) => Buffer;

/**
 * Inflates `input` in one call, stopping past the caps for an archive of `packedBytes` (a bomb fails on
 * its ratio or its size); any other failure is the archive's damage, `what (zlib's reason)`.
 */
function inflateWithin(inflate: GunzipSync, input: Uint8Array, packedBytes: number, limits: ArchiveLimits, what: string): Buffer {
  const cap = Math.min(limits.maxBytes, Math.max(limits.ratioFloorBytes, packedBytes * limits.maxRatio));
  try {
    return inflate(input, { maxOutputLength: cap + 1 });
  } catch (error) {
    if ((error as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") checkGrowth(cap + 1, packedBytes, limits);
    throw damaged(`${what} (${(error as Error).message})`);
  }
}

// --- zip ---

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated. */
  method: number;
  compressedSize: number;
  /** As declared: only inflating tells the truth. */
  size: number;
  localOffset: number;
}

/** The entries of a zip's central directory, in order (directories end with "/"). */
export function zipEntries(bytes: Uint8Array): ZipEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw damaged("is not a complete zip archive (its central directory is missing)");
  const count = view.getUint16(eocd + 10, true);
  let at = view.getUint32(eocd + 16, true);
  const entries: ZipEntry[] = [];
  for (let n = 0; n < count; n++) {
    if (at + 46 > bytes.length || view.getUint32(at, true) !== CENTRAL) throw damaged("has a broken central directory");
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    entries.push({
      name: new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength)),
      method: view.getUint16(at + 10, true),
      compressedSize: view.getUint32(at + 20, true),
      size: view.getUint32(at + 24, true),
      localOffset: view.getUint32(at + 42, true),
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/**
 * A zip in memory: entry count and declared sizes against the caps, then the
 * first file found intact and, when kept, inflated within the caps whatever its
 * header declares.
 */
export function readZipBytes(
  bytes: Uint8Array,
  inflateRawSync: GunzipSync,
  options: { keepFirstFile: boolean },
  limits: ArchiveLimits = ARCHIVE_LIMITS,
): ArchiveContents {
  const entries = zipEntries(bytes);
  if (entries.length === 0) throw new ArchiveError("empty", "is an empty zip archive");
  if (entries.length > limits.maxEntries) {
    throw new ArchiveError("entries", `holds more than ${limits.maxEntries} entries; a pipeline package holds one file`);
  }
  let declared = 0;
  for (const entry of entries) {
    declared += entry.size;
    checkGrowth(declared, bytes.length, limits);
  }
  const first = entries.find((e) => !e.name.endsWith("/"));
  if (!first) throw new ArchiveError("empty", "holds no file");
  const contents: ArchiveContents = { entries: entries.length, uncompressedBytes: declared, first: { name: first.name } };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (first.localOffset + 30 > bytes.length || view.getUint32(first.localOffset, true) !== LOCAL)
    throw damaged("has a broken local header");
  const dataStart = first.localOffset + 30 + view.getUint16(first.localOffset + 26, true) + view.getUint16(first.localOffset + 28, true);
  const raw = bytes.subarray(dataStart, dataStart + first.compressedSize);
  if (raw.length < first.compressedSize) throw damaged("is cut off inside its first file");
  if (first.method !== 0 && first.method !== 8) throw damaged(`uses an unsupported compression method (${first.method})`);
  if (!options.keepFirstFile) return contents;
  let data: Uint8Array = raw;
  if (first.method === 8) data = inflateWithin(inflateRawSync, raw, bytes.length, limits, "has a damaged first file");
  contents.first!.data = data;
  return contents;
}

function damaged(what: string): ArchiveError {
  return new ArchiveError("damaged", what);
}

function mib(bytes: number): string {
  return `${Math.round(bytes / (1024 * 1024))} MiB`;
}
