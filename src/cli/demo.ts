/**
 * `atelier demo` (README's main command, `npm run demo`): prepares the embedded default
 * (Fashion-MNIST with simulated shoppers) or a shop folder in the H&M layout, trains the
 * baselines, DVBPR (from scratch and classifier-initialised) and the GAN, makes designs, and
 * writes report.html. Completed stages are kept: running it again resumes (--fresh restarts).
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { dvbprPreset } from '../config/dvbpr.js';
import { ganPreset } from '../config/gan.js';
import { parseConfig } from '../config/parse.js';
import { writeJsonAtomic } from '../core/fs.js';
import { loadDataset } from '../data/dataset.js';
import { FASHION_MNIST_DEFAULT } from '../data/read-fashion-mnist.js';
import { loadGanRun, type GanManifest } from '../store/gan-run.js';
import { loadRun, readManifest, type RunManifest } from '../store/run.js';
import { versions } from '../store/versions.js';
import { designForShopper } from '../store/designs.js';
import { designStudy } from './design-study.js';
import { writeFigure, runImprove } from './design.js';
import { trainGanJob } from './gan.js';
import { runIngest } from './ingest.js';
import { classifierFeatures, imagesTensor, simpleJob, trainCategoryClassifier, trainDvbprJob, trainFactorJob, type ClassifierJobResult } from './jobs.js';
import type { Progress } from './progress.js';
import { writeReport, type ReportInput } from './report.js';
import { trainCallbacks } from './train.js';

const flags = z
  .object({
    data: z.string().optional(),
    out: z.string().default('out/demo'),
    preset: z.enum(['tiny', 'default']).default('default'),
    fresh: z.boolean().default(false),
    seed: z.coerce.number().int().min(0).default(1),
  })
  .strict();

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
  designN: number;
  designSteps: number;
  studyUsers: number;
}

function plan(preset: 'tiny' | 'default', hm: boolean): Plan {
  if (preset === 'tiny') {
    return { imageSize: 16, fmnist: { items: 200, shoppers: 40 }, classifierEpochs: 1, factorEpochs: 1, dvbprEpochs: 1, ganEpochs: 1, ganSnapshots: 1, designUsers: 1, designCategories: 2, designN: 2, designSteps: 3, studyUsers: 1 };
  }
  if (hm) return { imageSize: 64, fmnist: { items: 0, shoppers: 0 }, classifierEpochs: 5, factorEpochs: 20, dvbprEpochs: 10, ganEpochs: 6, ganSnapshots: 3, designUsers: 2, designCategories: 4, designN: 6, designSteps: 50, studyUsers: 5 };
  return { imageSize: 32, fmnist: { items: 6000, shoppers: 1000 }, classifierEpochs: 3, factorEpochs: 20, dvbprEpochs: 25, ganEpochs: 20, ganSnapshots: 5, designUsers: 2, designCategories: 4, designN: 6, designSteps: 50, studyUsers: 5 };
}

function finished(dir: string): RunManifest | null {
  try {
    const m = readManifest(dir);
    return m.finishedAt ? m : null;
  } catch {
    return null;
  }
}

export async function runDemo(raw: Record<string, unknown>, progress: Progress): Promise<string> {
  const f = parseConfig(flags, raw);
  const out = resolve(f.out);
  if (f.fresh) rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const hm = Boolean(f.data);
  const p = plan(f.preset, hm);
  const stages: { stage: string; seconds: number }[] = [];
  const stage = async <T>(name: string, fn: () => Promise<T> | T): Promise<T> => {
    const t0 = performance.now();
    progress.event('stage', { stage: name });
    const r = await fn();
    stages.push({ stage: name, seconds: (performance.now() - t0) / 1000 });
    writeJsonAtomic(join(out, 'stages.json'), stages);
    return r;
  };

  // 1. data
  const dataDir = join(out, 'data');
  if (!existsSync(join(dataDir, 'manifest.json'))) {
    await stage('ingest', () =>
      hm
        ? runIngest('hm', f.data!, { out: dataDir, imageSize: p.imageSize, seed: f.seed, ...(f.preset === 'tiny' ? { minCategoryCount: 1 } : {}) }, progress)
        : runIngest('fashion-mnist', FASHION_MNIST_DEFAULT, { out: dataDir, imageSize: p.imageSize, items: p.fmnist.items, simulateShoppers: p.fmnist.shoppers, seed: f.seed, minCategoryCount: 1 }, progress),
    );
  }
  const ds = loadDataset(dataDir);
  const images = imagesTensor(ds);
  const runs = join(out, 'runs');
  const base = { ...dvbprPreset(f.preset === 'tiny' ? 'tiny' : 'default', ds.imageSize), seed: f.seed };

  // 2. the category classifier: VBPR's features, DVBPR's --init classifier, the GAN's metrics
  let clf: ClassifierJobResult | null = null;
  const classifier = async () => (clf ??= await stage('classifier', () => trainCategoryClassifier(ds, images, { ...base, classifierEpochs: p.classifierEpochs }, trainCallbacks(progress, 'classifier'))));

  // 3. recommenders
  for (const kind of ['random', 'popularity'] as const) if (!finished(join(runs, kind))) await stage(kind, () => simpleJob(ds, kind, join(runs, kind), f.seed));
  const factor = { factors: 20, visualFactors: 20, lambda: 0.01, lambdaE: 0.01, lr: 1e-3, epochs: p.factorEpochs, batch: 128, seed: f.seed, resume: true };
  if (!finished(join(runs, 'bpr-mf'))) await stage('bpr-mf', () => trainFactorJob(ds, { ...factor, out: join(runs, 'bpr-mf'), kind: 'bpr-mf', callbacks: trainCallbacks(progress, 'bpr-mf') }));
  if (!finished(join(runs, 'vbpr'))) {
    const c = await classifier();
    const features = { ...classifierFeatures(c.classifier, images), source: `category classifier (held-out accuracy ${c.heldOutAccuracy.toFixed(3)})` };
    await stage('vbpr', () => trainFactorJob(ds, { ...factor, out: join(runs, 'vbpr'), kind: 'vbpr', features, callbacks: trainCallbacks(progress, 'vbpr') }));
  }
  for (const init of ['scratch', 'classifier'] as const) {
    const dir = join(runs, `dvbpr-${init}`);
    if (finished(dir)) continue;
    const c = init === 'classifier' ? await classifier() : undefined;
    await stage(`dvbpr-${init}`, () => trainDvbprJob(ds, images, { out: dir, config: { ...base, init, epochs: p.dvbprEpochs }, resume: true, callbacks: trainCallbacks(progress, `dvbpr-${init}`), classifier: c }));
  }

  // 4. the GAN, with the discriminator's mismatch term: better category agreement on both datasets
  // (bench/results/gan.md; on H&M at the demo's 6 epochs 55.8% against 44.1% without it) and more
  // personal designs on Fashion-MNIST (design.md)
  const ganDir = join(out, 'gan');
  const ganCfg = { ...ganPreset(f.preset === 'tiny' ? 'tiny' : 'default', ds.imageSize), epochs: p.ganEpochs, snapshots: p.ganSnapshots, seed: f.seed, ...(f.preset === 'tiny' ? { minCategoryItems: 2 } : {}), mismatch: 1 };
  let ganManifest: GanManifest | null = null;
  try {
    const m = JSON.parse(readFileSync(join(ganDir, 'manifest.json'), 'utf8')) as GanManifest;
    if (m.finishedAt) ganManifest = m;
  } catch {
    ganManifest = null;
  }
  // a GAN trained with another configuration (an earlier version's demo) is trained again
  if (ganManifest && JSON.stringify(ganManifest.config) !== JSON.stringify(ganCfg)) {
    progress.event('message', { message: `${ganDir} was trained with another configuration than this demo's: training it again` });
    rmSync(ganDir, { recursive: true, force: true });
    ganManifest = null;
  }
  if (!ganManifest) {
    const c = await classifier();
    ganManifest = await stage('gan', () => trainGanJob(ds, images, ganCfg, { out: ganDir, resume: true, progress, qualitySamples: f.preset === 'tiny' ? 10 : 200, classifier: c }));
  }
  images.dispose();

  // 5. designs: the best DVBPR run by validation AUC
  const dvbprRuns = ['dvbpr-scratch', 'dvbpr-classifier'].map((n) => ({ n, m: readManifest(join(runs, n)) }));
  const bestRun = dvbprRuns.sort((a, b) => (b.m.metrics.valid as { auc: number }).auc - (a.m.metrics.valid as { auc: number }).auc)[0]!;
  const run = loadRun(join(runs, bestRun.n));
  const g = loadGanRun(ganDir);
  const cats = g.manifest.categories.slice(0, p.designCategories);
  const users = ds.userIds.slice(0, p.designUsers);
  const figures: ReportInput['figures'] = [];
  await stage('designs', async () => {
    for (const user of users) {
      for (const category of cats) {
        const d = designForShopper(run, g, { userId: user, category, n: p.designN, steps: p.designSteps, seed: f.seed, realItems: p.designN });
        const png = join(out, 'designs', `${user}-${category.replace(/[^A-Za-z0-9]+/g, '_')}.png`);
        mkdirSync(join(out, 'designs'), { recursive: true });
        await writeFigure(png, d);
        figures.push({ user, category, png, bestReal: d.bestReal[0]?.score ?? NaN, bestDesign: Math.max(...d.design.finalScores) });
      }
    }
  });
  const improveItem = ds.itemIds.find((_, i) => cats.includes(ds.categories[ds.itemCategory[i]!]!))!;
  const imp = await stage('improve', () => runImprove({ run: run.dir, gan: ganDir, user: users[0]!, item: improveItem, steps: String(p.designSteps), out: join(out, 'improve') }));
  const study = await stage('design study', () => designStudy(hm ? 'H&M' : 'Fashion-MNIST', ds, run, g, { users: p.studyUsers, n: Math.min(4, p.designN), steps: p.designSteps, seed: f.seed }));

  // 6. the report
  const all = ['random', 'popularity', 'bpr-mf', 'vbpr', 'dvbpr-scratch', 'dvbpr-classifier'].map((n) => ({ n, m: readManifest(join(runs, n)) }));
  const label: Record<string, string> = { random: 'Random', popularity: 'PopRank', 'bpr-mf': 'BPR-MF', vbpr: 'VBPR (classifier features)', 'dvbpr-scratch': 'DVBPR (from scratch)', 'dvbpr-classifier': 'DVBPR (classifier-initialised)' };
  const curves: ReportInput['curves'] = [];
  for (const { n, m } of all) {
    for (const h of m.history as { epoch: number; loss: number; metrics: Record<string, number> }[]) {
      if (h.metrics.auc !== undefined) curves.push({ run: label[n]!, epoch: h.epoch, metric: 'validation AUC', value: h.metrics.auc });
      if (h.metrics.coldAuc !== undefined) curves.push({ run: label[n]!, epoch: h.epoch, metric: 'validation cold AUC', value: h.metrics.coldAuc });
      curves.push({ run: label[n]!, epoch: h.epoch, metric: 'training loss (per triplet)', value: h.loss });
    }
  }
  const ganCurves: ReportInput['ganCurves'] = [];
  for (const s of ganManifest.metrics.snapshots as { snapshot: number; metrics: Record<string, number> }[]) {
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
      const t = m.metrics.test as { auc: number; coldAuc: number; sampledAuc: number; recallAtK: number; ndcgAtK: number };
      return { method: label[n]!, auc: t.auc, coldAuc: t.coldAuc, sampledAuc: t.sampledAuc, recallAt10: t.recallAtK, ndcgAt10: t.ndcgAtK };
    }),
    curves,
    ganCurves,
    figures,
    improvement: { user: imp.userId, item: imp.itemId, png: join(out, 'improve', 'figure.png'), scores: imp.scores },
    ganSamples: snaps ? join(ganDir, 'snapshots', `snapshot-${String(snaps).padStart(2, '0')}.png`) : undefined,
    ganQuality: ganManifest.metrics.final as unknown as ReportInput['ganQuality'],
    study: study as unknown as Record<string, unknown>,
    stages: JSON.parse(readFileSync(join(out, 'stages.json'), 'utf8')),
    meta: { seed: f.seed, preset: f.preset, designsFrom: bestRun.n, dataHash: ds.manifest.dataHash, versions: versions(), plan: p, command: `atelier demo${f.data ? ` --data ${f.data}` : ''} --out ${f.out}` },
  });
  return report;
}
