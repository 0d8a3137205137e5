/**
 * `atelier demo` (README's main command, `npm run demo`): prepares the embedded default
 * (Fashion-MNIST with simulated shoppers) or a shop folder in the H&M layout, trains the
 * baselines, DVBPR (from scratch and classifier-initialised) and the GAN, makes designs, and
 * writes report.html. Completed stages are kept: running it again resumes (--fresh restarts).
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { CancelledError } from '../core/errors.js';
import { dvbprPreset, SIMULATED_SCHEDULE } from '../config/dvbpr.js';
import { ganPreset, ganSchema } from '../config/gan.js';
import { parseConfig } from '../config/parse.js';
import { writeJsonAtomic } from '../core/fs.js';
import { loadDataset, type Dataset } from '../data/dataset.js';
import { FASHION_MNIST_DEFAULT } from '../data/read-fashion-mnist.js';
import { loadGanRun, readGanManifest, type GanManifest } from '../store/gan-run.js';
import { loadRun, readManifest, type RunManifest } from '../store/run.js';
import { versions } from '../store/versions.js';
import { judgedDesignStudy, methodOfSettings, type JudgedStudy } from './design-judged.js';
import { makeSegments } from './segments.js';
import { designPreset } from '../config/design.js';
import { GarmentUtility } from '../eval/utility.js';
import type { PixelRows } from '../torch/index.js';
import { designForShopper, designRequest, improveToFolder, writeFigure } from './designs.js';
import { runIngest } from './ingest.js';
import { trainCallbacks, type Progress } from './progress.js';
import { writeReport, type ReportInput } from './report.js';
import { trainGanJob } from './train-gan.js';
import { imagesTensor, trainDvbprJob } from './train-recommender.js';
import { classifierFeatures, trainCategoryClassifier, type ClassifierJobResult } from './encoder-start.js';
import { simpleJob, trainFactorJob } from './train-baselines.js';

/** The demo's options (the CLI's flags less --json). */
export const demoOptions = z
  .object({
    data: z.string().optional(),
    out: z.string().default('out/demo'),
    preset: z.enum(['tiny', 'default']).default('default'),
    fresh: z.boolean().default(false),
    seed: z.coerce.number().int().min(0).default(1),
  })
  .strict();

type DemoOptions = z.infer<typeof demoOptions>;

interface Plan {
  imageSize: number;
  fmnist: { items: number; shoppers: number };
  classifierEpochs: number;
  factorEpochs: number;
  dvbprEpochs: number;
  ganEpochs: number;
  ganSnapshots: number;
  designUsers: number;
  designCategories: number;
  /** k of the shoppers' segments (one design for the largest) */
  segments: number;
  designN: number;
  /** steps of the designs (undefined: the default preset's) and of the improvement */
  designSteps?: number;
  improveSteps: number;
  /** (shopper, category) pairs of the report's design study */
  studyPairs: number;
}

function plan(preset: 'tiny' | 'default', hm: boolean): Plan {
  if (preset === 'tiny') {
    return {
      imageSize: 16,
      fmnist: { items: 200, shoppers: 40 },
      classifierEpochs: 1,
      factorEpochs: 1,
      dvbprEpochs: 1,
      ganEpochs: 1,
      ganSnapshots: 1,
      designUsers: 1,
      designCategories: 2,
      segments: 2,
      designN: 2,
      designSteps: 3,
      improveSteps: 3,
      studyPairs: 2,
    };
  }
  if (hm)
    return {
      imageSize: 64,
      fmnist: { items: 0, shoppers: 0 },
      classifierEpochs: 5,
      factorEpochs: 20,
      dvbprEpochs: 10,
      ganEpochs: 6,
      ganSnapshots: 3,
      designUsers: 2,
      segments: 4,
      designCategories: 4,
      designN: 6,
      improveSteps: 50,
      studyPairs: 10,
    };
  return {
    imageSize: 32,
    fmnist: { items: 6000, shoppers: 1000 },
    classifierEpochs: 3,
    factorEpochs: 20,
    dvbprEpochs: 25,
    ganEpochs: 20,
    ganSnapshots: 5,
    designUsers: 2,
    segments: 4,
    designCategories: 4,
    designN: 6,
    improveSteps: 50,
    studyPairs: 10,
  };
}

function finished(dir: string): RunManifest | null {
  try {
    const m = readManifest(dir);
    return m.finishedAt ? m : null;
  } catch {
    return null;
  }
}

/** What the demo's stages share. */
interface Demo {
  f: DemoOptions;
  p: Plan;
  hm: boolean;
  out: string;
  runs: string;
  progress: Progress;
  /** runs one named stage, timed, its time kept in stages.json */
  stage: <T>(name: string, fn: () => Promise<T> | T) => Promise<T>;
  /** stops the demo: training at its next step with a checkpoint, any other stage before it starts */
  signal?: AbortSignal;
}

export async function runDemo(raw: Record<string, unknown>, progress: Progress, signal?: AbortSignal): Promise<string> {
  const f = parseConfig(demoOptions, raw);
  const out = resolve(f.out);
  if (f.fresh) rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const hm = Boolean(f.data);
  const stages: { stage: string; seconds: number }[] = [];
  const stage = async <T>(name: string, fn: () => Promise<T> | T): Promise<T> => {
    if (signal?.aborted) throw new CancelledError(`the demo (stopped before its stage '${name}'; running it again resumes)`);
    const t0 = performance.now();
    progress.event('stage', { stage: name });
    let r: T;
    try {
      r = await fn();
    } catch (e) {
      if (e instanceof CancelledError && signal?.aborted)
        throw new CancelledError(`the demo's stage '${name}' (stopped; running the demo again resumes from its last checkpoint)`);
      throw e;
    }
    stages.push({ stage: name, seconds: (performance.now() - t0) / 1000 });
    writeJsonAtomic(join(out, 'stages.json'), stages);
    return r;
  };
  const demo: Demo = { f, p: plan(f.preset, hm), hm, out, runs: join(out, 'runs'), progress, stage, ...(signal ? { signal } : {}) };
  const ds = await demoData(demo);
  const images = imagesTensor(ds);
  // the category classifier, trained once when a stage needs it: VBPR's features, DVBPR's --init classifier, the GAN's metrics
  let clf: ClassifierJobResult | null = null;
  const base = demoDvbprConfig(demo, ds);
  const classifier = async () =>
    (clf ??= await stage('classifier', () =>
      trainCategoryClassifier(ds, images, { ...base, classifierEpochs: demo.p.classifierEpochs }, trainCallbacks(progress, 'classifier'), signal),
    ));
  await demoRecommenders(demo, ds, images, classifier);
  const ganManifest = await demoGan(demo, ds, images, classifier);
  images.dispose();
  const shown = await demoDesigns(demo, ds);
  return demoReport(demo, ds, ganManifest, shown);
}

/** 1. the data: the embedded default (Fashion-MNIST with simulated shoppers) or an H&M-layout shop. */
async function demoData({ f, p, hm, out, stage, progress }: Demo): Promise<Dataset> {
  const dataDir = join(out, 'data');
  if (!existsSync(join(dataDir, 'manifest.json'))) {
    await stage('ingest', () =>
      hm
        ? runIngest('hm', f.data!, { out: dataDir, imageSize: p.imageSize, seed: f.seed, ...(f.preset === 'tiny' ? { minCategoryCount: 1 } : {}) }, progress)
        : runIngest(
            'fashion-mnist',
            FASHION_MNIST_DEFAULT,
            { out: dataDir, imageSize: p.imageSize, items: p.fmnist.items, simulateShoppers: p.fmnist.shoppers, seed: f.seed, minCategoryCount: 1 },
            progress,
          ),
    );
  }
  return loadDataset(dataDir);
}

/**
 * The demo's DVBPR: the default preset on a shop's data (H&M, --data); on the simulated shoppers
 * the schedule the README's Fashion-MNIST figures were measured with (SIMULATED_SCHEDULE: lr 1e-4,
 * no averaging, every epoch validated): the default preset's schedule was chosen on H&M.
 */
const demoDvbprConfig = ({ f, hm }: Demo, ds: Dataset) => {
  const base = dvbprPreset(f.preset === 'tiny' ? 'tiny' : 'default', ds.imageSize);
  return hm || f.preset === 'tiny' ? { ...base, seed: f.seed } : { ...base, ...SIMULATED_SCHEDULE, seed: f.seed };
};

/** 2. the recommenders: random, popularity, BPR-MF, VBPR, DVBPR from scratch and classifier-initialised (finished runs are kept). */
async function demoRecommenders(demo: Demo, ds: Dataset, images: PixelRows, classifier: () => Promise<ClassifierJobResult>): Promise<void> {
  const { f, p, runs, stage, progress, signal } = demo;
  for (const kind of ['random', 'popularity'] as const) if (!finished(join(runs, kind))) await stage(kind, () => simpleJob(ds, kind, join(runs, kind), f.seed));
  const factor = {
    factors: 20,
    visualFactors: 20,
    lambda: 0.01,
    lambdaE: 0.01,
    lr: 1e-3,
    epochs: p.factorEpochs,
    batch: 128,
    seed: f.seed,
    resume: true,
    ...(signal ? { signal } : {}),
  };
  if (!finished(join(runs, 'bpr-mf')))
    await stage('bpr-mf', () => trainFactorJob(ds, { ...factor, out: join(runs, 'bpr-mf'), kind: 'bpr-mf', callbacks: trainCallbacks(progress, 'bpr-mf') }));
  if (!finished(join(runs, 'vbpr'))) {
    const c = await classifier();
    const features = { ...classifierFeatures(c.classifier, images), source: `category classifier (held-out accuracy ${c.heldOutAccuracy.toFixed(3)})` };
    await stage('vbpr', () => trainFactorJob(ds, { ...factor, out: join(runs, 'vbpr'), kind: 'vbpr', features, callbacks: trainCallbacks(progress, 'vbpr') }));
  }
  const base = demoDvbprConfig(demo, ds);
  for (const init of ['scratch', 'classifier'] as const) {
    const dir = join(runs, `dvbpr-${init}`);
    if (finished(dir)) continue;
    const c = init === 'classifier' ? await classifier() : undefined;
    await stage(`dvbpr-${init}`, () =>
      trainDvbprJob(ds, images, {
        out: dir,
        config: { ...base, init, epochs: p.dvbprEpochs },
        resume: true,
        callbacks: trainCallbacks(progress, `dvbpr-${init}`),
        classifier: c,
        ...(signal ? { signal } : {}),
      }),
    );
  }
}

/**
 * 3. the GAN, with the discriminator's mismatch term: better category agreement on both datasets
 * (bench/results/gan.md; on H&M at the demo's 6 epochs 55.8% against 44.1% without it) and more
 * personal designs on Fashion-MNIST (design.md). A finished GAN of this configuration is kept.
 */
async function demoGan(
  { f, p, out, stage, progress, signal }: Demo,
  ds: Dataset,
  images: PixelRows,
  classifier: () => Promise<ClassifierJobResult>,
): Promise<GanManifest> {
  const ganDir = join(out, 'gan');
  const ganCfg = {
    ...ganPreset(f.preset === 'tiny' ? 'tiny' : 'default', ds.imageSize),
    epochs: p.ganEpochs,
    snapshots: p.ganSnapshots,
    seed: f.seed,
    ...(f.preset === 'tiny' ? { minCategoryItems: 2 } : {}),
    mismatch: 1,
  };
  let ganManifest: GanManifest | null = null;
  try {
    const m = readGanManifest(ganDir);
    if (m.finishedAt) ganManifest = m;
  } catch {
    ganManifest = null;
  }
  // a GAN trained with another configuration (an earlier version's demo) is trained again
  // (both sides in the schema's key order: the manifest is read through it)
  if (ganManifest && JSON.stringify(ganManifest.config) !== JSON.stringify(ganSchema.parse(ganCfg))) {
    progress.event('message', { message: `${ganDir} was trained with another configuration than this demo's: training it again` });
    rmSync(ganDir, { recursive: true, force: true });
    ganManifest = null;
  }
  if (ganManifest) return ganManifest;
  const c = await classifier();
  return stage('gan', () =>
    trainGanJob(ds, images, ganCfg, {
      out: ganDir,
      resume: true,
      progress,
      qualitySamples: f.preset === 'tiny' ? 10 : 200,
      classifier: c,
      ...(signal ? { signal } : {}),
    }),
  );
}

interface DemoDesigns {
  bestRun: string;
  figures: ReportInput['figures'];
  improvement: NonNullable<ReportInput['improvement']>;
  study: JudgedStudy;
}

/** 4. designs from the best DVBPR run by validation AUC: the paper's figure per shopper and category, an improved item, the design study. */
async function demoDesigns({ f, p, hm, out, runs, stage }: Demo, ds: Dataset): Promise<DemoDesigns> {
  const ganDir = join(out, 'gan');
  const dvbprRuns = ['dvbpr-scratch', 'dvbpr-classifier'].map((n) => ({ n, m: readManifest(join(runs, n)) }));
  const [bestRun, otherRun] = dvbprRuns.sort((a, b) => b.m.metrics.valid!.auc - a.m.metrics.valid!.auc) as [(typeof dvbprRuns)[0], (typeof dvbprRuns)[0]];
  const run = loadRun(join(runs, bestRun.n));
  const g = loadGanRun(ganDir);
  const cats = g.manifest.categories.slice(0, p.designCategories);
  const users = ds.userIds.slice(0, p.designUsers);
  const figures: ReportInput['figures'] = [];
  await stage('designs', async () => {
    for (const user of users) {
      for (const category of cats) {
        const d = designForShopper(
          run,
          g,
          designRequest(user, category, { n: p.designN, seed: f.seed, ...(p.designSteps !== undefined ? { steps: p.designSteps } : {}) }, p.designN),
        );
        const png = join(out, 'designs', `${user}-${category.replace(/[^A-Za-z0-9]+/g, '_')}.png`);
        mkdirSync(join(out, 'designs'), { recursive: true });
        await writeFigure(png, d);
        figures.push({ user, category, png, bestReal: d.bestReal[0]?.score ?? NaN, bestDesign: Math.max(...d.design.finalScores) });
      }
    }
  });
  // segments of the run's shoppers (`atelier segments`, stored with the run: the served page offers them), and a design for the largest
  await stage('segments', async () => {
    const made = await makeSegments(run.dir, { k: p.segments, seed: f.seed, minMembers: Math.min(50, Math.floor(ds.userIds.length / p.segments)) });
    const seg = made.segments[0]!;
    const withSegments = loadRun(run.dir);
    const d = designForShopper(withSegments, g, {
      ...designRequest(
        `segment ${seg.name}`,
        cats[0]!,
        { n: p.designN, seed: f.seed, ...(p.designSteps !== undefined ? { steps: p.designSteps } : {}) },
        p.designN,
      ),
      segment: seg.name,
    });
    const png = join(out, 'designs', `segment-${seg.name}-${cats[0]!.replace(/[^A-Za-z0-9]+/g, '_')}.png`);
    await writeFigure(png, d);
    figures.push({
      user: `segment ${seg.name}`,
      segment: { name: seg.name, members: seg.members },
      category: cats[0]!,
      png,
      bestReal: d.bestReal[0]?.score ?? NaN,
      bestDesign: Math.max(...d.design.finalScores),
    });
  });
  const improveItem = ds.itemIds.find((_, i) => cats.includes(ds.categories[ds.itemCategory[i]!]!))!;
  const imp = await stage('improve', () =>
    improveToFolder(loadRun(run.dir), loadGanRun(ganDir), { userId: users[0]!, itemId: improveItem, steps: p.improveSteps, seed: 1 }, join(out, 'improve')),
  );
  // the design study: the paper's preset and the default (beside the GAN's own samples), judged by the other DVBPR (which the search never
  // runs) and, for simulated shoppers, by their utility; budgets fixed at the presets' (the bench chose the default's on validation)
  const study = await stage('design study', () => {
    const n = Math.min(4, p.designN);
    const steps = (name: 'paper' | 'default') => ({ ...designPreset(name, n, f.seed), ...(p.designSteps !== undefined ? { steps: p.designSteps } : {}) });
    const utility = ds.simulation ? new GarmentUtility(ds) : undefined;
    try {
      return judgedDesignStudy(hm ? 'H&M' : 'Fashion-MNIST, simulated shoppers', ds, run, loadRun(join(runs, otherRun.n)), g, {
        n,
        validPairs: 0,
        testPairs: p.studyPairs,
        seed: f.seed,
        methods: [
          methodOfSettings('paper preset', 'the authors’ released code', steps('paper')),
          methodOfSettings('default preset', 'chosen on validation shoppers (bench/results/design.md)', steps('default')),
        ],
        utility,
      });
    } finally {
      utility?.dispose();
    }
  });
  return {
    bestRun: bestRun.n,
    figures,
    improvement: { user: imp.userId, item: imp.itemId, png: join(out, 'improve', 'figure.png'), scores: imp.scores },
    study,
  };
}

const RUN_LABELS: Record<string, string> = {
  random: 'Random',
  popularity: 'PopRank',
  'bpr-mf': 'BPR-MF',
  vbpr: 'VBPR (classifier features)',
  'dvbpr-scratch': 'DVBPR (from scratch)',
  'dvbpr-classifier': 'DVBPR (classifier-initialised)',
};

/** 5. report.html: the AUC table, the training curves, the designs, the GAN, and how it was made. */
async function demoReport({ f, p, hm, out, runs }: Demo, ds: Dataset, ganManifest: GanManifest, shown: DemoDesigns): Promise<string> {
  const ganDir = join(out, 'gan');
  const all = Object.keys(RUN_LABELS).map((n) => ({ n, m: readManifest(join(runs, n)) }));
  const curves: ReportInput['curves'] = [];
  for (const { n, m } of all) {
    for (const h of m.history) {
      if (h.metrics.auc !== undefined) curves.push({ run: RUN_LABELS[n]!, epoch: h.epoch, metric: 'validation AUC', value: h.metrics.auc });
      if (h.metrics.coldAuc !== undefined) curves.push({ run: RUN_LABELS[n]!, epoch: h.epoch, metric: 'validation cold AUC', value: h.metrics.coldAuc });
      curves.push({ run: RUN_LABELS[n]!, epoch: h.epoch, metric: 'training loss (per triplet)', value: h.loss });
    }
  }
  const ganCurves: ReportInput['ganCurves'] = [];
  for (const s of ganManifest.metrics.snapshots) {
    ganCurves.push({ snapshot: s.snapshot, metric: 'Fréchet distance', value: s.metrics.frechet! });
    ganCurves.push({ snapshot: s.snapshot, metric: 'category agreement', value: s.metrics.categoryAgreement! });
  }
  const snaps = ganManifest.metrics.snapshots.length;
  const report = join(out, 'report.html');
  await writeReport(report, {
    title: `Atelier demo: ${hm ? 'H&M' : 'Fashion-MNIST with simulated shoppers'}`,
    dataset: {
      name: hm ? `H&M (${f.data})` : `Fashion-MNIST (${FASHION_MNIST_DEFAULT}) with simulated shoppers`,
      items: ds.itemIds.length,
      users: ds.userIds.length,
      coldTestItems: ds.manifest.split.coldTestItems,
      dataHash: ds.manifest.dataHash,
      ...(ds.manifest.oracle ? { oracle: { auc: ds.manifest.oracle.testAuc, coldAuc: ds.manifest.oracle.coldTestAuc } } : {}),
    },
    table: all.map(({ n, m }) => {
      const t = m.metrics.test!;
      return { method: RUN_LABELS[n]!, auc: t.auc, coldAuc: t.coldAuc, sampledAuc: t.sampledAuc, recallAt10: t.recallAtK, ndcgAt10: t.ndcgAtK };
    }),
    curves,
    ganCurves,
    figures: shown.figures,
    improvement: shown.improvement,
    ganSamples: snaps ? join(ganDir, 'snapshots', `snapshot-${String(snaps).padStart(2, '0')}.png`) : undefined,
    ganQuality: ganManifest.metrics.final,
    study: shown.study,
    stages: JSON.parse(readFileSync(join(out, 'stages.json'), 'utf8')),
    meta: {
      seed: f.seed,
      preset: f.preset,
      designsFrom: shown.bestRun,
      dataHash: ds.manifest.dataHash,
      versions: versions(),
      plan: p,
      command: `atelier demo${f.data ? ` --data ${f.data}` : ''} --out ${f.out}`,
    },
  });
  return report;
}
