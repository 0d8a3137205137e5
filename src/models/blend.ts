/**
 * A recommender's scores blended with a popularity prior, for the top of the list: each shopper's
 * scores standardised (mean 0, standard deviation 1 over the catalogue), plus α·log(1 + c_i) with
 * c_i the item's training purchases. α = 0 is the model itself (the same order); a large α is
 * popularity with the model breaking ties. A visual model ranks a never-bought item by its photo
 * alone; the prior lifts what sells, which is what the first page of a shop has to show. α is
 * chosen on validation shoppers (bench/recommend.ts).
 */
import { InvalidArgumentError } from '../core/errors.js';
import type { Recommender } from './recommender.js';

/** Adds α·log(1 + c_i) to a row of standardised scores, in place. */
export function blendRow(row: Float32Array, logCounts: Float32Array, alpha: number): void {
  const n = row.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += row[i]!;
  mean /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (row[i]! - mean) ** 2;
  const sd = Math.sqrt(v / n) || 1; // a constant row stays constant: the prior alone orders it
  for (let i = 0; i < n; i++) row[i] = (row[i]! - mean) / sd + alpha * logCounts[i]!;
}

export class PopularityBlend implements Recommender {
  readonly kind: Recommender['kind'];
  readonly numUsers: number;
  readonly numItems: number;
  private readonly logCounts: Float32Array;

  constructor(
    readonly inner: Recommender,
    itemTrainCount: Int32Array,
    readonly alpha: number,
  ) {
    if (!(alpha >= 0 && Number.isFinite(alpha))) throw new InvalidArgumentError(`popularity prior α must be a finite number ≥ 0, got ${alpha}`);
    if (itemTrainCount.length !== inner.numItems)
      throw new InvalidArgumentError(`popularity prior: ${itemTrainCount.length} item counts for ${inner.numItems} items`);
    this.kind = inner.kind;
    this.numUsers = inner.numUsers;
    this.numItems = inner.numItems;
    this.logCounts = Float32Array.from(itemTrainCount, (c) => Math.log1p(c));
  }

  scoreUsers(users: Int32Array): Float32Array {
    const s = this.inner.scoreUsers(users);
    const n = this.numItems;
    for (let r = 0; r < users.length; r++) blendRow(s.subarray(r * n, (r + 1) * n), this.logCounts, this.alpha);
    return s;
  }
}
