/** The baselines (random, popularity, BPR-MF, VBPR) trained into run folders: `atelier train baselines`, the demo and the benches. */
import { join } from 'node:path';
import { dvbprPreset } from '../config/dvbpr.js';
import { loadDataset, type Dataset } from '../data/dataset.js';
import { FactorModel } from '../models/mf.js';
import { PopularityRecommender, RandomRecommender } from '../models/simple.js';
import { rankingOn } from './evaluation.js';
import { assertKeepsUploads, assertNotArtifactFolder, commitRun, lockRunOutput, withRunOutput } from '../store/run-commit.js';
import type { RunManifest } from '../store/run.js';
import { trainBpr } from '../train/bpr.js';
import type { TrainCallbacks } from '../train/events.js';
import { factorLoss } from '../train/losses.js';
import { trainCallbacks, type Progress } from './progress.js';
import { baseFields, imagesTensor, RUN_KINDS } from './train-recommender.js';
import { classifierFeatures, trainCategoryClassifier } from './encoder-start.js';

export interface FactorJobOptions {
  out: string;
  kind: 'bpr-mf' | 'vbpr';
  factors: number;
  visualFactors: number;
  lambda: number;
  lambdaE: number;
  lr: number;
  epochs: number;
  batch: number;
  seed: number;
  /** VBPR: item features [N, F] */
  features?: { data: Float32Array; dim: number; source: string };
  callbacks: TrainCallbacks;
  resume: boolean;
  /** stops training at the next step with a checkpoint of it (a CancelledError) */
  signal?: AbortSignal;
}

export async function trainFactorJob(ds: Dataset, o: FactorJobOptions): Promise<RunManifest> {
  return withRunOutput(o.out, `train ${o.kind}`, RUN_KINDS, () => factorJob(ds, o));
}

async function factorJob(ds: Dataset, o: FactorJobOptions): Promise<RunManifest> {
  assertKeepsUploads(o.out, o.kind);
  const config = {
    factors: o.factors,
    visualFactors: o.kind === 'vbpr' ? o.visualFactors : 0,
    lambda: o.lambda,
    lambdaE: o.lambdaE,
    lr: o.lr,
    epochs: o.epochs,
    batch: o.batch,
    featureSource: o.features?.source ?? null,
  };
  const manifest: RunManifest = { ...baseFields(o.kind, ds, o.seed), kind: o.kind, config };
  const model = new FactorModel(ds.userIds.length, ds.itemIds.length, { factors: o.factors, visualFactors: config.visualFactors }, o.seed, o.features);
  const result = await trainBpr(
    { module: model, loss: factorLoss(model, o.lambda, o.lambdaE), generators: [] },
    {
      dir: o.out,
      epochs: o.epochs,
      batch: o.batch,
      lr: o.lr,
      seed: o.seed,
      train: ds.train,
      numUsers: ds.userIds.length,
      numItems: ds.itemIds.length,
      validate: () => {
        const r = rankingOn(ds, model, 'valid');
        return { auc: r.auc, coldAuc: r.coldAuc };
      },
      evalEvery: 1,
      earlyStopping: 0,
      resume: o.resume,
      examplesPerTriplet: 1,
      rateUnit: 'triplets/s',
      callbacks: o.callbacks,
      ...(o.signal ? { signal: o.signal } : {}),
    },
  );
  manifest.metrics = { bestEpoch: result.bestEpoch, valid: rankingOn(ds, model, 'valid'), test: rankingOn(ds, model, 'test') };
  manifest.history = result.history;
  manifest.finishedAt = new Date().toISOString();
  commitRun(o.out, { manifest, dataset: ds, weights: { tensors: model.stateDict(), metadata: { kind: o.kind } } });
  return manifest;
}

/** Random and popularity: nothing to learn; the run records the seed and the metrics. */
export function simpleJob(ds: Dataset, kind: 'random' | 'popularity', out: string, seed: number): RunManifest {
  const lock = lockRunOutput(out, `train ${kind}`, RUN_KINDS);
  try {
    assertKeepsUploads(out, kind);
    const manifest: RunManifest = { ...baseFields(kind, ds, seed), kind, config: {} };
    const rec =
      kind === 'random' ? new RandomRecommender(ds.userIds.length, ds.itemIds.length, seed) : new PopularityRecommender(ds.userIds.length, ds.itemTrainCount);
    manifest.metrics = { valid: rankingOn(ds, rec, 'valid'), test: rankingOn(ds, rec, 'test') };
    manifest.finishedAt = manifest.createdAt;
    commitRun(out, { manifest, dataset: ds });
    return manifest;
  } finally {
    lock.release();
  }
}

export type BaselineKind = 'random' | 'popularity' | 'bpr-mf' | 'vbpr';
export const BASELINES: readonly BaselineKind[] = ['random', 'popularity', 'bpr-mf', 'vbpr'];

export interface BaselineOptions {
  out: string;
  /** the encoder preset of VBPR's classifier features */
  preset: 'tiny' | 'default' | 'paper';
  epochs: number;
  factors: number;
  lambda: number;
  lr: number;
  seed: number;
  only: readonly BaselineKind[];
  resume: boolean;
  signal?: AbortSignal;
}

/** `atelier train baselines`: random, popularity, BPR-MF and VBPR, one run folder each under `out`. */
export async function trainBaselines(dataDir: string, f: BaselineOptions, progress: Progress): Promise<RunManifest[]> {
  assertNotArtifactFolder(f.out, 'train baselines');
  const ds = loadDataset(dataDir);
  const want = new Set(f.only);
  const out: RunManifest[] = [];
  if (want.has('random')) out.push(simpleJob(ds, 'random', join(f.out, 'random'), f.seed));
  if (want.has('popularity')) out.push(simpleJob(ds, 'popularity', join(f.out, 'popularity'), f.seed));
  const common = {
    factors: f.factors,
    visualFactors: f.factors,
    lambda: f.lambda,
    lambdaE: f.lambda,
    lr: f.lr,
    epochs: f.epochs,
    batch: 128,
    seed: f.seed,
    resume: f.resume,
    ...(f.signal ? { signal: f.signal } : {}),
  };
  if (want.has('bpr-mf'))
    out.push(await trainFactorJob(ds, { ...common, out: join(f.out, 'bpr-mf'), kind: 'bpr-mf', callbacks: trainCallbacks(progress, 'bpr-mf') }));
  if (want.has('vbpr')) {
    const images = imagesTensor(ds);
    try {
      const cfg = dvbprPreset(f.preset, ds.imageSize);
      const clf = await trainCategoryClassifier(ds, images, cfg, trainCallbacks(progress, 'classifier'), f.signal);
      const features = {
        ...classifierFeatures(clf.classifier, images),
        source: `category classifier (${clf.classes.length} classes, held-out accuracy ${clf.heldOutAccuracy.toFixed(3)})`,
      };
      out.push(await trainFactorJob(ds, { ...common, out: join(f.out, 'vbpr'), kind: 'vbpr', features, callbacks: trainCallbacks(progress, 'vbpr') }));
    } finally {
      images.dispose();
    }
  }
  return out;
}
