/**
 * Train DVBPR into a run folder: wire data, the model, its training loop, evaluation and the
 * run folder. Used by `atelier train dvbpr`, the demo, the benches and the tests.
 */
import { join } from 'node:path';
import { BadInputError, InvalidArgumentError } from '../core/errors.js';
import type { DvbprConfig } from '../config/dvbpr.js';
import { historyPairs, latestBaskets, latestPurchases, loadDataset, type Dataset } from '../data/dataset.js';
import type { ImageCache } from '../data/images.js';
import { Dvbpr, DvbprScorer, embedImages, embedPixels } from '../models/dvbpr.js';
import { choosePolicy } from './ranking.js';
import { rankingOn } from './evaluation.js';
import type { RankingPolicy } from '../models/ranking/index.js';
import { versions } from '../store/versions.js';
import { EMBEDDINGS_FILE } from '../store/catalogue-db.js';
import { assertUploadsFit, checkResumedSettings, commitRun, withRunOutput } from '../store/run-commit.js';
import { RUN_FORMAT, type DvbprRunManifest, type RunManifest } from '../store/run.js';
import { trainBpr } from '../train/bpr.js';
import type { TrainCallbacks } from '../train/events.js';
import { dvbprLoss, type ConservativeTerm } from '../train/losses.js';
import { loadGanRun } from '../store/gan-run.js';
import { augmenter, augments } from '../train/augment.js';
import {
  Generator as TorchGenerator,
  initProcessGroup,
  keep,
  rendezvousFromEnv,
  tensor,
  type ProcessGroup,
  type Tensor,
  type PixelRows,
} from '../torch/index.js';
import { trainCallbacks, type Progress } from './progress.js';
import { encoderStart, type AttributeJobResult, type ClassifierJobResult } from './encoder-start.js';

/**
 * The most bytes of pixels a job holds on its device at once (ATELIER_RESIDENT_IMAGES_MB, default
 * 4,096 MiB): a larger catalogue is read from its image cache a batch at a time.
 */
export function residentImageBytes(): number {
  const raw = process.env.ATELIER_RESIDENT_IMAGES_MB;
  if (raw === undefined || raw === '') return 4096 * 2 ** 20;
  if (!/^\d+$/.test(raw)) throw new BadInputError(`ATELIER_RESIDENT_IMAGES_MB must be a whole number of MiB, got '${raw}'`);
  return Number(raw) * 2 ** 20;
}

/**
 * The catalogue's pixels for a job [N, S, S, 3]: one uint8 tensor kept for the whole job when it
 * fits residentImageBytes(), otherwise rows read from the image cache for each batch (a cache of
 * any size: the paper's 224 px over a real shop's catalogue).
 */
export function imagesTensor(ds: Dataset): PixelRows {
  if (ds.images.byteLength <= residentImageBytes()) return keep(tensor(ds.images.all(), [ds.itemIds.length, ds.imageSize, ds.imageSize, 3]));
  return new CacheRows(ds.images);
}

/** Rows of an image cache as tensors, read from disk per call (positioned reads; the OS's page cache does the rest). */
class CacheRows implements PixelRows {
  readonly shape: readonly number[];
  constructor(private readonly cache: ImageCache) {
    this.shape = [cache.count, cache.size, cache.size, 3];
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    if (dim !== 0) throw new InvalidArgumentError(`image rows are selected along dim 0, not ${dim}`);
    const rows = Array.from(index.data<'int64'>(), Number);
    return tensor(this.cache.rows(rows), [rows.length, this.cache.size, this.cache.size, 3]);
  }
  narrow(dim: number, start: number, length: number): Tensor {
    if (dim !== 0) throw new InvalidArgumentError(`image rows are taken along dim 0, not ${dim}`);
    return tensor(this.cache.range(start, length), [length, this.cache.size, this.cache.size, 3]);
  }
  dispose(): void {}
}

/** The kinds a run folder can hold: training replaces one of them, and nothing else. */
export const RUN_KINDS = ['dvbpr', 'bpr-mf', 'vbpr', 'random', 'popularity'] as const;

/** What every run's manifest starts with; `finishedAt` and the metrics come when training ends. */
export function baseFields(name: string, ds: Dataset, seed: number) {
  return {
    format: RUN_FORMAT,
    name,
    createdAt: new Date().toISOString(),
    seed,
    dataset: { path: ds.dir, dataHash: ds.manifest.dataHash, imageSize: ds.imageSize, items: ds.itemIds.length, users: ds.userIds.length },
    versions: versions(),
    metrics: {},
    history: [],
  };
}

/**
 * The dataset with nothing held out (`--split none`): every purchase — train, validation and test —
 * trains, and the item counts follow. For a shop's serving model, trained with the settings and
 * epoch count an evaluated run chose (`--like`). `keepTest`: the test items stay held out (the
 * benches' refit: how much a serving model gains from the purchases validation kept back,
 * measured on the test items it still never saw).
 */
export function withoutHeldOut(ds: Dataset, keepTest = false): Dataset {
  const parts = historyPairs(ds, keepTest ? 'known' : 'all');
  const join2 = (key: 'user' | 'item') => {
    const out = new Int32Array(parts.reduce((n, p) => n + p[key].length, 0));
    let o = 0;
    for (const p of parts) (out.set(p[key], o), (o += p[key].length));
    return out;
  };
  const train = { user: join2('user'), item: join2('item') };
  const itemTrainCount = new Int32Array(ds.itemIds.length);
  for (const i of train.item) itemTrainCount[i]!++;
  const none = { user: new Int32Array(0), item: new Int32Array(0) };
  // every purchase trains: the latest training purchase is the latest of all (of all but the test item)
  const latest = latestPurchases(ds, keepTest ? 'known' : 'all');
  const basket = latestBaskets(ds, keepTest ? 'known' : 'all');
  const kept = keepTest ? { test: ds.test, sampledNegatives: ds.sampledNegatives } : { test: none, sampledNegatives: new Int32Array(0) };
  return {
    ...ds,
    train,
    valid: none,
    ...kept,
    itemTrainCount,
    latest: { train: latest, known: latest, all: latestPurchases(ds, 'all') },
    baskets: { train: basket, known: basket, all: latestBaskets(ds, 'all') },
  };
}

export { rankingOn } from './evaluation.js';

/** An evaluated run whose settings a `--split none` run took, as its manifest records it. */
export interface LikeRun {
  run: string;
  name: string;
  dataHash: string;
  bestEpoch: number;
  /** the ranking policy it chose on validation (models/ranking) */
  ranking?: RankingPolicy;
}

export interface DvbprJobOptions {
  out: string;
  config: DvbprConfig;
  resume: boolean;
  callbacks: TrainCallbacks;
  /** the run whose settings this one took (recorded in the manifest) */
  like?: LikeRun;
  /** data-parallel over these ranks (src/train/bpr.ts); rank 0 alone writes the run folder */
  group?: ProcessGroup;
  /** a classifier already trained on this dataset, to reuse (its encoder starts Φ with --init classifier) */
  classifier?: ClassifierJobResult | AttributeJobResult;
  /** stops training at the next step with a checkpoint of it (a CancelledError; --resume continues) */
  signal?: AbortSignal;
}

export async function trainDvbprJob(ds: Dataset, images: PixelRows, o: DvbprJobOptions): Promise<{ manifest: DvbprRunManifest; model: Dvbpr }> {
  // the other ranks read the run folder (to resume) but never lock or write it
  if (o.group && o.group.rank !== 0) return dvbprJob(ds, images, o);
  return withRunOutput(o.out, 'train dvbpr', RUN_KINDS, () => dvbprJob(ds, images, o));
}

async function dvbprJob(ds: Dataset, images: PixelRows, o: DvbprJobOptions): Promise<{ manifest: DvbprRunManifest; model: Dvbpr }> {
  const cfg = o.config;
  if (o.resume && o.like) throw new BadInputError('--like sets the settings of a new run; --resume continues a run with its own: give one');
  if (o.resume) checkResumedSettings(o.out, cfg, ['epochs', 'earlyStopping']);
  if (!o.group || o.group.rank === 0) assertUploadsFit(o.out, ds.imageSize);
  // nothing held out (withoutHeldOut): no validation, the last epoch's weights are the model
  const heldOut = ds.valid.user.length > 0;
  const manifest: DvbprRunManifest = {
    ...baseFields(`dvbpr-${cfg.init}`, ds, cfg.seed),
    kind: 'dvbpr',
    config: cfg,
    training: {
      split: heldOut ? 'dataset' : 'none',
      pairs: ds.train.user.length,
      users: new Set(ds.train.user).size,
      ...(o.like ? { like: o.like } : {}),
      ...(o.group ? { ranks: o.group.size } : {}),
    },
  };
  const model = new Dvbpr(cfg.encoder, ds.userIds.length, cfg.seed);
  const follower = o.group !== undefined && o.group.rank !== 0;
  // a follower takes rank 0's weights at the start (trainBpr's broadcast): no classifier of its own
  if (cfg.init === 'classifier' && !follower) {
    const clf = o.classifier ?? (await encoderStart(ds, images, cfg, o.callbacks, o.group ? undefined : o.signal)); // ranks stop together, in the loop
    // copy the classifier's encoder (conv trunk and embedding layer) into Φ
    model.encoder.loadStateDict(clf.classifier.encoder.stateDict(), 'classifier encoder');
    manifest.metrics.classifier = {
      heldOutAccuracy: clf.heldOutAccuracy,
      classes: clf.classes,
      ...('attributes' in clf ? { attributes: clf.attributes } : {}),
    };
  }
  const scorer = () => new DvbprScorer(model.theta.data(), embedImages(model.encoder, images), cfg.encoder.k);
  const aug = { shift: cfg.augmentShift, flip: cfg.augmentFlip, scale: cfg.augmentScale, noise: cfg.augmentNoise };
  const augment = augments(aug) ? augmenter(aug, cfg.seed + 17) : undefined;
  const conservative = cfg.conservative ? conservativeTerm(ds, cfg.conservative, cfg.seed + 29) : undefined;
  const result = await trainBpr(
    {
      module: model,
      loss: dvbprLoss(model, images, cfg.lambdaPhi, cfg.lambdaTheta, augment, conservative),
      // θ's rows by lazy Adam: a step costs the same whatever the number of shoppers
      rows: model.rowTable(),
      generators: [
        ...(model.encoder.dropoutGen ? [model.encoder.dropoutGen] : []),
        ...(augment ? [augment.generator] : []),
        ...(conservative ? [conservative.gen] : []),
      ],
    },
    {
      dir: o.out,
      epochs: cfg.epochs,
      batch: cfg.batch,
      lr: cfg.lr,
      seed: cfg.seed,
      train: ds.train,
      numUsers: ds.userIds.length,
      numItems: ds.itemIds.length,
      ...(heldOut
        ? {
            validate: () => {
              const s = scorer();
              try {
                const r = rankingOn(ds, s, 'valid');
                return { auc: r.auc, coldAuc: r.coldAuc };
              } finally {
                s.dispose();
              }
            },
          }
        : {}),
      evalEvery: cfg.evalEvery,
      earlyStopping: cfg.earlyStopping,
      averageEpochs: cfg.averageEpochs,
      microBatches: cfg.microBatches,
      resume: o.resume,
      examplesPerTriplet: 2,
      rateUnit: 'images/s',
      callbacks: o.callbacks,
      ...(o.group ? { group: o.group } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    },
  );
  if (follower) return { manifest, model }; // rank 0 measures and writes the run
  // embed every catalogue item (bought or not) with the best weights
  model.eval();
  const e = embedImages(model.encoder, images);
  const final = new DvbprScorer(model.theta.data(), e, cfg.encoder.k);
  manifest.embeddings = { file: EMBEDDINGS_FILE, count: ds.itemIds.length, k: cfg.encoder.k };
  // the ranking policy for the top of the list: chosen on validation, or the evaluated run's (--like)
  const describe = (p: Record<string, number>) =>
    Object.entries(p)
      .map(([k, w]) => `${k} ${w}`)
      .join(', ') || 'no priors';
  const policy = heldOut
    ? choosePolicy(ds, final, (cell, best) =>
        o.callbacks.onMessage?.(`ranking policy: ${describe(cell.policy)} → validation AUC ${cell.score.toFixed(4)} (best so far: ${describe(best.policy)})`),
      )
    : undefined;
  manifest.metrics = {
    ...manifest.metrics,
    bestEpoch: result.bestEpoch,
    ...(heldOut ? { valid: rankingOn(ds, final, 'valid'), test: rankingOn(ds, final, 'test') } : {}),
  };
  if (policy) {
    const { validation: _v, ...recorded } = policy;
    manifest.ranking = recorded;
  } else if (o.like?.ranking) manifest.ranking = { policy: { ...o.like.ranking }, chosenOn: 'like' };
  final.dispose();
  manifest.history = result.history;
  manifest.finishedAt = new Date().toISOString();
  // the run folder's new model, catalogue and manifest in one commit; items uploaded to the served
  // run are kept, re-embedded by the new encoder
  commitRun(o.out, {
    manifest,
    dataset: ds,
    weights: { tensors: model.stateDict(), metadata: { kind: 'dvbpr' } },
    embeddings: { e, k: cfg.encoder.k, embed: (u8, n, size) => embedPixels(model.encoder, u8, n, size) },
  });
  return { manifest, model };
}

/**
 * The conservative term's models (train/losses.ts): the GAN run named, frozen, its categories
 * matched to the dataset's by name (an item of a category the GAN does not draw gets none), grey
 * when every catalogue photo is.
 */
function conservativeTerm(ds: Dataset, c: NonNullable<DvbprConfig['conservative']>, seed: number): ConservativeTerm {
  const g = loadGanRun(c.gan);
  g.gan.generator.freeze();
  const ganIdx = ds.categories.map((name) => g.manifest.categories.indexOf(name));
  if (ganIdx.every((i) => i < 0))
    throw new BadInputError(`the GAN draws none of the dataset's categories (it draws ${g.manifest.categories.join(', ')})`, {
      file: join(c.gan, 'manifest.json'),
    });
  let grey = true;
  // row by row, stopping at the first coloured pixel (a colour catalogue stops at once)
  for (let i = 0; i < ds.images.count && grey; i++) {
    const px = ds.images.row(i);
    for (let p = 0; p < px.length && grey; p += 3) grey = px[p] === px[p + 1] && px[p] === px[p + 2];
  }
  return {
    gan: g.gan,
    ganCategory: Int32Array.from(ds.itemCategory, (k) => ganIdx[k]!),
    grey,
    weight: c.weight,
    steps: c.steps,
    perBatch: c.perBatch,
    lr: c.lr,
    gen: new TorchGenerator(seed),
  };
}

/**
 * `atelier train dvbpr`: the dataset folder, a config for its image size, a run folder; with
 * `split: 'none'` every purchase trains (withoutHeldOut), and `like` names the evaluated run whose
 * settings `configFor` was given.
 */
export async function trainDvbprFromData(
  dataDir: string,
  configFor: (imageSize: number) => DvbprConfig,
  o: { out: string; resume: boolean; split?: 'dataset' | 'none'; like?: LikeRun; signal?: AbortSignal },
  progress: Progress,
): Promise<RunManifest> {
  const loaded = loadDataset(dataDir);
  const ds = o.split === 'none' ? withoutHeldOut(loaded) : loaded;
  if (o.like && o.like.dataHash !== ds.manifest.dataHash)
    progress.event('message', {
      message: `--like ${o.like.run} was trained on another dataset (hash ${o.like.dataHash.slice(0, 12)}…): its settings are used as they are`,
    });
  const cfg = configFor(ds.imageSize);
  if (cfg.encoder.inputSize !== ds.imageSize) {
    progress.event('message', {
      message: `preset ${cfg.preset} expects ${cfg.encoder.inputSize} px; the dataset has ${ds.imageSize} px: ingest with --image-size ${cfg.encoder.inputSize}`,
    });
  }
  const images = imagesTensor(ds);
  // a worker of a data-parallel run (torchrun's variables, or `--nproc`: src/cli/launch.ts)
  const rendezvous = rendezvousFromEnv();
  const group = rendezvous && rendezvous.size > 1 ? initProcessGroup(rendezvous) : undefined;
  try {
    const { manifest } = await trainDvbprJob(ds, images, {
      out: o.out,
      config: cfg,
      resume: o.resume,
      callbacks: trainCallbacks(progress, `dvbpr-${cfg.init}`),
      ...(o.like ? { like: o.like } : {}),
      ...(group ? { group } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
    return manifest;
  } finally {
    group?.destroy();
    images.dispose();
  }
}
