/**
 * Train the GAN into a GAN run folder (method.md §4): the categories it learns, the quality
 * classifier, the loop with a sample grid and quality figures per snapshot, the best snapshot's
 * weights and the final quality, bounded codes included. Used by `atelier train gan`, the demo
 * and the benches.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { dvbprPreset } from '../config/dvbpr.js';
import type { GanConfig } from '../config/gan.js';
import { BadInputError } from '../core/errors.js';
import { writeJsonAtomic } from '../core/fs.js';
import { loadDataset, type Dataset } from '../data/dataset.js';
import { concat, ganQuality, generate, realFeatures } from '../eval/gan-quality.js';
import { ConditionalGan, ganState, loadGanState } from '../models/gan.js';
import { GAN_FORMAT, type GanManifest } from '../store/gan-run.js';
import { checkResumedSettings, withRunOutput } from '../store/run-commit.js';
import { versions } from '../store/versions.js';
import { Generator, noGrad, randn, saveSafetensors, type PixelRows } from '../torch/index.js';
import { trainGan } from '../train/gan.js';
import { grid, writePng } from './figures.js';
import { trainCallbacks, type Progress } from './progress.js';
import { imagesTensor } from './train-recommender.js';
import { trainCategoryClassifier, type ClassifierJobResult } from './encoder-start.js';

export interface GanJobOptions {
  out: string;
  resume: boolean;
  progress: Progress;
  /** epochs of the quality classifier (default: the encoder preset's) */
  classifierEpochs?: number;
  /** generated images per category for the quality figures */
  qualitySamples: number;
  /** a classifier already trained on this dataset, to reuse */
  classifier?: ClassifierJobResult;
  /** stops training at the next step with a checkpoint of it (a CancelledError; --resume continues) */
  signal?: AbortSignal;
}

export async function trainGanJob(ds: Dataset, images: PixelRows, cfg: GanConfig, o: GanJobOptions): Promise<GanManifest> {
  return withRunOutput(o.out, 'train gan', ['gan'], () => ganJob(ds, images, cfg, o));
}

async function ganJob(ds: Dataset, images: PixelRows, cfg: GanConfig, o: GanJobOptions): Promise<GanManifest> {
  if (o.resume) checkResumedSettings(o.out, cfg, ['epochs']);
  if (cfg.imageSize !== ds.imageSize)
    throw new BadInputError(
      `--preset ${cfg.preset} draws ${cfg.imageSize} px images; the dataset has ${ds.imageSize} px (ingest with --image-size ${cfg.imageSize})`,
    );
  mkdirSync(join(o.out, 'snapshots'), { recursive: true });
  // categories: the dataset's own, less unlabelled ones and those with too few images
  const counts = ds.categories.map((_, c) => ds.itemCategory.reduce((s, x) => s + (x === c ? 1 : 0), 0));
  const skip = new Set(['unknown', 'Unknown', 'other']);
  const leftOut = ds.categories.map((c, i) => ({ category: c, items: counts[i]! })).filter((c) => skip.has(c.category) || c.items < cfg.minCategoryItems);
  if (leftOut.length)
    o.progress.event('message', { message: `categories left out of the GAN: ${leftOut.map((l) => `${l.category} (${l.items} images)`).join(', ')}` });
  const cats = ds.categories.filter((c) => !leftOut.some((l) => l.category === c));
  if (cats.length === 0) throw new BadInputError(`no category has ${cfg.minCategoryItems} images or more`, { file: ds.dir });
  if ((cfg.mismatch ?? 0) > 0 && cats.length < 2)
    throw new BadInputError(`--mismatch ${cfg.mismatch} needs at least two categories; the GAN has ${cats.length} (${cats.join(', ')})`, { file: ds.dir });
  const itemCat = Int32Array.from(ds.itemCategory, (c) => cats.indexOf(ds.categories[c]!));
  // the metrics' classifier: the category classifier of DVBPR's default encoder
  const encCfg = dvbprPreset(cfg.preset === 'tiny' ? 'tiny' : 'default', ds.imageSize);
  const clf =
    o.classifier ??
    (await trainCategoryClassifier(
      ds,
      images,
      { ...encCfg, classifierEpochs: o.classifierEpochs ?? encCfg.classifierEpochs },
      trainCallbacks(o.progress, 'classifier'),
      o.signal,
    ));
  clf.classifier.eval();
  noGrad(() => saveSafetensors(join(o.out, 'classifier.safetensors'), clf.classifier.stateDict()));
  const classOf = cats.map((c) => clf.classes.indexOf(c));
  const real = realFeatures(images, clf.classifier, itemCat, cats.length, 500);
  const gan = new ConditionalGan(cfg, cats, cfg.seed);
  const zFixed = randn([8, cfg.zDim], new Generator(cfg.seed + 99)); // the same codes at every snapshot
  const manifest: GanManifest = {
    format: GAN_FORMAT,
    kind: 'gan',
    createdAt: new Date().toISOString(),
    seed: cfg.seed,
    config: cfg,
    categories: cats,
    leftOut,
    classifier: {
      encoder: clf.classifier.encoderConfig,
      classes: clf.classes,
      heldOutAccuracy: clf.heldOutAccuracy,
      ...(clf.heldOutPerClass ? { heldOutPerClass: clf.heldOutPerClass } : {}),
    },
    dataset: { path: ds.dir, dataHash: ds.manifest.dataHash, imageSize: ds.imageSize },
    versions: versions(),
    metrics: { bestSnapshot: 0, bestFrechet: Infinity, snapshots: [] },
  };
  const result = await trainGan({
    dir: o.out,
    gan,
    images,
    itemCategory: itemCat,
    config: cfg,
    resume: o.resume,
    callbacks: trainCallbacks(o.progress, 'gan'),
    ...(o.signal ? { signal: o.signal } : {}),
    snapshot: async (index) => {
      const rows = cats.map((_, c) => generate(gan, c, zFixed));
      const all = concat(rows.map((r) => r.data<'uint8'>()));
      rows.forEach((r) => r.dispose());
      await writePng(
        join(o.out, 'snapshots', `snapshot-${String(index).padStart(2, '0')}.png`),
        grid(all, rows.length * 8, { size: cfg.imageSize, cols: 8, zoom: cfg.imageSize < 48 ? 2 : 1 }),
      );
      const q = ganQuality(gan, clf.classifier, real, classOf, o.qualitySamples, cfg.seed + 1000);
      const b = ganQuality(gan, clf.classifier, real, classOf, o.qualitySamples, cfg.seed + 1000, 'bounded');
      return {
        frechet: q.frechet,
        categoryAgreement: q.categoryAgreement,
        inceptionScore: q.inceptionScore,
        boundedFrechet: b.frechet,
        boundedAgreement: b.categoryAgreement,
        ...Object.fromEntries(q.perCategory.map((p) => [`frechet:${p.category}`, p.frechet])),
      };
    },
  });
  loadGanState(gan, result.best, 'best snapshot');
  noGrad(() => saveSafetensors(join(o.out, 'weights.safetensors'), ganState(gan), { kind: 'gan', snapshot: String(result.bestSnapshot) }));
  gan.generator.eval();
  const final = ganQuality(gan, clf.classifier, real, classOf, o.qualitySamples, cfg.seed + 2000);
  const finalBounded = ganQuality(gan, clf.classifier, real, classOf, o.qualitySamples, cfg.seed + 2000, 'bounded');
  manifest.metrics = {
    bestSnapshot: result.bestSnapshot,
    bestFrechet: result.bestFrechet,
    snapshots: result.history,
    final,
    finalBounded,
  };
  manifest.finishedAt = new Date().toISOString();
  writeJsonAtomic(join(o.out, 'manifest.json'), manifest);
  zFixed.dispose();
  return manifest;
}

/** `atelier train gan`: the dataset folder, a config for its image size, a GAN run folder. */
export async function trainGanFromData(
  dataDir: string,
  configFor: (imageSize: number) => GanConfig,
  o: Omit<GanJobOptions, 'classifier'>,
): Promise<GanManifest> {
  const ds = loadDataset(dataDir);
  const cfg = configFor(ds.imageSize);
  const images = imagesTensor(ds);
  try {
    return await trainGanJob(ds, images, cfg, o);
  } finally {
    images.dispose();
  }
}
