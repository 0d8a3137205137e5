/**
 * `npm run bench -- recommend`: every method on H&M at 64 px under both protocols — the paper split
 * (a random held-out item per shopper) and the temporal split (each shopper's latest purchase is the
 * test item) — with the ablation of what the default preset's DVBPR is made of (the encoder's start,
 * augmentation, every shopper trained) and the top of the list against popularity, alone and with a
 * popularity prior (src/models/blend.ts, α chosen on validation). Writes bench/results/recommend.md
 * and recommend.json; a run limited to one protocol (`--protocol paper|temporal`) or to some DVBPR
 * variants (`--variants a,b`) keeps the other protocol's figures. Settings already trained in the
 * work folder are reused. Long: about 15 minutes per DVBPR variant on 2 cores.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runIngest } from '../src/app/ingest.js';
import { createProgress, trainCallbacks } from '../src/app/progress.js';
import { imagesTensor, rankingOn, withoutHeldOut, trainDvbprJob } from '../src/app/train-recommender.js';
import {
  classifierFeatures,
  trainAttributeClassifier,
  trainCategoryClassifier,
  type AttributeJobResult,
  type ClassifierJobResult,
} from '../src/app/encoder-start.js';
import { simpleJob, trainFactorJob } from '../src/app/train-baselines.js';
import { dvbprPreset, type DvbprConfig } from '../src/config/dvbpr.js';
import { writeFileAtomic, writeJsonAtomic } from '../src/core/fs.js';
import { loadDataset, type Dataset } from '../src/data/dataset.js';
import { choosePolicy, evaluationHistory, withPolicy } from '../src/app/ranking.js';
import { itemsOf, registeredPriors } from '../src/models/ranking/index.js';
import type { RankingResult } from '../src/eval/ranking.js';
import { rankHeldOut } from '../src/core/auc.js';
import { AttributeClassifier, loadClassifier } from '../src/models/classifier.js';
import { DvbprScorer, embedImages } from '../src/models/dvbpr.js';
import type { Recommender } from '../src/models/recommender.js';
import type { RunManifest } from '../src/store/run.js';
import { engineInfo, loadSafetensors, noGrad, saveSafetensors, type PixelRows } from '../src/torch/index.js';

type Protocol = 'paper' | 'temporal';
type Progress = ReturnType<typeof createProgress>;

/** What every DVBPR variant shares: the lr and averaging the previous grid chose for both starts (bench history in recommend.md). */
export const DVBPR_COMMON = { lr: 3e-4, averageEpochs: 2, epochs: 20, evalEvery: 2, earlyStopping: 3 } as const;

export interface Variant {
  name: string;
  label: string;
  cfg: Partial<DvbprConfig>;
  /** train only on the evaluated shoppers' purchases (the rule before every shopper was trained) */
  evaluatedOnly?: boolean;
}

/** In the order they run (the most informative first); the DVBPR row of the table is the best on validation. */
export const VARIANTS: Variant[] = [
  {
    name: 'attributes-flip-shift',
    label: 'attribute start, flip + shift 2 px',
    cfg: { init: 'classifier', classifierAttributes: 'all', augmentFlip: true, augmentShift: 2 },
  },
  { name: 'attributes', label: 'attribute start', cfg: { init: 'classifier', classifierAttributes: 'all' } },
  { name: 'category', label: 'category start (the previous default)', cfg: { init: 'classifier', classifierAttributes: 'category' } },
  {
    name: 'category-evaluated-only',
    label: 'category start, shoppers below 5 purchases not trained (the former rule)',
    cfg: { init: 'classifier', classifierAttributes: 'category' },
    evaluatedOnly: true,
  },
  {
    name: 'attributes-flip-shift-scale',
    label: 'attribute start, flip + shift 2 px + zoom ±10%',
    cfg: { init: 'classifier', classifierAttributes: 'all', augmentFlip: true, augmentShift: 2, augmentScale: 0.1 },
  },
  { name: 'scratch', label: 'from scratch', cfg: { init: 'scratch' } },
];

const BASELINE_LAMBDAS = [0.001, 0.01, 0.1];
const BASELINE_EPOCHS = 30;

interface Row {
  method: string;
  chosen: Record<string, unknown>;
  grid: { params: Record<string, unknown>; validAuc: number; validRecallAt50?: number }[];
  test: RankingResult;
  valid: RankingResult;
}

interface ProtocolResult {
  dataset: {
    users: number;
    evaluatedUsers: number;
    trainOnlyUsers: number;
    items: number;
    train: number;
    coldTestItems: number;
    coldTestUsers: number;
    dataHash: string;
  };
  rows: Row[];
  /** `earlier`: kept from an earlier invocation on the same data (withEarlierVariants) */
  variants: (Row & { name: string; label: string; bestEpoch: number; minutes: number; classifier?: unknown; earlier?: boolean })[];
  /** the chosen DVBPR ranked by the policy it chose (app/ranking.ts choosePolicy); results written before policies hold α…δ in `chosen` */
  blend?: Row & { of: string; policy?: Record<string, number>; chosenOn?: string; ablation?: { without: string; test: RankingResult }[] };
  /** held-out items that share a product with the shopper's history then (the product prior's reach), of the evaluated shoppers */
  siblings?: { valid: number; test: number; users: number };
  /** the priors' α and β chosen on validation Recall@50 instead of AUC */
  byRecall?: Row;
  /** the chosen DVBPR with the category and product priors alone (γ, δ chosen on validation AUC) */
  category?: Row;
  /** test AUC within the items of a known category (not "unknown"/"Unknown"), without and with the category prior */
  knownCategories?: { users: number; items: number; auc: number; withCategoryPrior: number; trainShare: number };
  /** the chosen DVBPR refit on the training and validation purchases for its best epoch count, alone and with its priors */
  refit?: { epochs: number; minutes: number; alone: RankingResult; priors: RankingResult };
  minutes: number;
}

function argOf(args: string[], name: string): string | undefined {
  return args.includes(name) ? args[args.indexOf(name) + 1] : undefined;
}

export async function recommendHmBench(args: string[]): Promise<void> {
  const src = argOf(args, '--data') ?? process.env.ATELIER_HM ?? '../shared/data/hm';
  const protocols = (argOf(args, '--protocol')?.split(',') ?? ['paper', 'temporal']) as Protocol[];
  const only = argOf(args, '--variants')?.split(',');
  const work = process.env.BENCH_WORK ?? '/tmp/atelier-bench-recommend';
  const progress = createProgress({ json: true });
  const jsonPath = join('bench', 'results', 'recommend.json');
  for (const protocol of protocols) {
    const variants = VARIANTS.filter((v) => !only || only.includes(v.name));
    await protocolBench(src, join(work, protocol), protocol, variants, progress, (r) => {
      // the other protocol's figures as the file has them now (another invocation may be writing them)
      const previous = existsSync(jsonPath) ? (JSON.parse(readFileSync(jsonPath, 'utf8')) as { protocols?: Record<string, ProtocolResult> }) : {};
      const before = previous.protocols?.[protocol];
      const results: Record<string, ProtocolResult> = { ...(previous.protocols ?? {}), [protocol]: withEarlierVariants(r, before) };
      writeJsonAtomic(jsonPath, {
        protocols: results,
        common: DVBPR_COMMON,
        priors: registeredPriors().map((p) => ({ name: p.name, summary: p.summary, grid: p.grid })),
        engine: engineInfo(),
        command: 'npm run bench -- recommend',
      });
      writeFileAtomic(join('bench', 'results', 'recommend.md'), markdown(src, results));
    });
  }
}

/**
 * The variants an earlier invocation ran on the same data and this one did not (`--variants`),
 * kept in the ablation and marked so: DVBPR alone, which the priors do not change.
 */
function withEarlierVariants(r: ProtocolResult, before: ProtocolResult | undefined): ProtocolResult {
  if (!before || before.dataset.dataHash !== r.dataset.dataHash) return r;
  const ran = new Set(r.variants.map((v) => v.name));
  const kept = before.variants.filter((v) => !ran.has(v.name)).map((v) => ({ ...v, earlier: true }));
  return kept.length ? { ...r, variants: [...r.variants, ...kept] } : r;
}

/** The DVBPR variant with the best validation AUC: its row, a scorer of its weights, and what trained it. */
interface Chosen {
  v: ProtocolResult['variants'][number];
  scorer: () => Recommender;
  cfg: DvbprConfig;
  start?: ClassifierJobResult | AttributeJobResult;
  name: string;
}

async function protocolBench(src: string, work: string, protocol: Protocol, variants: Variant[], progress: Progress, save: (r: ProtocolResult) => void) {
  const t0 = Date.now();
  mkdirSync(work, { recursive: true });
  const dataDir = join(work, 'data');
  // a re-ingest is seconds (the photos are reused) and keeps the folder in step with the reader
  await runIngest('hm', src, { out: dataDir, imageSize: 64, split: protocol }, progress);
  const ds = loadDataset(dataDir);
  const m = ds.manifest;
  const out: ProtocolResult = {
    dataset: {
      users: ds.userIds.length,
      evaluatedUsers: m.counts.evaluatedUsers ?? ds.userIds.length,
      trainOnlyUsers: m.counts.trainOnlyUsers ?? 0,
      items: ds.itemIds.length,
      train: ds.train.user.length,
      coldTestItems: m.split.coldTestItems,
      coldTestUsers: m.split.coldTestUsers,
      dataHash: m.dataHash,
    },
    rows: [],
    variants: [],
    minutes: 0,
  };
  const flush = () => save({ ...out, minutes: (Date.now() - t0) / 60000 });
  const row = (method: string, chosen: Record<string, unknown>, grid: Row['grid'], mm: RunManifest): Row => ({
    method,
    chosen,
    grid,
    test: mm.metrics.test as RankingResult,
    valid: mm.metrics.valid as RankingResult,
  });
  for (const kind of ['random', 'popularity'] as const) out.rows.push(row(kind, {}, [], simpleJob(ds, kind, join(work, kind), 1)));
  flush();

  const images = imagesTensor(ds);
  const base = dvbprPreset('default', ds.imageSize);
  const category = await cachedCategoryClassifier(work, ds, images, base, progress);
  const features = {
    ...classifierFeatures(category.classifier, images),
    source: `category classifier, held-out accuracy ${category.heldOutAccuracy.toFixed(3)}`,
  };
  for (const kind of ['bpr-mf', 'vbpr'] as const) {
    let best: { mm: RunManifest; lambda: number; v: number } | null = null;
    const grid: Row['grid'] = [];
    for (const lambda of BASELINE_LAMBDAS) {
      const mm = await trainFactorJob(ds, {
        out: join(work, `${kind}-${lambda}`),
        kind,
        factors: 20,
        visualFactors: 20,
        lambda,
        lambdaE: lambda,
        lr: 1e-3,
        epochs: BASELINE_EPOCHS,
        batch: 128,
        seed: 1,
        resume: true,
        features: kind === 'vbpr' ? features : undefined,
        callbacks: trainCallbacks(progress, `${kind} λ=${lambda}`),
      });
      const v = (mm.metrics.valid as RankingResult).auc;
      grid.push({ params: { factors: 20, lambda, lr: 1e-3 }, validAuc: v });
      if (!best || v > best.v) best = { mm, lambda, v };
    }
    out.rows.push(row(kind === 'vbpr' ? 'VBPR (category classifier features)' : 'BPR-MF', { factors: 20, lambda: best!.lambda, lr: 1e-3 }, grid, best!.mm));
    flush();
  }

  let attributes: AttributeJobResult | null = null;
  let chosen: Chosen | null = null;
  for (const variant of variants) {
    const v0 = Date.now();
    const cfg: DvbprConfig = { ...base, ...DVBPR_COMMON, ...variant.cfg };
    const start =
      cfg.init === 'scratch'
        ? undefined
        : cfg.classifierAttributes === 'all'
          ? (attributes ??= await cachedAttributeClassifier(work, ds, images, base, progress))
          : category;
    const trainDs = variant.evaluatedOnly ? evaluatedOnly(ds) : ds;
    const { manifest, model } = await trainDvbprJob(trainDs, images, {
      out: join(work, `dvbpr-${variant.name}`),
      config: cfg,
      resume: true,
      callbacks: trainCallbacks(progress, `dvbpr ${variant.name}`),
      ...(start ? { classifier: start } : {}),
    });
    const e = noGrad(() => embedImages(model.encoder, images));
    const theta = model.theta.data();
    const r = {
      ...row(variant.label, { ...variant.cfg, ...(variant.evaluatedOnly ? { evaluatedOnly: true } : {}) }, [], manifest),
      name: variant.name,
      label: variant.label,
      bestEpoch: manifest.metrics.bestEpoch as number,
      minutes: (Date.now() - v0) / 60000,
      ...(manifest.metrics.classifier ? { classifier: manifest.metrics.classifier } : {}),
    };
    out.variants.push(r);
    if (!variant.evaluatedOnly && (!chosen || r.valid.auc > chosen.v.valid.auc))
      chosen = { v: r, scorer: () => new DvbprScorer(theta, e, cfg.encoder.k), cfg, name: variant.name, ...(start ? { start } : {}) };
    model.dispose();
    flush();
  }
  if (chosen) {
    const c = chosen.v;
    out.rows.push({
      method: `DVBPR (${c.label})`,
      chosen: { ...DVBPR_COMMON, ...c.chosen },
      grid: out.variants.map((v) => ({ params: { variant: v.name }, validAuc: v.valid.auc })),
      test: c.test,
      valid: c.valid,
    });
    const priors = rankingPolicy(ds, chosen.scorer(), c.label);
    out.blend = priors.blend;
    delete out.category;
    delete out.byRecall;
    out.knownCategories = knownCategoryAuc(ds, chosen.scorer(), priors.blend.policy?.category ?? 0);
    out.siblings = siblingShare(ds);
    flush();
    out.refit = await refit(ds, images, work, chosen, priors.blend.policy ?? {}, progress);
    flush();
  }
  images.dispose();
  flush();
}

/**
 * Test AUC over the items of a known category only (held-out items and negatives both): how much
 * of the category prior's gain is the shopper's share of articles without metadata.
 */
function knownCategoryAuc(ds: Dataset, scorer: Recommender, gamma: number): NonNullable<ProtocolResult['knownCategories']> {
  const known = Uint8Array.from(ds.itemCategory, (c) => (/^unknown$/i.test(ds.categories[c]!) ? 0 : 1));
  const seen = ds.userIds.map(() => new Set<number>());
  for (const p of [ds.train, ds.valid, ds.test]) for (let x = 0; x < p.user.length; x++) seen[p.user[x]!]!.add(p.item[x]!);
  const aucOf = (rec: Recommender) => {
    let total = 0;
    let users = 0;
    const n = ds.itemIds.length;
    for (let x = 0; x < ds.test.user.length; x++) {
      const i = ds.test.item[x]!;
      if (!known[i]) continue;
      const u = ds.test.user[x]!;
      const r = rankHeldOut(rec.scoreUsers(Int32Array.of(u)).subarray(0, n), i, seen[u]!, known);
      if (r.coldPairs) ((total += r.coldWins / r.coldPairs), users++);
    }
    return { auc: total / users, users };
  };
  const plain = aucOf(scorer);
  return {
    users: plain.users,
    items: known.reduce((a, b) => a + b, 0),
    auc: plain.auc,
    withCategoryPrior: gamma ? aucOf(withPolicy(ds, scorer, { category: gamma }, 'test')).auc : plain.auc,
    trainShare: ds.train.item.reduce((a, i) => a + known[i]!, 0) / ds.train.item.length,
  };
}

/** The share of evaluated shoppers whose held-out item shares a product with their history then (what the product prior can lift). */
function siblingShare(ds: Dataset): ProtocolResult['siblings'] {
  const ip = ds.itemProduct;
  if (!ip) return undefined;
  const share = (split: 'valid' | 'test') => {
    const known = evaluationHistory(ds, split).known;
    const held = ds[split];
    let n = 0;
    held.user.forEach((u, x) => {
      const q = ip[held.item[x]!]!;
      if (q >= 0 && itemsOf(known, u).some((j) => ip[j] === q)) n++;
    });
    return n / held.user.length;
  };
  return { valid: share('valid'), test: share('test'), users: ds.test.user.length };
}

/** The chosen DVBPR with the ranking policy every DVBPR run chooses (choosePolicy: coordinate ascent on validation AUC), its search and its ablation. */
function rankingPolicy(ds: Dataset, scorer: Recommender, of: string): { blend: NonNullable<ProtocolResult['blend']> } {
  const p = choosePolicy(ds, scorer);
  return {
    blend: {
      method: `DVBPR + ranking policy ${policyText(p.policy)}`,
      chosen: p.policy,
      grid: p.cells.map((c) => ({ params: c.policy, validAuc: c.score })),
      test: p.test,
      valid: p.validation,
      policy: p.policy,
      chosenOn: p.chosenOn,
      ablation: p.ablation,
      of,
    },
  };
}

const policyText = (p: Record<string, number>) =>
  Object.keys(p).length
    ? `(${Object.entries(p)
        .map(([k, w]) => `${k} ${w}`)
        .join(', ')})`
    : '(no priors)';

/**
 * The chosen DVBPR trained again on the training and validation purchases (test items still held
 * out) for its best epoch count, with its settings and its priors: as `train dvbpr --split none
 * --like` trains a shop's serving model on every purchase, measured on the test items it never saw.
 */
async function refit(
  ds: Dataset,
  images: PixelRows,
  work: string,
  chosen: Chosen,
  policy: Record<string, number>,
  progress: Progress,
): Promise<NonNullable<ProtocolResult['refit']>> {
  const t0 = Date.now();
  const epochs = chosen.v.bestEpoch;
  const { model } = await trainDvbprJob(withoutHeldOut(ds, true), images, {
    out: join(work, `dvbpr-${chosen.name}-refit`),
    config: { ...chosen.cfg, epochs, earlyStopping: 0 },
    resume: true,
    callbacks: trainCallbacks(progress, `dvbpr ${chosen.name} refit`),
    ...(chosen.start ? { classifier: chosen.start } : {}),
  });
  const scorer = new DvbprScorer(
    model.theta.data(),
    noGrad(() => embedImages(model.encoder, images)),
    chosen.cfg.encoder.k,
  );
  model.dispose();
  return {
    epochs,
    minutes: (Date.now() - t0) / 60000,
    alone: rankingOn(ds, scorer, 'test'),
    priors: rankingOn(ds, withPolicy(ds, scorer, policy, 'test'), 'test'),
  };
}

/** The dataset with the purchases of shoppers who have no held-out item taken out of training (evaluation unchanged). */
function evaluatedOnly(ds: Dataset): Dataset {
  const evaluated = new Set(ds.test.user);
  const keep = [...ds.train.user.keys()].filter((x) => evaluated.has(ds.train.user[x]!));
  return { ...ds, train: { user: Int32Array.from(keep, (x) => ds.train.user[x]!), item: Int32Array.from(keep, (x) => ds.train.item[x]!) } };
}

/** The category classifier (VBPR's features, the category start), trained once per work folder and kept there. */
async function cachedCategoryClassifier(work: string, ds: Dataset, images: PixelRows, cfg: DvbprConfig, progress: Progress): Promise<ClassifierJobResult> {
  const weights = join(work, 'classifier.safetensors');
  const info = join(work, 'classifier.json');
  const meta = cachedMeta<{ classes: string[]; heldOutAccuracy: number }>(info, ds, cfg);
  if (meta && existsSync(weights)) return { classifier: loadClassifier(weights, cfg.encoder, Math.max(meta.classes.length, 1)), ...meta };
  const clf = await trainCategoryClassifier(ds, images, cfg, trainCallbacks(progress, 'classifier'));
  noGrad(() => saveSafetensors(weights, clf.classifier.stateDict(), { kind: 'classifier' }));
  writeJsonAtomic(info, { classes: clf.classes, heldOutAccuracy: clf.heldOutAccuracy, dataHash: ds.manifest.dataHash, encoder: cfg.encoder });
  return clf;
}

/** The multi-attribute classifier (the attribute start), likewise. */
async function cachedAttributeClassifier(work: string, ds: Dataset, images: PixelRows, cfg: DvbprConfig, progress: Progress): Promise<AttributeJobResult> {
  const weights = join(work, 'attributes-classifier.safetensors');
  const info = join(work, 'attributes-classifier.json');
  const meta = cachedMeta<Omit<AttributeJobResult, 'classifier'>>(info, ds, cfg);
  if (meta && existsSync(weights)) {
    const classifier = new AttributeClassifier(
      cfg.encoder,
      ds.attributes.map((a) => Math.max(a.classes.length, 1)),
      0,
    );
    classifier.loadStateDict(loadSafetensors(weights).tensors, weights);
    return { classifier, ...meta };
  }
  const clf = await trainAttributeClassifier(ds, images, cfg, trainCallbacks(progress, 'attribute classifier'));
  noGrad(() => saveSafetensors(weights, clf.classifier.stateDict(), { kind: 'attribute-classifier' }));
  writeJsonAtomic(info, {
    classes: clf.classes,
    heldOutAccuracy: clf.heldOutAccuracy,
    attributes: clf.attributes,
    dataHash: ds.manifest.dataHash,
    encoder: cfg.encoder,
  });
  return clf;
}

function cachedMeta<T>(info: string, ds: Dataset, cfg: DvbprConfig): T | null {
  if (!existsSync(info)) return null;
  const meta = JSON.parse(readFileSync(info, 'utf8')) as T & { dataHash: string; encoder: unknown };
  if (meta.dataHash !== ds.manifest.dataHash || JSON.stringify(meta.encoder) !== JSON.stringify(cfg.encoder)) return null;
  const { dataHash: _h, encoder: _e, ...rest } = meta;
  return rest as T;
}

const f4 = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? x.toFixed(4) : '–');

/** The refit's two rows for the table. */
function refitRows(r: ProtocolResult): TableRow[] {
  if (!r.refit || !r.blend) return [];
  const { epochs, alone, priors } = r.refit;
  const b = r.blend;
  return [
    { method: 'DVBPR refit on training + validation purchases', chosen: { epochs }, test: alone },
    {
      method: `the refit + ranking policy ${b.policy ? policyText(b.policy) : JSON.stringify(b.chosen)}`,
      chosen: { epochs, ...b.chosen },
      test: priors,
    },
  ];
}

type TableRow = Pick<Row, 'method' | 'chosen' | 'test'>;

function table(rows: TableRow[]): string[] {
  return [
    '| method | AUC (all items) | AUC (cold items) | sampled AUC | Recall@10 | Recall@12 | MAP@12 | Recall@50 | NDCG@10 | chosen on validation |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...rows.map(
      (r) =>
        `| ${r.method} | ${f4(r.test.auc)} | ${f4(r.test.coldAuc)} | ${f4(r.test.sampledAuc)} | ${f4(r.test.recallAtK)} | ${f4(r.test.recallAt12)} | ${f4(r.test.mapAt12)} | ${f4(r.test.recallAt50)} | ${f4(r.test.ndcgAtK)} | ${JSON.stringify(r.chosen)} |`,
    ),
  ];
}

export function markdown(src: string, results: Record<string, ProtocolResult>): string {
  const lines = [
    '# Recommendation on H&M (64 px, both protocols)',
    '',
    `Dataset: ${src}. Full AUC over every item the shopper never bought; cold AUC over shoppers whose held-out item has < 5 training purchases, negatives also such items; sampled AUC against 100 fixed negatives; Recall@K and NDCG@10 over the full ranking (one held-out item per shopper). Every shopper is trained; those with fewer than 5 distinct purchases have no held-out item and are not evaluated.`,
    '',
    `DVBPR variants share lr ${DVBPR_COMMON.lr}, weight averaging over ${DVBPR_COMMON.averageEpochs} epochs (what the previous grid chose for both starts), up to ${DVBPR_COMMON.epochs} epochs validated every ${DVBPR_COMMON.evalEvery}, stopping after ${DVBPR_COMMON.earlyStopping} validations without gain; the DVBPR row is the variant with the best validation AUC. BPR-MF and VBPR: 20 factors, lr 1e-3, ${BASELINE_EPOCHS} epochs, λ ∈ {${BASELINE_LAMBDAS.join(', ')}} chosen on validation AUC. The ranking policy (src/models/ranking, docs/method.md §7): each shopper's DVBPR scores standardised, plus a weight times each prior's term — ${registeredPriors()
      .map((p) => `${p.name} (${p.summary}; weights ${p.grid.join(', ')})`)
      .join(
        '; ',
      )} — chosen by coordinate ascent on validation AUC from no priors (a weight kept only when it beats the best so far). On the temporal split validation holds out each shopper's purchase before the test one: the policy is chosen on the next purchase. MAP@12 and Recall@12 are the H&M competition's metric with one held-out item per shopper (AP@12 = 1/rank within the first 12). Known, as in sequential recommendation's leave-one-out protocol: every purchase but the one predicted and, for a validation item, the test item — the training purchases for a validation item; those and the validation item for a test item (on the temporal split, the purchase just before it; the model itself never trains on it).`,
    '',
  ];
  for (const protocol of ['paper', 'temporal'] as const) {
    const r = results[protocol];
    if (!r) continue;
    const d = r.dataset;
    lines.push(
      `## ${protocol === 'paper' ? 'Paper split (a random held-out item per shopper)' : 'Temporal split (the latest purchase is the test item, the one before it validation)'}`,
      '',
      `${d.users} shoppers trained (${d.evaluatedUsers} evaluated, ${d.trainOnlyUsers} with fewer than 5 purchases trained only), ${d.items} items, ${d.train} training pairs, ${d.coldTestItems} cold test items (${d.coldTestUsers} shoppers whose test item is cold). ${r.minutes.toFixed(0)} min in the last invocation (what earlier ones trained is reused).`,
      '',
      ...table([...r.rows, ...(r.category ? [r.category] : []), ...(r.blend ? [r.blend] : []), ...(r.byRecall ? [r.byRecall] : []), ...refitRows(r)]),
      '',
      ...(r.blend && !r.blend.policy
        ? [
            'Measured before ranking policies (and before Recall@12, MAP@12 and lazy θ updates): the priors of the time, α popularity, β recency, γ category, δ product, chosen in two grids; run this protocol again for the current code.',
            '',
          ]
        : []),
      ...(r.refit
        ? [
            `Refit (what a shop's serving model adds, as \`--split none --like\` does with every purchase): the chosen DVBPR trained again on the training and validation purchases, the test items still held out, for its best epoch count (${r.refit.epochs}; ${r.refit.minutes.toFixed(1)} min in the last invocation), alone and with the priors chosen above.`,
            '',
          ]
        : []),
      '### What each part adds (DVBPR variants)',
      '',
      `Run here: ${r.variants.map((v) => v.name + (v.earlier ? ' (kept from an earlier invocation on the same data)' : '')).join(', ')}${r.variants.length < VARIANTS.length ? ` (of ${VARIANTS.map((v) => v.name).join(', ')}; the others not run under this protocol for lack of time, \`--variants\`)` : ''}.`,
      '',
      '| variant | valid AUC | test AUC | cold AUC | Recall@50 | best epoch | minutes (its last invocation) | classifier held-out accuracy |',
      '|---|---:|---:|---:|---:|---:|---:|---|',
      ...r.variants.map((v) => {
        const c = v.classifier as { heldOutAccuracy?: number; attributes?: { name: string; heldOutAccuracy: number }[] } | undefined;
        const acc = c?.attributes
          ? c.attributes.map((a) => `${a.name.replace(/_name$/, '')} ${a.heldOutAccuracy.toFixed(2)}`).join(', ')
          : c?.heldOutAccuracy !== undefined
            ? `category ${c.heldOutAccuracy.toFixed(2)}`
            : '–';
        return `| ${v.label} | ${f4(v.valid.auc)} | ${f4(v.test.auc)} | ${f4(v.test.coldAuc)} | ${f4(v.test.recallAt50)} | ${v.bestEpoch} | ${v.minutes.toFixed(1)} | ${acc} |`;
      }),
      '',
      ...(r.blend
        ? [
            ...(r.siblings
              ? [
                  `The product prior's reach: ${(100 * r.siblings.valid).toFixed(1)}% of the validation items and ${(100 * r.siblings.test).toFixed(1)}% of the test items (${r.siblings.users} shoppers) share a product with something the shopper bought before (the same garment in another colour); for the others it is 0.`,
                  '',
                ]
              : []),
            ...(r.knownCategories
              ? [
                  `Within the ${r.knownCategories.items} items of a known category (of ${r.dataset.items}; ${(100 * r.knownCategories.trainShare).toFixed(0)}% of the training purchases; held-out items and negatives both; ${r.knownCategories.users} test shoppers): test AUC ${f4(r.knownCategories.auc)}${(r.blend!.policy?.category ?? (r.blend!.chosen as { gamma?: number }).gamma) ? ` without the category prior, ${f4(r.knownCategories.withCategoryPrior)} with it (the rest of its gain over the whole catalogue comes from ranking articles with and without metadata against each other)` : ' (the category prior is off here)'}.`,
                  '',
                ]
              : []),
            ...(r.blend.ablation?.length
              ? [
                  `What each prior of the policy adds on ${r.blend.of}: the test figures without it (the others kept).`,
                  '',
                  ...table([
                    { method: 'the policy', chosen: r.blend.chosen, test: r.blend.test },
                    ...r.blend.ablation.map((x) => ({ method: `without ${x.without}`, chosen: {}, test: x.test })),
                  ]),
                  '',
                ]
              : []),
            `The policy search on ${r.blend.of}: ${r.blend.grid.length} policies measured on validation AUC; the best ten:`,
            '',
            '| policy | validation AUC |',
            '|---|---:|',
            ...[...r.blend.grid]
              .sort((x, y) => y.validAuc - x.validAuc)
              .slice(0, 10)
              .map((g) => `| ${policyText(g.params as Record<string, number>)} | ${f4(g.validAuc)} |`),
            '',
          ]
        : []),
    );
  }
  lines.push(
    'Command: `npm run bench -- recommend` (`--protocol paper|temporal`, `--variants a,b` to run part of it; settings already trained in /tmp/atelier-bench-recommend are reused).',
    '',
  );
  return lines.join('\n');
}
