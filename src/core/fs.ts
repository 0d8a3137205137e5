import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  type Stats,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { BadInputError } from './errors.js';
import { dirname, join, basename } from 'node:path';
import { createHash } from 'node:crypto';

/** Writes a file atomically: a temporary file beside it, then rename, so a reader never sees half a file. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Like writeFileAtomic, the bytes written by `write` into the temporary file's descriptor (for a file too large to hold whole). */
export function writeFileAtomicWith(path: string, write: (fd: number) => void): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  let fd = openSync(tmp, 'w');
  try {
    write(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
  } catch (err) {
    if (fd >= 0) closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** SHA-256 of a file's first `bytes` bytes (all of it by default), read in 8 MiB pieces. */
export function sha256File(path: string, bytes?: number): string {
  const fd = openSync(path, 'r');
  try {
    const end = bytes ?? fstatSync(fd).size;
    const h = createHash('sha256');
    const buf = Buffer.allocUnsafe(8 << 20);
    for (let at = 0; at < end;) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, end - at), at);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      at += n;
    }
    return h.digest('hex');
  } finally {
    closeSync(fd);
  }
}

/** The largest JSON or list file a command reads whole (a manifest, a list of shoppers). */
export const MAX_READ_BYTES = 256 << 20;

/**
 * Reads a file a user named, whole, with the rule shop images follow: a regular file (not a
 * device such as /dev/zero, a FIFO that would block forever, or a folder) of at most `maxBytes`.
 * The file is opened without blocking (a FIFO's open does not wait for a writer) and checked on
 * the descriptor, so nothing swapped in between a check and the read gets through. A
 * BadInputError names the file and what it is.
 */
export function readUserFile(path: string, maxBytes = MAX_READ_BYTES): Buffer {
  if (!existsSync(path)) throw new BadInputError('file not found', { file: path });
  const kind = (st: Stats) =>
    st.isFile()
      ? null
      : st.isDirectory()
        ? 'a folder'
        : st.isFIFO()
          ? 'a pipe (FIFO)'
          : st.isCharacterDevice() || st.isBlockDevice()
            ? 'a device'
            : 'not a regular file';
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    const now = kind(st);
    if (now) throw new BadInputError(`${now}, not a regular file: refusing to read it`, { file: path });
    if (st.size > maxBytes) throw new BadInputError(`${st.size} bytes, more than the ${maxBytes} this reads`, { file: path });
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Reads a JSON file; a missing or unreadable file is a BadInputError naming it (and `hint`). */
export function readJsonFile<T>(path: string, hint: string): T {
  if (!existsSync(path)) throw new BadInputError(`missing file (${hint})`, { file: path });
  const bytes = readUserFile(path);
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (e) {
    throw new BadInputError(`unreadable JSON: ${(e as Error).message}`, { file: path });
  }
}
