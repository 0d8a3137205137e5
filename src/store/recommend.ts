/**
 * Exact top-K by inner product over every catalogue item, with filters: category, cold items
 * only, and excluding what the shopper already bought. `k = Infinity` returns every item.
 */
import { categoryIndexOf, purchasesOf, userIndexOf, type Catalogue } from './run.js';
import type { Recommender } from '../models/recommender.js';
import { activeWeights, applyPolicy, checkPolicy, PolicyTerms, type RankingPolicy, type ShopHistory } from '../models/ranking/index.js';

/** An item with fewer training purchases than this is cold (method.md section 3). */
import { COLD_THRESHOLD } from '../core/auc.js';

export interface RecommendOptions {
  k: number;
  category?: string;
  coldOnly?: boolean;
  excludeBought?: boolean;
  coldThreshold?: number;
  /** the ranking policy (models/ranking): prior weights by name; absent or empty: the model's own order */
  policy?: RankingPolicy;
}

export interface Recommendation {
  userId: string;
  items: { itemId: string; score: number; cold: boolean; category: string }[];
}

export function recommend(rec: Recommender, cat: Catalogue, userIds: string[], o: RecommendOptions): Recommendation[] {
  const filter = itemFilter(cat, o);
  if (o.policy) checkPolicy(o.policy);
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

/**
 * What the priors read of a served catalogue: every known purchase, the latest baskets, the items'
 * facts as they are now (an upload replaces the arrays, so they are read through the catalogue).
 */
export function catalogueHistory(cat: Catalogue): ShopHistory {
  const known = { offsets: cat.purchaseOffsets, items: cat.purchaseItems };
  return {
    numUsers: cat.userIds.length,
    known,
    basket: cat.latestBasket,
    latest: cat.latestPurchase,
    counted: known,
    get itemCategory() {
      return cat.itemCategory;
    },
    numCategories: cat.categories.length,
    get itemProduct() {
      return cat.itemProduct;
    },
    get itemTrainCount() {
      return cat.itemTrainCount;
    },
  };
}

/** The prepared terms of a catalogue and model, once per pair (its purchases do not change while served). */
const termsOf = new WeakMap<Catalogue, WeakMap<Recommender, PolicyTerms>>();
export function servedTerms(cat: Catalogue, rec: Recommender): PolicyTerms {
  let m = termsOf.get(cat);
  if (!m) termsOf.set(cat, (m = new WeakMap()));
  let t = m.get(rec);
  if (!t) m.set(rec, (t = new PolicyTerms(catalogueHistory(cat), rec)));
  return t;
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
  // the row is this request's own (a fresh block of scores): ranked in place, no copy of 105 k
  // scores a request (each one's bytes bring the next full garbage collection closer)
  const row = modelRow;
  if (o.policy && activeWeights(o.policy).length) applyPolicy(servedTerms(cat, rec), o.policy, u, row);
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
      if (o.policy) checkPolicy(o.policy);
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
