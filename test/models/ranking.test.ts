import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DvbprScorer } from '../../src/models/dvbpr.js';
import { RandomRecommender } from '../../src/models/simple.js';
import { packBaskets, packPairs } from '../../src/data/split.js';
import {
  applyPolicy,
  PolicyRanker,
  PolicyTerms,
  policySchema,
  registeredPriors,
  rowStats,
  searchPolicy,
  type ShopHistory,
} from '../../src/models/ranking/index.js';
import { coPurchases, MAX_HISTORY } from '../../src/models/ranking/copurchase.js';
import { choosePolicy, evaluationHistory } from '../../src/app/ranking.js';
import { rankingOn } from '../../src/app/evaluation.js';
import type { Recommender } from '../../src/models/recommender.js';
import { plantedDataset } from '../helpers/planted.js';

const ds = plantedDataset();
const close = (a: number, b: number, what: string, tol = 1e-5) => assert.ok(Math.abs(a - b) < tol, `${what}: ${a} vs ${b}`);

/** A history of `users` shoppers over `items` items from per-user lists. */
function history(o: {
  known: number[][];
  basket?: number[][];
  latest?: number[];
  itemCategory?: number[];
  itemProduct?: number[];
  counts?: number[];
  items: number;
}): ShopHistory {
  const n = o.known.length;
  return {
    numUsers: n,
    known: packBaskets(o.known.map((l) => [...l].sort((a, b) => a - b))),
    basket: packBaskets(o.basket ?? o.known.map(() => [])),
    latest: Int32Array.from(o.latest ?? o.known.map(() => -1)),
    counted: packBaskets(o.known.map((l) => [...l].sort((a, b) => a - b))),
    itemCategory: Int32Array.from(o.itemCategory ?? new Array(o.items).fill(0)),
    numCategories: new Set(o.itemCategory ?? [0]).size,
    ...(o.itemProduct ? { itemProduct: Int32Array.from(o.itemProduct) } : {}),
    itemTrainCount: Int32Array.from(o.counts ?? new Array(o.items).fill(0)),
  };
}

const fixed = (rows: number[][]): Recommender => ({
  kind: 'dvbpr',
  numUsers: rows.length,
  numItems: rows[0]!.length,
  scoreUsers: (u) => Float32Array.from([...u].flatMap((x) => rows[x]!)),
});

test('a policy: standardised scores plus each weight times its term, by hand (popularity); no weights keeps the model row', () => {
  const row = [1, 2, 3, 6];
  const counts = [9, 0, 1, 0];
  const terms = new PolicyTerms(history({ known: [[]], items: 4, counts }), fixed([row]));
  const got = new PolicyRanker(terms, { popularity: 0.5 }).scoreUsers(Int32Array.of(0));
  const sd = Math.sqrt((4 + 1 + 0 + 9) / 4);
  row.forEach((v, i) => close(got[i]!, (v - 3) / sd + 0.5 * Math.log1p(counts[i]!), `item ${i}`));
  const order = (r: ArrayLike<number>) => [...Array(r.length).keys()].sort((a, b) => r[b]! - r[a]!);
  assert.deepEqual(order(got), [3, 2, 0, 1], 'item 0 (bought 9 times) climbs above item 1');
  assert.deepEqual([...new PolicyRanker(terms, {}).scoreUsers(Int32Array.of(0))], row);
  assert.deepEqual([...new PolicyRanker(terms, { popularity: 0 }).scoreUsers(Int32Array.of(0))], row);
  assert.throws(() => new PolicyRanker(terms, { popularity: -1 }), /prior popularity: weight must be a number in \[0, 100\], got -1/);
  assert.throws(() => new PolicyRanker(terms, { fame: 1 }), /no prior named 'fame'/);
});

test('recency and basket: plus w·cos(e_i, e_latest) and w·mean cos to the latest basket, by hand; a shopper with none gets no term; a model without embeddings is refused', () => {
  // 4 items in 2-d: cosines to item 0 are 1, 0, −1, 1/√2
  const e = Float32Array.from([2, 0, 0, 3, -1, 0, 1, 1]);
  const scorer = new DvbprScorer(Float32Array.from([1, 0, 0, 1, 1, 1]), e, 2);
  const cos = (i: number, j: number) => {
    const [a, b, c, d] = [e[2 * i]!, e[2 * i + 1]!, e[2 * j]!, e[2 * j + 1]!];
    return (a * c + b * d) / Math.hypot(a, b) / Math.hypot(c, d);
  };
  const h = history({ known: [[0, 1], [2, 3], []], latest: [0, 2, -1], basket: [[0, 1], [2], []], items: 4 });
  const terms = new PolicyTerms(h, scorer);
  const model = scorer.scoreUsers(Int32Array.from([0, 1, 2]));
  const rows = new PolicyRanker(terms, { recency: 2, basket: 3 }).scoreUsers(Int32Array.from([0, 1, 2]));
  const latest = [0, 2, -1];
  const basket = [[0, 1], [2], []];
  for (let u = 0; u < 3; u++) {
    const m = [...model.subarray(u * 4, u * 4 + 4)];
    const { mean, sd } = rowStats(m);
    m.forEach((v, i) => {
      const rec = latest[u]! >= 0 ? 2 * cos(i, latest[u]!) : 0;
      const bas = basket[u]!.length ? (3 * basket[u]!.reduce((s, j) => s + cos(i, j), 0)) / basket[u]!.length : 0;
      close(rows[u * 4 + i]!, (v - mean) / sd + rec + bas, `user ${u} item ${i}`);
    });
  }
  // the search's cache of term rows gives the same rows, and a second policy reads them back
  const cached = new PolicyTerms(h, scorer, 2 ** 20);
  const again = new PolicyRanker(cached, { recency: 2, basket: 3 }).scoreUsers(Int32Array.from([0, 1, 2]));
  again.forEach((v, x) => close(v, rows[x]!, `cached ${x}`));
  const other = new PolicyRanker(cached, { recency: 5 }).scoreUsers(Int32Array.from([0, 1, 2]));
  const direct = new PolicyRanker(new PolicyTerms(h, scorer), { recency: 5 }).scoreUsers(Int32Array.from([0, 1, 2]));
  other.forEach((v, x) => close(v, direct[x]!, `cached, another weight ${x}`));
  const noEmbeddings = new RandomRecommender(3, 4, 1);
  assert.throws(() => new PolicyRanker(new PolicyTerms(h, noEmbeddings), { recency: 1 }), /prior recency: not available for this shop and a random model/);
  assert.ok(!new PolicyTerms(h, noEmbeddings).available().includes('basket'));
  scorer.dispose();
});

test("category: plus w·log((n_u,c + ½) / (n_u + ½C)) by hand; product: plus w·log(1 + the shopper's purchases of the item's product), none without a product", () => {
  const scores = [1, 2, 3, 6, 3];
  const h = history({
    known: [[0, 1, 3], [2], []],
    itemCategory: [0, 1, 1, 2, 2],
    itemProduct: [0, 0, 1, -1, 1],
    items: 5,
  });
  const terms = new PolicyTerms(h, fixed([scores, scores, scores]));
  const rows = new PolicyRanker(terms, { category: 0.3, product: 2 }).scoreUsers(Int32Array.from([0, 1, 2]));
  const { mean, sd } = rowStats(scores);
  const share = (n: number, total: number) => Math.log((n + 0.5) / (total + 1.5));
  const cat = [
    [share(1, 3), share(1, 3), share(1, 3), share(1, 3), share(1, 3)], // user 0: one purchase in each category
    [share(0, 1), share(1, 1), share(1, 1), share(0, 1), share(0, 1)],
    [share(0, 0), share(0, 0), share(0, 0), share(0, 0), share(0, 0)],
  ];
  const prod = [
    [Math.log(3), Math.log(3), 0, 0, 0], // product 0 bought twice; item 3 has none
    [0, 0, Math.log(2), 0, Math.log(2)],
    [0, 0, 0, 0, 0],
  ];
  for (let u = 0; u < 3; u++) scores.forEach((v, i) => close(rows[u * 5 + i]!, (v - mean) / sd + 0.3 * cat[u]![i]! + 2 * prod[u]![i]!, `user ${u} item ${i}`));
  assert.ok(!new PolicyTerms(history({ known: [[0]], items: 2 }), fixed([[1, 2]])).available().includes('product'), 'no products: no product prior');
});

test('copurchase: counts of shoppers who bought both, over √(n_i n_j), averaged over the latest basket, by hand; heavy histories are left out of the counts', () => {
  // shoppers 0..2 bought {0, 1}, {0, 1, 2}, {1, 2}; shopper 3's basket is [0]
  const known = [
    [0, 1],
    [0, 1, 2],
    [1, 2],
    [0, 3],
  ];
  const co = coPurchases(packBaskets(known), 4);
  assert.deepEqual([...co.buyers], [3, 3, 2, 1]);
  const pairsOf = (j: number) => [...co.neighbours.subarray(co.offsets[j]!, co.offsets[j + 1]!)].map((i, x) => [i, co.counts[co.offsets[j]! + x]!]);
  assert.deepEqual(pairsOf(0), [
    [1, 2],
    [2, 1],
    [3, 1],
  ]);
  assert.deepEqual(pairsOf(2), [
    [0, 1],
    [1, 2],
  ]);
  const h = history({ known, basket: [[], [], [], [0, 3]], items: 4 });
  const zero = [0, 0, 0, 0];
  const terms = new PolicyTerms(h, fixed([zero, zero, zero, zero]));
  const row = new Float32Array(4);
  terms.term('copurchase').add(3, row, 10);
  // basket {0, 3}: item 1 ← 0 (2 shoppers), item 2 ← 0 (1), item 0 ← 3 (1), item 3 ← 0 (1)
  const want = [1 / Math.sqrt(3 * 1), 2 / Math.sqrt(3 * 3), 1 / Math.sqrt(2 * 3), 1 / Math.sqrt(1 * 3)].map((v) => (10 * v) / 2);
  want.forEach((w, i) => close(row[i]!, w, `item ${i}`));
  // the same term over a subset of items (the index path) gives the same values
  const sub = new Float32Array(2);
  terms.term('copurchase').add(3, sub, 10, Int32Array.from([2, 1]));
  close(sub[0]!, want[2]!, 'subset item 2');
  close(sub[1]!, want[1]!, 'subset item 1');
  assert.deepEqual(Array.from(terms.term('copurchase').candidates!(3)).sort(), [0, 1, 2, 3]);
  // a shopper above MAX_HISTORY adds buyers but no pairs
  const heavy = packBaskets([Array.from({ length: MAX_HISTORY + 1 }, (_, i) => i)]);
  const h2 = coPurchases(heavy, MAX_HISTORY + 1);
  assert.equal(h2.neighbours.length, 0);
  assert.equal(h2.buyers[0], 1);
});

test('trending: log(1 + the shoppers whose latest basket holds the item), by hand; its candidates are the most held', () => {
  // baskets: shopper 0 {1, 2}, shopper 1 {2}, shopper 2 {2, 3}, shopper 3 none
  const h = history({ known: [[1, 2], [2], [2, 3], []], basket: [[1, 2], [2], [2, 3], []], items: 5 });
  const terms = new PolicyTerms(h, fixed([[0, 0, 0, 0, 0]]));
  const row = new Float32Array(5);
  terms.term('trending').add(0, row, 2);
  [0, 1, 3, 1, 0].forEach((n, i) => close(row[i]!, 2 * Math.log1p(n), `item ${i}`));
  assert.deepEqual(Array.from(terms.term('trending').candidates!(0)).slice(0, 3), [2, 1, 3]);
});

test('applyPolicy over a subset with the catalogue-wide mean and deviation equals the full row at those items', () => {
  const scores = Float32Array.from([0.3, -1, 2, 0.5, 4, 1]);
  const h = history({ known: [[0, 2]], itemCategory: [0, 1, 0, 1, 0, 1], itemProduct: [0, 1, 0, 1, 2, 2], counts: [5, 0, 1, 3, 0, 9], items: 6 });
  const terms = new PolicyTerms(h, fixed([[...scores]]));
  const policy = { popularity: 1, category: 0.3, product: 3 };
  const full = Float32Array.from(scores);
  applyPolicy(terms, policy, 0, full);
  const items = Int32Array.from([5, 1, 4]);
  const sub = Float32Array.from(items, (i) => scores[i]!);
  applyPolicy(terms, policy, 0, sub, items, rowStats(scores));
  items.forEach((i, r) => close(sub[r]!, full[i]!, `item ${i}`));
});

test('searchPolicy: coordinate ascent keeps a weight only when it beats the best so far, and stops when a round changes nothing', () => {
  const names = registeredPriors()
    .filter((p) => ['popularity', 'category'].includes(p.name))
    .map((p) => p.name);
  // a score peaked at popularity 1, category 0.3
  const score = (p: Record<string, number>) => -(((p.popularity ?? 0) - 1) ** 2) - 10 * ((p.category ?? 0) - 0.3) ** 2;
  const r = searchPolicy(names, score);
  assert.deepEqual(r.policy, { category: 0.3, popularity: 1 });
  close(r.score, 0, 'best score');
  assert.deepEqual(r.cells[0], { policy: {}, score: score({}) });
  // a flat score: no prior is taken
  assert.deepEqual(searchPolicy(names, () => 0.5).policy, {});
  // progress: every cell reported as it is measured, with the best so far
  const seen: string[] = [];
  searchPolicy(names, score, 3, (c, b) => seen.push(`${JSON.stringify(c.policy)}→${JSON.stringify(b.policy)}`));
  assert.equal(seen.length, r.cells.length);
  assert.equal(seen.at(-1)!.split('→')[1], JSON.stringify(r.policy));
});

test('a fifth prior is one file: registered, it is in the policy schema and the search, and it ranks', async () => {
  const before = policySchema.safeParse({ even: 5 }).success;
  await import('../helpers/fifth-prior.js');
  assert.equal(before, false, 'unknown before it is registered');
  assert.deepEqual(policySchema.parse({ even: 5 }), { even: 5 });
  assert.ok(registeredPriors().some((p) => p.name === 'even'));
  const terms = new PolicyTerms(history({ known: [[]], items: 4 }), fixed([[1, 2, 3, 4]]));
  const r = new PolicyRanker(terms, { even: 5 }).scoreUsers(Int32Array.of(0));
  assert.ok(r[0]! > r[3]!, 'an even item climbs');
  assert.deepEqual(searchPolicy(['even'], (p) => p.even ?? 0).policy, { even: 5 });
});

test("evaluation's history: a validation item's is the training purchases, a test item's adds the validation item; shop-wide counts read training pairs", () => {
  const v = evaluationHistory(ds, 'valid');
  const t = evaluationHistory(ds, 'test');
  const users = ds.userIds.length;
  assert.deepEqual([...v.known.items], [...packPairs([ds.train], users).items]);
  assert.deepEqual([...t.known.items], [...packPairs([ds.train, ds.valid], users).items]);
  assert.deepEqual([...t.counted.items], [...v.counted.items]);
  const u = ds.valid.user[0]!;
  const has = (h: typeof v, i: number) => h.known.items.subarray(h.known.offsets[u]!, h.known.offsets[u + 1]!).includes(i);
  assert.ok(!has(v, ds.valid.item[0]!) && has(t, ds.valid.item[0]!));
});

test('choosePolicy takes the product prior when held-out items share a product with a purchase, records an ablation, and offers none without products', () => {
  const itemProduct = Int32Array.from(ds.itemIds, (_, i) => i);
  for (const held of [ds.valid, ds.test])
    held.user.forEach((u, x) => {
      const j = ds.train.item[ds.train.user.indexOf(u)]!;
      itemProduct[held.item[x]!] = itemProduct[j]!;
    });
  const d = { ...ds, itemProduct, products: ds.itemIds };
  const rec = new RandomRecommender(ds.userIds.length, ds.itemIds.length, 3);
  const choice = choosePolicy(d, rec);
  assert.ok((choice.policy.product ?? 0) > 0, `policy: ${JSON.stringify(choice.policy)}`);
  assert.ok(choice.test.auc > rankingOn(d, rec, 'test').auc + 0.05, 'the test items gain too');
  const ablated = choice.ablation.find((a) => a.without === 'product')!;
  assert.ok(ablated.test.auc < choice.test.auc, 'without the product prior the test AUC falls');
  assert.ok(Number.isFinite(choice.test.mapAt12!) && choice.test.mapAt12! > 0);
  assert.equal(choice.chosenOn, ds.manifest.options?.split === 'temporal' ? 'next purchase' : 'random purchase');
  const plain = choosePolicy(ds, rec);
  assert.equal(plain.policy.product, undefined);
  assert.ok(
    plain.cells.every((c) => c.policy.product === undefined),
    'no product prior offered without products',
  );
});

test('a large shop chooses its policy on an even sample of shoppers, each with both their held-out items; a small one on all', async () => {
  const { sampleHeldOut } = await import('../../src/app/ranking.js');
  assert.equal(sampleHeldOut(ds, 10_000), ds, 'no more shoppers than the cap: the dataset itself');
  const n = 3;
  const s = sampleHeldOut(ds, n);
  assert.equal(new Set(s.valid.user).size, n);
  assert.deepEqual([...new Set(s.test.user)].sort(), [...new Set(s.valid.user)].sort(), 'the same shoppers in validation and test');
  assert.equal(s.train, ds.train, 'histories untouched');
  const per = ds.sampledNegatives.length / ds.test.user.length;
  s.test.user.forEach((u, r) => {
    const x = Array.from(ds.test.user).indexOf(u);
    assert.equal(s.test.item[r], ds.test.item[x]);
    assert.deepEqual([...s.sampledNegatives.subarray(r * per, (r + 1) * per)], [...ds.sampledNegatives.subarray(x * per, (x + 1) * per)]);
  });
});
