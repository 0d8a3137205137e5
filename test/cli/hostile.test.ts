/**
 * Hostile input at the command line (issue 34): every refusal is exit code 2 naming the file, flag
 * or value, and nothing is read without bounds or written into a folder the command does not own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { atelier } from './in-process.js';
import { tempDir } from '../helpers/fixtures.js';
import { tinyRuns } from '../helpers/tiny-runs.js';

const ctx = tinyRuns();

test('a device, a FIFO or a folder named as a file to read is refused at once, exit 2 naming it (issue 34.10)', async () => {
  const { run } = await ctx;
  const fifo = join(tempDir(), 'fifo');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  for (const [args, path, what] of [
    [['score-item', '--run', run, '--image', '/dev/zero'], '/dev/zero', 'a device'],
    [['recommend', '--run', run, '--users', '/dev/zero'], '/dev/zero', 'a device'],
    [['recommend', '--run', run, '--users', fifo], fifo, 'a pipe \\(FIFO\\)'],
    [['score-item', '--run', run, '--image', tempDir()], '', 'a folder'],
  ] as [string[], string, string][]) {
    const r = await atelier(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, new RegExp(`${path}: ${what}, not a regular file: refusing to read it`), r.err);
  }
});

test('numbers are decimal and whole where counted: hex, an empty value and --epochs 1.5 are exit 2 naming the flag (issue 34.14)', async () => {
  const { run, root } = await ctx;
  const data = join(root, 'data');
  for (const [args, flag] of [
    [['recommend', '--run', run, '--user', 'u1', '--k', '0x3'], "--k must be a positive integer or 'all', got '0x3'"],
    [['recommend', '--run', run, '--user', 'u1', '--prior-recency', '0x10'], "--prior-recency: .*got '0x10'"],
    [['train', 'dvbpr', '--data', data, '--out', join(tempDir(), 'r'), '--preset', 'tiny', '--epochs', '0x10'], "--epochs: .*got '0x10'"],
    [['train', 'dvbpr', '--data', data, '--out', join(tempDir(), 'r'), '--preset', 'tiny', '--epochs', '1.5'], "--epochs: .*got '1.5'"],
    [['train', 'dvbpr', '--data', data, '--out', join(tempDir(), 'r'), '--preset', 'tiny', '--lr', ''], "--lr: .*got ''"],
  ] as [string[], string][]) {
    const r = await atelier(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, new RegExp(flag.replace(/[()]/g, '\\$&')), r.err);
  }
});

test('--resume continues a run with its own settings: another --lr or --seed, or --like, is exit 2 and the manifest is unchanged (issue 34.14)', async () => {
  const { run, root } = await ctx;
  const copy = join(tempDir(), 'run');
  cpSync(run, copy, { recursive: true });
  const before = readFileSync(join(copy, 'manifest.json'), 'utf8');
  const data = join(root, 'data');
  const lr = await atelier('train', 'dvbpr', '--data', data, '--out', copy, '--preset', 'tiny', '--epochs', '3', '--lr', '0.5', '--resume');
  assert.equal(lr.code, 2, lr.err);
  assert.match(lr.err, /--resume continues the run with its own settings; given lr 0\.5 \(the run's: [\d.e-]+\)/);
  const seed = await atelier('train', 'dvbpr', '--data', data, '--out', copy, '--preset', 'tiny', '--epochs', '3', '--seed', '99', '--resume');
  assert.equal(seed.code, 2, seed.err);
  assert.match(seed.err, /given seed 99 \(the run's: \d+\)/);
  const like = await atelier('train', 'dvbpr', '--data', data, '--out', copy, '--like', run, '--resume');
  assert.equal(like.code, 2, like.err);
  assert.match(like.err, /--like sets the settings of a new run; --resume continues a run with its own: give one/);
  assert.equal(readFileSync(join(copy, 'manifest.json'), 'utf8'), before);
});

test('an embedding too large to allocate is refused at the flag, exit 2, and leaves no folder behind (issue 34.11)', async () => {
  const { root } = await ctx;
  const out = join(tempDir(), 'huge');
  const r = await atelier('train', 'dvbpr', '--data', join(root, 'data'), '--out', out, '--preset', 'tiny', '--k', '10000000');
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /--k: .*(4096|4,096).*got '10000000'/);
  assert.equal(existsSync(out), false);
});

test('design, improve and train baselines refuse to write into a run or dataset folder, exit 2 (issue 34.17)', async () => {
  const { run, gan, root, ds } = await ctx;
  const copy = join(tempDir(), 'run');
  cpSync(run, copy, { recursive: true });
  const files = readdirSync(copy).sort();
  const base = await atelier('train', 'baselines', '--data', join(root, 'data'), '--out', copy, '--only', 'random');
  assert.equal(base.code, 2, base.err);
  assert.match(base.err, /--out is a run or dataset folder \(it holds manifest\.json\): train baselines writes files of its own/);
  const design = await atelier('design', '--run', run, '--gan', gan, '--user', ds.userIds[0]!, '--category', 'tops', '--out', copy, '--steps', '2');
  assert.equal(design.code, 2, design.err);
  assert.match(design.err, /--out is a run or dataset folder/);
  const improve = await atelier(
    'improve',
    '--run',
    run,
    '--gan',
    gan,
    '--user',
    ds.userIds[0]!,
    '--item',
    ds.itemIds[1]!,
    '--out',
    join(root, 'data'),
    '--steps',
    '2',
  );
  assert.equal(improve.code, 2, improve.err);
  assert.match(improve.err, /--out is a run or dataset folder/);
  assert.deepEqual(readdirSync(copy).sort(), files, 'nothing was added to the run');
});
