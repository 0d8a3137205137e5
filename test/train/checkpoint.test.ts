/**
 * A checkpoint is written as a pair (tensors, then state): a process killed between the two
 * writes must not leave epoch-N weights beside epoch-(N−1) state.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { BadInputError, CancelledError, CorruptFileError } from '../../src/core/errors.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dvbprPreset } from '../../src/config/dvbpr.js';
import { imagesTensor, trainDvbprJob } from '../../src/app/train-recommender.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/train/checkpoint.js';
import type { LoopState } from '../../src/train/loop.js';
import { plantedDataset } from '../helpers/planted.js';
import { assertSameCheckpoint } from '../helpers/resume.js';

const FAULT = 'checkpoint:between-writes';

/** Runs `script` (an ES module, argv[-1] = dir) in a child that is killed at the fault point. */
function killedChild(script: string, dir: string): void {
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, dir], { encoding: 'utf8' });
  assert.equal(child.signal, 'SIGKILL', `the child was not killed at the fault point: ${child.stderr}`);
}

test('a save killed between the tensors and the state leaves a pair that belongs together', () => {
  const dir = mkdtempSync(join(tmpdir(), 'atelier-ckpt-'));
  killedChild(
    `
    import { saveCheckpoint } from './src/train/checkpoint.ts';
    import { tensor } from './src/torch/index.ts';
    const dir = process.argv.at(-1);
    const save = (epoch) => saveCheckpoint(dir, { epoch }, new Map([['w', tensor(new Float32Array([epoch, epoch]), [2])]]));
    save(1);
    process.env.ATELIER_FAULT = '${FAULT}';
    save(2); // killed after the tensors file, before the state`,
    dir,
  );
  const ck = loadCheckpoint<{ epoch: number }>(dir);
  const w = Array.from(ck.tensors.get('w')!.data());
  assert.deepEqual(w, [ck.state.epoch, ck.state.epoch], `the weights are epoch ${w[0]}'s, the state epoch ${ck.state.epoch}'s`);
  assert.equal(ck.state.epoch, 2, 'the newer, complete tensors file carries its own state');
  assert.equal(ck.stateFrom, 'tensors');
});

test('DVBPR killed between the two writes of a checkpoint resumes to exactly the uninterrupted run', async () => {
  const ds = plantedDataset();
  const images = imagesTensor(ds);
  const cfg = dvbprPreset('tiny', 16);
  const straight = mkdtempSync(join(tmpdir(), 'atelier-ckpt-'));
  await trainDvbprJob(ds, images, { out: straight, config: { ...cfg, epochs: 3 }, resume: false, callbacks: {} });
  const killed = mkdtempSync(join(tmpdir(), 'atelier-ckpt-'));
  killedChild(
    `
    import { dvbprPreset } from './src/config/dvbpr.ts';
    import { imagesTensor, trainDvbprJob } from './src/app/train-recommender.ts';
    import { plantedDataset } from './test/helpers/planted.ts';
    const out = process.argv.at(-1);
    const ds = plantedDataset();
    const images = imagesTensor(ds);
    const cfg = dvbprPreset('tiny', 16);
    await trainDvbprJob(ds, images, { out, config: { ...cfg, epochs: 3 }, resume: false, callbacks: {
      onEpoch: (e) => { if (e.epoch === 2) process.env.ATELIER_FAULT = '${FAULT}'; }, // killed at epoch 2's checkpoint
    } });`,
    killed,
  );
  await trainDvbprJob(ds, images, { out: killed, config: { ...cfg, epochs: 3 }, resume: true, callbacks: {} });
  assertSameCheckpoint(straight, killed);
  images.dispose();
});

test('DVBPR killed between the two files of its FIRST checkpoint: --resume continues it to the uninterrupted run, and a fresh run accepts the folder (issue 34.3)', async () => {
  const ds = plantedDataset();
  const images = imagesTensor(ds);
  const cfg = dvbprPreset('tiny', 16);
  const straight = mkdtempSync(join(tmpdir(), 'atelier-ckpt-'));
  await trainDvbprJob(ds, images, { out: straight, config: { ...cfg, epochs: 2 }, resume: false, callbacks: {} });
  const killFirst = (out: string) =>
    killedChild(
      `
    import { dvbprPreset } from './src/config/dvbpr.ts';
    import { imagesTensor, trainDvbprJob } from './src/app/train-recommender.ts';
    import { plantedDataset } from './test/helpers/planted.ts';
    const out = process.argv.at(-1);
    const ds = plantedDataset();
    const images = imagesTensor(ds);
    process.env.ATELIER_FAULT = '${FAULT}'; // killed at epoch 1's checkpoint, the first
    await trainDvbprJob(ds, images, { out, config: { ...dvbprPreset('tiny', 16), epochs: 2 }, resume: false, callbacks: {} });`,
      out,
    );
  const killed = mkdtempSync(join(tmpdir(), 'atelier-ckpt-'));
  killFirst(killed);
  assert.ok(existsSync(join(killed, 'checkpoint.safetensors')) && !existsSync(join(killed, 'checkpoint.json')), 'the kill fell between the two files');
  const messages: string[] = [];
  await trainDvbprJob(ds, images, { out: killed, config: { ...cfg, epochs: 2 }, resume: true, callbacks: { onMessage: (m) => messages.push(m) } });
  assert.ok(
    messages.some((m) => m.startsWith('resumed at epoch 1')),
    messages.join('\n'),
  );
  assertSameCheckpoint(straight, killed);
  const fresh = mkdtempSync(join(tmpdir(), 'atelier-ckpt-'));
  killFirst(fresh);
  await trainDvbprJob(ds, images, { out: fresh, config: { ...cfg, epochs: 2 }, resume: false, callbacks: {} });
  assertSameCheckpoint(straight, fresh);
  images.dispose();
});

test('a checkpoint state outside the bounds its writer keeps is a CorruptFileError naming the file, field and value; --resume of a finished run without its checkpoint is refused (issues 34.7, 34.8)', async () => {
  const ds = plantedDataset();
  const images = imagesTensor(ds);
  const cfg = { ...dvbprPreset('tiny', 16), epochs: 1 };
  const dir = mkdtempSync(join(tmpdir(), 'atelier-ckpt-'));
  await trainDvbprJob(ds, images, { out: dir, config: cfg, resume: false, callbacks: {} });
  const path = join(dir, 'checkpoint.json');
  const good = readFileSync(path, 'utf8');
  const edits: [string, (s: Record<string, unknown>) => void, RegExp][] = [
    ['step −5', (s) => (s.step = -5), /checkpoint field 'step' is -5/],
    ['step 1.5', (s) => (s.step = 1.5), /checkpoint field 'step' is 1\.5/],
    ['a negative sampler state', (s) => ((s.rngs as number[][])[0]![0] = -3), /checkpoint field 'rngs\.0\.0' is -3/],
    ['a string mark count', (s) => (s.marks = '7'), /checkpoint field 'marks' is "7"/],
  ];
  for (const [what, edit, message] of edits) {
    const state = JSON.parse(good) as Record<string, unknown>;
    edit(state);
    writeFileSync(path, JSON.stringify(state));
    await assert.rejects(
      trainDvbprJob(ds, images, { out: dir, config: { ...cfg, epochs: 2 }, resume: true, callbacks: {} }),
      (e: Error) => e instanceof CorruptFileError && e.message.includes(path) && message.test(e.message),
      what,
    );
  }
  writeFileSync(path, good);
  const manifest = readFileSync(join(dir, 'manifest.json'), 'utf8');
  rmSync(path);
  rmSync(join(dir, 'checkpoint.safetensors'));
  await assert.rejects(
    trainDvbprJob(ds, images, { out: dir, config: { ...cfg, epochs: 2 }, resume: true, callbacks: {} }),
    (e: Error) => e instanceof BadInputError && /finished run has no checkpoint\.safetensors/.test(e.message),
  );
  assert.equal(readFileSync(join(dir, 'manifest.json'), 'utf8'), manifest, 'the finished run is untouched');
  images.dispose();
});

/** A DVBPR run of 3 epochs with dropout and weight averaging (lazy rows), straight through: what the interrupted runs must equal. */
async function averagedStraightRun() {
  const ds = plantedDataset();
  const images = imagesTensor(ds);
  const tiny = dvbprPreset('tiny', 16);
  const cfg = { ...tiny, encoder: { ...tiny.encoder, dropout: 0.3 }, averageEpochs: 1, epochs: 3 };
  const straight = mkdtempSync(join(tmpdir(), 'atelier-ckpt-'));
  await trainDvbprJob(ds, images, { out: straight, config: cfg, resume: false, callbacks: {} });
  return { ds, images, cfg, straight };
}

test('DVBPR cancelled mid-epoch (weight averaging with its lazy rows on) writes a checkpoint of that step, and --resume ends exactly where the uninterrupted run does', async () => {
  const { ds, images, cfg, straight } = await averagedStraightRun();
  const cut = mkdtempSync(join(tmpdir(), 'atelier-ckpt-'));
  const abort = new AbortController();
  let stoppedAt = 0;
  await assert.rejects(
    trainDvbprJob(ds, images, {
      out: cut,
      config: cfg,
      resume: false,
      signal: abort.signal,
      callbacks: {
        onStep: (e) => {
          if (e.epoch === 2 && e.step === 2) {
            stoppedAt = e.globalStep;
            abort.abort();
          }
        },
      },
    }),
    CancelledError,
  );
  const state = JSON.parse(readFileSync(join(cut, 'checkpoint.json'), 'utf8')) as { step: number; marks: number };
  assert.deepEqual([state.step, state.marks], [stoppedAt, 1], 'the checkpoint is of the step it stopped at, inside epoch 2');
  assert.ok(!existsSync(join(cut, 'manifest.json')));
  await trainDvbprJob(ds, images, { out: cut, config: cfg, resume: true, callbacks: {} });
  const t = assertSameCheckpoint(straight, cut);
  assert.ok(t.has('lazyAverageSteps') && [...t.keys()].some((k) => k.startsWith('avg.')));
  const history = (dir: string) =>
    (JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { history: { loss: number; metrics: unknown }[] }).history.map((h) => [h.loss, h.metrics]);
  assert.deepEqual(history(cut), history(straight));
  images.dispose();
});

test("a checkpoint of the BPR loop before the one loop (its own fields, written by Atelier before this change) resumes to the uninterrupted run's very weights", async () => {
  const { ds, images, cfg, straight } = await averagedStraightRun();
  const old = mkdtempSync(join(tmpdir(), 'atelier-ckpt-'));
  await trainDvbprJob(ds, images, { out: old, config: { ...cfg, epochs: 2 }, resume: false, callbacks: {} });
  // the same checkpoint in the earlier layout: that loop's state fields, no lazy-average steps (it flushed them every epoch)
  const ck = loadCheckpoint<LoopState>(old);
  const s = ck.state;
  const { marks: epoch, step: adamStep, rngs, best: bestAuc, bestMark: bestEpoch, sinceBest } = s;
  const history = s.history.map((h) => ({ epoch: h.mark, loss: h.loss, seconds: h.seconds, metrics: h.metrics }));
  const legacy = { epoch, adamStep, sampler: rngs[0], bestAuc, bestEpoch, sinceBest, history };
  ck.tensors.delete('lazyAverageSteps');
  rmSync(join(old, 'manifest.json')); // a run cut before it finished
  saveCheckpoint(old, legacy, ck.tensors);
  const messages: string[] = [];
  await trainDvbprJob(ds, images, { out: old, config: cfg, resume: true, callbacks: { onMessage: (m) => messages.push(m) } });
  assert.ok(
    messages.some((m) => /a checkpoint of Atelier's earlier training loop, read into this one's layout/.test(m)),
    messages.join('\n'),
  );
  assert.ok(messages.includes(`resumed at epoch 2 (best auc ${s.best!.toFixed(4)} at epoch ${s.bestMark})`), messages.join('\n'));
  assertSameCheckpoint(straight, old);
  // a state of neither layout is refused by name
  const odd = mkdtempSync(join(tmpdir(), 'atelier-ckpt-'));
  saveCheckpoint(odd, { iteration: 3 }, new Map(ck.tensors));
  await assert.rejects(
    trainDvbprJob(ds, images, { out: odd, config: cfg, resume: true, callbacks: {} }),
    (e: Error) => e instanceof BadInputError && /earlier Atelier's training loop \(no 'marks' field\) in a layout this one cannot read/.test(e.message),
  );
  images.dispose();
});
