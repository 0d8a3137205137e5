import { blendRow, CategoryAffinity, PopularityBlend, ProductAffinity } from '../../src/models/blend.js';
import { RandomRecommender } from '../../src/models/simple.js';
import { DvbprScorer } from '../../src/models/dvbpr.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NotFoundError } from '../../src/core/errors.js';
import { dvbprPreset } from '../../src/config/dvbpr.js';
import {
  choosePrior,
  imagesTensor,
  PRIOR_DELTAS,
  priorContext,
  rankingOn,
  simpleJob,
  trainDvbprJob,
  trainFactorJob,
  withoutHeldOut,
} from '../../src/app/train-recommender.js';
import { loadRun } from '../../src/store/run.js';
import { recommend } from '../../src/store/recommend.js';
import type { Recommender } from '../../src/models/recommender.js';
import { plantedDataset } from '../helpers/planted.js';

const ds = plantedDataset();
const dir = () => mkdtempSync(join(tmpdir(), 'atelier-run-'));
const quiet = {};

async function build(kind: string, seed = 1): Promise<{ rec: Recommender; runDir: string }> {
  const out = dir();
  if (kind === 'random' || kind === 'popularity') simpleJob(ds, kind, out, seed);
  else if (kind === 'bpr-mf' || kind === 'vbpr') {
    const features =
      kind === 'vbpr'
        ? {
            data: Float32Array.from({ length: ds.itemIds.length * 2 }, (_, x) => (x % 2 === ds.itemCategory[x >> 1]! ? 1 : 0)),
            dim: 2,
            source: 'planted side one-hot',
          }
        : undefined;
    await trainFactorJob(ds, {
      out,
      kind,
      factors: 4,
      visualFactors: 2,
      lambda: 0.001,
      lambdaE: 0.001,
      lr: 0.05,
      epochs: 4,
      batch: 32,
      seed,
      resume: false,
      features,
      callbacks: quiet,
    });
  } else {
    const images = imagesTensor(ds);
    const cfg = { ...dvbprPreset('tiny', 16), epochs: 6, seed };
    await trainDvbprJob(ds, images, { out, config: cfg, resume: false, callbacks: quiet });
    images.dispose();
  }
  return { rec: loadRun(out).recommender, runDir: out };
}

const kinds = ['random', 'popularity', 'bpr-mf', 'vbpr', 'dvbpr'];
const built = new Map<string, { rec: Recommender; runDir: string }>();
const get = async (k: string) => {
  if (!built.has(k)) built.set(k, await build(k));
  return built.get(k)!;
};

for (const kind of kinds) {
  test(`contract (${kind}): scores every item, finite, deterministic for a seed, unknown user is a typed error`, async () => {
    const { rec } = await get(kind);
    const s = rec.scoreUsers(Int32Array.from([0, 3]));
    assert.equal(s.length, 2 * ds.itemIds.length);
    assert.ok(s.every(Number.isFinite));
    const again = (await build(kind)).rec.scoreUsers(Int32Array.from([0, 3]));
    assert.deepEqual([...again], [...s]);
    assert.throws(() => rec.scoreUsers(Int32Array.from([ds.userIds.length])), NotFoundError);
  });
}

test('contract: a planted visual preference is learned by the visual models, on cold items too; BPR-MF stays at chance on cold items', async () => {
  const auc = async (k: string) => rankingOn(ds, (await get(k)).rec, 'test');
  const dv = await auc('dvbpr');
  const vb = await auc('vbpr');
  const mf = await auc('bpr-mf');
  const rnd = await auc('random');
  // Ceiling 0.75: half the negatives share the liked side (a coin flip), half do not (a sure win).
  assert.ok(dv.coldAuc > 0.7, `DVBPR cold AUC ${dv.coldAuc}`);
  assert.ok(vb.coldAuc > 0.7, `VBPR cold AUC ${vb.coldAuc}`);
  assert.ok(Math.abs(mf.coldAuc - 0.5) < 0.12, `BPR-MF cold AUC ${mf.coldAuc}`);
  assert.ok(Math.abs(rnd.auc - 0.5) < 0.12, `random AUC ${rnd.auc}`);
});

test('recommend: exact top-K with category, cold-only and exclude-bought filters', async () => {
  const run = loadRun((await get('dvbpr')).runDir);
  const [all] = recommend(run.recommender, run.catalogue, ['user0'], { k: Infinity });
  assert.equal(all!.items.length, ds.itemIds.length);
  for (let n = 1; n < all!.items.length; n++) assert.ok(all!.items[n - 1]!.score >= all!.items[n]!.score);
  const [left] = recommend(run.recommender, run.catalogue, ['user0'], { k: 5, category: 'left', coldOnly: true, excludeBought: true });
  assert.equal(left!.items.length, 5);
  for (const it of left!.items) {
    assert.equal(it.category, 'left');
    assert.ok(it.cold);
  }
  // user0 is in the "left" group: its best items overall are left-bar items
  assert.equal(all!.items.slice(0, 10).filter((i) => i.category === 'left').length, 10);
  assert.throws(() => recommend(run.recommender, run.catalogue, ['ghost'], { k: 3 }), /unknown user 'ghost'/);
  assert.throws(() => recommend(run.recommender, run.catalogue, ['user0'], { k: 3, category: 'hats' }), /hats/);
});

test('a new item is scored from its photo alone, consistently with the stored embeddings', async () => {
  const { scoreNewItem } = await import('../../src/store/new-item.js');
  const sharp = (await import('sharp')).default;
  const run = loadRun((await get('dvbpr')).runDir);
  // item 0's own pixels as a PNG: its photo-only score must match its stored catalogue score
  const png = await sharp(Buffer.from(ds.images.all().subarray(0, 16 * 16 * 3)), { raw: { width: 16, height: 16, channels: 3 } })
    .png()
    .toBuffer();
  const r = await scoreNewItem(run, png, 'item0.png');
  const stored = run.recommender.scoreUsers(Int32Array.from([0, 1, 2]));
  for (let u = 0; u < 3; u++) assert.ok(Math.abs(r.scores[u]! - stored[u * ds.itemIds.length]!) < 1e-4, `user ${u}`);
  await assert.rejects(scoreNewItem(run, Buffer.from('nope'), 'bad.jpg'), /bad\.jpg: not a readable image/);
});

test('top-K by heap equals a full sort, ties broken by index', async () => {
  const { topK } = await import('../../src/store/recommend.js');
  const scores = Float32Array.from({ length: 500 }, (_, i) => Math.round(Math.sin(i * 12.9898) * 20) / 4);
  const cand = Array.from(scores.keys()).filter((i) => i % 3 !== 0);
  const full = [...cand].sort((a, b) => scores[b]! - scores[a]! || a - b);
  for (const k of [1, 5, 17, 100]) assert.deepEqual(topK(cand, scores, k), full.slice(0, k));
});

test('the popularity prior: standardised scores plus α·log(1 + purchases), by hand; α = 0 keeps the model order', () => {
  const row = Float32Array.from([1, 2, 3, 6]);
  const counts = Int32Array.from([9, 0, 1, 0]);
  const mean = 3;
  const sd = Math.sqrt(((1 - 3) ** 2 + (2 - 3) ** 2 + 0 + (6 - 3) ** 2) / 4);
  const blended = Float32Array.from(row);
  blendRow(
    blended,
    Float32Array.from(counts, (c) => Math.log1p(c)),
    0.5,
  );
  const hand = [...row].map((v, i) => (v - mean) / sd + 0.5 * Math.log1p(counts[i]!));
  hand.forEach((h, i) => assert.ok(Math.abs(blended[i]! - h) < 1e-6, `item ${i}: ${blended[i]} vs ${h}`));
  // item 0 (bought 9 times) climbs from last to third, above item 1
  const order = (r: Float32Array) => [...r.keys()].sort((a, b) => r[b]! - r[a]!);
  assert.deepEqual(order(row), [3, 2, 1, 0]);
  assert.deepEqual(order(blended), [3, 2, 0, 1]);
  const inner = { kind: 'dvbpr' as const, numUsers: 1, numItems: 4, scoreUsers: () => Float32Array.from(row) };
  assert.deepEqual(order(new PopularityBlend(inner, counts, 0).scoreUsers(Int32Array.from([0]))), order(row));
  assert.throws(() => new PopularityBlend(inner, counts, -1), /popularity prior α must be a finite number ≥ 0, got -1/);
});

test("the recency prior: plus β·cos(e_i, e_latest) by hand; the scorer's cosines; a user with no latest purchase gets no term", () => {
  // 4 items in 2-d: cosines to item 0 are 1, 0, −1, 1/√2
  const e = Float32Array.from([2, 0, 0, 3, -1, 0, 1, 1]);
  const theta = Float32Array.from([1, 0, 0, 1]); // 2 users
  const scorer = new DvbprScorer(theta, e, 2);
  const sim = scorer.similarTo(Int32Array.from([0, 3]));
  const want = [1, 0, -1, Math.SQRT1_2, Math.SQRT1_2, Math.SQRT1_2, -Math.SQRT1_2, 1];
  want.forEach((w, x) => assert.ok(Math.abs(sim[x]! - w) < 1e-6, `cos ${x}: ${sim[x]} vs ${w}`));
  const latest = Int32Array.from([0, 2, -1]); // each user's latest purchase (−1: none)
  const counts = Int32Array.from([0, 4, 1, 0]);
  const blend = new PopularityBlend(scorer, counts, { alpha: 0.5, beta: 2 }, { latest: latest.subarray(0, 2) });
  const rows = blend.scoreUsers(Int32Array.from([0, 1]));
  const model = scorer.scoreUsers(Int32Array.from([0, 1]));
  for (const [r, j] of [
    [0, 0],
    [1, 2],
  ] as const) {
    const m = [...model.subarray(r * 4, r * 4 + 4)];
    const mean = m.reduce((a, b) => a + b) / 4;
    const sd = Math.sqrt(m.reduce((a, b) => a + (b - mean) ** 2, 0) / 4);
    const cos = (i: number) => {
      const [a, b, c, d] = [e[2 * i]!, e[2 * i + 1]!, e[2 * j]!, e[2 * j + 1]!];
      return (a * c + b * d) / Math.hypot(a, b) / Math.hypot(c, d);
    };
    m.forEach((v, i) => {
      const hand = (v - mean) / sd + 0.5 * Math.log1p(counts[i]!) + 2 * cos(i);
      assert.ok(Math.abs(rows[r * 4 + i]! - hand) < 1e-5, `user ${r} item ${i}: ${rows[r * 4 + i]} vs ${hand}`);
    });
  }
  // a user with no latest purchase: the popularity prior alone
  const lone = new PopularityBlend(scorer, counts, { alpha: 0.5, beta: 2 }, { latest: Int32Array.from([-1, -1]) });
  const plain = new PopularityBlend(scorer, counts, 0.5);
  assert.deepEqual([...lone.scoreUsers(Int32Array.from([0]))], [...plain.scoreUsers(Int32Array.from([0]))]);
  assert.throws(() => new PopularityBlend(scorer, counts, { alpha: 0, beta: 1 }), /recency prior: 0 latest purchases for 2 users/);
  assert.throws(() => new PopularityBlend(scorer, counts, { alpha: 0, beta: -1 }), /recency prior β must be a finite number ≥ 0, got -1/);
  const noEmbeddings = { kind: 'bpr-mf' as const, numUsers: 2, numItems: 4, scoreUsers: () => new Float32Array(8) };
  assert.throws(
    () => new PopularityBlend(noEmbeddings, counts, { alpha: 0, beta: 1 }, { latest: latest.subarray(0, 2) }),
    /a bpr-mf model has no item embeddings/,
  );
  scorer.dispose();
});

test('the category prior: plus γ·log((n_u,c + ½) / (n_u + ½C)) by hand; a shopper with no purchases gets a constant', () => {
  const itemCategory = Int32Array.from([0, 1, 1, 2]); // C = 3
  // user 0 bought items 1 and 2 (category 1) and item 3 (category 2); user 1 nothing
  const affinity = new CategoryAffinity([{ user: Int32Array.from([0, 0, 0]), item: Int32Array.from([1, 2, 3]) }], itemCategory, 2, 3);
  const share = (n: number, total: number) => Math.log((n + 0.5) / (total + 1.5));
  const want0 = [share(0, 3), share(2, 3), share(2, 3), share(1, 3)];
  [...affinity.rowFor(0)].forEach((v, i) => assert.ok(Math.abs(v - want0[i]!) < 1e-6, `item ${i}: ${v} vs ${want0[i]}`));
  assert.ok(new Set(affinity.rowFor(1)).size === 1, 'no purchases: the same term for every item');
  // an uploaded item (category 2) is read with the catalogue's longer category list
  assert.ok(Math.abs(affinity.rowFor(0, Int32Array.from([0, 1, 1, 2, 2]))[4]! - share(1, 3)) < 1e-6);
  const row = Float32Array.from([1, 2, 3, 6]);
  const logCounts = new Float32Array(4);
  blendRow(row, logCounts, 0, undefined, 0, affinity.rowFor(0), 0.3);
  const sd = Math.sqrt((4 + 1 + 0 + 9) / 4);
  [1, 2, 3, 6].forEach((v, i) => assert.ok(Math.abs(row[i]! - ((v - 3) / sd + 0.3 * want0[i]!)) < 1e-6));
  const inner = { kind: 'dvbpr' as const, numUsers: 2, numItems: 4, scoreUsers: (u: Int32Array) => new Float32Array(u.length * 4) };
  const blend = new PopularityBlend(inner, new Int32Array(4), { alpha: 0, gamma: 1 }, { affinity });
  assert.deepEqual([...blend.scoreUsers(Int32Array.from([0]))], [...affinity.rowFor(0)]);
  assert.throws(() => new PopularityBlend(inner, new Int32Array(4), { alpha: 0, gamma: 1 }), /category prior: category shares for 0 users/);
  assert.throws(() => new PopularityBlend(inner, new Int32Array(4), { alpha: 0, gamma: -2 }), /category prior γ must be a finite number ≥ 0, got -2/);
});

test("the product prior: plus δ·log(1 + the shopper's purchases of the item's product) by hand; no term without a product", () => {
  const itemProduct = Int32Array.from([0, 0, 1, -1, 1]); // items 0, 1 one product; 2 and 4 another; 3 none
  // user 0 bought items 0 and 1 (product 0 twice) and item 3 (no product); user 1 item 2
  const products = new ProductAffinity([{ user: Int32Array.from([0, 0, 0, 1]), item: Int32Array.from([0, 1, 3, 2]) }], itemProduct, 3);
  const want0 = [Math.log(3), Math.log(3), 0, 0, 0];
  const want1 = [0, 0, Math.log(2), 0, Math.log(2)];
  [...products.rowFor(0)].forEach((v, i) => assert.ok(Math.abs(v - want0[i]!) < 1e-6, `user 0 item ${i}: ${v} vs ${want0[i]}`));
  [...products.rowFor(1)].forEach((v, i) => assert.ok(Math.abs(v - want1[i]!) < 1e-6, `user 1 item ${i}: ${v} vs ${want1[i]}`));
  assert.deepEqual([...products.rowFor(2)], [0, 0, 0, 0, 0]);
  // an upload (no product) is read with the catalogue's longer product list
  assert.equal(products.rowFor(1, Int32Array.from([0, 0, 1, -1, 1, -1]))[5], 0);
  const scores = [1, 2, 3, 6, 3];
  const inner = {
    kind: 'dvbpr' as const,
    numUsers: 3,
    numItems: 5,
    scoreUsers: (u: Int32Array) => Float32Array.from({ length: u.length * 5 }, (_, x) => scores[x % 5]!),
  };
  const blend = new PopularityBlend(inner, new Int32Array(5), { alpha: 0, delta: 2 }, { products });
  const mean = 3;
  const sd = Math.sqrt((4 + 1 + 0 + 9 + 0) / 5);
  const row = blend.scoreUsers(Int32Array.from([1]));
  scores.forEach((v, i) => assert.ok(Math.abs(row[i]! - ((v - mean) / sd + 2 * want1[i]!)) < 1e-5, `item ${i}: ${row[i]}`));
  assert.throws(
    () => new PopularityBlend(inner, new Int32Array(5), { alpha: 0, delta: 1 }),
    /product prior: product purchases for 0 users and 0 items, the model has 3 and 5/,
  );
  assert.throws(() => new PopularityBlend(inner, new Int32Array(5), { alpha: 0, delta: -1 }), /product prior δ must be a finite number ≥ 0, got -1/);
});

test('choosePrior takes the product prior when held-out items share a product with a purchase, and offers none to a dataset without products', () => {
  // each shopper's validation and test items made siblings of one of their training purchases (the last writer wins on a shared item)
  const itemProduct = Int32Array.from(ds.itemIds, (_, i) => i);
  for (const held of [ds.valid, ds.test])
    held.user.forEach((u, x) => {
      const j = ds.train.item[ds.train.user.indexOf(u)]!;
      itemProduct[held.item[x]!] = itemProduct[j]!;
    });
  const d = { ...ds, itemProduct, products: ds.itemIds };
  const rec = new RandomRecommender(ds.userIds.length, ds.itemIds.length, 3);
  const choice = choosePrior(d, rec);
  assert.ok(choice.delta > 0, `δ chosen: ${choice.delta}`);
  assert.deepEqual([...new Set(choice.gammaGrid.map((g) => g.delta))], PRIOR_DELTAS);
  const aucAt = (delta: number) => choice.gammaGrid.find((g) => g.delta === delta && g.gamma === choice.gamma)!.auc;
  assert.ok(aucAt(choice.delta) > aucAt(0) + 0.05, `validation AUC δ=${choice.delta}: ${aucAt(choice.delta)} vs δ=0: ${aucAt(0)}`);
  assert.ok(choice.categoryTest.auc > rankingOn(d, rec, 'test').auc + 0.05, 'the test items gain too');
  const plain = choosePrior(ds, rec);
  assert.equal(plain.delta, 0);
  assert.deepEqual([...new Set(plain.gammaGrid.map((g) => g.delta))], [0]);
});

test("the priors read each held-out item's history: a validation item's is the training purchases, a test item's adds the validation item", () => {
  const users = ds.userIds.length;
  const mark = (k: number) => Int32Array.from({ length: users }, (_, u) => (u * 7 + k) % ds.itemIds.length);
  const d = { ...ds, latest: { train: mark(1), known: mark(2), all: mark(3) } };
  assert.deepEqual([...priorContext(d, 'valid').latest], [...mark(1)]);
  assert.deepEqual([...priorContext(d, 'test').latest], [...mark(2)]);
  // the category shares: the test item's history counts the validation item once more
  const u = d.valid.user[0]!;
  const c = d.itemCategory[d.valid.item[0]!]!;
  const count = (pairs: { user: Int32Array; item: Int32Array }[], cat: number | null) =>
    pairs.reduce((n, p) => n + p.user.filter((v, x) => v === u && (cat === null || d.itemCategory[p.item[x]!] === cat)).length, 0);
  const C = d.categories.length;
  const share = (pairs: { user: Int32Array; item: Int32Array }[]) => Math.log((count(pairs, c) + 0.5) / (count(pairs, null) + 0.5 * C));
  const item = d.itemCategory.indexOf(c);
  assert.ok(Math.abs(priorContext(d, 'valid').affinity.rowFor(u)[item]! - share([d.train])) < 1e-6);
  assert.ok(Math.abs(priorContext(d, 'test').affinity.rowFor(u)[item]! - share([d.train, d.valid])) < 1e-6);
  assert.ok(share([d.train, d.valid]) > share([d.train]));
});

test('withoutHeldOut: every purchase trains (--split none); with keepTest the test items stay held out and the rest trains', () => {
  const pairs = (p: { user: Int32Array; item: Int32Array }) => [...p.user].map((u, x) => `${u}:${p.item[x]}`);
  const all = withoutHeldOut(ds);
  assert.deepEqual(new Set(pairs(all.train)), new Set([...pairs(ds.train), ...pairs(ds.valid), ...pairs(ds.test)]));
  assert.equal(all.valid.user.length + all.test.user.length, 0);
  const refit = withoutHeldOut(ds, true);
  assert.deepEqual(new Set(pairs(refit.train)), new Set([...pairs(ds.train), ...pairs(ds.valid)]));
  assert.equal(refit.valid.user.length, 0);
  assert.deepEqual(pairs(refit.test), pairs(ds.test));
  assert.deepEqual([...refit.sampledNegatives], [...ds.sampledNegatives]);
  // the item counts follow the training pairs; a test item is never counted
  for (const [d, p] of [
    [all, all.train],
    [refit, refit.train],
  ] as const) {
    const want = new Int32Array(ds.itemIds.length);
    for (const i of p.item) want[i]!++;
    assert.deepEqual([...d.itemTrainCount], [...want]);
  }
});
