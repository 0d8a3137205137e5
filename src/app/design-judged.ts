/**
 * The design study under judges the optimiser never sees (method.md §6): for each method and
 * each step of its search, over (shopper, category) pairs,
 *  - proxy uplift: the design shown (the best of the n by the optimised model, θ_uᵀΦ) outscores the
 *    shopper's best real item of the category under that same model — what the optimiser sees;
 *  - judge uplift: an independently trained preference model (its own Φ and user vectors) prefers
 *    the design shown to the shopper's best real item of the category by the judge;
 *  - utility uplift (simulated shoppers): the design's simulated utility (eval/utility.ts) beats the
 *    hidden taste of the shop's truly best item of the category;
 *  - realism: the share of the n designs inside the GAN's unoptimised samples' range (nearest real
 *    item in a fixed classifier's features no farther than the samples' 95th percentile, and D no
 *    lower than their 5th), and the Fréchet distance in those features;
 *  - personalisation under the judge: the rank of the shopper's judge score of the design among
 *    every shopper's (0 % = top).
 * Each method's step budget is chosen on validation shoppers, and the figures reported at it on
 * other (test) shoppers. The judge, the utility and the classifier only read the images the search
 * recorded, after it: the optimiser never runs them.
 */
import { medianOf } from '../core/quantile.js';
import { InvalidArgumentError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import type { Dataset } from '../data/dataset.js';
import { maximisePreference, nearestDistances, type CodeStart, type DesignEnsemble, type DesignResult } from '../design/maximise.js';
import {
  chooseBudget,
  chooseMethod,
  CHOICE_RULE,
  insideRange,
  meanCosineTo,
  realismRange,
  shareOf,
  type RealismRange,
  type StepFigures,
} from '../eval/design-choice.js';
import { frechetDistance } from '../eval/gan-quality.js';
import type { GarmentUtility } from '../eval/utility.js';
import { toInput } from '../models/encoder.js';
import { oneHot } from '../models/gan.js';
import type { LoadedGan } from '../store/gan-run.js';
import { categoryIndexOf, dvbprOf, thetaOf, type LoadedRun } from '../store/run.js';
import { noGrad, tensor, tidy } from '../torch/index.js';
import { projectMany } from '../design/improve.js';
import { IMPROVE_DEFAULTS, type DesignRequestSettings, type DesignSettings } from '../config/design.js';
import { categoryEmbeddings, designModels, embedWithRun, resizeU8, searchOf } from './designs.js';

/** A design method: its search options, its longest search (curves run to it), and an ensemble if it uses one. */
export interface JudgedMethod {
  name: string;
  describe: string;
  steps: number;
  /** its search settings (config/design.ts's spec; the default preset's values where none is given) */
  options: Partial<DesignSettings>;
  /** maximise the worst (or mean less spread) of the proxy model and the study's ensemble runs */
  ensemble?: DesignEnsemble['combine'];
  /** a fixed step budget (a preset's), instead of one chosen on validation shoppers */
  budget?: number;
  /**
   * the realism guard's share (DesignOptions.guard): each design is its best step inside the
   * samples' range in Φ's space; measured once, on the guard's choices after `steps` (a point, not a curve)
   */
  guard?: number;
  /**
   * start from the shopper's n best real items of the category (by the optimised model), each
   * projected into the GAN's codes (improve's projection), with a leash γ‖z − z₀‖² to its own
   */
  fromBestReal?: { gamma: number; projectSteps: number };
}

/** A preset's request as a study method, its budget fixed at the preset's steps. */
export function methodOfSettings(name: string, describe: string, r: DesignRequestSettings): JudgedMethod {
  return { name, describe, steps: r.steps, budget: r.steps, options: r, ...(r.guard ? { guard: r.guard } : {}) };
}

export interface MethodFigures {
  name: string;
  describe: string;
  /** chosen on validation shoppers */
  budget: number;
  /** validation curve (every step) and test curve */
  valid: StepFigures[];
  test: StepFigures[];
  /** test figures at the budget, with the realism of the designs there */
  atBudget: StepFigures & { frechet: number; meanD: number };
  seconds: number;
}

export interface JudgedStudy {
  dataset: string;
  proxy: string;
  judge: string;
  ensemble: string[];
  n: number;
  pairs: { valid: number; test: number };
  samples: { inRange: number; frechet: number; meanD: number };
  methods: MethodFigures[];
  /** the samples' in-range share over the validation pairs (the bar the choice uses) */
  samplesValidInRange: number | null;
  /** the method and budget chosen on validation (rule: see chooseBudget); null without validation pairs */
  chosen: { method: string; budget: number } | null;
  rule: string;
  utility: { radius: number; penalty: number; garments: number } | null;
  /** the real-article ceiling over the test pairs (JudgedStudyOptions.unsold), null without */
  ceiling: RealCeiling | null;
  seconds: number;
}

/**
 * How often a real article the shop's range does not hold would beat the shop's best item: the
 * ceiling of any design that looks like a real article. Over the test pairs, the proxy's
 * favourite such article of the category (what a perfect generator gives a search that maximises
 * the proxy) and the judge's own favourite, each read against the shop's best item as a design is.
 */
export interface RealCeiling {
  pairs: number;
  /** the unsold articles of a test pair's category, on average */
  articlesPerCategory: number;
  proxyFavourite: { proxyUplift: number; judgeUplift: number; judgeMedianRankPct: number };
  judgeFavourite: { judgeUplift: number };
}

export interface JudgedStudyOptions {
  n: number;
  validPairs: number;
  testPairs: number;
  seed: number;
  methods: JudgedMethod[];
  ensemble?: LoadedRun[];
  utility?: GarmentUtility;
  onPair?: (method: string, done: number, total: number) => void;
  /** the items of the shop's range, what a design must beat (absent: every catalogue item of the category) */
  shopItems?: (item: number) => boolean;
  /** the pairs to study (absent: shoppers drawn from the seed, a category each) */
  pairs?: { valid: StudyPair[]; test: StudyPair[] };
  /** real articles outside the shop's range, for the ceiling: their pixels at the dataset's size */
  unsold?: (category: string) => { u8: Uint8Array; n: number };
}

/**
 * A (shopper, category) pair, or a (segment, category) pair: `taste` then holds the segment's
 * tastes under the proxy and the judge (the members' mean standardised θ), the judge's tastes of
 * the other segments (the rank is among them), and the members' held-out purchases.
 */
export interface StudyPair {
  user: number;
  userId: string;
  category: string;
  taste?: { proxy: Float32Array; judge: Float32Array; judgeOthers: Float32Array; heldOut: number[] };
}
type Pair = StudyPair;

/** Classifier features (the GAN run's fixed category classifier) of uint8 images [n, s, s, 3]. */
export function ganClassifierFeatures(g: LoadedGan, u8: Uint8Array, n: number, size: number): Float32Array {
  const inSize = g.classifier.encoderConfig.inputSize;
  const out = new Float32Array(n * g.classifier.encoderConfig.k);
  const per = size * size * 3;
  for (let s = 0; s < n; s += 256) {
    const len = Math.min(256, n - s);
    const part = resizeU8(u8.subarray(s * per, (s + len) * per), len, size, inSize);
    out.set(
      noGrad(() => tidy(() => g.classifier.featuresFloat(toInput(tensor(part, [len, inSize, inSize, 3]))).data())),
      s * g.classifier.encoderConfig.k,
    );
  }
  return out;
}

/** D(x, c) of uint8 images at the GAN's size, D in eval mode. */
function realismOf(g: LoadedGan, u8: Uint8Array, n: number, category: number): number[] {
  const d = g.gan.discriminator;
  const was = d.training;
  d.train(false);
  try {
    const size = g.manifest.config.imageSize;
    const per = size * size * 3;
    const out: number[] = [];
    for (let s = 0; s < n; s += 256) {
      const len = Math.min(256, n - s);
      out.push(
        ...noGrad(() =>
          tidy(() =>
            d
              .forward(
                toInput(tensor(u8.subarray(s * per, (s + len) * per), [len, size, size, 3])),
                oneHot(new Int32Array(len).fill(category), g.gan.categories.length),
              )
              .data(),
          ),
        ),
      );
    }
    return out;
  } finally {
    d.train(was);
  }
}

export const dot = (a: Float32Array, ai: number, b: Float32Array, bi: number, k: number) => {
  let s = 0;
  for (let q = 0; q < k; q++) s += a[ai * k + q]! * b[bi * k + q]!;
  return s;
};
const median = medianOf;
export const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Per category: the real items' classifier features, the samples' realism range, and each run's embeddings of the real items. */
export interface CategoryContext {
  ganIndex: number;
  realFeatures: Float32Array;
  /** the samples' realism range */
  range: RealismRange;
  samples: { inRange: number; features: Float32Array; d: number[] };
  proxyEmb: Float32Array;
  judgeEmb: Float32Array;
  ensembleEmb: Float32Array[];
  /** the shop's range of the category (what a design must beat) */
  items: number[];
  /** the judge's embeddings of every catalogue item of the category, and each item's row there */
  allJudgeEmb: Float32Array;
  rowOf: Map<number, number>;
}

export function categoryContext(
  ds: Dataset,
  run: LoadedRun,
  judge: LoadedRun,
  ensemble: LoadedRun[],
  g: LoadedGan,
  c: string,
  seed: number,
  shopItems?: (item: number) => boolean,
): CategoryContext {
  const ci = categoryIndexOf(run.catalogue, c);
  const items = [...run.catalogue.itemCategory.keys()].filter((i) => run.catalogue.itemCategory[i] === ci && (!shopItems || shopItems(i)));
  if (!items.length) throw new InvalidArgumentError(`the shop's range holds no item of the category '${c}'`);
  const allItems = shopItems ? [...run.catalogue.itemCategory.keys()].filter((i) => run.catalogue.itemCategory[i] === ci) : items;
  const allJudgeEmb = categoryEmbeddings(judge, c);
  const per = ds.imageSize * ds.imageSize * 3;
  const realU8 = new Uint8Array(Math.min(items.length, 300) * per);
  items.slice(0, 300).forEach((i, r) => realU8.set(ds.images.row(i), r * per));
  const realFeatures = ganClassifierFeatures(g, realU8, Math.min(items.length, 300), ds.imageSize);
  const ganIndex = g.manifest.categories.indexOf(c);
  // the samples: 256 codes z ~ N(0, I), the GAN's own prior, no steps
  const s0 = maximisePreference(designModels(run, g), {
    theta: new Float32Array(dvbprOf(run).encoderConfig.k),
    category: ganIndex,
    n: 256,
    steps: 0,
    lr: 0.05,
    eta: 0,
    seed: seed + 7919,
    start: { kind: 'random', bound: 'free' },
  });
  const gs = g.manifest.config.imageSize;
  const feats = ganClassifierFeatures(g, s0.images, 256, gs);
  const nn = nearestDistances(feats, realFeatures, g.classifier.encoderConfig.k);
  const d = s0.realism;
  const range = realismRange(nn, d);
  const inRange = shareOf(insideRange(range, nn, d))!;
  return {
    ganIndex,
    realFeatures,
    range,
    samples: { inRange, features: feats, d },
    proxyEmb: rowsOf(categoryEmbeddings(run, c), allItems, items, dvbprOf(run).encoderConfig.k),
    judgeEmb: rowsOf(allJudgeEmb, allItems, items, dvbprOf(judge).encoderConfig.k),
    ensembleEmb: ensemble.map((e) => rowsOf(categoryEmbeddings(e, c), allItems, items, dvbprOf(e).encoderConfig.k)),
    items,
    allJudgeEmb,
    rowOf: new Map(allItems.map((i, r) => [i, r])),
  };
}

/** The rows of `emb` (one per item of `all`, in order) for the items of `some` (a subsequence of `all`). */
function rowsOf(emb: Float32Array, all: number[], some: number[], k: number): Float32Array {
  if (all.length === some.length) return emb;
  const at = new Map(all.map((i, r) => [i, r]));
  const out = new Float32Array(some.length * k);
  some.forEach((i, r) => out.set(emb.subarray(at.get(i)! * k, (at.get(i)! + 1) * k), r * k));
  return out;
}

/** Classifier features and D of uint8 images [n, S, S, 3] at the GAN's size, and whether each is inside the category's samples' range. */
export function realismIn(g: LoadedGan, ctx: CategoryContext, u8: Uint8Array, n: number): { feats: Float32Array; d: number[]; inRange: boolean[] } {
  const feats = ganClassifierFeatures(g, u8, n, g.manifest.config.imageSize);
  const nn = nearestDistances(feats, ctx.realFeatures, g.classifier.encoderConfig.k);
  const d = realismOf(g, u8, n, ctx.ganIndex);
  return { feats, d, inRange: insideRange(ctx.range, nn, d) };
}

/** One pair's figures at every step of one method's search. */
interface PairCurve {
  proxyWin: boolean[];
  judgeWin: boolean[];
  utilityWin: (boolean | null)[];
  heldOutWin: (boolean | null)[];
  inRange: number[];
  judgeRankPct: number[];
  proxyScore: number[];
  judgeScore: number[];
  utility: (number | null)[];
  /** classifier features and D of the n designs at each step (for the Fréchet at the budget) */
  features: Float32Array[];
  d: number[][];
}

function judgePair(
  ds: Dataset,
  run: LoadedRun,
  judge: LoadedRun,
  ensemble: LoadedRun[],
  g: LoadedGan,
  ctx: CategoryContext,
  pair: Pair,
  method: JudgedMethod,
  o: JudgedStudyOptions,
  seed: number,
): PairCurve {
  const k = dvbprOf(run).encoderConfig.k;
  const theta = pair.taste?.proxy ?? thetaOf(run, pair.userId);
  const kj = dvbprOf(judge).encoderConfig.k;
  const thetaJ = pair.taste?.judge ?? thetaOf(judge, pair.userId);
  const nItems = ctx.items.length;
  const bestRealProxy = Math.max(...Array.from({ length: nItems }, (_, r) => dot(ctx.proxyEmb, r, theta, 0, k)));
  const bestRealJudge = Math.max(...Array.from({ length: nItems }, (_, r) => dot(ctx.judgeEmb, r, thetaJ, 0, kj)));
  const bestRealUtility = o.utility ? Math.max(...o.utility.ofItems(pair.user, ctx.items)) : null;
  let ens: DesignEnsemble | undefined;
  if (method.ensemble) {
    const member = (r: LoadedRun, emb: Float32Array) => {
      const th = thetaOf(r, pair.userId);
      const kk = dvbprOf(r).encoderConfig.k;
      const sc = Array.from({ length: nItems }, (_, i) => dot(emb, i, th, 0, kk));
      const mu = mean(sc);
      const sd = Math.sqrt(mean(sc.map((x) => (x - mu) ** 2))) || 1;
      return { encoder: dvbprOf(r).encoder, theta: th, center: mu, scale: sd };
    };
    ens = { combine: method.ensemble, members: [member(run, ctx.proxyEmb), ...ensemble.map((r, m) => member(r, ctx.ensembleEmb[m]!))] };
  }
  const models = designModels(run, g);
  let start: CodeStart | undefined;
  if (method.fromBestReal) {
    const gsz = g.manifest.config.imageSize;
    const per = ds.imageSize * ds.imageSize * 3;
    const top = Array.from({ length: nItems }, (_, r) => r)
      .sort((a, b) => dot(ctx.proxyEmb, b, theta, 0, k) - dot(ctx.proxyEmb, a, theta, 0, k))
      .slice(0, o.n);
    while (top.length < o.n) top.push(top[top.length % Math.max(1, top.length)]!);
    const u8 = new Uint8Array(o.n * per);
    top.forEach((r, a) => u8.set(ds.images.row(ctx.items[r]!), a * per));
    const p = projectMany(models, resizeU8(u8, o.n, ds.imageSize, gsz), {
      category: ctx.ganIndex,
      steps: method.fromBestReal.projectSteps,
      lr: IMPROVE_DEFAULTS.projectLr,
      alpha: IMPROVE_DEFAULTS.alpha,
      seed,
    });
    start = { kind: 'code', z0: tensor(p.z, [o.n, g.gan.config.zDim]), gamma: method.fromBestReal.gamma };
  }
  let res: DesignResult;
  try {
    res = maximisePreference(models, {
      theta,
      category: ctx.ganIndex,
      n: o.n,
      steps: method.steps,
      seed,
      record: true,
      ...searchOf(method.options, method.guard ? { real: ctx.proxyEmb, quantile: method.guard } : undefined),
      ...(ens ? { ensemble: ens } : {}),
      // from the best real items: their projected codes, the method's bound and leash aside
      ...(start ? { start } : {}),
    });
  } finally {
    start?.z0.dispose();
  }
  // with the guard, what is shown is its choice: one point
  if (method.guard) {
    res.stepImages = [res.images];
    res.scores = [res.finalScores];
  }
  // the judges read the recorded images, after the search
  const gs = g.manifest.config.imageSize;
  const per = gs * gs * 3;
  const steps = res.stepImages!.length;
  const shown = res.scores.map((s) => s.indexOf(Math.max(...s)));
  const shownU8 = new Uint8Array(steps * per);
  res.stepImages!.forEach((imgs, s) => shownU8.set(imgs.subarray(shown[s]! * per, (shown[s]! + 1) * per), s * per));
  const ej = embedWithRun(judge, shownU8, steps, gs);
  const judgeScore = Array.from({ length: steps }, (_, s) => dot(ej, s, thetaJ, 0, kj));
  const judgeRankPct = judgeScore.map((own, s) => judgeRankOf(judge, pair, ej, s, own));
  const heldOutWin = heldOutWins(judge, ctx, pair, thetaJ, ej, steps);
  const util = o.utility ? o.utility.of(new Array(steps).fill(pair.user), resizeU8(shownU8, steps, gs, ds.imageSize), steps, pair.category).utility : null;
  const all = new Uint8Array(steps * o.n * per);
  res.stepImages!.forEach((imgs, s) => all.set(imgs, s * o.n * per));
  const { feats, d, inRange: each } = realismIn(g, ctx, all, steps * o.n);
  const kc = g.classifier.encoderConfig.k;
  const inRange = Array.from({ length: steps }, (_, s) => each.slice(s * o.n, (s + 1) * o.n).filter(Boolean).length / o.n);
  return {
    proxyWin: shown.map((b, s) => res.scores[s]![b]! > bestRealProxy),
    judgeWin: judgeScore.map((j) => j > bestRealJudge),
    utilityWin: util ? util.map((x) => x > bestRealUtility!) : new Array(steps).fill(null),
    heldOutWin,
    inRange,
    judgeRankPct,
    proxyScore: shown.map((b, s) => res.scores[s]![b]!),
    judgeScore,
    utility: util ?? new Array(steps).fill(null),
    features: Array.from({ length: steps }, (_, s) => feats.slice(s * o.n * kc, (s + 1) * o.n * kc)),
    d: Array.from({ length: steps }, (_, s) => d.slice(s * o.n, (s + 1) * o.n)),
  };
}

/**
 * The rank (0 % = top) of the pair's judge score of a design (row `s` of `ej`) among the other
 * shoppers' judge scores of it; for a segment, among the other segments' judge tastes.
 */
function judgeRankOf(judge: LoadedRun, pair: Pair, ej: Float32Array, s: number, own: number): number {
  const kj = dvbprOf(judge).encoderConfig.k;
  const others = pair.taste ? pair.taste.judgeOthers : dvbprOf(judge).theta.data();
  const count = others.length / kj;
  let above = 0;
  for (let v = 0; v < count; v++) if ((pair.taste || v !== pair.user) && dot(others, v, ej, s, kj) > own) above++;
  return (100 * above) / Math.max(1, pair.taste ? count : count - 1);
}

/**
 * A segment pair's held-out reading at each step: is the design shown nearer (mean cosine in the
 * judge's features, centred on the category's items) to the members' held-out purchases of the
 * category than the shop's best item for the segment by the judge is? Null for a shopper, or
 * where the members bought nothing of the category after training.
 */
function heldOutWins(judge: LoadedRun, ctx: CategoryContext, pair: Pair, thetaJ: Float32Array, ej: Float32Array, steps: number): (boolean | null)[] {
  const none = new Array<null>(steps).fill(null);
  const heldOut = pair.taste?.heldOut.filter((i) => ctx.rowOf.has(i));
  if (!heldOut?.length) return none;
  const kj = dvbprOf(judge).encoderConfig.k;
  const set = new Float32Array(heldOut.length * kj);
  heldOut.forEach((i, r) => set.set(ctx.allJudgeEmb.subarray(ctx.rowOf.get(i)! * kj, (ctx.rowOf.get(i)! + 1) * kj), r * kj));
  const centre = new Float32Array(kj);
  const nItems = ctx.items.length;
  for (let r = 0; r < nItems; r++) for (let a = 0; a < kj; a++) centre[a]! += ctx.judgeEmb[r * kj + a]! / nItems;
  let best = 0;
  for (let r = 1; r < nItems; r++) if (dot(ctx.judgeEmb, r, thetaJ, 0, kj) > dot(ctx.judgeEmb, best, thetaJ, 0, kj)) best = r;
  const bar = meanCosineTo(ctx.judgeEmb, best, set, centre);
  return Array.from({ length: steps }, (_, s) => meanCosineTo(ej, s, set, centre) > bar);
}

function curveOf(curves: PairCurve[], stepOf = (s: number) => s): StepFigures[] {
  const steps = curves[0]!.proxyWin.length;
  const share = (xs: boolean[]) => xs.filter(Boolean).length / xs.length;
  return Array.from({ length: steps }, (_, s) => {
    const utilityWins = curves.map((c) => c.utilityWin[s]);
    const utility = curves.map((c) => c.utility[s]);
    return {
      step: stepOf(s),
      proxyUplift: share(curves.map((c) => c.proxyWin[s]!)),
      judgeUplift: share(curves.map((c) => c.judgeWin[s]!)),
      utilityUplift: utilityWins[0] === null ? null : share(utilityWins as boolean[]),
      heldOutUplift: shareOf(curves.map((c) => c.heldOutWin[s]!)),
      inRange: mean(curves.map((c) => c.inRange[s]!)),
      judgeMedianRankPct: median(curves.map((c) => c.judgeRankPct[s]!)),
      meanProxyScore: mean(curves.map((c) => c.proxyScore[s]!)),
      meanJudgeScore: mean(curves.map((c) => c.judgeScore[s]!)),
      meanUtility: utility[0] === null ? null : mean(utility as number[]),
    };
  });
}

/** Shoppers split once: the first `validPairs` pairs for choosing, the next `testPairs` for reporting (no shopper in both). */
export function pairsOf(ds: Dataset, run: LoadedRun, judge: LoadedRun, g: LoadedGan, o: JudgedStudyOptions): { valid: Pair[]; test: Pair[] } {
  if (o.pairs) return o.pairs;
  const rng = new Rng(o.seed);
  const order = Array.from(ds.userIds.keys());
  rng.shuffle(order);
  const cats = g.manifest.categories.filter((c) => run.catalogue.categories.includes(c));
  const known = (id: string) => run.catalogue.userIndex.has(id) && judge.catalogue.userIndex.has(id);
  const users = order.filter((u) => known(ds.userIds[u]!));
  const pick = (from: number[], count: number): Pair[] =>
    from.slice(0, count).map((u) => ({ user: u, userId: ds.userIds[u]!, category: cats[rng.int(cats.length)]! }));
  const valid = pick(users, o.validPairs);
  return { valid, test: pick(users.slice(o.validPairs), o.testPairs) };
}

/** The samples' in-range share over a study's validation pairs (the bar of CHOICE_RULE), without running any method. */
export function validationBar(ds: Dataset, run: LoadedRun, judge: LoadedRun, g: LoadedGan, o: JudgedStudyOptions): number {
  const { valid } = pairsOf(ds, run, judge, g, o);
  const contexts = new Map<string, number>();
  for (const p of valid)
    if (!contexts.has(p.category)) contexts.set(p.category, categoryContext(ds, run, judge, [], g, p.category, o.seed, o.shopItems).samples.inRange);
  return mean(valid.map((p) => contexts.get(p.category)!));
}

export function judgedDesignStudy(dataset: string, ds: Dataset, run: LoadedRun, judge: LoadedRun, g: LoadedGan, o: JudgedStudyOptions): JudgedStudy {
  const t0 = performance.now();
  const ensemble = o.ensemble ?? [];
  const { valid, test } = pairsOf(ds, run, judge, g, o);
  const contexts = new Map<string, CategoryContext>();
  const ctxOf = (c: string) => contexts.get(c) ?? contexts.set(c, categoryContext(ds, run, judge, ensemble, g, c, o.seed, o.shopItems)).get(c)!;
  for (const p of [...valid, ...test]) ctxOf(p.category);
  // the samples' share and realism over the test pairs' categories, weighted as the pairs are
  const testCats = test.map((p) => ctxOf(p.category));
  const samplesInRange = mean(testCats.map((c) => c.samples.inRange));
  const kc = g.classifier.encoderConfig.k;
  const frechetOver = (byCat: Map<string, Float32Array[]>) =>
    mean(
      [...byCat].map(([c, parts]) => {
        const all = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
        let off = 0;
        for (const p of parts) (all.set(p, off), (off += p.length));
        return frechetDistance(ctxOf(c).realFeatures, all, kc);
      }),
    );
  const samplesByCat = new Map<string, Float32Array[]>();
  // as many samples as designs per category (the Fréchet distance depends on the count): n of the 256 for each test pair
  test.forEach((p, i) => {
    const slot = (i * o.n) % (256 - o.n + 1);
    (samplesByCat.get(p.category) ?? samplesByCat.set(p.category, []).get(p.category)!).push(
      ctxOf(p.category).samples.features.slice(slot * kc, (slot + o.n) * kc),
    );
  });
  const methods: MethodFigures[] = [];
  for (const method of o.methods) {
    const m0 = performance.now();
    let done = 0;
    const total = valid.length + test.length;
    const run1 = (pairs: Pair[], offset: number) =>
      pairs.map((p, i) => {
        const c = judgePair(ds, run, judge, ensemble, g, ctxOf(p.category), p, method, o, o.seed + offset + i);
        o.onPair?.(method.name, ++done, total);
        return c;
      });
    const validCurves = run1(valid, 0);
    const testCurves = run1(test, 100_000);
    const stepOf = method.guard ? () => method.steps : undefined;
    const vf = validCurves.length ? curveOf(validCurves, stepOf) : [];
    const tf = curveOf(testCurves, stepOf);
    const at = method.guard ? 0 : (method.budget ?? chooseBudget(vf, mean(valid.map((p) => ctxOf(p.category).samples.inRange))).step);
    const budget = method.guard ? method.steps : at;
    const byCat = new Map<string, Float32Array[]>();
    test.forEach((p, i) => (byCat.get(p.category) ?? byCat.set(p.category, []).get(p.category)!).push(testCurves[i]!.features[at]!));
    methods.push({
      name: method.name,
      describe: method.describe,
      budget,
      valid: vf,
      test: tf,
      atBudget: { ...tf[at]!, frechet: frechetOver(byCat), meanD: mean(testCurves.flatMap((c) => c.d[at]!)) },
      seconds: (performance.now() - m0) / 1000,
    });
  }
  // the chosen method: the best validation value at its own budget
  const chosen = valid.length ? chooseMethod(methods, mean(valid.map((p) => ctxOf(p.category).samples.inRange))) : null;
  return {
    dataset,
    proxy: run.manifest.name,
    judge: judge.manifest.name,
    ensemble: ensemble.map((e) => e.manifest.name),
    n: o.n,
    pairs: { valid: valid.length, test: test.length },
    samples: { inRange: samplesInRange, frechet: frechetOver(samplesByCat), meanD: mean(testCats.flatMap((c) => c.samples.d)) },
    methods,
    samplesValidInRange: valid.length ? mean(valid.map((p) => ctxOf(p.category).samples.inRange)) : null,
    chosen: chosen ? { method: chosen.name, budget: chosen.budget } : null,
    rule: CHOICE_RULE,
    utility: o.utility ? { radius: o.utility.radius, penalty: o.utility.penalty, garments: o.utility.set.count } : null,
    ceiling: o.unsold ? realCeilingOf(ds, run, judge, test, ctxOf, o.unsold) : null,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** RealCeiling over the test pairs: the unsold articles read by the proxy and the judge as a design is. */
function realCeilingOf(
  ds: Dataset,
  run: LoadedRun,
  judge: LoadedRun,
  test: Pair[],
  ctxOf: (c: string) => CategoryContext,
  unsold: NonNullable<JudgedStudyOptions['unsold']>,
): RealCeiling {
  const k = dvbprOf(run).encoderConfig.k;
  const kj = dvbprOf(judge).encoderConfig.k;
  const byCategory = new Map<string, { n: number; proxyEmb: Float32Array; judgeEmb: Float32Array }>();
  const of = (c: string) => {
    let e = byCategory.get(c);
    if (!e) {
      const { u8, n } = unsold(c);
      e = { n, proxyEmb: embedWithRun(run, u8, n, ds.imageSize), judgeEmb: embedWithRun(judge, u8, n, ds.imageSize) };
      byCategory.set(c, e);
    }
    return e;
  };
  let proxyWins = 0;
  let judgeWins = 0;
  let judgeOwnWins = 0;
  let counted = 0;
  let articles = 0;
  const ranks: number[] = [];
  for (const pair of test) {
    const u = of(pair.category);
    if (!u.n) continue;
    const ctx = ctxOf(pair.category);
    const theta = pair.taste?.proxy ?? thetaOf(run, pair.userId);
    const thetaJ = pair.taste?.judge ?? thetaOf(judge, pair.userId);
    const bestProxy = Math.max(...ctx.items.map((_, r) => dot(ctx.proxyEmb, r, theta, 0, k)));
    const bestJudge = Math.max(...ctx.items.map((_, r) => dot(ctx.judgeEmb, r, thetaJ, 0, kj)));
    const proxyOf = Array.from({ length: u.n }, (_, r) => dot(u.proxyEmb, r, theta, 0, k));
    const judgeOf = Array.from({ length: u.n }, (_, r) => dot(u.judgeEmb, r, thetaJ, 0, kj));
    const pick = proxyOf.indexOf(Math.max(...proxyOf));
    counted++;
    articles += u.n;
    if (proxyOf[pick]! > bestProxy) proxyWins++;
    if (judgeOf[pick]! > bestJudge) judgeWins++;
    if (Math.max(...judgeOf) > bestJudge) judgeOwnWins++;
    ranks.push(judgeRankOf(judge, pair, u.judgeEmb, pick, judgeOf[pick]!));
  }
  const n = Math.max(1, counted);
  return {
    pairs: counted,
    articlesPerCategory: Math.round(articles / n),
    proxyFavourite: { proxyUplift: proxyWins / n, judgeUplift: judgeWins / n, judgeMedianRankPct: median(ranks) },
    judgeFavourite: { judgeUplift: judgeOwnWins / n },
  };
}
