import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aucFromScores, rankHeldOut } from '../../src/core/auc.js';
import { Rng } from '../../src/core/rng.js';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { evaluateRanking } from '../../src/eval/ranking.js';
import { tensor } from '../../src/torch/index.js';

test("AUC of a hand-checkable list (cornac's example)", () => {
  assert.equal(aucFromScores([0.1, 0.4, 0.35, 0.8], [2, 3]), 0.75);
  assert.equal(aucFromScores([0.5, 0.5], [0]), 0.5); // ties count half
});

test('evaluateRanking: full, sampled and cold AUC, recall and NDCG by hand', () => {
  // 1 user, 5 items. Held-out item 2; item 0 is a training item (never a negative).
  const scores = Float32Array.from([0.9, 0.1, 0.5, 0.7, 0.3]);
  const r = evaluateRanking({
    numItems: 5,
    scoreUsers: () => scores,
    heldOut: { user: Int32Array.from([0]), item: Int32Array.from([2]) },
    seen: [{ user: Int32Array.from([0, 0]), item: Int32Array.from([0, 2]) }],
    itemTrainCount: Int32Array.from([9, 0, 0, 9, 0]),
    sampledNegatives: Int32Array.from([3, -1]),
    perUser: 2,
    k: 1,
  });
  // negatives 1 (0.1), 3 (0.7), 4 (0.3): 2 of 3 below 0.5
  assert.equal(r.auc, 2 / 3);
  // cold negatives: 1 and 4 (train count < 5): both below
  assert.equal(r.coldAuc, 1);
  assert.equal(r.coldUsers, 1);
  // sampled: only item 3, above → 0
  assert.equal(r.sampledAuc, 0);
  // rank 1 (item 3 above): not in top-1
  assert.equal(r.recallAtK, 0);
  const r2 = evaluateRanking({
    numItems: 5,
    scoreUsers: () => scores,
    heldOut: { user: Int32Array.from([0]), item: Int32Array.from([2]) },
    seen: [],
    itemTrainCount: Int32Array.from([9, 9, 9, 9, 9]),
    k: 3,
  });
  // ranking 0, 3, 2: held-out at rank index 2 → NDCG = 1/log2(4)
  assert.equal(r2.recallAtK, 1);
  assert.equal(r2.ndcgAtK, 0.5);
  // third of five: within the first 12, AP@12 = 1/3
  assert.equal(r2.recallAt12, 1);
  assert.equal(r2.mapAt12, 1 / 3);
  assert.ok(Number.isNaN(r2.coldAuc));
});

test('a non-finite score is an error, not a perfect recall (NaN would rank the held-out item first)', () => {
  const scores = Float32Array.from([NaN, NaN, NaN, NaN, NaN]);
  assert.throws(
    () =>
      evaluateRanking({
        numItems: 5,
        scoreUsers: () => scores,
        heldOut: { user: Int32Array.from([0]), item: Int32Array.from([2]) },
        seen: [],
        itemTrainCount: Int32Array.from([9, 9, 9, 9, 9]),
      }),
    (e: unknown) => e instanceof InvalidArgumentError && /user 0's score of item 0 is NaN/.test(e.message),
  );
});

test('rankHeldOut (one pass over the row, the known items taken back out) equals the pairwise count over the allowed negatives, ties and cold included', () => {
  const rng = new Rng(11);
  for (let trial = 0; trial < 200; trial++) {
    const n = 1 + rng.int(40);
    const row = Float32Array.from({ length: n }, () => rng.int(6) / 2); // many ties
    const i = rng.int(n);
    const excluded = new Set(Array.from({ length: rng.int(n) }, () => rng.int(n)));
    const cold = Uint8Array.from({ length: n }, () => rng.int(2));
    const want = { wins: 0, pairs: 0, coldWins: 0, coldPairs: 0, above: 0 };
    for (let j = 0; j < n; j++) {
      if (j === i || excluded.has(j)) continue;
      const w = row[i]! > row[j]! ? 1 : row[i] === row[j] ? 0.5 : 0;
      want.wins += w;
      want.pairs++;
      if (row[j]! > row[i]!) want.above++;
      if (cold[j]) ((want.coldWins += w), want.coldPairs++);
    }
    assert.deepEqual(rankHeldOut(row, i, excluded, cold), want, `trial ${trial}`);
  }
});

test('scores held as a tensor give the very figures of the row-by-row count (ties, known items, cold items, sampled negatives, the held-out item past 12 or not); a non-finite score is named', () => {
  const rng = new Rng(7);
  const U = 40;
  const N = 300;
  // scores on a coarse grid: many ties
  const S = Float32Array.from({ length: U * N }, () => Math.round(rng.normal() * 4) / 4);
  const item = Int32Array.from({ length: U }, () => rng.int(N));
  // a quarter of the shoppers see their held-out item near the top
  for (let u = 0; u < U; u += 4) S[u * N + item[u]!] = 2 + (u % 3) * 0.75;
  const seenUser: number[] = [];
  const seenItem: number[] = [];
  for (let u = 0; u < U; u++) for (let k = 0; k < 1 + rng.int(20); k++) (seenUser.push(u), seenItem.push(rng.int(N)));
  const negatives = Int32Array.from({ length: U * 10 }, (_, x) => (x % 7 === 6 ? -1 : rng.int(N)));
  const base = {
    numItems: N,
    scoreUsers: (u: Int32Array) => Float32Array.from({ length: u.length * N }, (_, x) => S[u[Math.floor(x / N)]! * N + (x % N)]!),
    heldOut: { user: Int32Array.from({ length: U }, (_, u) => u), item },
    seen: [{ user: Int32Array.from(seenUser), item: Int32Array.from(seenItem) }],
    itemTrainCount: Int32Array.from({ length: N }, () => rng.int(10)),
    sampledNegatives: negatives,
    perUser: 10,
    batch: 16,
  };
  const rows = evaluateRanking(base);
  const tensors = evaluateRanking({ ...base, scoreTensor: (u) => tensor(base.scoreUsers(u), [u.length, N]) });
  assert.deepEqual(tensors, rows);
  assert.ok(rows.coldUsers > 0 && rows.recallAt12! > 0 && rows.recallAt12! < 1, JSON.stringify(rows));
  for (const bad of [NaN, Infinity, -Infinity]) {
    const T = Float32Array.from(S);
    T[3 * N + 5] = bad;
    assert.throws(
      () =>
        evaluateRanking({
          ...base,
          scoreTensor: (u) =>
            tensor(
              Float32Array.from({ length: u.length * N }, (_, x) => T[u[Math.floor(x / N)]! * N + (x % N)]!),
              [u.length, N],
            ),
        }),
      (e: unknown) => e instanceof InvalidArgumentError && /user 3's scores are not all finite/.test(e.message),
    );
  }
});
