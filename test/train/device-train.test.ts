/**
 * DVBPR trained on ATELIER_TEST_DEVICE (default cpu; bench/gpu.sh runs this on cuda) against the
 * same run on the CPU: the same seed draws the same weights, triplets and dropout masks, so the
 * losses and the validation AUC agree up to the device's arithmetic; bf16 autocast learns as much
 * as fp32. Imports only the engine, the model and the loop (bench/gpu.sh bundles it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dvbprPreset } from '../../src/config/dvbpr.js';
import { evaluateRanking } from '../../src/eval/ranking.js';
import { Dvbpr, DvbprScorer, embedImages } from '../../src/models/dvbpr.js';
import { trainBpr } from '../../src/train/bpr.js';
import { dvbprLoss } from '../../src/train/losses.js';
import { keep, parseDevice, tensor, useDevice, usePrecision, type Precision } from '../../src/torch/index.js';
import { plantedDataset } from '../helpers/planted.js';

const DEVICE = parseDevice(process.env.ATELIER_TEST_DEVICE ?? 'cpu', 'ATELIER_TEST_DEVICE');
const ds = plantedDataset({ size: 32, users: 40, items: 80 });
// bf16 autocast on the CPU has no fast kernels (13 times fp32's time here): the CPU's check trains
// 2 epochs (validation AUC about 0.80 either way), a device 6
const EPOCHS = DEVICE === 'cpu' ? 2 : 6;

async function run(device: typeof DEVICE, precision: Precision): Promise<{ losses: number[]; auc: number }> {
  useDevice(device);
  usePrecision(precision);
  try {
    const cfg = { ...dvbprPreset('default', 32), lr: 1e-3, batch: 32, epochs: EPOCHS };
    const images = keep(tensor(ds.images.all(), [ds.itemIds.length, 32, 32, 3]));
    const model = new Dvbpr(cfg.encoder, ds.userIds.length, cfg.seed);
    const validAuc = () => {
      const s = new DvbprScorer(model.theta.data(), embedImages(model.encoder, images), cfg.encoder.k);
      try {
        return evaluateRanking({
          numItems: ds.itemIds.length,
          scoreUsers: (u) => s.scoreUsers(u),
          heldOut: ds.valid,
          seen: [ds.train, ds.valid, ds.test],
          itemTrainCount: ds.itemTrainCount,
        }).auc;
      } finally {
        s.dispose();
      }
    };
    const { epochs, batch, lr, seed } = cfg;
    const r = await trainBpr(
      {
        module: model,
        loss: dvbprLoss(model, images, cfg.lambdaPhi, cfg.lambdaTheta),
        rows: model.rowTable(),
        generators: model.encoder.dropoutGen ? [model.encoder.dropoutGen] : [],
      },
      {
        dir: mkdtempSync(join(tmpdir(), 'atelier-device-train-')),
        ...{ epochs, batch, lr, seed },
        train: ds.train,
        numUsers: ds.userIds.length,
        numItems: ds.itemIds.length,
        validate: () => ({ auc: validAuc() }),
        evalEvery: cfg.epochs,
        earlyStopping: 0,
        resume: false,
        examplesPerTriplet: 2,
        rateUnit: 'images/s',
        callbacks: {},
      },
    );
    const auc = validAuc();
    images.dispose();
    model.dispose();
    return { losses: r.history.map((h) => h.loss), auc };
  } finally {
    usePrecision('fp32');
    useDevice('cpu');
  }
}

test(`DVBPR on ${DEVICE} trains as on the CPU (losses, validation AUC); bf16 autocast learns as much as fp32`, async () => {
  const cpu = await run('cpu', 'fp32');
  // on the CPU the device run would be the CPU run again: not trained twice
  const dev = DEVICE === 'cpu' ? cpu : await run(DEVICE, 'fp32');
  const half = await run(DEVICE, 'bf16');
  assert.ok(cpu.auc > 0.65, `the planted taste is being learned (${cpu.auc})`);
  // cuDNN's algorithms (and TF32 convolutions on recent GPUs) round otherwise than the CPU's
  dev.losses.forEach((l, e) => assert.ok(Math.abs(l - cpu.losses[e]!) <= 0.02 * cpu.losses[e]!, `epoch ${e + 1}: loss ${l} vs ${cpu.losses[e]}`));
  assert.ok(Math.abs(dev.auc - cpu.auc) <= 0.01, `AUC ${dev.auc} vs ${cpu.auc}`);
  assert.notDeepEqual(half.losses, dev.losses, 'bf16 computes otherwise');
  assert.ok(Math.abs(half.auc - dev.auc) <= 0.03, `bf16 AUC ${half.auc} vs fp32 ${dev.auc}`);
});
