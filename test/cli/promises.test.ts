/**
 * What Atelier promises a user at the command line (issue: nothing a user owns is destroyed):
 * a folder that is not its own output is never replaced, one writer per run folder, image paths
 * stay inside the shop, a cut file is not read as whole, and every bad input is exit code 2 with
 * the file, flag or value named.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync, appendFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import { atelier } from './in-process.js';
import { makeHm, makePaperNpy, makeShop, tempDir } from '../helpers/fixtures.js';
import { tinyRuns } from '../helpers/tiny-runs.js';

const ctx = tinyRuns();

/**
 * A copy of the tiny run served by a child process once it says so. The CLI itself, not
 * bin/atelier.js's wrapper: a SIGKILL then kills the server (a wrapper cannot pass SIGKILL on).
 */
async function servedCopy(prefix: string): Promise<{ run: string; server: ChildProcess }> {
  const t = await ctx;
  const run = join(tempDir(prefix), 'run');
  cpSync(t.run, run, { recursive: true });
  const server = spawn(process.execPath, ['--single-threaded-gc', '--import', 'tsx', 'src/cli/main.ts', 'serve', '--run', run, '--port', '0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    server.stderr!.on('data', (c) => ((seen += String(c)), seen.includes('serving on') && resolve()));
    server.on('exit', (code) => reject(new Error(`serve exited ${code}: ${seen}`)));
  });
  return { run, server };
}

const ingest = (shop: string, out: string, ...more: string[]) =>
  atelier('ingest', 'folder', shop, '--out', out, '--image-size', '16', '--min-category-count', '1', ...more);

test('ingest --out replaces only a dataset folder: a folder of notes, the source itself or . are refused with exit code 2', async () => {
  const shop = await makeShop();
  const mine = join(tempDir(), 'mine');
  mkdirSync(join(mine, 'run'), { recursive: true });
  writeFileSync(join(mine, 'notes.txt'), 'my notes');
  const r = await ingest(shop.dir, mine);
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /mine: --out exists and is not a prepared dataset/);
  assert.equal(readFileSync(join(mine, 'notes.txt'), 'utf8'), 'my notes');
  assert.ok(existsSync(join(mine, 'run')));
  const self = await ingest(shop.dir, shop.dir);
  assert.equal(self.code, 2);
  assert.match(self.err, /--out contains the source being read/);
  assert.ok(existsSync(join(shop.dir, 'items.csv')));
  // a dataset folder is this command's own output: it is replaced
  const data = join(tempDir(), 'data');
  assert.equal((await ingest(shop.dir, data)).code, 0);
  assert.equal((await ingest(shop.dir, data)).code, 0);
  // and training writes only into a run folder (or a new one): not into the dataset, not into a folder of notes
  const manifest = readFileSync(join(data, 'manifest.json'), 'utf8');
  const intoData = await atelier('train', 'dvbpr', '--data', data, '--out', data, '--preset', 'tiny', '--epochs', '1');
  assert.equal(intoData.code, 2, intoData.err);
  assert.match(intoData.err, /--out holds a manifest\.json that is not a dvbpr\/bpr-mf\/vbpr\/random\/popularity run's/);
  assert.equal(readFileSync(join(data, 'manifest.json'), 'utf8'), manifest);
  const intoNotes = await atelier('train', 'gan', '--data', data, '--out', mine, '--preset', 'tiny', '--epochs', '1');
  assert.equal(intoNotes.code, 2, intoNotes.err);
  assert.match(intoNotes.err, /--out exists and is not a run folder \(notes\.txt, run\)/);
  assert.ok(!existsSync(join(mine, '.atelier.lock')), 'a refused training left its lock');
});

test("one writer per run folder: a live server refuses a training into its run (exit 2, the owner named); a dead one's lock is taken over", async () => {
  const t = await ctx;
  const { run, server } = await servedCopy('atelier-lock-');
  try {
    const train = await atelier('train', 'dvbpr', '--data', t.ds.dir, '--out', run, '--preset', 'tiny', '--epochs', '1');
    assert.equal(train.code, 2, train.err);
    assert.match(train.err, new RegExp(`in use by serve \\(pid ${server.pid}`));
    const second = await atelier('serve', '--run', run, '--port', '0');
    assert.equal(second.code, 2);
    assert.match(second.err, /in use by serve/);
  } finally {
    server.kill('SIGKILL');
    await new Promise((r) => server.once('exit', r));
  }
  // the killed server's lock is stale: the training takes it over
  assert.ok(existsSync(join(run, '.atelier.lock')));
  const train = await atelier('train', 'dvbpr', '--data', t.ds.dir, '--out', run, '--preset', 'tiny', '--epochs', '1');
  assert.equal(train.code, 0, train.err);
  assert.ok(!existsSync(join(run, '.atelier.lock')), 'the training left its lock behind');
  // a lock of a live process on another host is not taken over
  writeFileSync(join(run, '.atelier.lock'), JSON.stringify({ pid: 1, host: `not-${hostname()}`, command: 'serve', since: 'then' }));
  assert.equal((await atelier('train', 'dvbpr', '--data', t.ds.dir, '--out', run, '--preset', 'tiny', '--epochs', '1')).code, 2);
});

test('ingest reads images only inside the shop folder, regular files: a device, a path outside, a link out and a folder are bad rows', async () => {
  const outside = tempDir('atelier-outside-');
  writeFileSync(join(outside, 'secret.png'), 'x');
  for (const [image, reason] of [
    ['/dev/zero', 'outside the shop folder'],
    [`../${basename(outside)}/secret.png`, 'outside the shop folder'],
    [join(outside, 'secret.png'), 'outside the shop folder'],
    ['link.png', 'outside the shop folder'],
    ['img', 'not a regular file'],
  ] as const) {
    const shop = await makeShop();
    symlinkSync(join(outside, 'secret.png'), join(shop.dir, 'link.png'));
    appendFileSync(join(shop.dir, 'items.csv'), `0999,${image},tops\n`);
    const r = await ingest(shop.dir, join(tempDir(), 'data'));
    assert.equal(r.code, 2, `${image}: ${r.err}`);
    assert.match(r.err, new RegExp(`items\\.csv:14: image (is )?${reason}`), image);
    // skipped, the row is counted and the rest ingested
    const data = join(tempDir(), 'data');
    const skip = await ingest(shop.dir, data, '--on-bad', 'skip');
    assert.equal(skip.code, 0, skip.err);
    const m = JSON.parse(readFileSync(join(data, 'manifest.json'), 'utf8'));
    assert.equal(m.counts.items, 12);
    assert.equal(Object.values(m.problems.byReason as Record<string, number>).reduce((a, b) => a + b, 0) >= 1, true);
  }
});

test('a CSV cut after a well-formed prefix of its last row is not read as whole, and dates must be whole', async () => {
  const cut = await makeShop();
  appendFileSync(join(cut.dir, 'interactions.csv'), 'u1,0101,10'); // no newline: the timestamp may be 10xx
  const r = await ingest(cut.dir, join(tempDir(), 'data'));
  assert.equal(r.code, 2);
  assert.match(r.err, /interactions\.csv:38: the file does not end with a newline/);
  const shortDate = await makeShop();
  appendFileSync(join(shortDate.dir, 'interactions.csv'), 'u1,0101,2020-09-2\n');
  const d = await ingest(shortDate.dir, join(tempDir(), 'data'));
  assert.equal(d.code, 2);
  assert.match(d.err, /interactions\.csv:38: bad timestamp: '2020-09-2'/);
  const hm = await makeHm();
  appendFileSync(join(hm.dir, 'transactions_train.csv'), '2020-09-2,c1,0108775015,0.01,2\n');
  const h = await atelier('ingest', 'hm', hm.dir, '--out', join(tempDir(), 'data'), '--image-size', '16', '--min-category-count', '1');
  assert.equal(h.code, 2);
  assert.match(h.err, /transactions_train\.csv:\d+: bad t_dat: '2020-09-2'/);
});

test('every numeric flag is checked: a fractional k, a negative or non-numeric count, a seed that is not an integer', async () => {
  const t = await ctx;
  const image = join(tempDir(), 'p.png');
  writeFileSync(image, Buffer.alloc(0));
  for (const [args, flag] of [
    [['recommend', '--run', t.run, '--user', t.ds.userIds[0]!, '--k', '1.5'], '--k'],
    [['score-item', '--run', t.run, '--image', image, '--k', '-1'], '--k'],
    [['score-item', '--run', t.run, '--image', image, '--k', 'abc'], '--k'],
    [['design', '--run', t.run, '--gan', t.gan, '--user', t.ds.userIds[0]!, '--category', 'tops', '--seed', 'abc', '--out', tempDir()], '--seed'],
    [['sample', '--gan', t.gan, '--category', 'tops', '--seed', '1.5', '--out', join(tempDir(), 's.png')], '--seed'],
  ] as const) {
    const r = await atelier(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, new RegExp(`${flag}[^\\n]*got '(1\\.5|-1|abc)'`), args.join(' '));
  }
});

test('a cut or mistaken file, an --out that cannot be made, a port in use: exit code 2 naming it, no stack trace', async () => {
  const t = await ctx;
  const cases: { name: string; args: string[]; want: RegExp }[] = [];
  // a cut GAN manifest
  const gan = join(tempDir(), 'gan');
  cpSync(t.gan, gan, { recursive: true });
  writeFileSync(join(gan, 'manifest.json'), readFileSync(join(gan, 'manifest.json'), 'utf8').slice(0, 40));
  cases.push({
    name: 'cut GAN manifest',
    args: ['sample', '--gan', gan, '--category', 'tops', '--out', join(tempDir(), 's.png')],
    want: /gan\/manifest\.json: unreadable JSON/,
  });
  // a run manifest without a key, and one whose config does not match its weights
  const noKey = join(tempDir(), 'run');
  cpSync(t.run, noKey, { recursive: true });
  const m = JSON.parse(readFileSync(join(noKey, 'manifest.json'), 'utf8'));
  delete m.dataset;
  writeFileSync(join(noKey, 'manifest.json'), JSON.stringify(m));
  cases.push({ name: 'manifest without a key', args: ['recommend', '--run', noKey, '--user', 'u0'], want: /run\/manifest\.json: dataset: / });
  const otherK = join(tempDir(), 'run');
  cpSync(t.run, otherK, { recursive: true });
  const m2 = JSON.parse(readFileSync(join(otherK, 'manifest.json'), 'utf8'));
  m2.config.encoder.k += 1;
  writeFileSync(join(otherK, 'manifest.json'), JSON.stringify(m2));
  cases.push({
    name: 'config not matching weights',
    args: ['recommend', '--run', otherK, '--user', 'u0'],
    want: /weights\.safetensors: tensor '.*' has shape/,
  });
  // a cut checkpoint state, resumed
  const cutCk = join(tempDir(), 'run');
  cpSync(t.run, cutCk, { recursive: true });
  writeFileSync(join(cutCk, 'checkpoint.json'), '{"epoch": 2, "hist');
  cases.push({
    name: 'cut checkpoint.json',
    args: ['train', 'dvbpr', '--data', t.ds.dir, '--out', cutCk, '--preset', 'tiny', '--epochs', '3', '--resume'],
    want: /checkpoint\.json: unreadable checkpoint state/,
  });
  // an --out under a file
  const file = join(tempDir(), 'a-file');
  writeFileSync(file, 'x');
  cases.push({
    name: '--out under a file',
    args: ['train', 'dvbpr', '--data', t.ds.dir, '--out', join(file, 'run'), '--preset', 'tiny', '--epochs', '1'],
    want: /ENOTDIR|EEXIST/,
  });
  // a port in use
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  const port = (busy.address() as { port: number }).port;
  const served = join(tempDir(), 'run');
  cpSync(t.run, served, { recursive: true });
  cases.push({ name: 'port in use', args: ['serve', '--run', served, '--port', String(port)], want: /EADDRINUSE[^\n]*the port is in use/ });
  try {
    for (const c of cases) {
      const r = await atelier(...c.args);
      assert.equal(r.code, 2, `${c.name}: ${r.err}`);
      assert.match(r.err, c.want, c.name);
      assert.doesNotMatch(r.err, /\n\s+at /, `${c.name}: a stack trace`);
    }
  } finally {
    busy.close();
  }
});

test('ingest paper: a cut .npy is exit code 2 naming the byte offset, and --out is not made', async () => {
  const file = makePaperNpy({ withC: true });
  const cut = join(tempDir(), 'cut.npy');
  writeFileSync(cut, readFileSync(file).subarray(0, 3000));
  const out = join(tempDir(), 'data');
  const r = await atelier('ingest', 'paper', cut, '--out', out, '--image-size', '16');
  assert.equal(r.code, 2);
  assert.match(r.err, /cut\.npy: truncated: the pickle ends at byte 3000 inside the opcode at byte offset \d+/);
  assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
  assert.equal(existsSync(out), false);
});

test('--resume with no checkpoint says that it starts from the beginning', async () => {
  const t = await ctx;
  const r = await atelier('train', 'dvbpr', '--data', t.ds.dir, '--out', join(tempDir(), 'run'), '--preset', 'tiny', '--epochs', '1', '--resume', '--json');
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /--resume: [^"]* has no checkpoint: training from the start/);
});

test('the spawned CLI agrees (exit code 2 through bin/atelier.js for a refused --out)', () => {
  const mine = tempDir('atelier-mine-');
  writeFileSync(join(mine, 'notes.txt'), 'keep me');
  const r = spawnSync(process.execPath, ['bin/atelier.js', 'ingest', 'fashion-mnist', '--out', mine], { encoding: 'utf8' });
  assert.equal(r.status, 2, r.stderr);
  assert.equal(readFileSync(join(mine, 'notes.txt'), 'utf8'), 'keep me');
});

test('a server stopped by SIGTERM gives its run folder back (no lock left)', async () => {
  const { run, server } = await servedCopy('atelier-term-');
  assert.ok(existsSync(join(run, '.atelier.lock')));
  const exited = new Promise<number | null>((r) => server.once('exit', (code) => r(code)));
  server.kill('SIGTERM');
  assert.equal(await exited, 143);
  assert.ok(!existsSync(join(run, '.atelier.lock')), 'the lock outlived the server');
});

test('Ctrl-C during train dvbpr stops after the step under way with a checkpoint of it: exit 130, and --resume finishes the run', async () => {
  const t = await ctx;
  const run = join(tempDir('atelier-interrupt-'), 'run');
  const child = spawn(
    process.execPath,
    ['--single-threaded-gc', '--import', 'tsx', 'src/cli/main.ts', 'train', 'dvbpr', '--data', t.ds.dir, '--out', run, '--preset', 'tiny', '--epochs', '40'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  const code = await new Promise<number | null>((resolve) => {
    child.stderr!.on('data', (c) => {
      err += String(c);
      if (err.includes('"event":"epoch"') && !child.killed) child.kill('SIGINT'); // after the first epoch
    });
    child.on('exit', (c) => resolve(c));
  });
  assert.equal(code, 130, err);
  assert.match(err, /SIGINT: stopping after the step under way/);
  assert.match(err, /training \(stopped (at step \d+ of \d+|after mark \d+); --resume continues from there\) cancelled/);
  assert.ok(!existsSync(join(run, 'manifest.json')), 'an interrupted run is not a finished one');
  const state = JSON.parse(readFileSync(join(run, 'checkpoint.json'), 'utf8')) as { step: number; marks: number };
  assert.ok(state.marks >= 1 && state.step > 0, JSON.stringify(state));
  const resumed = await atelier('train', 'dvbpr', '--data', t.ds.dir, '--out', run, '--preset', 'tiny', '--epochs', '40', '--resume');
  assert.equal(resumed.code, 0, resumed.err);
  assert.match(resumed.err, /resumed at (epoch|step) \d+/);
  assert.equal((JSON.parse(readFileSync(join(run, 'manifest.json'), 'utf8')) as { history: unknown[] }).history.length, 40);
});
