/** The design study under a judge: the optimiser never reads the judge, and the figures are the judge's. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { judgedDesignStudy } from '../../src/app/design-judged.js';
import { judgedImproveStudy } from '../../bench/design-studies.js';
import { chooseBudget, chooseMethod, meanCosineTo, shareOf, type StepFigures } from '../../src/eval/design-choice.js';
import { embedWithRun } from '../../src/app/designs.js';
import { imagesTensor, trainDvbprJob } from '../../src/app/train-recommender.js';
import { dvbprPreset } from '../../src/config/dvbpr.js';
import { loadGanRun } from '../../src/store/gan-run.js';
import { loadRun } from '../../src/store/run.js';
import type { Tensor } from '../../src/torch/index.js';
import { tinyRuns } from '../helpers/tiny-runs.js';

const ctx = tinyRuns();
const bytes = (ts: Tensor[]) => ts.map((t) => Buffer.from(t.data().buffer));

test('the judge is never read by the optimiser: its weights are unchanged and it runs only on recorded images, after each search', async () => {
  const { run, gan, ds, root } = await ctx;
  const judgeDir = join(root, 'judge');
  const images = imagesTensor(ds);
  await trainDvbprJob(ds, images, { out: judgeDir, config: { ...dvbprPreset('tiny', 16), epochs: 2, seed: 2 }, resume: false, callbacks: {} });
  images.dispose();
  const proxy = loadRun(run);
  const judge = loadRun(judgeDir);
  const g = loadGanRun(gan);
  const before = bytes([...judge.dvbpr!.stateDict().values()]);
  const enc = judge.dvbpr!.encoder;
  const forward = enc.forward.bind(enc);
  let calls = 0;
  let duringSearch = 0;
  enc.forward = ((x: Tensor) => {
    calls++;
    // inside a search the proxy's Φ is frozen (its parameters need no gradient)
    if (proxy.dvbpr!.encoder.parameters().some((p) => !p.requiresGrad)) duringSearch++;
    return forward(x);
  }) as typeof enc.forward;
  const study = judgedDesignStudy('tiny', ds, proxy, judge, g, {
    n: 2,
    validPairs: 2,
    testPairs: 3,
    seed: 1,
    methods: [
      { name: 'box', describe: 'box', steps: 3, options: { bound: 'box' } },
      { name: 'paper', describe: 'paper', steps: 2, options: { bound: 'free', initScale: 0.5 } },
    ],
  });
  assert.ok(calls > 0, 'the judge scored the designs');
  assert.equal(duringSearch, 0, 'the judge ran during a search');
  assert.deepEqual(bytes([...judge.dvbpr!.stateDict().values()]), before);
  assert.deepEqual(study.pairs, { valid: 2, test: 3 });
  assert.equal(study.methods[0]!.test.length, 4);
  assert.equal(study.methods[1]!.valid.length, 3);
  for (const m of study.methods) {
    for (const f of m.test) {
      for (const share of [f.proxyUplift, f.judgeUplift, f.inRange]) assert.ok(share >= 0 && share <= 1);
      assert.equal(f.utilityUplift, null, 'no simulated shoppers here');
    }
    assert.ok(m.budget >= 0 && m.budget < m.test.length);
  }
  assert.ok(study.samples.inRange >= 0.85, `the samples' own in-range share ${study.samples.inRange}`);
  // improve, judged the same way: the judge reads the original, the reconstruction and the improved image after the search
  const callsBefore = calls;
  const { study: im, examples } = judgedImproveStudy(ds, proxy, judge, g, { n: 1, validPairs: 2, testPairs: 2, seed: 1, methods: [], steps: 2 });
  assert.equal(examples.images.length, 2 * 3 * examples.imageSize ** 2 * 3);
  assert.equal(examples.judgeScores.length, 6);
  assert.ok(calls > callsBefore, 'the judge scored the improved items');
  assert.equal(duringSearch, 0, 'the judge ran during an improvement');
  assert.deepEqual(bytes([...judge.dvbpr!.stateDict().values()]), before);
  assert.equal(im.pairs, 2);
  for (const share of [im.proxyUplift, im.judgeUplift, im.judgeOverReconstruction, im.inRange.improved, im.inRange.reconstruction])
    assert.ok(share >= 0 && share <= 1);
  assert.equal(im.utilityUplift, null);
  assert.ok(im.meanPixelChange > 0 && im.meanPixelChange < 1, 'the improved image differs from the original');

  // a segment: the search maximises the segment's proxy taste; the judge reads the segment's judge taste after the search.
  // Two items of the category stand outside the shop's range (the unsold articles of the ceiling).
  const category = g.manifest.categories.find((c) => proxy.catalogue.categories.includes(c))!;
  const ci = proxy.catalogue.categories.indexOf(category);
  const ofCategory = [...proxy.catalogue.itemCategory.keys()].filter((i) => proxy.catalogue.itemCategory[i] === ci);
  const unsoldItems = ofCategory.slice(0, 2);
  const per = ds.imageSize ** 2 * 3;
  const unsoldU8 = new Uint8Array(2 * per);
  unsoldItems.forEach((i, r) => unsoldU8.set(ds.images.row(i), r * per));
  const kp = proxy.dvbpr!.encoderConfig.k;
  const kj = judge.dvbpr!.encoderConfig.k;
  const taste = {
    proxy: Float32Array.from({ length: kp }, (_, a) => (a % 3) - 1),
    judge: Float32Array.from({ length: kj }, (_, a) => (a % 2 ? 1 : -0.5)),
    judgeOthers: Float32Array.from({ length: 2 * kj }, (_, a) => (a % 5) - 2),
    heldOut: [ofCategory[2]!, ofCategory[3]!],
  };
  const segmentPair = (heldOut: number[]) => ({ user: -1, userId: 'segment A', category, taste: { ...taste, heldOut } });
  const judgeCalls = calls;
  const seg = judgedDesignStudy('tiny, segments', ds, proxy, judge, g, {
    n: 2,
    validPairs: 0,
    testPairs: 0,
    seed: 1,
    methods: [{ name: 'box', describe: 'box', steps: 2, budget: 2, options: { bound: 'box' } }],
    pairs: { valid: [], test: [segmentPair(taste.heldOut), segmentPair([])] },
    shopItems: (i) => !unsoldItems.includes(i),
    unsold: (c) => (c === category ? { u8: unsoldU8, n: 2 } : { u8: new Uint8Array(0), n: 0 }),
  });
  assert.ok(calls > judgeCalls, 'the judge scored the segment designs');
  assert.equal(duringSearch, 0, 'the judge ran during a segment search');
  assert.deepEqual(bytes([...judge.dvbpr!.stateDict().values()]), before);
  const at = seg.methods[0]!.atBudget;
  // one of the two pairs has held-out purchases of the category: the share is over that one (0 or 1), the other is not counted
  assert.ok(at.heldOutUplift === 0 || at.heldOutUplift === 1, `held-out uplift ${at.heldOutUplift}`);
  // the judge's rank of a segment is among the other 2 segments' judge tastes: 0, 50 or 100 %
  assert.ok([0, 50, 100].includes(at.judgeMedianRankPct), `rank ${at.judgeMedianRankPct}`);
  // the ceiling by hand: the proxy's favourite unsold article against the best of the shop's range, under each model
  const dot = (e: Float32Array, r: number, t: Float32Array) => t.reduce((s, v, a) => s + v * e[r * t.length + a]!, 0);
  const shopU8 = new Uint8Array((ofCategory.length - 2) * per);
  ofCategory.slice(2).forEach((i, r) => shopU8.set(ds.images.row(i), r * per));
  const pU = embedWithRun(proxy, unsoldU8, 2, ds.imageSize);
  const jU = embedWithRun(judge, unsoldU8, 2, ds.imageSize);
  const pS = embedWithRun(proxy, shopU8, ofCategory.length - 2, ds.imageSize);
  const jS = embedWithRun(judge, shopU8, ofCategory.length - 2, ds.imageSize);
  const best = (e: Float32Array, n: number, t: Float32Array) => Math.max(...Array.from({ length: n }, (_, r) => dot(e, r, t)));
  const pick = dot(pU, 0, taste.proxy) >= dot(pU, 1, taste.proxy) ? 0 : 1;
  const proxyWin = dot(pU, pick, taste.proxy) > best(pS, ofCategory.length - 2, taste.proxy) ? 1 : 0;
  const judgeWin = dot(jU, pick, taste.judge) > best(jS, ofCategory.length - 2, taste.judge) ? 1 : 0;
  const judgeOwn = best(jU, 2, taste.judge) > best(jS, ofCategory.length - 2, taste.judge) ? 1 : 0;
  assert.deepEqual(
    {
      pairs: seg.ceiling!.pairs,
      proxy: seg.ceiling!.proxyFavourite.proxyUplift,
      judge: seg.ceiling!.proxyFavourite.judgeUplift,
      own: seg.ceiling!.judgeFavourite.judgeUplift,
    },
    { pairs: 2, proxy: proxyWin, judge: judgeWin, own: judgeOwn },
  );
});

test('held-out likeness: the mean cosine to a set, every vector centred first, by hand', () => {
  const centre = Float32Array.from([1, 1]);
  // x − c = (1, 0); the set − c: (1, 0) → 1, (0, 2) → 0, (−3, 0) → −1
  const x = Float32Array.from([9, 9, 2, 1]);
  const set = Float32Array.from([2, 1, 1, 3, -2, 1]);
  assert.ok(Math.abs(meanCosineTo(x, 1, set, centre) - 0) < 1e-6);
  assert.ok(Math.abs(meanCosineTo(x, 1, set.subarray(0, 2), centre) - 1) < 1e-6);
  assert.ok(Math.abs(meanCosineTo(x, 1, set.subarray(0, 4), centre) - 0.5) < 1e-6);
  assert.ok(Number.isNaN(meanCosineTo(x, 1, new Float32Array(0), centre)));
  assert.equal(shareOf([true, null, false, true]), 2 / 3);
  assert.equal(shareOf([null, null]), null);
});

test('the budget: the best judge + utility uplift among steps whose realism is within 5 points of the samples, the earliest on a tie', () => {
  const f = (step: number, judgeUplift: number, inRange: number, utilityUplift: number | null = null): StepFigures => ({
    step,
    judgeUplift,
    inRange,
    utilityUplift,
    proxyUplift: 1,
    judgeMedianRankPct: 0,
    meanProxyScore: 0,
    meanJudgeScore: 0,
    meanUtility: null,
  });
  // step 3 has the best judge uplift but is off the samples' range (0.8 < 0.9 − 0.05)
  assert.deepEqual(chooseBudget([f(0, 0.2, 0.9), f(1, 0.5, 0.88), f(2, 0.5, 0.86), f(3, 0.9, 0.8)], 0.9), { step: 1, value: 0.5, qualified: true });
  assert.deepEqual(chooseBudget([f(0, 0.2, 0.9, 0.1), f(1, 0.3, 0.9, 0.5)], 0.9).step, 1);
  assert.deepEqual(chooseBudget([f(0, 0.2, 0.5), f(1, 0.9, 0.5)], 0.9), { step: 0, value: 0.2, qualified: false });
  // the method: one whose steps all leave the samples' range does not compete, however high its uplift
  const off = { name: 'off', valid: [f(50, 0.9, 0.6)] };
  const inside = { name: 'inside', valid: [f(0, 0, 0.9), f(8, 0.2, 0.88)] };
  const less = { name: 'less', valid: [f(0, 0.1, 0.9)] };
  assert.equal(chooseMethod([off, less, inside], 0.9)?.name, 'inside');
  assert.equal(chooseMethod([off], 0.9), null);
});
