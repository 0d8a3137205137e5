/**
 * Two studies beside the design study (bench/design-judged.ts reports them; issue 20), built on
 * its pieces (src/app/design-judged.ts): `improve` judged, and the ceiling of any garment-like
 * design on Fashion-MNIST (real garments the shop does not sell in place of designs).
 */
import type { Dataset } from '../src/data/dataset.js';
import { garmentImages } from '../src/data/garments.js';
import { hiddenScores } from '../src/data/simulate.js';
import { improveItem } from '../src/design/improve.js';
import type { GarmentUtility } from '../src/eval/utility.js';
import type { LoadedGan } from '../src/store/gan-run.js';
import { categoryIndexOf, dvbprOf, thetaOf, type LoadedRun } from '../src/store/run.js';
import { categoryContext, dot, mean, pairsOf, realismIn, type CategoryContext, type JudgedStudyOptions } from '../src/app/design-judged.js';
import { categoryEmbeddings, designModels, embedWithRun, improveOptions, resizeU8 } from '../src/app/designs.js';

/** `improve` judged: an ordinary item of the category moved towards the shopper, scored by models the search never ran. */
export interface ImproveStudy {
  pairs: number;
  steps: number;
  /** which item is improved: the shopper's median one of the category by the optimised model */
  item: string;
  /** shares of pairs where the improved image beats the original item (and the reconstruction G(z₀), the search's own start) */
  proxyUplift: number;
  judgeUplift: number;
  judgeOverReconstruction: number;
  utilityUplift: number | null;
  utilityOverReconstruction: number | null;
  /** shares of pairs whose image is inside the samples' realism range */
  inRange: { improved: number; reconstruction: number; samples: number };
  /** mean score changes, improved − original, each model in its own units; the utility in the hidden taste's */
  meanGain: { proxy: number; judge: number; utility: number | null };
  /** mean |improved − original| per pixel value in [0, 1] */
  meanPixelChange: number;
  seconds: number;
}

/**
 * For each test pair (the same shoppers and categories as the design study's test pairs), the
 * shopper's median item of the category by the optimised model, improved as `atelier improve`
 * does (its defaults, `steps` steps); the judge, the utility and the realism range read the three
 * images (original, reconstruction, improved) after the search.
 */
export function judgedImproveStudy(
  ds: Dataset,
  run: LoadedRun,
  judge: LoadedRun,
  g: LoadedGan,
  o: JudgedStudyOptions & { steps: number },
): { study: ImproveStudy; examples: { images: Uint8Array; judgeScores: number[]; imageSize: number } } {
  const t0 = performance.now();
  const { test } = pairsOf(ds, run, judge, g, o);
  const contexts = new Map<string, CategoryContext>();
  const ctxOf = (c: string) => contexts.get(c) ?? contexts.set(c, categoryContext(ds, run, judge, [], g, c, o.seed, o.shopItems)).get(c)!;
  const gs = g.manifest.config.imageSize;
  const k = dvbprOf(run).encoderConfig.k;
  const kj = dvbprOf(judge).encoderConfig.k;
  const rows: { proxy: number[]; judge: number[]; utility: number[] | null; inRange: boolean[]; change: number }[] = [];
  // the first 8 pairs' original, reconstruction and improved image, for a figure
  const shown = Math.min(8, test.length);
  const examples = new Uint8Array(shown * 3 * gs * gs * 3);
  test.forEach((pair, x) => {
    const ctx = ctxOf(pair.category);
    const theta = thetaOf(run, pair.userId);
    const byProxy = ctx.items.map((_, r) => r).sort((a, b) => dot(ctx.proxyEmb, b, theta, 0, k) - dot(ctx.proxyEmb, a, theta, 0, k));
    const item = ctx.items[byProxy[byProxy.length >> 1]!]!;
    const original = resizeU8(ds.images.row(item), 1, ds.imageSize, gs);
    const r = improveItem(designModels(run, g), improveOptions(original, ctx.ganIndex, theta, { steps: o.steps, seed: o.seed + 100_000 + x }));
    const three = new Uint8Array(3 * gs * gs * 3);
    three.set(original, 0);
    three.set(r.projection.reconstruction, gs * gs * 3);
    three.set(r.design.images.subarray(0, gs * gs * 3), 2 * gs * gs * 3);
    const ep = embedWithRun(run, three, 3, gs);
    const ej = embedWithRun(judge, three, 3, gs);
    const thetaJ = thetaOf(judge, pair.userId);
    const util = o.utility
      ? [
          o.utility.ofItems(pair.user, [item])[0]!,
          ...o.utility.of([pair.user, pair.user], resizeU8(three.subarray(gs * gs * 3), 2, gs, ds.imageSize), 2, pair.category).utility,
        ]
      : null;
    const { inRange } = realismIn(g, ctx, three.subarray(gs * gs * 3), 2);
    let change = 0;
    for (let q = 0; q < gs * gs * 3; q++) change += Math.abs(three[2 * gs * gs * 3 + q]! - three[q]!);
    if (x < shown) examples.set(three, x * three.length);
    rows.push({
      proxy: [0, 1, 2].map((a) => dot(ep, a, theta, 0, k)),
      judge: [0, 1, 2].map((a) => dot(ej, a, thetaJ, 0, kj)),
      utility: util,
      inRange,
      change: change / (gs * gs * 3 * 255),
    });
    o.onPair?.('improve', x + 1, test.length);
  });
  const share = (f: (r: (typeof rows)[number]) => boolean) => rows.filter(f).length / rows.length;
  const withUtility = rows[0]?.utility !== null && rows[0]?.utility !== undefined;
  const study: ImproveStudy = {
    pairs: rows.length,
    steps: o.steps,
    item: "the shopper's median item of the category by the optimised model",
    proxyUplift: share((r) => r.proxy[2]! > r.proxy[0]!),
    judgeUplift: share((r) => r.judge[2]! > r.judge[0]!),
    judgeOverReconstruction: share((r) => r.judge[2]! > r.judge[1]!),
    utilityUplift: withUtility ? share((r) => r.utility![2]! > r.utility![0]!) : null,
    utilityOverReconstruction: withUtility ? share((r) => r.utility![2]! > r.utility![1]!) : null,
    inRange: {
      improved: share((r) => r.inRange[1]!),
      reconstruction: share((r) => r.inRange[0]!),
      samples: mean(test.map((p) => ctxOf(p.category).samples.inRange)),
    },
    meanGain: {
      proxy: mean(rows.map((r) => r.proxy[2]! - r.proxy[0]!)),
      judge: mean(rows.map((r) => r.judge[2]! - r.judge[0]!)),
      utility: withUtility ? mean(rows.map((r) => r.utility![2]! - r.utility![0]!)) : null,
    },
    meanPixelChange: mean(rows.map((r) => r.change)),
    seconds: (performance.now() - t0) / 1000,
  };
  return { study, examples: { images: examples, judgeScores: rows.slice(0, shown).flatMap((r) => r.judge), imageSize: gs } };
}

/** How often a real garment the shop does not sell would beat the shop's best item: the ceiling of any design that looks like a garment. */
export interface GarmentCeiling {
  pairs: number;
  /** garments of each test pair's category among the 70,000 (those the shop sells included) */
  garmentsPerCategory: number;
  rows: {
    /** which garment stands in for the design */
    pick: string;
    proxyUplift: number;
    judgeUplift: number;
    utilityUplift: number;
  }[];
  seconds: number;
}

/**
 * For each test pair of the design study: the garment of the category (among all 70,000
 * Fashion-MNIST images, or those the shop does not sell) that the optimised model, the judge or
 * the hidden taste likes best, read by the proxy, the judge and the utility against the shop's best
 * item exactly as a design is (a real garment's utility is its hidden taste). What a perfect
 * generator would give a search that maximises this proxy: no design method can beat it by
 * looking like a garment.
 */
export function garmentCeilingStudy(
  ds: Dataset,
  run: LoadedRun,
  judge: LoadedRun,
  g: LoadedGan,
  utility: GarmentUtility,
  o: JudgedStudyOptions,
): GarmentCeiling {
  const t0 = performance.now();
  const { test } = pairsOf(ds, run, judge, g, o);
  const set = utility.set;
  const k = dvbprOf(run).encoderConfig.k;
  const kj = dvbprOf(judge).encoderConfig.k;
  const byCategory = new Map<
    string,
    { index: number[]; proxyEmb: Float32Array; judgeEmb: Float32Array; items: number[]; itemProxy: Float32Array; itemJudge: Float32Array }
  >();
  const ctxOf = (c: string) => {
    const known = byCategory.get(c);
    if (known) return known;
    const index = set.category.flatMap((cc, j) => (cc === c ? [j] : []));
    const u8 = garmentImages(ds, set, index);
    const ci = categoryIndexOf(run.catalogue, c);
    const entry = {
      index,
      proxyEmb: embedWithRun(run, u8, index.length, ds.imageSize),
      judgeEmb: embedWithRun(judge, u8, index.length, ds.imageSize),
      items: [...run.catalogue.itemCategory.keys()].filter((i) => run.catalogue.itemCategory[i] === ci),
      itemProxy: categoryEmbeddings(run, c),
      itemJudge: categoryEmbeddings(judge, c),
    };
    byCategory.set(c, entry);
    return entry;
  };
  const picks = ['proxy, any garment', 'proxy, unsold', 'judge, unsold', 'hidden taste, unsold'] as const;
  const wins = picks.map(() => ({ proxy: 0, judge: 0, utility: 0 }));
  let perCategory = 0;
  for (const pair of test) {
    const c = ctxOf(pair.category);
    perCategory += c.index.length / test.length;
    const theta = thetaOf(run, pair.userId);
    const thetaJ = thetaOf(judge, pair.userId);
    const proxyOf = c.index.map((_, r) => dot(c.proxyEmb, r, theta, 0, k));
    const judgeOf = c.index.map((_, r) => dot(c.judgeEmb, r, thetaJ, 0, kj));
    const dims = utility.sim.dims;
    const tasteOf = c.index.map((j) => hiddenScores(utility.sim, pair.user, set.features.subarray(j * dims, (j + 1) * dims))[0]!);
    const bestProxy = Math.max(...c.items.map((_, r) => dot(c.itemProxy, r, theta, 0, k)));
    const bestJudge = Math.max(...c.items.map((_, r) => dot(c.itemJudge, r, thetaJ, 0, kj)));
    const bestUtility = Math.max(...utility.ofItems(pair.user, c.items));
    const unsold = c.index.map((j) => set.inShop[j] === 0);
    const argmax = (v: number[], ok: (r: number) => boolean) => v.reduce((b, x, r) => (ok(r) && (b < 0 || x > v[b]!) ? r : b), -1);
    const chosen = [argmax(proxyOf, () => true), argmax(proxyOf, (r) => unsold[r]!), argmax(judgeOf, (r) => unsold[r]!), argmax(tasteOf, (r) => unsold[r]!)];
    chosen.forEach((r, p) => {
      if (proxyOf[r]! > bestProxy) wins[p]!.proxy++;
      if (judgeOf[r]! > bestJudge) wins[p]!.judge++;
      if (tasteOf[r]! > bestUtility) wins[p]!.utility++;
    });
  }
  const n = test.length;
  return {
    pairs: n,
    garmentsPerCategory: Math.round(perCategory),
    rows: picks.map((pick, p) => ({ pick, proxyUplift: wins[p]!.proxy / n, judgeUplift: wins[p]!.judge / n, utilityUplift: wins[p]!.utility / n })),
    seconds: (performance.now() - t0) / 1000,
  };
}
