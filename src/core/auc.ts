/**
 * The AUC, once (method.md §3): the share of (positive, negative) pairs a score list ranks in the
 * right order, ties counting half. src/eval/ranking.ts builds the evaluation's figures on it and
 * src/data/dataset.ts the simulated shoppers' oracle; both need it, and data may not import eval.
 */

/** Items with fewer training purchases than this are cold (cold AUC, `--cold-only`, the index's cold flag). */
export const COLD_THRESHOLD = 5;

/** Where one held-out item ranks among the negatives of its row (see `rankHeldOut`). */
export interface HeldOutRank {
  /** pairs ranked right (1 each, ½ a tie) and pairs, against every negative */
  wins: number;
  pairs: number;
  /** the same against the cold negatives only (when a cold mask is given) */
  coldWins: number;
  coldPairs: number;
  /** negatives scored strictly above the held-out item (its rank, for Recall and NDCG at k) */
  above: number;
}

/**
 * One held-out positive `i` of a score row against every other item j not in `excluded` (the
 * shopper's known items, distinct): the pairwise wins, the same over the items `cold` marks, and
 * the rank. One pass over the row counts every item but i; the few excluded items are then taken
 * back out (a set lookup per item of a 100,000-item row was most of an evaluation's time). The
 * counts are sums of 1 and ½, exact in any order.
 */
export function rankHeldOut(row: ArrayLike<number>, i: number, excluded: Iterable<number>, cold?: Uint8Array): HeldOutRank {
  const si = row[i]!;
  const n = row.length;
  // counts below and equal to the held-out score (branch-free: the loop runs over every item)
  let below = 0;
  let equal = 0;
  let coldBelow = 0;
  let coldEqual = 0;
  let coldPairs = 0;
  if (cold)
    for (let j = 0; j < n; j++) {
      const sj = row[j]!;
      const c = cold[j]!;
      const b = +(sj < si);
      const e = +(sj === si);
      below += b;
      equal += e;
      coldBelow += b * c;
      coldEqual += e * c;
      coldPairs += c;
    }
  else
    for (let j = 0; j < n; j++) {
      const sj = row[j]!;
      below += +(sj < si);
      equal += +(sj === si);
    }
  let wins = below + equal / 2;
  let coldWins = coldBelow + coldEqual / 2;
  let above = n - below - equal;
  let pairs = n;
  // i itself was counted as a tie with itself
  const back = (j: number) => {
    const sj = row[j]!;
    const w = si > sj ? 1 : si === sj ? 0.5 : 0;
    wins -= w;
    pairs--;
    if (sj > si) above--;
    if (cold && cold[j]) {
      coldWins -= w;
      coldPairs--;
    }
  };
  back(i);
  for (const j of excluded) if (j !== i && j >= 0 && j < n) back(j);
  return { wins, pairs, coldWins, coldPairs, above };
}

/** AUC of one score list: share of (positive, negative) pairs ranked correctly, ties count half. */
export function aucFromScores(scores: ArrayLike<number>, positives: Iterable<number>): number {
  const pos = new Set(positives);
  let wins = 0;
  let pairs = 0;
  for (const p of pos) {
    const r = rankHeldOut(scores, p, pos);
    wins += r.wins;
    pairs += r.pairs;
  }
  return pairs ? wins / pairs : NaN;
}
