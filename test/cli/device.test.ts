/**
 * `--device` and `--precision` on the commands (src/cli/flags.ts): a run on ATELIER_TEST_DEVICE
 * (default cpu; bench/gpu.sh sets cuda) gives the CPU's metrics and records where it ran; bf16
 * autocast trains and stays near fp32; without CUDA, `--device cuda` is exit 2 naming LIBTORCH and
 * writes nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runIngest } from '../../src/app/ingest.js';
import { createProgress } from '../../src/app/progress.js';
import { currentDevice, gpuCount } from '../../src/torch/index.js';
import { makeShop, tempDir } from '../helpers/fixtures.js';
import { atelier } from './in-process.js';

const DEVICE = process.env.ATELIER_TEST_DEVICE ?? 'cpu';
const root = tempDir('atelier-cli-device-');
const data = join(root, 'data');
const ready = (async () => {
  const shop = await makeShop(24, 16, 8);
  await runIngest('folder', shop.dir, { out: data, imageSize: 16, minCategoryCount: 1, split: 'paper' }, createProgress({ quiet: true }));
})();
const TRAIN = ['--preset', 'tiny', '--dropout', '0', '--batch', '32', '--lr', '0.01', '--epochs', '6'];

interface Manifest {
  versions: { device: string; precision: string };
  metrics: { valid: { auc: number }; test: { auc: number } };
}
const manifest = (run: string) => JSON.parse(readFileSync(join(run, 'manifest.json'), 'utf8')) as Manifest;

test(`train dvbpr --device ${DEVICE} gives the CPU's metrics and records the device; bf16 autocast stays near fp32`, async () => {
  await ready;
  const runs: Record<string, Manifest> = {};
  for (const [name, args] of [
    ['cpu', ['--device', 'cpu']],
    ['device', ['--device', DEVICE]],
    ['bf16', ['--device', DEVICE, '--precision', 'bf16']],
  ] as const) {
    const out = join(root, name);
    const r = await atelier('train', 'dvbpr', '--data', data, '--out', out, ...TRAIN, ...args);
    assert.equal(r.code, 0, r.err);
    runs[name] = manifest(out);
  }
  assert.equal(currentDevice(), 'cpu', 'a command leaves the device it was given only for its own run');
  assert.equal(runs.cpu!.versions.device, 'cpu');
  assert.match(runs.device!.versions.device, DEVICE === 'cpu' ? /^cpu$/ : /^cuda:\d+$/);
  assert.equal(runs.device!.versions.precision, 'fp32');
  assert.equal(runs.bf16!.versions.precision, 'bf16');
  // the same seed, the same draws (made on the CPU): the same AUC up to the device's arithmetic
  assert.ok(Math.abs(runs.device!.metrics.test.auc - runs.cpu!.metrics.test.auc) <= 0.005, `${runs.device!.metrics.test.auc} vs ${runs.cpu!.metrics.test.auc}`);
  // bf16 rounds every product: not the same run, but one that learned as much (this fixture: ±0.05)
  assert.notEqual(runs.bf16!.metrics.valid.auc, runs.device!.metrics.valid.auc);
  assert.ok(
    Math.abs(runs.bf16!.metrics.test.auc - runs.device!.metrics.test.auc) <= 0.05,
    `${runs.bf16!.metrics.test.auc} vs ${runs.device!.metrics.test.auc}`,
  );
});

test('a --device that is not cpu, cuda, cuda:N or auto is exit 2 naming the flag', async () => {
  await ready;
  const r = await atelier('train', 'dvbpr', '--data', data, '--out', join(root, 'bad'), '--device', 'tpu');
  assert.equal(r.code, 2);
  assert.match(r.err, /--device must be cpu, cuda, cuda:N or auto, got 'tpu'/);
  const p = await atelier('train', 'dvbpr', '--data', data, '--out', join(root, 'bad'), '--precision', 'fp16');
  assert.equal(p.code, 2);
  assert.match(p.err, /fp16/);
  assert.ok(!existsSync(join(root, 'bad')));
});

test(
  'without CUDA, --device cuda is exit 2 naming LIBTORCH, on every command that takes it, and writes nothing',
  { skip: gpuCount() > 0 ? 'this libtorch has a GPU' : false },
  async () => {
    await ready;
    const out = join(root, 'cuda');
    for (const args of [
      ['train', 'dvbpr', '--data', data, '--out', out],
      ['train', 'baselines', '--data', data, '--out', out],
      ['train', 'gan', '--data', data, '--out', out],
      ['design', '--run', out, '--gan', out, '--user', 'u', '--category', 'c', '--out', out],
      ['improve', '--run', out, '--gan', out, '--user', 'u', '--item', 'i', '--out', out],
      ['score-item', '--run', out, '--image', out],
      ['serve', '--run', out],
    ]) {
      const r = await atelier(...args, '--device', 'cuda');
      assert.equal(r.code, 2, `${args.slice(0, 2).join(' ')}: ${r.err}`);
      assert.match(r.err, /--device cuda: .*LIBTORCH/, args.slice(0, 2).join(' '));
    }
    assert.ok(!existsSync(out));
    assert.equal(currentDevice(), 'cpu');
  },
);
