/**
 * The design study's pure figures (docs/method.md §6): the shares and the rule that picks a design
 * method and its step budget on validation pairs. Numbers in, numbers out: the study that makes
 * them (src/app/design-judged.ts) runs the models.
 */
import { quantileOf } from '../core/quantile.js';

/** A design method's figures over a set of pairs at one step of its search. */
export interface StepFigures {
  step: number;
  proxyUplift: number;
  judgeUplift: number;
  utilityUplift: number | null;
  /**
   * segments: the share of (segment, category) pairs whose design is nearer, in the judge's
   * features, to the members' held-out purchases of the category than the shop's best item for the
   * segment is (heldOutUplift); null where no pair has held-out purchases to read
   */
  heldOutUplift?: number | null;
  inRange: number;
  judgeMedianRankPct: number;
  meanProxyScore: number;
  meanJudgeScore: number;
  meanUtility: number | null;
}

export const CHOICE_RULE =
  "on validation shoppers, the step with the highest judge uplift plus simulated-utility uplift (where there is one) among the steps whose designs are inside the samples' realism range at no less than the samples' own share minus 5 points (the earliest on a tie; step 0 when none is); the method: the highest such value among the methods that have a qualifying step (the first listed on a tie)";

/** The step chosen on validation (CHOICE_RULE), its value, and whether any step met the realism bar. */
export function chooseBudget(valid: StepFigures[], samplesInRange: number): { step: number; value: number; qualified: boolean } {
  let best = { step: 0, value: -Infinity, qualified: true };
  for (const f of valid) {
    if (f.inRange < samplesInRange - 0.05) continue;
    const value = f.judgeUplift + (f.utilityUplift ?? 0);
    if (value > best.value) best = { step: f.step, value, qualified: true };
  }
  return best.value === -Infinity ? { step: 0, value: valid[0]!.judgeUplift + (valid[0]!.utilityUplift ?? 0), qualified: false } : best;
}

/** The method chosen on validation (CHOICE_RULE): only methods with a step inside the realism bar compete. */
export function chooseMethod<M extends { valid: StepFigures[] }>(methods: M[], samplesInRange: number): M | null {
  let best: { m: M; value: number } | null = null;
  for (const m of methods) {
    if (!m.valid.length) continue;
    const c = chooseBudget(m.valid, samplesInRange);
    if (c.qualified && (!best || c.value > best.value)) best = { m, value: c.value };
  }
  return best?.m ?? null;
}

/** The share of true values among those that are not null (null when all are null). */
export function shareOf(xs: (boolean | null)[]): number | null {
  const known = xs.filter((x): x is boolean => x !== null);
  return known.length ? known.filter(Boolean).length / known.length : null;
}

/**
 * Mean cosine similarity of one embedding (row `at` of `x` [·, K]) to a set of embeddings
 * ([m, K]), every vector centred first on `centre` [K] (the catalogue's mean embedding, so that
 * what all items share does not count as likeness). NaN for an empty set.
 */
export function meanCosineTo(x: Float32Array, at: number, set: Float32Array, centre: Float32Array): number {
  const k = centre.length;
  const m = set.length / k;
  if (!m) return NaN;
  let xx = 0;
  for (let a = 0; a < k; a++) xx += (x[at * k + a]! - centre[a]!) ** 2;
  const nx = Math.sqrt(xx) || 1;
  let total = 0;
  for (let r = 0; r < m; r++) {
    let dot = 0;
    let yy = 0;
    for (let a = 0; a < k; a++) {
      const y = set[r * k + a]! - centre[a]!;
      dot += (x[at * k + a]! - centre[a]!) * y;
      yy += y * y;
    }
    total += dot / (nx * (Math.sqrt(yy) || 1));
  }
  return total / m;
}

/**
 * The realism range of a GAN's own samples of a category: the 95th percentile of their distances
 * to the nearest real item (in a fixed classifier's features) and the 5th percentile of D.
 */
export interface RealismRange {
  maxDistance: number;
  minD: number;
}

export function realismRange(nearest: number[], d: number[]): RealismRange {
  return { maxDistance: quantileOf(nearest, 0.95), minD: quantileOf(d, 0.05) };
}

/** Whether each image (its nearest real distance and D) is inside the range: no farther than the samples' 95th percentile, D no lower than their 5th. */
export function insideRange(range: RealismRange, nearest: number[], d: number[]): boolean[] {
  return nearest.map((x, a) => x <= range.maxDistance && d[a]! >= range.minD);
}
