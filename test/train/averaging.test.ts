import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dvbprPreset } from '../../src/config/dvbpr.js';
import { imagesTensor, trainDvbprJob } from '../../src/app/train-recommender.js';
import { trainBpr, type BprModel } from '../../src/train/bpr.js';
import { Module, tensor, type Tensor } from '../../src/torch/index.js';
import { plantedDataset } from '../helpers/planted.js';
import { assertSameCheckpoint, straightAndResumed } from '../helpers/resume.js';

/** One weight vector w [3]; the loss pulls w towards the sampled item's index, so every step moves it. */
class Pull extends Module {
  w: Tensor;
  constructor() {
    super();
    this.w = this.registerParameter('w', tensor([0.5, -0.25, 1], [3]));
  }
}

function pullModel(m: Pull): BprModel {
  return {
    module: m,
    loss: (t) => {
      const target = tensor(Float32Array.from([t.pos[0]!, t.neg[0]!, t.user[0]!]), [3]);
      const total = m.w.sub(target).square().sum();
      return { total, bpr: total };
    },
    generators: [],
  };
}

const train = { user: Int32Array.from([0, 1, 2, 0, 1, 2, 0, 1]), item: Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7]) };

async function run(averageEpochs: number, epochs: number) {
  const m = new Pull();
  const raw: number[][] = [Array.from(m.w.data())];
  const seen: number[][] = [];
  const result = await trainBpr(pullModel(m), {
    dir: mkdtempSync(join(tmpdir(), 'atelier-avg-')),
    epochs,
    batch: 2,
    lr: 0.1,
    seed: 3,
    train,
    numUsers: 3,
    numItems: 8,
    validate: () => {
      seen.push(Array.from(m.w.data()));
      return { auc: seen.length }; // every evaluation is the best, so the last one is kept
    },
    evalEvery: 1,
    earlyStopping: 0,
    averageEpochs,
    resume: false,
    examplesPerTriplet: 2,
    rateUnit: 'triplets/s',
    callbacks: { onStep: () => void raw.push(Array.from(m.w.data())) },
  });
  return { raw, seen, history: result.history, final: Array.from(m.w.data()) };
}

test('weight averaging: validation sees the moving average of the raw weights, training follows the raw ones', async () => {
  const plain = await run(0, 2);
  const avg = await run(1.5, 2);
  // training is untouched by averaging: the same raw trajectory and losses
  assert.deepEqual(avg.raw, plain.raw);
  assert.deepEqual(
    avg.history.map((h) => h.loss),
    plain.history.map((h) => h.loss),
  );
  // by hand: 4 steps per epoch, decay 1 − 1/(1.5 · 4), starting from the initial weights
  const decay = 1 - 1 / (1.5 * 4);
  let a = avg.raw[0]!.slice();
  const expected: number[][] = [];
  avg.raw.slice(1).forEach((w, s) => {
    a = a.map((x, i) => decay * x + (1 - decay) * w[i]!);
    if ((s + 1) % 4 === 0) expected.push(a.slice());
  });
  assert.equal(avg.seen.length, 2);
  avg.seen.forEach((w, e) => w.forEach((x, i) => assert.ok(Math.abs(x - expected[e]![i]!) < 1e-6, `epoch ${e + 1} w[${i}] ${x} vs ${expected[e]![i]}`)));
  // the averaged weights differ from the raw ones, and the kept model is the (best) averaged one
  assert.ok(avg.seen[1]!.some((x, i) => Math.abs(x - avg.raw.at(-1)![i]!) > 1e-3));
  assert.deepEqual(avg.final, avg.seen[1]);
  assert.deepEqual(plain.final, plain.raw.at(-1));
});

test('resume with weight averaging gives the same weights and averages as an uninterrupted run', async () => {
  const ds = plantedDataset();
  const images = imagesTensor(ds);
  const base = { ...dvbprPreset('tiny', 16), averageEpochs: 1 };
  const { straight, resumed } = await straightAndResumed(ds, images, base, 1, 3);
  const a = assertSameCheckpoint(straight, resumed);
  assert.ok(
    [...a.keys()].some((k) => k.startsWith('avg.')),
    'the checkpoint holds the averaged weights',
  );
  // resuming an unaveraged run with averaging on is refused, not silently restarted
  const noAvg = mkdtempSync(join(tmpdir(), 'atelier-resume-'));
  await trainDvbprJob(ds, images, { out: noAvg, config: { ...base, averageEpochs: 0, epochs: 1 }, resume: false, callbacks: {} });
  await assert.rejects(
    trainDvbprJob(ds, images, { out: noAvg, config: { ...base, epochs: 2 }, resume: true, callbacks: {} }),
    /--resume continues the run with its own settings; given averageEpochs 1 \(the run's: 0\)/,
  );
  // a run interrupted before its first commit has no manifest to compare with: its checkpoint says so
  rmSync(join(noAvg, 'manifest.json'));
  await assert.rejects(trainDvbprJob(ds, images, { out: noAvg, config: { ...base, epochs: 2 }, resume: true, callbacks: {} }), /without weight averaging/);
  images.dispose();
});
