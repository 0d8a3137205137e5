/**
 * Ranking metrics (method.md §3). Pure functions over score arrays.
 *  - auc: full AUC, negatives = every item the user never interacted with;
 *  - sampledAuc: the same against 100 fixed sampled negatives (the released code's protocol);
 *  - coldAuc: users whose held-out item is cold (fewer than COLD_THRESHOLD training interactions),
 *    negatives also cold items;
 *  - recall@K / NDCG@K / HR@K on the full ranking (one held-out item: recall = hit rate), and
 *    recall@50 beside them (a shop's page of results);
 *  - recall@12 and MAP@12, the H&M competition's metric: with one held-out item a shopper's AP@12
 *    is 1/(rank) when the item ranks within the first 12, else 0.
 * Every AUC here is core/auc.ts's pairwise count.
 */
import { COLD_THRESHOLD, rankHeldOut, type HeldOutRank } from '../core/auc.js';
import { InvalidArgumentError } from '../core/errors.js';
import { tensor, tidy, type Tensor } from '../torch/index.js';

export interface HeldOut {
  user: Int32Array;
  item: Int32Array;
}

export interface RankingInput {
  numItems: number;
  /** scores for a batch of users, row-major [users.length, numItems] */
  scoreUsers: (users: Int32Array) => Float32Array;
  /**
   * the same scores as a tensor, for a model that computes them in libtorch: the counts are then
   * taken there (comparisons and sums over each row), and only the few scores a row's corrections
   * need are read back, never the whole [users, items] block (the same figures, faster at scale)
   */
  scoreTensor?: (users: Int32Array) => Tensor;
  heldOut: HeldOut;
  /** every (user, item) the user interacted with, in any split (never a negative) */
  seen: HeldOut[];
  itemTrainCount: Int32Array;
  /** sampled negatives aligned with heldOut rows, `perUser` each, −1 padded */
  sampledNegatives?: Int32Array;
  perUser?: number;
  k?: number;
  coldThreshold?: number;
  batch?: number;
}

export interface RankingResult {
  auc: number;
  sampledAuc: number;
  coldAuc: number;
  recallAtK: number;
  ndcgAtK: number;
  k: number;
  /** recall@50 (absent in runs measured before it was) */
  recallAt50?: number;
  /** recall@12 and MAP@12 (absent in runs measured before them) */
  recallAt12?: number;
  mapAt12?: number;
  users: number;
  coldUsers: number;
}

/** Scores in one batch's block, at most (see evaluateRanking). */
export const EVAL_BLOCK_FLOATS = 6_000_000;

export function evaluateRanking(inp: RankingInput): RankingResult {
  const k = inp.k ?? 10;
  const coldT = inp.coldThreshold ?? COLD_THRESHOLD;
  const per = inp.perUser ?? 100;
  const n = inp.numItems;
  const seenOf = knownItems(inp.seen);
  const cold = new Uint8Array(n);
  for (let i = 0; i < n; i++) cold[i] = inp.itemTrainCount[i]! < coldT ? 1 : 0;
  let aucSum = 0;
  let sampledSum = 0;
  let sampledUsers = 0;
  let coldSum = 0;
  let coldUsers = 0;
  let recall = 0;
  let recall50 = 0;
  let recall12 = 0;
  let ap12 = 0;
  let ndcg = 0;
  const rows = inp.heldOut.user.length;
  // a batch's [users, items] blocks kept under 24 MB: glibc serves a block above its 32 MB mmap
  // limit from fresh pages every time, each one faulted in; measured at 105,542 items, 64 users a
  // batch score at 5.0 ns each and 256 at 8.5 (bench/results/full-size.md)
  const batch = inp.batch ?? Math.max(8, Math.min(256, Math.floor(EVAL_BLOCK_FLOATS / n)));
  for (let s0 = 0; s0 < rows; s0 += batch) {
    const len = Math.min(batch, rows - s0);
    const users = inp.heldOut.user.slice(s0, s0 + len);
    const ranks = inp.scoreTensor
      ? tensorRanks(inp.scoreTensor(users), inp.heldOut.item.subarray(s0, s0 + len), users, seenOf, cold, inp.sampledNegatives, s0, per)
      : null;
    const scores = ranks ? null : inp.scoreUsers(users);
    for (let r = 0; r < len; r++) {
      const x = s0 + r;
      const u = users[r]!;
      const i = inp.heldOut.item[x]!;
      let rank: HeldOutRank;
      let sampledScores: ((j: number) => number) | null = null;
      let si: number;
      if (ranks) {
        rank = ranks.rank[r]!;
        si = ranks.si[r]!;
        sampledScores = (q) => ranks.sampled[r * per + q]!;
      } else {
        const row = scores!.subarray(r * n, (r + 1) * n);
        assertFiniteRow(row, u);
        rank = rankHeldOut(row, i, seenOf(u), cold);
        si = row[i]!;
        sampledScores = (q) => row[inp.sampledNegatives![x * per + q]!]!;
      }
      if (rank.pairs) aucSum += rank.wins / rank.pairs;
      if (cold[i] && rank.coldPairs) {
        coldSum += rank.coldWins / rank.coldPairs;
        coldUsers++;
      }
      if (rank.above < 50) recall50 += 1;
      if (rank.above < 12) {
        recall12 += 1;
        ap12 += 1 / (rank.above + 1);
      }
      if (rank.above < k) {
        recall += 1;
        ndcg += 1 / Math.log2(rank.above + 2);
      }
      if (inp.sampledNegatives) {
        let sw = 0;
        let sc = 0;
        for (let q = 0; q < per; q++) {
          const j = inp.sampledNegatives[x * per + q]!;
          if (j < 0) continue;
          sc++;
          const sj = sampledScores(q);
          sw += si > sj ? 1 : si === sj ? 0.5 : 0;
        }
        if (sc) {
          sampledSum += sw / sc;
          sampledUsers++;
        }
      }
    }
  }
  return {
    auc: rows ? aucSum / rows : NaN,
    sampledAuc: sampledUsers ? sampledSum / sampledUsers : NaN,
    coldAuc: coldUsers ? coldSum / coldUsers : NaN,
    recallAtK: rows ? recall / rows : NaN,
    ndcgAtK: rows ? ndcg / rows : NaN,
    k,
    recallAt50: rows ? recall50 / rows : NaN,
    recallAt12: rows ? recall12 / rows : NaN,
    mapAt12: rows ? ap12 / rows : NaN,
    users: rows,
    coldUsers,
  };
}

/**
 * Each user's distinct known items, as a view of one packed array (offsets by user): a million
 * shoppers' purchases in two typed arrays rather than a million sets.
 */
function knownItems(seen: HeldOut[]): (user: number) => Int32Array {
  let users = 0;
  for (const p of seen) for (let x = 0; x < p.user.length; x++) users = Math.max(users, p.user[x]! + 1);
  const start = new Int32Array(users + 1);
  for (const p of seen) for (let x = 0; x < p.user.length; x++) start[p.user[x]! + 1]!++;
  for (let u = 0; u < users; u++) start[u + 1]! += start[u]!;
  const items = new Int32Array(start[users]!);
  const at = start.slice(0, users);
  for (const p of seen) for (let x = 0; x < p.user.length; x++) items[at[p.user[x]!]!++] = p.item[x]!;
  // sorted and without repeats within each user (an item in two splits counts once)
  const end = new Int32Array(users);
  for (let u = 0; u < users; u++) {
    const seg = items.subarray(start[u]!, start[u + 1]!).sort();
    let m = 0;
    for (let k = 0; k < seg.length; k++) if (k === 0 || seg[k] !== seg[k - 1]) seg[m++] = seg[k]!;
    end[u] = start[u]! + m;
  }
  const none = new Int32Array(0);
  return (u) => (u < users ? items.subarray(start[u]!, end[u]!) : none);
}

/**
 * rankHeldOut for a batch of score rows held as a tensor [B, N]: each row's counts below and equal
 * to its held-out score (and among the cold items) summed in libtorch, then the held-out item and
 * the shopper's known items taken back out from their few scores, read back by one gather (with
 * the sampled negatives' scores). Every count is a whole number or a half, exact in float32 up to
 * 2^24 items, so the figures are rankHeldOut's.
 */
function tensorRanks(
  S: Tensor,
  items: Int32Array,
  users: Int32Array,
  seenOf: (u: number) => Int32Array,
  cold: Uint8Array,
  sampledNegatives: Int32Array | undefined,
  s0: number,
  per: number,
): { rank: HeldOutRank[]; si: Float32Array; sampled: Float32Array } {
  const [B, n] = S.shape as [number, number];
  const picks: number[] = [];
  const pickedItem: number[] = [];
  const offsets = new Int32Array(B + 1);
  for (let r = 0; r < B; r++) {
    picks.push(r * n + items[r]!);
    pickedItem.push(items[r]!);
    for (const j of seenOf(users[r]!)) if (j !== items[r] && j >= 0 && j < n) (picks.push(r * n + j), pickedItem.push(j));
    offsets[r + 1] = picks.length;
  }
  const sampledAt = picks.length;
  if (sampledNegatives)
    for (let r = 0; r < B; r++)
      for (let q = 0; q < per; q++) {
        const j = sampledNegatives[(s0 + r) * per + q]!;
        picks.push(r * n + Math.max(j, 0));
      }
  const out = tidy(() => {
    const si = S.gather(
      1,
      tensor(
        BigInt64Array.from(items, (i) => BigInt(i)),
        [B, 1],
      ),
    );
    const lt = S.lt(si).to('float32');
    const eq = S.eq(si).to('float32');
    const coldCol = tensor(Float32Array.from(cold), [n, 1]);
    return {
      below: lt.sum(1).data() as Float32Array,
      equal: eq.sum(1).data() as Float32Array,
      coldBelow: lt.matmul(coldCol).data() as Float32Array,
      coldEqual: eq.matmul(coldCol).data() as Float32Array,
      // a row holding NaN or ±Infinity sums to one of them (a finite row of scores sums far below float32's range)
      rowSum: S.sum(1).data() as Float32Array,
      picked: S.reshape([-1])
        .indexSelect(
          0,
          tensor(
            BigInt64Array.from(picks, (v) => BigInt(v)),
            [picks.length],
          ),
        )
        .data() as Float32Array,
    };
  });
  S.dispose();
  let coldCount = 0;
  for (let j = 0; j < n; j++) coldCount += cold[j]!;
  const rank: HeldOutRank[] = [];
  const siOut = new Float32Array(B);
  for (let r = 0; r < B; r++) {
    if (!Number.isFinite(out.rowSum[r]!))
      throw new InvalidArgumentError(`ranking: user ${users[r]}'s scores are not all finite: the model's weights are not finite (diverged?)`);
    const si = out.picked[offsets[r]!]!;
    siOut[r] = si;
    let wins = out.below[r]! + out.equal[r]! / 2;
    let coldWins = out.coldBelow[r]! + out.coldEqual[r]! / 2;
    let above = n - out.below[r]! - out.equal[r]!;
    let pairs = n;
    let coldPairs = coldCount;
    for (let x = offsets[r]!; x < offsets[r + 1]!; x++) {
      const sj = out.picked[x]!;
      const w = si > sj ? 1 : si === sj ? 0.5 : 0;
      wins -= w;
      pairs--;
      if (sj > si) above--;
      if (cold[pickedItem[x]!]) {
        coldWins -= w;
        coldPairs--;
      }
    }
    rank.push({ wins, pairs, coldWins, coldPairs, above });
  }
  return { rank, si: siOut, sampled: out.picked.subarray(sampledAt) };
}

/** A NaN would rank the held-out item first (no score is above it): refuse to measure such a model. */
function assertFiniteRow(row: Float32Array, user: number): void {
  for (let j = 0; j < row.length; j++) {
    if (!Number.isFinite(row[j]!))
      throw new InvalidArgumentError(`ranking: user ${user}'s score of item ${j} is ${row[j]}: the model's weights are not finite (diverged?)`);
  }
}
