/**
 * The AUC, once (method.md §3): the share of (positive, negative) pairs a score list ranks in the
 * right order, ties counting half. src/eval/ranking.ts builds the evaluation's figures on it and
 * src/data/dataset.ts the simulated shoppers' oracle; both need it, and data may not import eval.
 */

/** Items with fewer training purchases than this are cold (cold AUC, `--cold-only`, the index's cold flag). */
export const COLD_THRESHOLD = 5;

/**
 * One held-out positive `i` of a score row against every other item j that `skip(j)` does not
 * leave out: wins (1 a pair ranked right, ½ a tie) and the number of pairs.
 */
export function pairwiseWins(row: ArrayLike<number>, i: number, skip: (j: number) => boolean): { wins: number; pairs: number } {
  const si = row[i]!;
  let wins = 0;
  let pairs = 0;
  for (let j = 0; j < row.length; j++) {
    if (j === i || skip(j)) continue;
    const sj = row[j]!;
    wins += si > sj ? 1 : si === sj ? 0.5 : 0;
    pairs++;
  }
  return { wins, pairs };
}

/** AUC of one score list: share of (positive, negative) pairs ranked correctly, ties count half. */
export function aucFromScores(scores: ArrayLike<number>, positives: Iterable<number>): number {
  const pos = new Set(positives);
  let wins = 0;
  let pairs = 0;
  for (const p of pos) {
    const r = pairwiseWins(scores, p, (j) => pos.has(j));
    wins += r.wins;
    pairs += r.pairs;
  }
  return pairs ? wins / pairs : NaN;
}
