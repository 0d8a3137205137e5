import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dvbprPreset } from '../../src/config/dvbpr.js';
import { imagesTensor, trainDvbprJob } from '../../src/app/train-recommender.js';
import { Dvbpr } from '../../src/models/dvbpr.js';
import { toInput } from '../../src/models/encoder.js';
import { dvbprLoss } from '../../src/train/losses.js';
import { loadSafetensors, noGrad, Tensor, tensor, tidy } from '../../src/torch/index.js';
import { runIngest } from '../../src/app/ingest.js';
import { createProgress } from '../../src/app/progress.js';
import { loadDataset } from '../../src/data/dataset.js';
import { ImageCache } from '../../src/data/images.js';
import { makeShop, tempDir } from '../helpers/fixtures.js';
import { plantedDataset } from '../helpers/planted.js';
import { assertSameCheckpoint, straightAndResumed } from '../helpers/resume.js';

const ds = plantedDataset();

test('DVBPR loss and θ gradient equal a hand computation of method.md §1', () => {
  const images = imagesTensor(ds);
  const cfg = dvbprPreset('tiny', 16).encoder;
  const model = new Dvbpr(cfg, ds.userIds.length, 3);
  const t = { user: Int32Array.from([0, 1, 0]), pos: Int32Array.from([2, 3, 4]), neg: Int32Array.from([5, 6, 7]) };
  const lambdaPhi = 0.01;
  const lambdaTheta = 0.5;
  tidy(() => {
    model.eval(); // no dropout in tiny; eval keeps the two passes identical
    const { total, bpr, regPhi, regTheta } = dvbprLoss(model, images, lambdaPhi, lambdaTheta)(t);
    total.backward();
    const gTheta = model.theta.grad!.data();
    // by hand, from separately computed embeddings
    const phi = noGrad(() => model.encoder.forward(toInput(images.indexSelect(0, tensor(Int32Array.from([2, 3, 4, 5, 6, 7]), [6], 'int64')))).data());
    const theta = model.theta.data();
    const k = cfg.k;
    let hBpr = 0;
    let hRegTheta = 0;
    const hGrad = new Float64Array(theta.length);
    for (let b = 0; b < 3; b++) {
      const u = t.user[b]!;
      let x = 0;
      for (let d = 0; d < k; d++) x += theta[u * k + d]! * (phi[b * k + d]! - phi[(b + 3) * k + d]!);
      hBpr += Math.log1p(Math.exp(-x)); // −ln σ(x)
      const s = 1 / (1 + Math.exp(x)); // σ(−x)
      for (let d = 0; d < k; d++) {
        hRegTheta += 0.5 * lambdaTheta * theta[u * k + d]! ** 2;
        hGrad[u * k + d]! += -s * (phi[b * k + d]! - phi[(b + 3) * k + d]!) + lambdaTheta * theta[u * k + d]!;
      }
    }
    let hRegPhi = 0;
    for (const w of model.encoder.regularisedParameters()) for (const v of w.data()) hRegPhi += 0.5 * lambdaPhi * v * v;
    assert.ok(Math.abs(bpr.item() - hBpr) < 1e-5, `bpr ${bpr.item()} vs ${hBpr}`);
    assert.ok(Math.abs(regTheta.item() - hRegTheta) < 1e-6);
    assert.ok(Math.abs(regPhi.item() - hRegPhi) < 1e-5);
    assert.ok(Math.abs(total.item() - (hBpr + hRegPhi + hRegTheta)) < 1e-5, 'the loss is the sum of its parts');
    for (let x = 0; x < theta.length; x++) assert.ok(Math.abs(gTheta[x]! - hGrad[x]!) < 1e-5, `dθ[${x}] ${gTheta[x]} vs ${hGrad[x]}`);
    // biases are not regularised
    assert.ok(model.encoder.regularisedParameters().every((p) => p.rank >= 2));
  });
  images.dispose();
});

test('resume gives the same weights as an uninterrupted run (dropout masks and augmentation shifts, flips and zooms included)', async () => {
  const images = imagesTensor(ds);
  const tiny = dvbprPreset('tiny', 16);
  const base = { ...tiny, encoder: { ...tiny.encoder, dropout: 0.3 }, augmentShift: 2, augmentFlip: true, augmentScale: 0.2 };
  const { straight, resumed: interrupted } = await straightAndResumed(ds, images, base, 2, 4);
  assertSameCheckpoint(straight, interrupted);
  const ha = JSON.parse(readFileSync(join(straight, 'manifest.json'), 'utf8')).history.map((h: { loss: number }) => h.loss);
  const hb = JSON.parse(readFileSync(join(interrupted, 'manifest.json'), 'utf8')).history.map((h: { loss: number }) => h.loss);
  assert.deepEqual(hb, ha);
  images.dispose();
});

test('resume from a checkpoint written before any validation (best AUC stored as null) works', async () => {
  const images = imagesTensor(ds);
  const cfg = { ...dvbprPreset('tiny', 16), epochs: 1 };
  const dir = mkdtempSync(join(tmpdir(), 'atelier-resume-'));
  await trainDvbprJob(ds, images, { out: dir, config: cfg, resume: false, callbacks: {} });
  const ck = JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8'));
  writeFileSync(join(dir, 'checkpoint.json'), JSON.stringify({ ...ck, best: null, bestMark: 0 })); // nothing validated yet
  const { manifest } = await trainDvbprJob(ds, images, { out: dir, config: { ...cfg, epochs: 2 }, resume: true, callbacks: {} });
  assert.equal(manifest.metrics.bestEpoch, 2);
  images.dispose();
});

test('the conservative term: weight · Σ softplus(θᵀΦ(x*) − θᵀΦ(X_i)) by hand with no ascent; ascent steps raise the design’s score; only θ and Φ learn', async () => {
  const { ConditionalGan } = await import('../../src/models/gan.js');
  const { ganPreset } = await import('../../src/config/gan.js');
  const { conservativeLoss } = await import('../../src/train/losses.js');
  const { Generator, randn } = await import('../../src/torch/index.js');
  const images = imagesTensor(ds);
  const cfg = dvbprPreset('tiny', 16).encoder;
  const model = new Dvbpr(cfg, ds.userIds.length, 3);
  model.eval();
  noGrad(() => model.theta.copy_(model.theta.mul(100))); // scores of a useful size (the untrained θ is tiny)
  const gan = new ConditionalGan(ganPreset('tiny', 16), ['a', 'b'], 1);
  gan.generator.eval();
  gan.generator.freeze();
  // item 3 is of no GAN category: its triplet is skipped
  const ganCategory = Int32Array.from({ length: ds.itemIds.length }, (_, i) => (i === 3 ? -1 : i % 2));
  const t = { user: Int32Array.from([0, 1, 0]), pos: Int32Array.from([2, 3, 4]), neg: Int32Array.from([5, 6, 7]) };
  const term = (steps: number) => ({ gan, ganCategory, grey: false, weight: 0.5, steps, perBatch: 8, lr: 0.5, gen: new Generator(9) });
  const lossOf = (steps: number) =>
    tidy(() => {
      const { thetaU, phiPos } = model.preferenceDiff(
        tensor(t.user, [3], 'int64'),
        images.indexSelect(0, tensor(t.pos, [3], 'int64')),
        images.indexSelect(0, tensor(t.neg, [3], 'int64')),
      );
      return conservativeLoss(model, term(steps), t, thetaU, phiPos)!.item();
    });
  // by hand: the same draw w ~ N(0, I) for rows 0 and 2, G(tanh w, c), Φ, the softplus
  const hand = noGrad(() =>
    tidy(() => {
      const w = randn([2, gan.config.zDim], new Generator(9));
      const cond = tensor(Float32Array.from([1, 0, 1, 0]), [2, 2]); // items 2 and 4: category 0
      const x = gan.generator.forward(w.tanh(), cond);
      const phiD = model.encoder.forward(x).data();
      const phiP = model.encoder.forward(toInput(images.indexSelect(0, tensor(Int32Array.from([2, 4]), [2], 'int64')))).data();
      const theta = model.theta.data();
      let s = 0;
      for (let r = 0; r < 2; r++) {
        let d = 0;
        for (let k = 0; k < cfg.k; k++) d += theta[t.user[r * 2]! * cfg.k + k]! * (phiD[r * cfg.k + k]! - phiP[r * cfg.k + k]!);
        s += Math.log1p(Math.exp(d));
      }
      return 0.5 * s;
    }),
  );
  const l0 = lossOf(0);
  assert.ok(Math.abs(l0 - hand) < 1e-4, `${l0} vs ${hand}`);
  // the search climbs the shopper's score: the design scores higher, so the term is larger
  const l5 = lossOf(5);
  const l1 = lossOf(1);
  assert.ok(l0 + 1e-5 < l1 && l1 + 1e-4 < l5, `${l0} < ${l1} < ${l5}`); // float noise here is ~1e-6
  // the backward reaches θ and Φ, never the GAN
  tidy(() => {
    const { thetaU, phiPos } = model.preferenceDiff(
      tensor(t.user, [3], 'int64'),
      images.indexSelect(0, tensor(t.pos, [3], 'int64')),
      images.indexSelect(0, tensor(t.neg, [3], 'int64')),
    );
    conservativeLoss(model, term(2), t, thetaU, phiPos)!.backward();
  });
  assert.ok(model.theta.grad && model.theta.grad.abs().sum().item() > 0);
  assert.ok(gan.generator.parameters().every((p) => !p.grad));
  gan.dispose();
});

test('a catalogue larger than the resident bound trains from its image cache by rows, to the very weights of the resident run (issue 35)', async () => {
  const shop = await makeShop(20, 8, 6);
  const data = join(tempDir(), 'data');
  await runIngest('folder', shop.dir, { out: data, imageSize: 16, minCategoryCount: 1 }, createProgress({ quiet: true }));
  const ds = loadDataset(data);
  const cfg = { ...dvbprPreset('tiny', 16), epochs: 2, init: 'classifier' as const };
  const resident = imagesTensor(ds);
  assert.ok(resident instanceof Tensor, 'a small catalogue is held on the device');
  const a = join(tempDir(), 'resident');
  await trainDvbprJob(ds, resident, { out: a, config: cfg, resume: false, callbacks: {} });
  resident.dispose();
  process.env.ATELIER_RESIDENT_IMAGES_MB = '0';
  const fromDisk = loadDataset(data); // its own image cache, not yet read
  let rows: ReturnType<typeof imagesTensor>;
  try {
    rows = imagesTensor(fromDisk);
  } finally {
    delete process.env.ATELIER_RESIDENT_IMAGES_MB;
  }
  assert.ok(!(rows instanceof Tensor), 'past the bound, rows are read from images.u8');
  const b = join(tempDir(), 'rows');
  const hold = ImageCache.holdWholeBelow;
  ImageCache.holdWholeBelow = 0; // every batch a positioned read of images.u8, as a large cache is read
  try {
    await trainDvbprJob(fromDisk, rows, { out: b, config: cfg, resume: false, callbacks: {} });
  } finally {
    ImageCache.holdWholeBelow = hold;
  }
  const wa = loadSafetensors(join(a, 'weights.safetensors')).tensors;
  const wb = loadSafetensors(join(b, 'weights.safetensors')).tensors;
  for (const [name, t] of wa) assert.deepEqual(Buffer.from(wb.get(name)!.data().buffer), Buffer.from(t.data().buffer), name);
  assert.deepEqual(readFileSync(join(a, 'item-embeddings.f32')), readFileSync(join(b, 'item-embeddings.f32')));
});
