/**
 * `npm run bench -- recommend [--data <hm folder>]`: every method on H&M (paper split, default
 * preset), hyperparameters chosen on validation AUC over the grid below; writes
 * bench/results/recommend.md and recommend.json. Long (tens of minutes on 2 cores).
 * `npm run bench -- recommend --simulated`: the same protocol on Fashion-MNIST with the demo's
 * simulated shoppers (32 px), against the oracle (their hidden taste) and a known-features
 * ceiling; writes recommend-simulated.md / .json.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runIngest } from '../src/app/ingest.js';
import { imagesTensor, rankingOn, trainDvbprJob } from '../src/app/train-recommender.js';
import { classifierFeatures, trainCategoryClassifier, type ClassifierJobResult } from '../src/app/encoder-start.js';
import { simpleJob, trainFactorJob } from '../src/app/train-baselines.js';
import { createProgress } from '../src/app/progress.js';
import { trainCallbacks } from '../src/app/progress.js';
import { dvbprPreset, SIMULATED_SCHEDULE, type DvbprConfig } from '../src/config/dvbpr.js';
import { writeFileAtomic, writeJsonAtomic } from '../src/core/fs.js';
import { loadDataset, type Dataset } from '../src/data/dataset.js';
import { FASHION_MNIST_DEFAULT } from '../src/data/read-fashion-mnist.js';
import { hiddenFeatures, hiddenScores } from '../src/data/simulate.js';
import { evaluateRanking } from '../src/eval/ranking.js';
import { Rng } from '../src/core/rng.js';
import type { RunManifest } from '../src/store/run.js';
import { loadClassifier } from '../src/models/classifier.js';
import { engineInfo, noGrad, saveSafetensors, type PixelRows } from '../src/torch/index.js';

export const GRID = {
  'bpr-mf': { factors: [20], lambda: [0.001, 0.01, 0.1], lr: [1e-3], epochs: 30 },
  vbpr: { factors: [20], lambda: [0.001, 0.01, 0.1], lr: [1e-3], epochs: 30 },
  // average: weight averaging (--average-epochs) tried at the lr chosen without it (a second stage of the grid)
  dvbpr: { lr: [1e-4, 3e-4, 1e-3], average: [2], epochs: 30, init: ['scratch', 'classifier'] },
};

/** Simulated shoppers (few purchases each) converge more slowly: more epochs; the lr grid without 1e-4 (slowest on H&M). */
export const GRID_SIMULATED = {
  ...GRID,
  'bpr-mf': { ...GRID['bpr-mf'], epochs: 40 },
  vbpr: { ...GRID.vbpr, epochs: 40 },
  dvbpr: { ...GRID.dvbpr, lr: [3e-4, 1e-3], epochs: 40 },
};

export async function recommendBench(args: string[]): Promise<void> {
  const simulated = args.includes('--simulated');
  if (!simulated) return (await import('./recommend-hm.js')).recommendHmBench(args);
  // --shoppers N --extra-items M: another simulated population than the demo's (1,000 shoppers, 5 + Poisson(6) purchases)
  const flag = (name: string, def: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : def);
  const shoppers = flag('--shoppers', 1000);
  const extraItems = flag('--extra-items', 6);
  if (!(Number.isInteger(shoppers) && shoppers > 0 && extraItems >= 0))
    throw new Error(`--shoppers must be a positive integer and --extra-items ≥ 0, got ${shoppers} and ${extraItems}`);
  const population = shoppers === 1000 && extraItems === 6 ? '' : `-${shoppers}x${extraItems}`;
  const src = simulated
    ? FASHION_MNIST_DEFAULT
    : args[args.indexOf('--data') + 1] && args.includes('--data')
      ? args[args.indexOf('--data') + 1]!
      : (process.env.ATELIER_HM ?? '../shared/data/hm');
  const work = process.env.BENCH_WORK ?? (simulated ? `/tmp/atelier-bench-recommend-sim${population}` : '/tmp/atelier-bench-recommend');
  const settings = simulated ? GRID_SIMULATED : GRID;
  const outName = simulated ? `recommend-simulated${population}` : 'recommend';
  const command = `npm run bench -- recommend${simulated ? ` --simulated${population ? ` --shoppers ${shoppers} --extra-items ${extraItems}` : ''}` : ''}`;
  mkdirSync(work, { recursive: true });
  const progress = createProgress({ json: true });
  const dataDir = join(work, 'data');
  if (!existsSync(join(dataDir, 'manifest.json'))) {
    if (simulated)
      await runIngest(
        'fashion-mnist',
        src,
        { out: dataDir, imageSize: 32, items: 6000, simulateShoppers: shoppers, extraItems, seed: 1, minCategoryCount: 1 },
        progress,
      );
    else await runIngest('hm', src, { out: dataDir, imageSize: 64 }, progress);
  }
  const ds = loadDataset(dataDir);
  const ceiling = ds.simulation ? knownFeaturesCeiling(ds) : null;
  const results: { method: string; chosen: Record<string, unknown>; grid: { params: Record<string, unknown>; validAuc: number }[]; m: RunManifest }[] = [];
  const t0 = Date.now();
  const save = () => {
    const rows = results.map((r) => {
      const t = r.m.metrics.test as ReturnType<typeof rankingOn>;
      return {
        method: r.method,
        auc: t.auc,
        sampledAuc: t.sampledAuc,
        coldAuc: t.coldAuc,
        recallAt10: t.recallAtK,
        ndcgAt10: t.ndcgAtK,
        users: t.users,
        coldUsers: t.coldUsers,
        chosen: r.chosen,
        grid: r.grid,
      };
    });
    const oracle = ds.manifest.oracle ? { auc: ds.manifest.oracle.testAuc, coldAuc: ds.manifest.oracle.coldTestAuc } : undefined;
    writeJsonAtomic(join('bench', 'results', `${outName}.json`), {
      dataset: {
        source: src,
        users: ds.userIds.length,
        items: ds.itemIds.length,
        coldTestItems: ds.manifest.split.coldTestItems,
        coldTestUsers: ds.manifest.split.coldTestUsers,
        dataHash: ds.manifest.dataHash,
      },
      rows,
      ...(oracle ? { oracle, knownFeatures: ceiling } : {}),
      engine: engineInfo(),
      minutes: (Date.now() - t0) / 60000,
      command,
    });
    const f = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : '–');
    const md = [
      simulated
        ? '# Recommendation on Fashion-MNIST with simulated shoppers (paper split, default preset, 32 px)'
        : '# Recommendation on H&M (paper split, default preset, 64 px)',
      '',
      `Dataset: ${src}${simulated ? (population ? ` (6,000 images, ${shoppers} simulated shoppers buying 5 + Poisson(${extraItems}) items, seed 1)` : " (6,000 images, 1,000 simulated shoppers, seed 1: the demo's data)") : ''}: ${ds.userIds.length} shoppers, ${ds.itemIds.length} items, ${ds.manifest.split.coldTestItems} cold test items (${ds.manifest.split.coldTestUsers} shoppers whose test item is cold).`,
      'Test split; full AUC over every item the shopper never bought; cold AUC over shoppers whose held-out item has < 5 training purchases, negatives also such items; sampled AUC against 100 fixed negatives.',
      '',
      '| method | AUC (all items) | AUC (cold items) | sampled AUC | Recall@10 | NDCG@10 | chosen on validation |',
      '|---|---:|---:|---:|---:|---:|---|',
      ...rows.map(
        (r) => `| ${r.method} | ${f(r.auc)} | ${f(r.coldAuc)} | ${f(r.sampledAuc)} | ${f(r.recallAt10)} | ${f(r.ndcgAt10)} | ${JSON.stringify(r.chosen)} |`,
      ),
      ...(ceiling ? [`| known features, learned taste (ceiling) | ${f(ceiling.auc)} | ${f(ceiling.coldAuc)} | | | | ${JSON.stringify(ceiling.chosen)} |`] : []),
      ...(oracle ? [`| oracle (hidden taste) | ${f(oracle.auc)} | ${f(oracle.coldAuc)} | | | | |`] : []),
      '',
      ...(ceiling
        ? [
            "The oracle scores with each shopper's true taste vector; the ceiling is BPR over the hidden features themselves (what a perfect image encoder would give), its taste vectors learned from the same training purchases: the gap between the two is what the purchases alone cannot tell.",
            '',
          ]
        : []),
      '## Grid (validation AUC of each setting)',
      '',
      ...results.flatMap((r) => [`- ${r.method}: ${r.grid.map((g) => `${JSON.stringify(g.params)} → ${f(g.validAuc)}`).join('; ') || 'no hyperparameters'}`]),
      '',
      `Grid: ${JSON.stringify(settings)}`,
      '',
      `Command: \`${command}\` (${((Date.now() - t0) / 60000).toFixed(0)} min on ${engineInfo().threads} threads; settings already trained in the work folder are reused).`,
      '',
    ].join('\n');
    writeFileAtomic(join('bench', 'results', `${outName}.md`), md);
  };
  for (const kind of ['random', 'popularity'] as const) {
    results.push({ method: kind, chosen: {}, grid: [], m: simpleJob(ds, kind, join(work, kind), 1) });
    save();
  }
  const images = imagesTensor(ds);
  const base = { ...dvbprPreset('default', ds.imageSize), ...SIMULATED_SCHEDULE }; // the schedule its figures were measured with
  const clf = await cachedClassifier(work, ds, images, base, progress);
  const features = { ...classifierFeatures(clf.classifier, images), source: `category classifier, held-out accuracy ${clf.heldOutAccuracy.toFixed(3)}` };
  for (const kind of ['bpr-mf', 'vbpr'] as const) {
    const g = settings[kind];
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
  // classifier-initialised first (the headline row), reported after scratch
  const dvbprRows = new Map<string, (typeof results)[number]>();
  for (const init of [...settings.dvbpr.init].reverse()) {
    let best: { m: RunManifest; params: Record<string, unknown>; v: number } | null = null;
    const grid: { params: Record<string, unknown>; validAuc: number }[] = [];
    const train = async (lr: number, average: number) => {
      const cfg = { ...base, lr, epochs: settings.dvbpr.epochs, init: init as 'scratch' | 'classifier', evalEvery: 2, averageEpochs: average };
      const name = `dvbpr-${init}-${lr}${average ? `-avg${average}` : ''}`;
      const { manifest } = await trainDvbprJob(ds, images, {
        out: join(work, name),
        config: cfg,
        resume: true,
        callbacks: trainCallbacks(progress, `dvbpr-${init} lr=${lr}${average ? ` average=${average}` : ''}`),
        classifier: clf,
      });
      const v = (manifest.metrics.valid as { auc: number }).auc;
      const params = average ? { lr, averageEpochs: average } : { lr };
      grid.push({ params, validAuc: v });
      if (!best || v > best.v) best = { m: manifest, params: { ...params, init }, v };
    };
    for (const lr of settings.dvbpr.lr) await train(lr, 0);
    const chosenLr = best!.params.lr as number;
    for (const average of settings.dvbpr.average) await train(chosenLr, average);
    dvbprRows.set(init, { method: `DVBPR (${init})`, chosen: best!.params, grid, m: best!.m });
  }
  for (const init of settings.dvbpr.init) results.push(dvbprRows.get(init)!);
  save();
  images.dispose();
}

/**
 * The category classifier (VBPR's features and DVBPR's classifier start), trained once per work
 * folder and kept there (classifier.safetensors + classifier.json), so a resumed bench uses the
 * same one instead of spending minutes retraining it.
 */
async function cachedClassifier(
  work: string,
  ds: Dataset,
  images: PixelRows,
  cfg: DvbprConfig,
  progress: ReturnType<typeof createProgress>,
): Promise<ClassifierJobResult> {
  const weights = join(work, 'classifier.safetensors');
  const info = join(work, 'classifier.json');
  if (existsSync(weights) && existsSync(info)) {
    const meta = JSON.parse(readFileSync(info, 'utf8')) as { classes: string[]; heldOutAccuracy: number; dataHash: string; encoder: unknown };
    if (meta.dataHash === ds.manifest.dataHash && JSON.stringify(meta.encoder) === JSON.stringify(cfg.encoder)) {
      const classifier = loadClassifier(weights, cfg.encoder, Math.max(meta.classes.length, 1));
      progress.event('message', { message: `category classifier reused from ${weights} (held-out accuracy ${meta.heldOutAccuracy.toFixed(3)})` });
      return { classifier, classes: meta.classes, heldOutAccuracy: meta.heldOutAccuracy };
    }
  }
  const clf = await trainCategoryClassifier(ds, images, cfg, trainCallbacks(progress, 'classifier'));
  noGrad(() => saveSafetensors(weights, clf.classifier.stateDict(), { kind: 'classifier' }));
  writeJsonAtomic(info, { classes: clf.classes, heldOutAccuracy: clf.heldOutAccuracy, dataHash: ds.manifest.dataHash, encoder: cfg.encoder });
  return clf;
}

/**
 * The known-features ceiling on simulated shoppers: BPR with the hidden features f_i given and only
 * the taste vectors learned (SGD, 200 epochs, λ chosen on validation). What a perfect image
 * encoder would reach with these purchases; the oracle knows the taste vectors too.
 */
export function knownFeaturesCeiling(ds: Dataset): { auc: number; coldAuc: number; chosen: { lambda: number }; grid: { lambda: number; validAuc: number }[] } {
  const m = ds.simulation!;
  const n = ds.itemIds.length;
  const d = m.dims;
  const f = hiddenFeatures(m, ds.images.all(), n);
  // scores are the simulation's own s(u, i) = w_uᵀ f_i, with the learned taste vectors in place of the true ones
  const ranking = (theta: Float64Array, split: 'valid' | 'test') => {
    const learned = { ...m, taste: Array.from(theta) };
    return evaluateRanking({
      numItems: n,
      scoreUsers: (users) => {
        const out = new Float32Array(users.length * n);
        users.forEach((u, r) => out.set(hiddenScores(learned, u, f), r * n));
        return out;
      },
      heldOut: split === 'test' ? ds.test : ds.valid,
      seen: [ds.train, ds.valid, ds.test],
      itemTrainCount: ds.itemTrainCount,
    });
  };
  let best: { theta: Float64Array; lambda: number; v: number } | null = null;
  const grid: { lambda: number; validAuc: number }[] = [];
  for (const lambda of [0.001, 0.01, 0.1]) {
    const rng = new Rng(1);
    const theta = new Float64Array(ds.userIds.length * d);
    for (let epoch = 0; epoch < 200; epoch++) {
      for (let x = 0; x < ds.train.user.length; x++) {
        const u = ds.train.user[x]!;
        const i = ds.train.item[x]!;
        const j = rng.int(n);
        let s = 0;
        for (let k = 0; k < d; k++) s += theta[u * d + k]! * (f[i * d + k]! - f[j * d + k]!);
        const g = 1 / (1 + Math.exp(s));
        for (let k = 0; k < d; k++) theta[u * d + k] = theta[u * d + k]! + 0.05 * (g * (f[i * d + k]! - f[j * d + k]!) - lambda * theta[u * d + k]!);
      }
    }
    const v = ranking(theta, 'valid').auc;
    grid.push({ lambda, validAuc: v });
    if (!best || v > best.v) best = { theta, lambda, v };
  }
  const t = ranking(best!.theta, 'test');
  return { auc: t.auc, coldAuc: t.coldAuc, chosen: { lambda: best!.lambda }, grid };
}
