/**
 * A recommender's scores blended with priors, for the top of the list: each shopper's scores
 * standardised (mean 0, standard deviation 1 over the catalogue), plus
 *   α·log(1 + c_i)            the popularity prior, c_i the item's training purchases, and
 *   β·cos(e_i, e_last(u))     the recency prior, e the model's item embeddings (DVBPR: Φ(x_i)) and
 *                             last(u) the shopper's latest known purchase, and
 *   γ·log((n_u,c(i) + ½) / (n_u + ½C))   the category prior: the share of the shopper's known
 *                             purchases in the item's category (smoothed; C categories), so a
 *                             shopper who buys trousers sees trousers before dresses, and
 *   δ·log(1 + n_u,p(i))        the product prior: n_u,p the shopper's known purchases of the item's
 *                             product (the same garment in another colour or size: H&M's
 *                             product_code; 0 for an item without one), "in other colours".
 * α = β = 0 is the model itself (the same order). A visual model ranks a never-bought item by its
 * photo alone; the popularity prior lifts what sells, and the recency prior what looks like what
 * the shopper bought last (on H&M three in four held-out latest purchases share a day with the one
 * before: a basket is bought together). Both are chosen on validation shoppers
 * (app/train-recommender.ts choosePrior). "Known": what a shop knows when it recommends (serving:
 * every purchase; evaluation: every purchase but the held-out one predicted, app/train-recommender.ts
 * priorContext).
 */
import { InvalidArgumentError } from '../core/errors.js';
import type { Recommender } from './recommender.js';

/**
 * Adds α·log(1 + c_i) (and β·sim_i when `similar` is given, γ·affinity_i when `affinity` is) to a
 * row of standardised scores, in place.
 */
export function blendRow(
  row: Float32Array,
  logCounts: Float32Array,
  alpha: number,
  similar?: Float32Array,
  beta = 0,
  affinity?: Float32Array,
  gamma = 0,
  product?: Float32Array,
  delta = 0,
): void {
  const n = row.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += row[i]!;
  mean /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (row[i]! - mean) ** 2;
  const sd = Math.sqrt(v / n) || 1; // a constant row stays constant: the prior alone orders it
  for (let i = 0; i < n; i++) row[i] = (row[i]! - mean) / sd + alpha * logCounts[i]!;
  if (similar && beta) for (let i = 0; i < n; i++) row[i]! += beta * similar[i]!;
  if (affinity && gamma) for (let i = 0; i < n; i++) row[i]! += gamma * affinity[i]!;
  if (product && delta) for (let i = 0; i < n; i++) row[i]! += delta * product[i]!;
}

/** Each shopper's known purchases per product, log(1 + n_u,p(i)): the product prior's term. */
export class ProductAffinity {
  private readonly counts: Map<number, number>[]; // per user: product → purchases
  constructor(
    pairs: { user: Int32Array; item: Int32Array }[],
    readonly itemProduct: Int32Array,
    readonly numUsers: number,
  ) {
    this.counts = Array.from({ length: numUsers }, () => new Map<number, number>());
    for (const p of pairs) {
      for (let x = 0; x < p.user.length; x++) {
        const q = itemProduct[p.item[x]!]!;
        if (q < 0) continue;
        const m = this.counts[p.user[x]!]!;
        m.set(q, (m.get(q) ?? 0) + 1);
      }
    }
  }

  /** The term of every item (by the given item products, uploads included) for user u [N]; 0 for an item without a product. */
  rowFor(u: number, itemProduct: Int32Array = this.itemProduct): Float32Array {
    const m = this.counts[u]!;
    const out = new Float32Array(itemProduct.length);
    if (m.size) for (let i = 0; i < out.length; i++) out[i] = Math.log1p(m.get(itemProduct[i]!) ?? 0);
    return out;
  }
}

/** Each shopper's smoothed share of purchases per category, log((n_u,c + ½) / (n_u + ½C)): the category prior's term. */
export class CategoryAffinity {
  private readonly counts: Float32Array; // [U, C]
  private readonly totals: Float32Array; // [U]
  constructor(
    pairs: { user: Int32Array; item: Int32Array }[],
    readonly itemCategory: Int32Array,
    readonly numUsers: number,
    readonly numCategories: number,
  ) {
    this.counts = new Float32Array(numUsers * numCategories);
    this.totals = new Float32Array(numUsers);
    for (const p of pairs) {
      for (let x = 0; x < p.user.length; x++) {
        const u = p.user[x]!;
        this.counts[u * numCategories + itemCategory[p.item[x]!]!]!++;
        this.totals[u]!++;
      }
    }
  }

  /** The term of every item (by the given item categories, uploads included) for user u [N]. */
  rowFor(u: number, itemCategory: Int32Array = this.itemCategory): Float32Array {
    const c = this.numCategories;
    const byCat = new Float32Array(c);
    for (let k = 0; k < c; k++) byCat[k] = Math.log((this.counts[u * c + k]! + 0.5) / (this.totals[u]! + 0.5 * c));
    return Float32Array.from(itemCategory, (k) => byCat[k]!);
  }
}

/** The priors of a blend: α of the popularity prior, β of the recency prior, γ of the category prior, δ of the product prior (0: off). */
export interface PriorWeights {
  alpha: number;
  beta?: number;
  gamma?: number;
  delta?: number;
}

export function checkPrior(p: PriorWeights): void {
  if (!(p.alpha >= 0 && Number.isFinite(p.alpha))) throw new InvalidArgumentError(`popularity prior α must be a finite number ≥ 0, got ${p.alpha}`);
  const b = p.beta ?? 0;
  if (!(b >= 0 && Number.isFinite(b))) throw new InvalidArgumentError(`recency prior β must be a finite number ≥ 0, got ${b}`);
  const g = p.gamma ?? 0;
  if (!(g >= 0 && Number.isFinite(g))) throw new InvalidArgumentError(`category prior γ must be a finite number ≥ 0, got ${g}`);
  const d = p.delta ?? 0;
  if (!(d >= 0 && Number.isFinite(d))) throw new InvalidArgumentError(`product prior δ must be a finite number ≥ 0, got ${d}`);
}

export class PopularityBlend implements Recommender {
  readonly kind: Recommender['kind'];
  readonly numUsers: number;
  readonly numItems: number;
  readonly alpha: number;
  readonly beta: number;
  readonly gamma: number;
  readonly delta: number;
  private readonly logCounts: Float32Array;
  private readonly latest?: Int32Array;
  private readonly affinity?: CategoryAffinity;
  private readonly products?: ProductAffinity;

  /**
   * `latest`: each user's latest known purchase (−1: none; data/dataset.ts latestPurchases), needed when β > 0, and
   * the inner recommender must then have item embeddings (`similarTo`); `affinity`: the shoppers'
   * category shares, needed when γ > 0; `products`: their purchases per product, needed when δ > 0.
   */
  constructor(
    readonly inner: Recommender,
    itemTrainCount: Int32Array,
    prior: number | PriorWeights,
    context: { latest?: Int32Array; affinity?: CategoryAffinity; products?: ProductAffinity } = {},
  ) {
    const p = typeof prior === 'number' ? { alpha: prior } : prior;
    checkPrior(p);
    this.alpha = p.alpha;
    this.beta = p.beta ?? 0;
    this.gamma = p.gamma ?? 0;
    this.delta = p.delta ?? 0;
    this.latest = context.latest;
    this.affinity = context.affinity;
    this.products = context.products;
    const latest = this.latest;
    if (itemTrainCount.length !== inner.numItems)
      throw new InvalidArgumentError(`popularity prior: ${itemTrainCount.length} item counts for ${inner.numItems} items`);
    if (this.beta && (!latest || latest.length !== inner.numUsers))
      throw new InvalidArgumentError(`recency prior: ${latest?.length ?? 0} latest purchases for ${inner.numUsers} users`);
    if (this.beta && !inner.similarTo) throw new InvalidArgumentError(`recency prior: a ${inner.kind} model has no item embeddings`);
    if (this.gamma && (!this.affinity || this.affinity.numUsers !== inner.numUsers || this.affinity.itemCategory.length !== inner.numItems))
      throw new InvalidArgumentError(
        `category prior: category shares for ${this.affinity?.numUsers ?? 0} users and ${this.affinity?.itemCategory.length ?? 0} items, the model has ${inner.numUsers} and ${inner.numItems}`,
      );
    if (this.delta && (!this.products || this.products.numUsers !== inner.numUsers || this.products.itemProduct.length !== inner.numItems))
      throw new InvalidArgumentError(
        `product prior: product purchases for ${this.products?.numUsers ?? 0} users and ${this.products?.itemProduct.length ?? 0} items, the model has ${inner.numUsers} and ${inner.numItems}`,
      );
    this.kind = inner.kind;
    this.numUsers = inner.numUsers;
    this.numItems = inner.numItems;
    this.logCounts = Float32Array.from(itemTrainCount, (c) => Math.log1p(c));
  }

  scoreUsers(users: Int32Array): Float32Array {
    const s = this.inner.scoreUsers(users);
    const n = this.numItems;
    const sims = this.beta ? recentSimilarity(this.inner, users, this.latest!) : null;
    for (let r = 0; r < users.length; r++)
      blendRow(
        s.subarray(r * n, (r + 1) * n),
        this.logCounts,
        this.alpha,
        sims?.subarray(r * n, (r + 1) * n),
        this.beta,
        this.gamma ? this.affinity!.rowFor(users[r]!) : undefined,
        this.gamma,
        this.delta ? this.products!.rowFor(users[r]!) : undefined,
        this.delta,
      );
    return s;
  }
}

/** cos(e_i, e_last(u)) of every item for each user [users.length, N]; a row of 0 for a user with no latest purchase. */
export function recentSimilarity(rec: Recommender, users: Int32Array, latest: Int32Array): Float32Array {
  const n = rec.numItems;
  const out = new Float32Array(users.length * n);
  const rows: number[] = [];
  const items: number[] = [];
  users.forEach((u, r) => {
    const j = latest[u]!;
    if (j >= 0) (rows.push(r), items.push(j));
  });
  if (items.length) {
    const sim = rec.similarTo!(Int32Array.from(items));
    rows.forEach((r, x) => out.set(sim.subarray(x * n, (x + 1) * n), r * n));
  }
  return out;
}
