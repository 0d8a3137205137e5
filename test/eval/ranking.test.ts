import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aucFromScores, rankHeldOut } from '../../src/core/auc.js';
import { Rng } from '../../src/core/rng.js';
import { InvalidArgumentError } from '../../src/core/errors.js';
import { evaluateRanking } from '../../src/eval/ranking.js';

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
