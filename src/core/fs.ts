import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
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

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Reads a JSON file; a missing or unreadable file is a BadInputError naming it (and `hint`). */
export function readJsonFile<T>(path: string, hint: string): T {
  if (!existsSync(path)) throw new BadInputError(`missing file (${hint})`, { file: path });
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (e) {
    throw new BadInputError(`unreadable JSON: ${(e as Error).message}`, { file: path });
  }
}
