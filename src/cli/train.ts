/** `atelier train dvbpr|baselines`: options → config (validated) → jobs. */
import { join } from 'node:path';
import { z } from 'zod';
import { dvbprPreset, dvbprSchema, type DvbprConfig } from '../config/dvbpr.js';
import { parseConfig } from '../config/parse.js';
import { loadDataset } from '../data/dataset.js';
import type { TrainCallbacks } from '../train/events.js';
import { classifierFeatures, imagesTensor, simpleJob, trainCategoryClassifier, trainDvbprJob, trainFactorJob } from './jobs.js';
import type { Progress, StageProgress } from './progress.js';
import type { RunManifest } from '../store/run.js';

/** Bar per epoch; epoch summaries as events. */
export function trainCallbacks(progress: Progress, label: string): TrainCallbacks {
  let bar: StageProgress | null = null;
  let barEpoch = -1;
  return {
    onStep(e) {
      if (e.epoch !== barEpoch) {
        bar = progress.stage(`${label} ${e.epoch}`, e.stepsPerEpoch);
        barEpoch = e.epoch;
      }
      bar!.update(e.step, { loss: e.loss, [e.rateUnit]: Math.round(e.rate) });
    },
    onEpoch(e) {
      bar?.done({ loss: e.loss, ...e.metrics });
      bar = null;
      barEpoch = -1;
      progress.event('epoch', { run: label, epoch: e.epoch, of: e.epochs, loss: e.loss, ...e.metrics, best: e.best, seconds: e.seconds });
    },
    onMessage(msg) {
      progress.event('message', { run: label, message: msg });
    },
  };
}

const dvbprFlags = z
  .object({
    data: z.string(),
    out: z.string(),
    preset: z.enum(['tiny', 'default', 'paper']).default('default'),
    epochs: z.coerce.number().positive().optional(),
    lr: z.coerce.number().positive().optional(),
    batch: z.coerce.number().int().positive().optional(),
    k: z.coerce.number().int().positive().optional(),
    dropout: z.coerce.number().min(0).max(0.95).optional(),
    lambdaPhi: z.coerce.number().min(0).optional(),
    lambdaTheta: z.coerce.number().min(0).optional(),
    init: z.enum(['scratch', 'classifier']).optional(),
    classifierEpochs: z.coerce.number().positive().optional(),
    earlyStopping: z.coerce.number().int().min(0).optional(),
    averageEpochs: z.coerce.number().min(0).optional(),
    augmentShift: z.coerce.number().int().min(0).optional(),
    seed: z.coerce.number().int().min(0).optional(),
    resume: z.boolean().default(false),
  })
  .strict();

export function dvbprConfigFrom(flags: z.infer<typeof dvbprFlags>, imageSize: number): DvbprConfig {
  const base = dvbprPreset(flags.preset, imageSize);
  const cfg = {
    ...base,
    encoder: { ...base.encoder, ...(flags.k ? { k: flags.k } : {}), ...(flags.dropout !== undefined ? { dropout: flags.dropout } : {}) },
    ...(flags.epochs !== undefined ? { epochs: flags.epochs } : {}),
    ...(flags.lr !== undefined ? { lr: flags.lr } : {}),
    ...(flags.batch !== undefined ? { batch: flags.batch } : {}),
    ...(flags.lambdaPhi !== undefined ? { lambdaPhi: flags.lambdaPhi } : {}),
    ...(flags.lambdaTheta !== undefined ? { lambdaTheta: flags.lambdaTheta } : {}),
    ...(flags.init !== undefined ? { init: flags.init } : {}),
    ...(flags.classifierEpochs !== undefined ? { classifierEpochs: flags.classifierEpochs } : {}),
    ...(flags.earlyStopping !== undefined ? { earlyStopping: flags.earlyStopping } : {}),
    ...(flags.averageEpochs !== undefined ? { averageEpochs: flags.averageEpochs } : {}),
    ...(flags.augmentShift !== undefined ? { augmentShift: flags.augmentShift } : {}),
    ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
  };
  return parseConfig(dvbprSchema, cfg, 'config');
}

export async function runTrainDvbpr(raw: Record<string, unknown>, progress: Progress): Promise<RunManifest> {
  const flags = parseConfig(dvbprFlags, raw);
  const ds = loadDataset(flags.data);
  const cfg = dvbprConfigFrom(flags, ds.imageSize);
  if (cfg.encoder.inputSize !== ds.imageSize) {
    progress.event('message', { message: `preset ${cfg.preset} expects ${cfg.encoder.inputSize} px; the dataset has ${ds.imageSize} px: ingest with --image-size ${cfg.encoder.inputSize}` });
  }
  const images = imagesTensor(ds);
  const { manifest } = await trainDvbprJob(ds, images, { out: flags.out, config: cfg, resume: flags.resume, callbacks: trainCallbacks(progress, `dvbpr-${cfg.init}`) });
  images.dispose();
  return manifest;
}

const baselineFlags = z
  .object({
    data: z.string(),
    out: z.string(),
    preset: z.enum(['tiny', 'default', 'paper']).default('default'),
    epochs: z.coerce.number().positive().default(20),
    factors: z.coerce.number().int().positive().default(20),
    lambda: z.coerce.number().min(0).default(0.01),
    lr: z.coerce.number().positive().default(1e-3),
    seed: z.coerce.number().int().min(0).default(1),
    only: z.string().optional(),
    resume: z.boolean().default(false),
  })
  .strict();

/** random, popularity, bpr-mf, vbpr: one run folder each under --out. */
export async function runTrainBaselines(raw: Record<string, unknown>, progress: Progress): Promise<RunManifest[]> {
  const f = parseConfig(baselineFlags, raw);
  const ds = loadDataset(f.data);
  const want = new Set((f.only ?? 'random,popularity,bpr-mf,vbpr').split(',').map((s) => s.trim()));
  const out: RunManifest[] = [];
  if (want.has('random')) out.push(simpleJob(ds, 'random', join(f.out, 'random'), f.seed));
  if (want.has('popularity')) out.push(simpleJob(ds, 'popularity', join(f.out, 'popularity'), f.seed));
  const common = { factors: f.factors, visualFactors: f.factors, lambda: f.lambda, lambdaE: f.lambda, lr: f.lr, epochs: f.epochs, batch: 128, seed: f.seed, resume: f.resume };
  if (want.has('bpr-mf')) out.push(await trainFactorJob(ds, { ...common, out: join(f.out, 'bpr-mf'), kind: 'bpr-mf', callbacks: trainCallbacks(progress, 'bpr-mf') }));
  if (want.has('vbpr')) {
    const images = imagesTensor(ds);
    const cfg = dvbprPreset(f.preset, ds.imageSize);
    const clf = trainCategoryClassifier(ds, images, cfg, trainCallbacks(progress, 'classifier'));
    const features = { ...classifierFeatures(clf.classifier, images), source: `category classifier (${clf.classes.length} classes, held-out accuracy ${clf.heldOutAccuracy.toFixed(3)})` };
    out.push(await trainFactorJob(ds, { ...common, out: join(f.out, 'vbpr'), kind: 'vbpr', features, callbacks: trainCallbacks(progress, 'vbpr') }));
    images.dispose();
  }
  return out;
}
