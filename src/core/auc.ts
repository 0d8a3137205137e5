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
 * shopper's known items): the pairwise wins, the same over the items `cold` marks, and the rank,
 * in one pass over the row.
 */
export function rankHeldOut(row: ArrayLike<number>, i: number, excluded: { has(j: number): boolean }, cold?: Uint8Array): HeldOutRank {
  const si = row[i]!;
  const r: HeldOutRank = { wins: 0, pairs: 0, coldWins: 0, coldPairs: 0, above: 0 };
  for (let j = 0; j < row.length; j++) {
    if (j === i || excluded.has(j)) continue;
    const sj = row[j]!;
    const w = si > sj ? 1 : si === sj ? 0.5 : 0;
    r.wins += w;
    r.pairs++;
    if (sj > si) r.above++;
    if (cold && cold[j]) {
      r.coldWins += w;
      r.coldPairs++;
    }
  }
  return r;
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
