/**
 * Image decoding and fitting (sharp), and the packed uint8 cache [N, S, S, 3] that training reads
 * with one file read. Rebuilds reuse every row whose source bytes, size and fit are unchanged.
 */
import { BadInputError, CorruptFileError } from '../core/errors.js';
import { constants } from 'node:buffer';
import { closeSync, existsSync, openSync, readFileSync, readSync, statfsSync, statSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import sharp, { type Sharp } from 'sharp';

export type Fit = 'letterbox' | 'crop';

/** Where an item's pixels come from: an image file, or raw pixels already in memory (idx files). */
export type ImageSource = { kind: 'file'; path: string } | { kind: 'raw'; width: number; height: number; channels: 1 | 3; pixels: Uint8Array };

const WHITE = { r: 255, g: 255, b: 255, alpha: 1 };

/**
 * Decodes (JPEG/PNG/WebP/...) and fits to S×S RGB: letterbox on white (default) or centre crop.
 * The letterbox is the image fitted inside S×S and placed in the middle of a white square here,
 * not by sharp's `contain` (the same pixels, a third less time: vips's embed costs more than the
 * resize on a shop's small photos).
 */
export async function fitImage(input: Buffer | ImageSource, size: number, fit: Fit): Promise<Uint8Array> {
  let img: Sharp;
  if (Buffer.isBuffer(input)) img = sharp(input, { failOn: 'error', sequentialRead: true });
  else if (input.kind === 'raw') img = sharp(input.pixels, { raw: { width: input.width, height: input.height, channels: input.channels } });
  else img = sharp(readFileSync(input.path), { failOn: 'error', sequentialRead: true });
  const { data, info } = await img
    .flatten({ background: WHITE })
    .resize(size, size, fit === 'crop' ? { fit: 'cover', kernel: 'lanczos3' } : { fit: 'inside', kernel: 'lanczos3' })
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const { width: w, height: h, channels } = info;
  if (channels !== 3 || w > size || h > size || (fit === 'crop' && (w !== size || h !== size)) || (w !== size && h !== size)) {
    throw new BadInputError(`decoded to ${w}x${h}x${channels}, expected ${size}x${size}x3`);
  }
  const pixels = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (w === size && h === size) return pixels;
  const out = new Uint8Array(size * size * 3).fill(255);
  const left = Math.floor((size - w) / 2);
  const top = Math.floor((size - h) / 2);
  for (let y = 0; y < h; y++) out.set(pixels.subarray(y * w * 3, (y + 1) * w * 3), ((top + y) * size + left) * 3);
  return out;
}

/**
 * Refuses, before any photo is decoded, a cache the disk cannot hold: `bytes` to write under
 * `dir`, with `free` bytes free there (statfs; a test passes its own). The message names the
 * sizes and what to change (a smaller --image-size, or another --out).
 */
export function checkDiskSpace(dir: string, bytes: number, what: string, free = freeBytes(dir)): void {
  // a margin for the dataset's other files and the filesystem's own
  const need = bytes + 64 * 2 ** 20;
  if (free < need)
    throw new BadInputError(
      `${what} needs ${(need / 2 ** 30).toFixed(2)} GiB and the disk has ${(free / 2 ** 30).toFixed(2)} GiB free: free some space, write --out elsewhere, or ingest a smaller --image-size`,
      { file: dir },
    );
}

function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return Number(s.bavail) * Number(s.bsize);
}

/** Bytes of one item's row in the cache: S×S RGB. */
export const cacheRowBytes = (size: number): number => size * size * 3;

/** The largest photo read (a bigger one is a bad row, not a process grown to the file's size). */
export const MAX_IMAGE_BYTES = 64 << 20;

/** A photo's bytes: a regular file of at most MAX_IMAGE_BYTES (a device, a pipe or a folder is refused). */
function readImageFile(path: string): Buffer {
  const st = statSync(path);
  if (!st.isFile()) throw new BadInputError('not a regular file', { file: path });
  if (st.size > MAX_IMAGE_BYTES) throw new BadInputError(`${st.size} bytes, more than the ${MAX_IMAGE_BYTES} a photo may have`, { file: path });
  return readFileSync(path);
}

export function contentKey(bytes: Uint8Array, size: number, fit: Fit): string {
  return createHash('sha1').update(bytes).update(`|${size}|${fit}`).digest('hex');
}

export interface CacheEntry {
  /** What the row is made from; decides reuse. */
  source: ImageSource;
}

export interface CacheResult {
  keys: string[];
  reused: number;
  decoded: number;
  /** rows that could not be made (white in the file); `reason` defaults to 'undecodable image' */
  failed: { index: number; error: string; reason?: string }[];
}

/** A previous cache to reuse rows from (its file and per-row keys). */
export interface PreviousCache {
  path: string;
  keys: string[];
  size: number;
}

/**
 * Writes rows [i] = fitted image of entries[i] into `outPath` (uint8 [N, S, S, 3]). Rows whose key
 * exists in `previous` are copied, not decoded. Failed rows are left white and reported.
 */
export async function buildImageCache(
  entries: ImageSource[],
  size: number,
  fit: Fit,
  outPath: string,
  previous: PreviousCache | null,
  onProgress: (done: number, total: number) => void = () => {},
  concurrency = 4,
  /** aborted: no new photo is started (the rows not written stay unwritten) */
  signal?: AbortSignal,
): Promise<CacheResult> {
  const rowBytes = size * size * 3;
  const prevIndex = new Map<string, number>();
  let prevFd: number | null = null;
  if (previous && previous.size === size && existsSync(previous.path)) {
    previous.keys.forEach((k, i) => prevIndex.set(k, i));
    prevFd = openSync(previous.path, 'r');
  }
  const fd = openSync(outPath, 'w');
  const keys = new Array<string>(entries.length);
  const failed: CacheResult['failed'] = [];
  let reused = 0;
  let decoded = 0;
  let done = 0;
  let next = 0;
  const white = new Uint8Array(rowBytes).fill(255);
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= entries.length || signal?.aborted) return;
      const src = entries[i]!;
      let row: Uint8Array = white;
      try {
        const bytes = src.kind === 'file' ? readImageFile(src.path) : src.pixels;
        const key = contentKey(bytes, size, fit);
        keys[i] = key;
        const p = prevIndex.get(key);
        if (p !== undefined && prevFd !== null) {
          row = new Uint8Array(rowBytes);
          readSync(prevFd, row, 0, rowBytes, p * rowBytes);
          reused++;
        } else {
          row = await fitImage(src.kind === 'file' ? (bytes as Buffer) : src, size, fit);
          decoded++;
        }
      } catch (e) {
        keys[i] = '';
        failed.push({ index: i, error: (e as Error).message });
      }
      writeSync(fd, row, 0, rowBytes, i * rowBytes);
      onProgress(++done, entries.length);
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    closeSync(fd);
    if (prevFd !== null) closeSync(prevFd);
  }
  failed.sort((a, b) => a.index - b.index);
  return { keys, reused, decoded, failed };
}

/** The most bytes of pixels held whole in memory (a typed array's bound is 4 GiB). */
export const MAX_WHOLE_IMAGE_BYTES = Math.min(constants.MAX_LENGTH, 2 ** 32 - 1);

/**
 * The packed image cache (images.u8: row i = item i's S × S × 3 pixels), read by rows: a batch's
 * rows with positioned reads, never the whole file, so a cache of any size serves training,
 * evaluation and the server. `all()` holds it whole for what needs every pixel at once (small
 * catalogues: the simulated shoppers, the design study), read in pieces (no 2 GiB file limit).
 */
export class ImageCache {
  /** A cache this small is held whole after its first read (Fashion-MNIST's 6,000 items at 32 px: 18 MB); tests lower it. */
  static holdWholeBelow = 256 << 20;

  readonly rowBytes: number;

  private constructor(
    readonly path: string,
    readonly count: number,
    readonly size: number,
    private whole: Uint8Array | null,
  ) {
    this.rowBytes = size * size * 3;
  }

  /** The cache file of `count` images of `size` px; a file of another length is a CorruptFileError naming it. */
  static open(path: string, count: number, size: number): ImageCache {
    const expected = count * size * size * 3;
    const actual = existsSync(path) ? statSync(path).size : -1;
    if (actual < 0) throw new CorruptFileError('missing image cache (is this a dataset folder?)', path);
    if (actual !== expected) throw new CorruptFileError(`${actual} bytes, expected ${count} images of ${size}x${size}x3 (${expected} bytes)`, path);
    return new ImageCache(path, count, size, null);
  }

  /** A cache over pixels already in memory (tests, data made on the fly). */
  static ofPixels(pixels: Uint8Array, count: number, size: number): ImageCache {
    if (pixels.length !== count * size * size * 3) throw new RangeError(`${pixels.length} bytes of pixels, expected ${count} × ${size}² × 3`);
    return new ImageCache('(memory)', count, size, pixels);
  }

  /** The cache's size in bytes. */
  get byteLength(): number {
    return this.count * this.rowBytes;
  }

  /** Rows `indices` in that order, packed [n, S, S, 3]. Consecutive rows are read in one call. */
  rows(indices: ArrayLike<number>, out = new Uint8Array(indices.length * this.rowBytes)): Uint8Array {
    const rb = this.rowBytes;
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k]!;
      if (!Number.isInteger(i) || i < 0 || i >= this.count) throw new RangeError(`image row ${i} outside [0, ${this.count})`);
    }
    // a small cache is read whole once, then served from memory (a loop over rows opens no file)
    if (!this.whole && this.byteLength <= ImageCache.holdWholeBelow) this.all();
    if (this.whole) {
      for (let k = 0; k < indices.length; k++) out.set(this.whole.subarray(indices[k]! * rb, (indices[k]! + 1) * rb), k * rb);
      return out;
    }
    const fd = openSync(this.path, 'r');
    try {
      for (let k = 0; k < indices.length;) {
        let run = 1;
        while (k + run < indices.length && indices[k + run] === indices[k]! + run) run++;
        readFully(fd, out, k * rb, run * rb, indices[k]! * rb, this.path);
        k += run;
      }
    } finally {
      closeSync(fd);
    }
    return out;
  }

  /** Rows [start, start + n) packed. */
  range(start: number, n: number): Uint8Array {
    return this.rows(Int32Array.from({ length: n }, (_, k) => start + k));
  }

  /** Row `i`'s pixels [S, S, 3]. */
  row(i: number): Uint8Array {
    return this.rows([i]);
  }

  /** Every row at once [N, S, S, 3], read once and kept; a cache past what memory can hold whole is refused, naming it. */
  all(): Uint8Array {
    if (this.whole) return this.whole;
    const bytes = this.byteLength;
    if (bytes > MAX_WHOLE_IMAGE_BYTES)
      throw new BadInputError(
        `${bytes} bytes of pixels: too large to hold whole (at most ${MAX_WHOLE_IMAGE_BYTES}); this step needs every image at once, so run it on a smaller catalogue or a smaller --image-size`,
        { file: this.path },
      );
    const out = new Uint8Array(bytes);
    const fd = openSync(this.path, 'r');
    try {
      readFully(fd, out, 0, bytes, 0, this.path);
    } finally {
      closeSync(fd);
    }
    this.whole = out;
    return out;
  }
}

/** Reads `length` bytes at `position` into `out` at `offset`, in pieces of at most 1 GiB; a short file is a CorruptFileError. */
function readFully(fd: number, out: Uint8Array, offset: number, length: number, position: number, path: string): void {
  for (let done = 0; done < length;) {
    const n = readSync(fd, out, offset + done, Math.min(length - done, 1 << 30), position + done);
    if (n === 0) throw new CorruptFileError(`ends at byte ${position + done}, before the rows it should hold`, path);
    done += n;
  }
}
