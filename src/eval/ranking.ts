/**
 * Ranking metrics (method.md §3). Pure functions over score arrays.
 *  - auc: full AUC, negatives = every item the user never interacted with;
 *  - sampledAuc: the same against 100 fixed sampled negatives (the released code's protocol);
 *  - coldAuc: users whose held-out item has < 5 training interactions, negatives also such items;
 *  - recall@K / NDCG@K / HR@K on the full ranking (one held-out item: recall = hit rate).
 */

/** AUC of one score list: share of (positive, negative) pairs ranked correctly, ties count half. */
export function aucFromScores(scores: ArrayLike<number>, positives: Iterable<number>): number {
  const pos = new Set(positives);
  let wins = 0;
  let pairs = 0;
  for (const p of pos) {
    for (let j = 0; j < scores.length; j++) {
      if (pos.has(j)) continue;
      pairs++;
      if (scores[p]! > scores[j]!) wins++;
      else if (scores[p] === scores[j]) wins += 0.5;
    }
  }
  return pairs ? wins / pairs : NaN;
}

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
  users: number;
  coldUsers: number;
}

export function evaluateRanking(inp: RankingInput): RankingResult {
  const k = inp.k ?? 10;
  const coldT = inp.coldThreshold ?? 5;
  const per = inp.perUser ?? 100;
  const n = inp.numItems;
  const seenBy = new Map<number, Set<number>>();
  for (const p of inp.seen) {
    for (let x = 0; x < p.user.length; x++) {
      let s = seenBy.get(p.user[x]!);
      if (!s) seenBy.set(p.user[x]!, (s = new Set()));
      s.add(p.item[x]!);
    }
  }
  const cold = new Uint8Array(n);
  for (let i = 0; i < n; i++) cold[i] = inp.itemTrainCount[i]! < coldT ? 1 : 0;
  let aucSum = 0;
  let sampledSum = 0;
  let sampledUsers = 0;
  let coldSum = 0;
  let coldUsers = 0;
  let recall = 0;
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
      const seen = seenBy.get(u) ?? new Set<number>();
      const row = scores.subarray(r * n, (r + 1) * n);
      const si = row[i]!;
      let wins = 0;
      let count = 0;
      let cWins = 0;
      let cCount = 0;
      let above = 0;
      for (let j = 0; j < n; j++) {
        if (j === i || seen.has(j)) continue;
        const sj = row[j]!;
        const w = si > sj ? 1 : si === sj ? 0.5 : 0;
        wins += w;
        count++;
        if (sj > si) above++;
        if (cold[j]) {
          cWins += w;
          cCount++;
        }
      }
      if (count) aucSum += wins / count;
      if (cold[i] && cCount) {
        coldSum += cWins / cCount;
        coldUsers++;
      }
      if (above < k) {
        recall += 1;
        ndcg += 1 / Math.log2(above + 2);
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
    users: rows,
    coldUsers,
  };
}
