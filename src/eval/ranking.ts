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
import { COLD_THRESHOLD, rankHeldOut } from '../core/auc.js';
import { InvalidArgumentError } from '../core/errors.js';

export interface HeldOut {
  user: Int32Array;
  item: Int32Array;
}

export interface RankingInput {
  numItems: number;
  /** scores for a batch of users, row-major [users.length, numItems] */
  scoreUsers: (users: Int32Array) => Float32Array;
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
  const batch = inp.batch ?? 256;
  for (let s0 = 0; s0 < rows; s0 += batch) {
    const len = Math.min(batch, rows - s0);
    const users = inp.heldOut.user.slice(s0, s0 + len);
    const scores = inp.scoreUsers(users);
    for (let r = 0; r < len; r++) {
      const x = s0 + r;
      const u = users[r]!;
      const i = inp.heldOut.item[x]!;
      const seen = seenOf(u);
      const row = scores.subarray(r * n, (r + 1) * n);
      const si = row[i]!;
      assertFiniteRow(row, u);
      const rank = rankHeldOut(row, i, seen, cold);
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
          const sj = row[j]!;
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

/** A NaN would rank the held-out item first (no score is above it): refuse to measure such a model. */
function assertFiniteRow(row: Float32Array, user: number): void {
  for (let j = 0; j < row.length; j++) {
    if (!Number.isFinite(row[j]!))
      throw new InvalidArgumentError(`ranking: user ${user}'s score of item ${j} is ${row[j]}: the model's weights are not finite (diverged?)`);
  }
}
