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
import { noGrad, tensor, tidy } from '../../src/torch/index.js';
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
  writeFileSync(join(dir, 'checkpoint.json'), JSON.stringify({ ...ck, bestAuc: -Infinity, bestEpoch: 0 })); // −Infinity → null in JSON
  const { manifest } = await trainDvbprJob(ds, images, { out: dir, config: { ...cfg, epochs: 2 }, resume: true, callbacks: {} });
  assert.equal(manifest.metrics.bestEpoch, 2);
  images.dispose();
});
