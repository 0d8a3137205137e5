/** The folder lock by itself: exclusive, released only by its owner, a dead owner's taken over, nothing created unasked. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { InUseError, BadInputError } from '../../src/core/errors.js';
import { LOCK_FILE, lockFolder, lockOwner } from '../../src/store/lock.js';
import { tempDir } from '../helpers/fixtures.js';

test('a lock is exclusive, names its owner, and is released by its holder only', () => {
  const dir = tempDir('atelier-lock-');
  const lock = lockFolder(dir, 'serve');
  assert.equal(lockOwner(dir)?.pid, process.pid);
  assert.throws(
    () => lockFolder(dir, 'train dvbpr'),
    (e: unknown) => e instanceof InUseError && e.code === 'CONFLICT' && new RegExp(`in use by serve \\(pid ${process.pid}`).test(e.message),
  );
  // another process's lock file (same name, other owner) is not removed by our release
  lock.release();
  assert.ok(!existsSync(join(dir, LOCK_FILE)));
  const again = lockFolder(dir, 'serve');
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: process.pid, host: hostname(), command: 'someone else', since: 'later' }));
  again.release();
  assert.equal(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).command, 'someone else');
});

test("a dead process's lock is stale and taken over; a missing folder is refused unless asked to create it", () => {
  const dir = tempDir('atelier-lock-');
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: Number(dead.stdout), host: hostname(), command: 'serve', since: 'earlier' }));
  assert.equal(lockOwner(dir), null);
  const lock = lockFolder(dir, 'train dvbpr');
  assert.equal(lockOwner(dir)?.command, 'train dvbpr');
  lock.release();
  const missing = join(dir, 'not-there');
  assert.throws(
    () => lockFolder(missing, 'serve'),
    (e: unknown) => e instanceof BadInputError && /not-there: no such folder/.test(e.message),
  );
  assert.ok(!existsSync(missing));
  lockFolder(missing, 'train dvbpr', { create: true }).release();
  assert.ok(existsSync(missing));
});

test('an unreadable lock file (garbage, empty, a folder, pid −1 or 0) is a BadInputError naming it and how to clear it, not "in use" for ever (issue 34.13)', () => {
  const cases: [string, (path: string) => void][] = [
    ['garbage', (p) => writeFileSync(p, 'not json')],
    ['empty', (p) => writeFileSync(p, '')],
    ['a folder', (p) => mkdirSync(p)],
    ['pid −1', (p) => writeFileSync(p, JSON.stringify({ pid: -1, host: hostname(), command: 'x', since: 'now' }))],
    ['pid 0', (p) => writeFileSync(p, JSON.stringify({ pid: 0, host: hostname(), command: 'x', since: 'now' }))],
  ];
  for (const [what, make] of cases) {
    const dir = tempDir();
    const path = join(dir, LOCK_FILE);
    make(path);
    assert.throws(
      () => lockFolder(dir, 'test'),
      (e: Error) => e instanceof BadInputError && e.message.startsWith(`${path}: unreadable lock file`) && e.message.includes(`rm -r '${path}'`),
      what,
    );
    assert.throws(() => lockOwner(dir), BadInputError, what);
  }
});
