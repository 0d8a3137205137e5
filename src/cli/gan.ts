/** `atelier train gan` and `atelier sample`: wiring of the GAN loop, its quality metrics and grids. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { dvbprPreset } from '../config/dvbpr.js';
import { ganPreset, ganSchema, type GanConfig } from '../config/gan.js';
import { parseConfig } from '../config/parse.js';
import { BadInputError } from '../core/errors.js';
import { writeJsonAtomic } from '../core/fs.js';
import { loadDataset, type Dataset } from '../data/dataset.js';
import { grid, writePng } from '../data/png.js';
import { categoryAgreement, frechetDistance, inceptionScore } from '../eval/gan-quality.js';
import type { Classifier } from '../models/classifier.js';
import { toInput, toUint8 } from '../models/encoder.js';
import { ConditionalGan, oneHot } from '../models/gan.js';
import { ganCategoryIndex, loadGanRun, type GanManifest } from '../store/gan-run.js';
import { versions } from '../store/versions.js';
import { Generator, noGrad, randn, saveSafetensors, tensor, tidy, type Tensor } from '../torch/index.js';
import { loadGanState, trainGan } from '../train/gan.js';
import { imagesTensor, trainCategoryClassifier, type ClassifierJobResult } from './jobs.js';
import type { Progress } from './progress.js';
import { trainCallbacks } from './train.js';

/** Generated images (uint8 [n, S, S, 3]) of one category from the latent codes z [n, zDim]. */
export function generate(gan: ConditionalGan, category: number, z: Tensor): Tensor {
  return noGrad(() => tidy(() => toUint8(gan.generator.forward(z, oneHot(new Int32Array(z.shape[0]!).fill(category), gan.categories.length)))));
}

/** Classifier features [n, K] and class probabilities [n, C] of float images in [−1, 1]. */
function judge(clf: Classifier, x: Tensor): { feats: Float32Array; probs: Float32Array } {
  return noGrad(() => tidy(() => ({ feats: clf.featuresFloat(x).data(), probs: clf.logitsFloat(x).softmax(1).data() })));
}

export interface GanQuality {
  frechet: number;
  categoryAgreement: number;
  inceptionScore: number;
  perCategory: { category: string; frechet: number; agreement: number }[];
}

/**
 * How latent codes are drawn for the quality figures: 'normal', z ~ N(0, I) as in training; 'bounded',
 * z = tanh(w) with w ~ N(0, I), the codes the design starts from (its z is bounded to (−1, 1)).
 */
export type LatentDraw = 'normal' | 'bounded';

export function drawLatent(n: number, zDim: number, gen: Generator, draw: LatentDraw): Tensor {
  return draw === 'bounded' ? tidy(() => randn([n, zDim], gen).tanh()) : randn([n, zDim], gen);
}

/** Quality of `gan` against real items, in the classifier's feature space. classOf maps GAN category → classifier class. */
export function ganQuality(gan: ConditionalGan, clf: Classifier, realFeats: Float32Array[], classOf: number[], perCategory: number, seed: number, draw: LatentDraw = 'normal'): GanQuality {
  const gen = new Generator(seed);
  const k = clf.encoderConfig.k;
  const nc = clf.numClasses;
  const allProbs: Float32Array[] = [];
  const per = gan.categories.map((name, c) => {
    const feats: Float32Array[] = [];
    const probs: Float32Array[] = [];
    for (let s = 0; s < perCategory; s += 100) {
      const n = Math.min(100, perCategory - s);
      tidy(() => {
        const x = noGrad(() => gan.generator.forward(drawLatent(n, gan.config.zDim, gen, draw), oneHot(new Int32Array(n).fill(c), gan.categories.length)));
        const j = judge(clf, x);
        feats.push(j.feats);
        probs.push(j.probs);
      });
    }
    const f = concat(feats);
    const p = concat(probs);
    allProbs.push(p);
    return {
      category: name,
      frechet: frechetDistance(realFeats[c]!, f, k),
      agreement: categoryAgreement(p, nc, new Int32Array(p.length / nc).fill(classOf[c]!)),
    };
  });
  const probs = concat(allProbs);
  const intended = Int32Array.from({ length: probs.length / nc }, (_, r) => classOf[Math.floor(r / perCategory)]!);
  return {
    frechet: per.reduce((s, p) => s + p.frechet, 0) / per.length,
    categoryAgreement: categoryAgreement(probs, nc, intended),
    inceptionScore: inceptionScore(probs, nc),
    perCategory: per,
  };
}

function concat<A extends Float32Array | Uint8Array>(parts: A[]): A {
  const Ctor = (parts[0]?.constructor ?? Float32Array) as new (n: number) => A;
  const out = new Ctor(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Real items' classifier features per GAN category (up to `max` each). */
export function realFeatures(ds: Dataset, images: Tensor, clf: Classifier, itemCat: Int32Array, numCats: number, max: number): Float32Array[] {
  return Array.from({ length: numCats }, (_, c) => {
    const items = Int32Array.from([...itemCat.keys()].filter((i) => itemCat[i] === c).slice(0, max));
    const parts: Float32Array[] = [];
    for (let s = 0; s < items.length; s += 256) {
      const part = items.subarray(s, s + 256);
      parts.push(tidy(() => judge(clf, toInput(images.indexSelect(0, tensor(part, [part.length], 'int64')))).feats));
    }
    return concat(parts);
  });
}

const ganFlags = z
  .object({
    data: z.string(),
    out: z.string(),
    preset: z.enum(['tiny', 'default', 'paper']).default('default'),
    epochs: z.coerce.number().positive().optional(),
    batch: z.coerce.number().int().positive().optional(),
    lr: z.coerce.number().positive().optional(),
    lrD: z.coerce.number().positive().optional(),
    emaSteps: z.coerce.number().min(0).optional(),
    categoryPower: z.coerce.number().min(0).max(1).optional(),
    projection: z.boolean().optional(),
    mismatch: z.coerce.number().min(0).optional(),
    minCategoryItems: z.coerce.number().int().min(1).optional(),
    snapshots: z.coerce.number().int().min(1).optional(),
    seed: z.coerce.number().int().min(0).optional(),
    resume: z.boolean().default(false),
    classifierEpochs: z.coerce.number().positive().optional(),
    qualitySamples: z.coerce.number().int().min(10).default(200),
  })
  .strict();

export async function trainGanJob(
  ds: Dataset,
  images: Tensor,
  cfg: GanConfig,
  o: { out: string; resume: boolean; progress: Progress; classifierEpochs?: number; qualitySamples: number; classifier?: ClassifierJobResult },
): Promise<GanManifest> {
  if (cfg.imageSize !== ds.imageSize) throw new BadInputError(`--preset ${cfg.preset} draws ${cfg.imageSize} px images; the dataset has ${ds.imageSize} px (ingest with --image-size ${cfg.imageSize})`);
  mkdirSync(join(o.out, 'snapshots'), { recursive: true });
  // categories: the dataset's own, less unlabelled ones and those with too few images
  const counts = ds.categories.map((_, c) => ds.itemCategory.reduce((s, x) => s + (x === c ? 1 : 0), 0));
  const skip = new Set(['unknown', 'Unknown', 'other']);
  const leftOut = ds.categories.map((c, i) => ({ category: c, items: counts[i]! })).filter((c) => skip.has(c.category) || c.items < cfg.minCategoryItems);
  if (leftOut.length) o.progress.event('message', { message: `categories left out of the GAN: ${leftOut.map((l) => `${l.category} (${l.items} images)`).join(', ')}` });
  const cats = ds.categories.filter((c) => !leftOut.some((l) => l.category === c));
  if (cats.length === 0) throw new BadInputError(`no category has ${cfg.minCategoryItems} images or more`, { file: ds.dir });
  if ((cfg.mismatch ?? 0) > 0 && cats.length < 2) throw new BadInputError(`--mismatch ${cfg.mismatch} needs at least two categories; the GAN has ${cats.length} (${cats.join(', ')})`, { file: ds.dir });
  const itemCat = Int32Array.from(ds.itemCategory, (c) => cats.indexOf(ds.categories[c]!));
  // the metrics' classifier: the category classifier of DVBPR's default encoder
  const encCfg = dvbprPreset(cfg.preset === 'tiny' ? 'tiny' : 'default', ds.imageSize);
  const clf = o.classifier ?? trainCategoryClassifier(ds, images, { ...encCfg, classifierEpochs: o.classifierEpochs ?? encCfg.classifierEpochs }, trainCallbacks(o.progress, 'classifier'));
  clf.classifier.eval();
  noGrad(() => saveSafetensors(join(o.out, 'classifier.safetensors'), clf.classifier.stateDict()));
  const classOf = cats.map((c) => clf.classes.indexOf(c));
  const real = realFeatures(ds, images, clf.classifier, itemCat, cats.length, 500);
  const gan = new ConditionalGan(cfg, cats, cfg.seed);
  const zFixed = randn([8, cfg.zDim], new Generator(cfg.seed + 99)); // the same codes at every snapshot
  const manifest: GanManifest = {
    format: 1,
    kind: 'gan',
    createdAt: new Date().toISOString(),
    seed: cfg.seed,
    config: cfg,
    categories: cats,
    leftOut,
    classifier: { encoder: clf.classifier.encoderConfig, classes: clf.classes, heldOutAccuracy: clf.heldOutAccuracy, ...(clf.heldOutPerClass ? { heldOutPerClass: clf.heldOutPerClass } : {}) },
    dataset: { path: ds.dir, dataHash: ds.manifest.dataHash, imageSize: ds.imageSize },
    versions: versions(),
    metrics: { bestSnapshot: 0, bestFrechet: Infinity, snapshots: [] },
  };
  const result = await trainGan({
    dir: o.out,
    gan,
    images,
    itemCategory: itemCat,
    epochs: cfg.epochs,
    batch: cfg.batch,
    lr: cfg.lr,
    ...(cfg.lrD !== undefined ? { lrD: cfg.lrD } : {}),
    ...(cfg.emaSteps !== undefined ? { emaSteps: cfg.emaSteps } : {}),
    ...(cfg.categoryPower !== undefined ? { categoryPower: cfg.categoryPower } : {}),
    ...(cfg.mismatch !== undefined ? { mismatch: cfg.mismatch } : {}),
    beta1: cfg.beta1,
    beta2: cfg.beta2,
    snapshots: cfg.snapshots,
    seed: cfg.seed,
    resume: o.resume,
    callbacks: trainCallbacks(o.progress, 'gan'),
    snapshot: async (index) => {
      const rows = cats.map((_, c) => generate(gan, c, zFixed));
      const all = concat(rows.map((r) => r.data<'uint8'>()));
      rows.forEach((r) => r.dispose());
      await writePng(join(o.out, 'snapshots', `snapshot-${String(index).padStart(2, '0')}.png`), grid(all, rows.length * 8, { size: cfg.imageSize, cols: 8, zoom: cfg.imageSize < 48 ? 2 : 1 }));
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
  noGrad(() => {
    const state = new Map<string, Tensor>();
    for (const [k, v] of gan.generator.stateDict()) state.set(`G.${k}`, v);
    for (const [k, v] of gan.discriminator.stateDict()) state.set(`D.${k}`, v);
    saveSafetensors(join(o.out, 'weights.safetensors'), state, { kind: 'gan', snapshot: String(result.bestSnapshot) });
  });
  gan.generator.eval();
  const final = ganQuality(gan, clf.classifier, real, classOf, o.qualitySamples, cfg.seed + 2000);
  const finalBounded = ganQuality(gan, clf.classifier, real, classOf, o.qualitySamples, cfg.seed + 2000, 'bounded');
  manifest.metrics = {
    bestSnapshot: result.bestSnapshot,
    bestFrechet: result.bestFrechet,
    snapshots: result.history,
    final: final as unknown as Record<string, unknown>,
    finalBounded: finalBounded as unknown as Record<string, unknown>,
  };
  manifest.finishedAt = new Date().toISOString();
  writeJsonAtomic(join(o.out, 'manifest.json'), manifest);
  zFixed.dispose();
  return manifest;
}

export async function runTrainGan(raw: Record<string, unknown>, progress: Progress): Promise<GanManifest> {
  const f = parseConfig(ganFlags, raw);
  const ds = loadDataset(f.data);
  const base = ganPreset(f.preset, ds.imageSize);
  const cfg = parseConfig(
    ganSchema,
    {
      ...base,
      ...(f.epochs !== undefined ? { epochs: f.epochs } : {}),
      ...(f.batch !== undefined ? { batch: f.batch } : {}),
      ...(f.lr !== undefined ? { lr: f.lr } : {}),
      ...(f.lrD !== undefined ? { lrD: f.lrD } : {}),
      ...(f.emaSteps !== undefined ? { emaSteps: f.emaSteps } : {}),
      ...(f.categoryPower !== undefined ? { categoryPower: f.categoryPower } : {}),
      ...(f.projection !== undefined ? { projection: f.projection } : {}),
      ...(f.mismatch !== undefined ? { mismatch: f.mismatch } : {}),
      ...(f.minCategoryItems !== undefined ? { minCategoryItems: f.minCategoryItems } : {}),
      ...(f.snapshots !== undefined ? { snapshots: f.snapshots } : {}),
      ...(f.seed !== undefined ? { seed: f.seed } : {}),
    },
    'config',
  );
  const images = imagesTensor(ds);
  try {
    return await trainGanJob(ds, images, cfg, { out: f.out, resume: f.resume, progress, classifierEpochs: f.classifierEpochs, qualitySamples: f.qualitySamples });
  } finally {
    images.dispose();
  }
}

export async function runSample(o: { gan: string; category: string; n: string; out: string; seed?: string }): Promise<string> {
  const n = Number(o.n);
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new BadInputError(`--n must be an integer in 1..1024, got '${o.n}'`);
  const g = loadGanRun(o.gan);
  const c = ganCategoryIndex(g, o.category);
  const imgs = tidy(() => generate(g.gan, c, randn([n, g.manifest.config.zDim], new Generator(Number(o.seed ?? 1)))).data<'uint8'>());
  const size = g.manifest.config.imageSize;
  await writePng(o.out, grid(imgs, n, { size, cols: Math.min(8, n), zoom: size < 48 ? 2 : 1 }));
  return o.out;
}
