/**
 * `npm run bench -- recommend [--data <hm folder>]`: every method on H&M (paper split, default
 * preset), hyperparameters chosen on validation AUC over the grid below; writes
 * bench/results/recommend.md and recommend.json. Long (tens of minutes on 2 cores).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { runIngest } from '../src/cli/ingest.js';
import { classifierFeatures, imagesTensor, rankingOn, simpleJob, trainCategoryClassifier, trainDvbprJob, trainFactorJob } from '../src/cli/jobs.js';
import { createProgress } from '../src/cli/progress.js';
import { trainCallbacks } from '../src/cli/train.js';
import { dvbprPreset } from '../src/config/dvbpr.js';
import { writeFileAtomic, writeJsonAtomic } from '../src/core/fs.js';
import { loadDataset } from '../src/data/dataset.js';
import type { RunManifest } from '../src/store/run.js';
import { engineInfo } from '../src/torch/index.js';

export const GRID = {
  'bpr-mf': { factors: [20], lambda: [0.001, 0.01, 0.1], lr: [1e-3], epochs: 30 },
  vbpr: { factors: [20], lambda: [0.001, 0.01, 0.1], lr: [1e-3], epochs: 30 },
  dvbpr: { lr: [1e-4, 3e-4], epochs: 30, init: ['scratch', 'classifier'] },
};

export async function recommendBench(args: string[]): Promise<void> {
  const src = args[args.indexOf('--data') + 1] && args.includes('--data') ? args[args.indexOf('--data') + 1]! : '../shared/data/hm';
  const work = process.env.BENCH_WORK ?? '/tmp/atelier-bench-recommend';
  mkdirSync(work, { recursive: true });
  const progress = createProgress({ json: true });
  const dataDir = join(work, 'data');
  if (!existsSync(join(dataDir, 'manifest.json'))) await runIngest('hm', src, { out: dataDir, imageSize: 64 }, progress);
  const ds = loadDataset(dataDir);
  const results: { method: string; chosen: Record<string, unknown>; grid: { params: Record<string, unknown>; validAuc: number }[]; m: RunManifest }[] = [];
  const t0 = Date.now();
  const save = () => {
    const rows = results.map((r) => {
      const t = r.m.metrics.test as ReturnType<typeof rankingOn>;
      return { method: r.method, auc: t.auc, sampledAuc: t.sampledAuc, coldAuc: t.coldAuc, recallAt10: t.recallAtK, ndcgAt10: t.ndcgAtK, users: t.users, coldUsers: t.coldUsers, chosen: r.chosen, grid: r.grid };
    });
    writeJsonAtomic(join('bench', 'results', 'recommend.json'), {
      dataset: { source: src, users: ds.userIds.length, items: ds.itemIds.length, coldTestItems: ds.manifest.split.coldTestItems, coldTestUsers: ds.manifest.split.coldTestUsers, dataHash: ds.manifest.dataHash },
      rows,
      engine: engineInfo(),
      minutes: (Date.now() - t0) / 60000,
      command: 'npm run bench -- recommend',
    });
    const f = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : '–');
    const md = [
      '# Recommendation on H&M (paper split, default preset, 64 px)',
      '',
      `Dataset: ${src}: ${ds.userIds.length} shoppers, ${ds.itemIds.length} items, ${ds.manifest.split.coldTestItems} cold test items (${ds.manifest.split.coldTestUsers} shoppers whose test item is cold).`,
      'Test split; full AUC over every item the shopper never bought; cold AUC over shoppers whose held-out item has < 5 training purchases, negatives also such items; sampled AUC against 100 fixed negatives.',
      '',
      '| method | AUC (all items) | AUC (cold items) | sampled AUC | Recall@10 | NDCG@10 | chosen on validation |',
      '|---|---:|---:|---:|---:|---:|---|',
      ...rows.map((r) => `| ${r.method} | ${f(r.auc)} | ${f(r.coldAuc)} | ${f(r.sampledAuc)} | ${f(r.recallAt10)} | ${f(r.ndcgAt10)} | ${JSON.stringify(r.chosen)} |`),
      '',
      '## Grid (validation AUC of each setting)',
      '',
      ...results.flatMap((r) => [`- ${r.method}: ${r.grid.map((g) => `${JSON.stringify(g.params)} → ${f(g.validAuc)}`).join('; ') || 'no hyperparameters'}`]),
      '',
      `Grid: ${JSON.stringify(GRID)}`,
      '',
      `Command: \`npm run bench -- recommend\` (${((Date.now() - t0) / 60000).toFixed(0)} min on ${engineInfo().threads} threads).`,
      '',
    ].join('\n');
    writeFileAtomic(join('bench', 'results', 'recommend.md'), md);
  };
  for (const kind of ['random', 'popularity'] as const) {
    results.push({ method: kind, chosen: {}, grid: [], m: simpleJob(ds, kind, join(work, kind), 1) });
    save();
  }
  const images = imagesTensor(ds);
  const base = dvbprPreset('default', ds.imageSize);
  const clf = trainCategoryClassifier(ds, images, base, trainCallbacks(progress, 'classifier'));
  const features = { ...classifierFeatures(clf.classifier, images), source: `category classifier, held-out accuracy ${clf.heldOutAccuracy.toFixed(3)}` };
  for (const kind of ['bpr-mf', 'vbpr'] as const) {
    const g = GRID[kind];
    let best: { m: RunManifest; params: Record<string, unknown>; v: number } | null = null;
    const grid: { params: Record<string, unknown>; validAuc: number }[] = [];
    for (const lambda of g.lambda) {
      const params = { factors: g.factors[0]!, lambda, lr: g.lr[0]! };
      const m = await trainFactorJob(ds, {
        out: join(work, `${kind}-${lambda}`),
        kind,
        factors: params.factors,
        visualFactors: params.factors,
        lambda,
        lambdaE: lambda,
        lr: params.lr,
        epochs: g.epochs,
        batch: 128,
        seed: 1,
        resume: true,
        features: kind === 'vbpr' ? features : undefined,
        callbacks: trainCallbacks(progress, `${kind} λ=${lambda}`),
      });
      const v = (m.metrics.valid as { auc: number }).auc;
      grid.push({ params, validAuc: v });
      if (!best || v > best.v) best = { m, params, v };
    }
    results.push({ method: kind === 'vbpr' ? 'VBPR (classifier features)' : 'BPR-MF', chosen: best!.params, grid, m: best!.m });
    save();
  }
  for (const init of GRID.dvbpr.init) {
    let best: { m: RunManifest; params: Record<string, unknown>; v: number } | null = null;
    const grid: { params: Record<string, unknown>; validAuc: number }[] = [];
    for (const lr of GRID.dvbpr.lr) {
      const cfg = { ...base, lr, epochs: GRID.dvbpr.epochs, init: init as 'scratch' | 'classifier', evalEvery: 2 };
      const { manifest } = await trainDvbprJob(ds, images, { out: join(work, `dvbpr-${init}-${lr}`), config: cfg, resume: true, callbacks: trainCallbacks(progress, `dvbpr-${init} lr=${lr}`), classifier: clf });
      const v = (manifest.metrics.valid as { auc: number }).auc;
      grid.push({ params: { lr }, validAuc: v });
      if (!best || v > best.v) best = { m: manifest, params: { lr, init }, v };
    }
    results.push({ method: `DVBPR (${init})`, chosen: best!.params, grid, m: best!.m });
    save();
  }
  images.dispose();
}
