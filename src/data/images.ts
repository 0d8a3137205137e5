/**
 * Image decoding and fitting (sharp), and the packed uint8 cache [N, S, S, 3] that training reads
 * with one file read. Rebuilds reuse every row whose source bytes, size and fit are unchanged.
 */
import { BadInputError, CorruptFileError } from '../core/errors.js';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import sharp, { type Sharp } from 'sharp';

export type Fit = 'letterbox' | 'crop';

/** Where an item's pixels come from: an image file, or raw pixels already in memory (idx files). */
export type ImageSource = { kind: 'file'; path: string } | { kind: 'raw'; width: number; height: number; channels: 1 | 3; pixels: Uint8Array };

const WHITE = { r: 255, g: 255, b: 255, alpha: 1 };

/** Decodes (JPEG/PNG/WebP/...) and fits to S×S RGB: letterbox on white (default) or centre crop. */
export async function fitImage(input: Buffer | ImageSource, size: number, fit: Fit): Promise<Uint8Array> {
  let img: Sharp;
  if (Buffer.isBuffer(input)) img = sharp(input, { failOn: 'error' });
  else if (input.kind === 'raw') img = sharp(input.pixels, { raw: { width: input.width, height: input.height, channels: input.channels } });
  else img = sharp(readFileSync(input.path), { failOn: 'error' });
  const { data, info } = await img
    .flatten({ background: WHITE })
    .resize(size, size, { fit: fit === 'crop' ? 'cover' : 'contain', background: WHITE, kernel: 'lanczos3' })
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== size || info.height !== size) {
    throw new BadInputError(`decoded to ${info.width}x${info.height}x${info.channels}, expected ${size}x${size}x3`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

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
      if (i >= entries.length) return;
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

/** Reads the whole cache with one read. */
export function readImageCache(path: string, count: number, size: number): Uint8Array {
  const buf = readFileSync(path);
  const expected = count * size * size * 3;
  if (buf.byteLength !== expected) {
    throw new CorruptFileError(`${buf.byteLength} bytes, expected ${count} images of ${size}x${size}x3 (${expected} bytes)`, path);
  }
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
