/**
 * One writer per folder: `lockFolder` takes `<dir>/.atelier.lock` (the owner's pid, host, command
 * and start time) or refuses with a ConflictError naming the owner. `atelier serve` holds its run
 * folder's lock while it runs; training holds the lock of the folder it writes. A lock whose owner
 * is gone (a killed process: same host, pid no longer alive) is stale and taken over.
 *
 * The lock file appears whole or not at all: it is written to a temporary file and linked to its
 * name, which fails if the name exists (link is atomic, and never replaces).
 */
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { BadInputError, InUseError } from '../core/errors.js';

export const LOCK_FILE = '.atelier.lock';

export interface LockOwner {
  pid: number;
  host: string;
  command: string;
  since: string;
}

export interface FolderLock {
  readonly dir: string;
  /** Gives the folder back (only a lock this process still holds is removed). */
  release(): void;
}

const held = new Map<string, LockOwner>();
let exitHook = false;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}

/**
 * The lock's owner, or null when there is no lock file. A lock file is written whole (a link of a
 * finished file), so one that cannot be read as an owner (garbage, empty, a folder, pid 0 or −1,
 * which process.kill reads as a process group) was not written by Atelier: a BadInputError naming
 * the file and saying how to clear it, never a refusal that lasts forever.
 */
function readOwner(path: string): LockOwner | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    throw unreadableLock(path, code === 'EISDIR' ? 'it is a folder' : `it cannot be read (${code ?? (e as Error).message})`);
  }
  let o: Partial<LockOwner> | null = null;
  try {
    o = JSON.parse(text) as Partial<LockOwner>;
  } catch {
    throw unreadableLock(path, text.trim() === '' ? 'it is empty' : 'it is not the JSON a lock holds');
  }
  if (
    !o ||
    typeof o !== 'object' ||
    !Number.isSafeInteger(o.pid) ||
    o.pid! <= 0 ||
    typeof o.host !== 'string' ||
    typeof o.command !== 'string' ||
    typeof o.since !== 'string'
  )
    throw unreadableLock(path, `it does not name an owner (pid, host, command, since): ${JSON.stringify(o).slice(0, 80)}`);
  return o as LockOwner;
}

const unreadableLock = (path: string, why: string) =>
  new BadInputError(`unreadable lock file: ${why}. If no Atelier command is using this folder, remove it (rm -r '${path}') and try again`, { file: path });

/** The current owner of `dir`'s lock, if a live process holds it. */
export function lockOwner(dir: string): LockOwner | null {
  const owner = readOwner(join(dir, LOCK_FILE));
  return owner && (owner.host !== hostname() || alive(owner.pid)) ? owner : null;
}

/** Takes `dir`'s lock; `create` makes the folder first (an output), otherwise it must exist. */
export function lockFolder(dir: string, command: string, o: { create?: boolean } = {}): FolderLock {
  if (o.create) mkdirSync(dir, { recursive: true });
  else if (!existsSync(dir)) throw new BadInputError('no such folder', { file: dir });
  const path = join(dir, LOCK_FILE);
  const me: LockOwner = { pid: process.pid, host: hostname(), command, since: new Date().toISOString() };
  const tmp = join(dir, `.atelier.lock.${process.pid}.${Date.now()}.tmp`);
  writeFileSync(tmp, JSON.stringify(me) + '\n');
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(tmp, path);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const owner = readOwner(path);
        const stale = owner === null || (owner.host === hostname() && owner.pid !== process.pid && !alive(owner.pid));
        if (stale && attempt === 0) {
          rmSync(path, { force: true }); // its owner is dead: take it over
          continue;
        }
        const who = owner ? `${owner.command} (pid ${owner.pid} on ${owner.host}, since ${owner.since})` : 'another process';
        throw new InUseError(`${dir}: in use by ${who}; one writer at a time: stop it first`);
      }
    }
  } finally {
    rmSync(tmp, { force: true });
  }
  held.set(path, me);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const p of held.keys()) releasePath(p);
    });
  }
  return { dir, release: () => releasePath(path) };
}

function releasePath(path: string): void {
  const mine = held.get(path);
  if (!mine) return;
  held.delete(path);
  let owner: LockOwner | null = null;
  try {
    owner = existsSync(path) ? readOwner(path) : null;
  } catch {
    owner = null; // not ours any more: left for its maker
  }
  if (owner && owner.pid === mine.pid && owner.since === mine.since) rmSync(path, { force: true });
}

/** Runs `fn` holding `dir`'s lock, released however fn ends. */
export async function withFolderLock<T>(dir: string, command: string, fn: () => Promise<T> | T): Promise<T> {
  const lock = lockFolder(dir, command);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
