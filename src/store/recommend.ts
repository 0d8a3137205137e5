/**
 * Exact top-K by inner product over every catalogue item, with filters: category, cold items
 * only, and excluding what the shopper already bought. `k = Infinity` returns every item.
 */
import { categoryIndexOf, purchasesOf, userIndexOf, type Catalogue } from './run.js';
import type { Recommender } from '../models/recommender.js';
import { blendRow, CategoryAffinity, ProductAffinity, recentSimilarity } from '../models/blend.js';

/** An item with fewer training purchases than this is cold (method.md section 3). */
import { COLD_THRESHOLD } from '../core/auc.js';

export interface RecommendOptions {
  k: number;
  category?: string;
  coldOnly?: boolean;
  excludeBought?: boolean;
  coldThreshold?: number;
  /**
   * α of the popularity prior (models/blend.ts): the shopper's scores standardised plus
   * α·log(1 + training purchases of the item); 0 or absent: the model's own order
   */
  prior?: number;
  /**
   * β of the recency prior (models/blend.ts): plus β·cos(e_i, e_latest) with the shopper's latest
   * known purchase (a model with item embeddings; a shopper with none gets no term); 0 or absent: off
   */
  recency?: number;
  /**
   * γ of the category prior (models/blend.ts): plus γ·log of the shopper's smoothed share of
   * known purchases in the item's category; 0 or absent: off
   */
  affinity?: number;
  /**
   * δ of the product prior (models/blend.ts): plus δ·log(1 + the shopper's known purchases of the
   * item's product), the same garment in another colour; 0 or absent: off (and no term for an item
   * without a product)
   */
  product?: number;
}

export interface Recommendation {
  userId: string;
  items: { itemId: string; score: number; cold: boolean; category: string }[];
}

export function recommend(rec: Recommender, cat: Catalogue, userIds: string[], o: RecommendOptions): Recommendation[] {
  const filter = itemFilter(cat, o);
  const users = Int32Array.from(userIds, (id) => userIndexOf(cat, id));
  const n = cat.itemIds.length;
  const out: Recommendation[] = [];
  const batch = 256;
  for (let s = 0; s < users.length; s += batch) {
    const part = users.subarray(s, s + batch);
    const scores = rec.scoreUsers(part);
    part.forEach((u, r) => out.push(selectTop(rec, cat, userIds[s + r]!, u, scores.subarray(r * n, (r + 1) * n), o, filter)));
  }
  return out;
}

/** The category index a filter asks for (−1: any); an unknown category is a NotFoundError. */
function itemFilter(cat: Catalogue, o: RecommendOptions): { catIdx: number; coldT: number } {
  const catIdx = o.category === undefined ? -1 : categoryIndexOf(cat, o.category);
  return { catIdx, coldT: o.coldThreshold ?? COLD_THRESHOLD };
}

/** log(1 + c) of the catalogue's purchase counts, once per counts array rather than per request (an upload replaces the array). */
const logCounts = new WeakMap<Int32Array, Float32Array>();
function logCountsOf(counts: Int32Array): Float32Array {
  let l = logCounts.get(counts);
  if (!l || l.length !== counts.length) logCounts.set(counts, (l = Float32Array.from(counts, (c) => Math.log1p(c))));
  return l;
}

/** The catalogue's known purchases as (user, item) pairs, once per catalogue (its purchases do not change while served). */
const pairsOf = new WeakMap<Int32Array, { user: Int32Array; item: Int32Array }>();
function purchasePairs(cat: Catalogue): { user: Int32Array; item: Int32Array } {
  let p = pairsOf.get(cat.purchaseItems);
  if (!p) {
    const user = new Int32Array(cat.purchaseItems.length);
    for (let u = 0; u < cat.userIds.length; u++) user.fill(u, cat.purchaseOffsets[u]!, cat.purchaseOffsets[u + 1]!);
    pairsOf.set(cat.purchaseItems, (p = { user, item: cat.purchaseItems }));
  }
  return p;
}

/** The shoppers' category shares and purchases per product from the catalogue's known purchases, once per catalogue. */
const affinities = new WeakMap<Int32Array, CategoryAffinity>();
const productAffinities = new WeakMap<Int32Array, ProductAffinity>();
function affinityOf(cat: Catalogue): CategoryAffinity {
  let a = affinities.get(cat.purchaseItems);
  if (!a) affinities.set(cat.purchaseItems, (a = new CategoryAffinity([purchasePairs(cat)], cat.itemCategory, cat.userIds.length, cat.categories.length)));
  return a;
}
function productAffinityOf(cat: Catalogue): ProductAffinity {
  let a = productAffinities.get(cat.purchaseItems);
  if (!a) productAffinities.set(cat.purchaseItems, (a = new ProductAffinity([purchasePairs(cat)], cat.itemProduct, cat.userIds.length)));
  return a;
}

/** One shopper's top-K from their score row over every item, with the filters. */
function selectTop(
  rec: Recommender,
  cat: Catalogue,
  userId: string,
  u: number,
  modelRow: Float32Array,
  o: RecommendOptions,
  f: { catIdx: number; coldT: number },
): Recommendation {
  const { catIdx, coldT } = f;
  let row = modelRow;
  const latest = cat.latestPurchase[u] ?? -1;
  const beta = o.recency && latest >= 0 && rec.similarTo ? o.recency : 0;
  const gamma = o.affinity ?? 0;
  const delta = o.product ?? 0;
  if (o.prior || beta || gamma || delta) {
    row = Float32Array.from(modelRow);
    blendRow(
      row,
      logCountsOf(cat.itemTrainCount),
      o.prior ?? 0,
      beta ? recentSimilarity(rec, Int32Array.of(u), cat.latestPurchase) : undefined,
      beta,
      gamma ? affinityOf(cat).rowFor(u, cat.itemCategory) : undefined,
      gamma,
      delta ? productAffinityOf(cat).rowFor(u, cat.itemProduct) : undefined,
      delta,
    );
  }
  const bought = o.excludeBought ? new Set(purchasesOf(cat, u)) : null;
  const keep = (i: number) => !((catIdx >= 0 && cat.itemCategory[i] !== catIdx) || (o.coldOnly && cat.itemTrainCount[i]! >= coldT) || bought?.has(i));
  let top: number[];
  if (Number.isFinite(o.k) && o.k <= 1000) {
    top = topKWhere(row, o.k, keep);
  } else {
    const cand: number[] = [];
    for (let i = 0; i < row.length; i++) if (keep(i)) cand.push(i);
    top = cand.sort((a, b) => row[b]! - row[a]! || a - b).slice(0, Number.isFinite(o.k) ? o.k : undefined);
  }
  return {
    userId,
    items: top.map((i) => ({ itemId: cat.itemIds[i]!, score: row[i]!, cold: cat.itemTrainCount[i]! < coldT, category: cat.categories[cat.itemCategory[i]!]! })),
  };
}

/**
 * Recommendations for concurrent requests, scored together: requests that arrive in the same turn
 * of the event loop share one product θ_{u…}ᵀE, so the embedding matrix (8 MB at 20,000 items)
 * is read from memory once per batch instead of once per request — the cost that bounds a single
 * request. Each request keeps its own k and filters. Answers are `recommend`'s (a batched product
 * may round the last bit of a score differently).
 */
export class RecommendBatcher {
  private pending: {
    userId: string;
    u: number;
    o: RecommendOptions;
    filter: { catIdx: number; coldT: number };
    resolve: (r: Recommendation) => void;
    reject: (e: unknown) => void;
  }[] = [];
  /** batches scored so far, and requests answered (for tests and stats) */
  readonly stats = { batches: 0, requests: 0 };

  constructor(
    private readonly rec: Recommender,
    private readonly cat: Catalogue,
    private readonly maxBatch = 64,
  ) {}

  recommend(userId: string, o: RecommendOptions): Promise<Recommendation> {
    // bad input fails at once, before it joins a batch
    let u: number;
    let filter: { catIdx: number; coldT: number };
    try {
      u = userIndexOf(this.cat, userId);
      filter = itemFilter(this.cat, o);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => {
      this.pending.push({ userId, u, o, filter, resolve, reject });
      if (this.pending.length === 1) setImmediate(() => this.flush());
      else if (this.pending.length >= this.maxBatch) this.flush();
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    try {
      const n = this.cat.itemIds.length;
      const scores = this.rec.scoreUsers(Int32Array.from(batch, (b) => b.u));
      this.stats.batches++;
      batch.forEach((b, r) => {
        this.stats.requests++;
        b.resolve(selectTop(this.rec, this.cat, b.userId, b.u, scores.subarray(r * n, (r + 1) * n), b.o, b.filter));
      });
    } catch (e) {
      for (const b of batch) b.reject(e);
    }
  }
}

/**
 * The k best items by score among those `keep` accepts (ties: lower index first), best first:
 * a bounded min-heap over parallel typed arrays, O(n log k), one pass, no candidate list.
 */
export function topKWhere(score: ArrayLike<number>, k: number, keep: (i: number) => boolean): number[] {
  const hs = new Float64Array(k); // heap of scores (min at 0)
  const hi = new Int32Array(k); // their indices
  let size = 0;
  // a is worse than b: lower score, or the same score and a higher index
  const worse = (sa: number, ia: number, sb: number, ib: number) => sa < sb || (sa === sb && ia > ib);
  for (let i = 0; i < score.length; i++) {
    const v = score[i]!;
    if (size === k && !worse(hs[0]!, hi[0]!, v, i)) continue; // cheap reject before the filter
    if (!keep(i)) continue;
    let pos: number;
    if (size < k) {
      pos = size++;
      while (pos > 0) {
        const p = (pos - 1) >> 1;
        if (!worse(v, i, hs[p]!, hi[p]!)) break;
        hs[pos] = hs[p]!;
        hi[pos] = hi[p]!;
        pos = p;
      }
    } else {
      pos = 0;
      for (;;) {
        const l = 2 * pos + 1;
        if (l >= size) break;
        const r = l + 1;
        const m = r < size && worse(hs[r]!, hi[r]!, hs[l]!, hi[l]!) ? r : l;
        if (!worse(hs[m]!, hi[m]!, v, i)) break;
        hs[pos] = hs[m]!;
        hi[pos] = hi[m]!;
        pos = m;
      }
    }
    hs[pos] = v;
    hi[pos] = i;
  }
  return Array.from(hi.subarray(0, size)).sort((a, b) => score[b]! - score[a]! || a - b);
}

/** topKWhere over an explicit candidate list. */
export function topK(cand: number[], score: ArrayLike<number>, k: number): number[] {
  const allowed = new Set(cand);
  return topKWhere(score, k, (i) => allowed.has(i));
}
