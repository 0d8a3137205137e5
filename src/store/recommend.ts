/**
 * Exact top-K by inner product over every catalogue item, with filters: category, cold items
 * only, and excluding what the shopper already bought. `k = Infinity` returns every item.
 */
import { NotFoundError } from '../core/errors.js';
import { purchasesOf, type Catalogue } from './run.js';
import type { Recommender } from '../models/recommender.js';

/** An item with fewer training purchases than this is cold (method.md section 3). */
export const COLD_THRESHOLD = 5;

export interface RecommendOptions {
  k: number;
  category?: string;
  coldOnly?: boolean;
  excludeBought?: boolean;
  coldThreshold?: number;
}

export interface Recommendation {
  userId: string;
  items: { itemId: string; score: number; cold: boolean; category: string }[];
}

export function recommend(rec: Recommender, cat: Catalogue, userIds: string[], o: RecommendOptions): Recommendation[] {
  const coldT = o.coldThreshold ?? COLD_THRESHOLD;
  let catIdx = -1;
  if (o.category !== undefined) {
    catIdx = cat.categories.indexOf(o.category);
    if (catIdx < 0) throw new NotFoundError(`category (known: ${cat.categories.join(', ')})`, o.category);
  }
  const users = Int32Array.from(userIds, (id) => {
    const u = cat.userIndex.get(id);
    if (u === undefined) throw new NotFoundError('user', id);
    return u;
  });
  const n = cat.itemIds.length;
  const out: Recommendation[] = [];
  const batch = 256;
  for (let s = 0; s < users.length; s += batch) {
    const part = users.subarray(s, s + batch);
    const scores = rec.scoreUsers(part);
    part.forEach((u, r) => {
      const bought = o.excludeBought ? new Set(purchasesOf(cat, u)) : null;
      const keep = (i: number) => !((catIdx >= 0 && cat.itemCategory[i] !== catIdx) || (o.coldOnly && cat.itemTrainCount[i]! >= coldT) || bought?.has(i));
      const row = scores.subarray(r * n, (r + 1) * n);
      let top: number[];
      if (Number.isFinite(o.k) && o.k <= 1000) {
        top = topKWhere(row, o.k, keep);
      } else {
        const cand: number[] = [];
        for (let i = 0; i < n; i++) if (keep(i)) cand.push(i);
        top = cand.sort((a, b) => row[b]! - row[a]! || a - b).slice(0, Number.isFinite(o.k) ? o.k : undefined);
      }
      out.push({
        userId: userIds[s + r]!,
        items: top.map((i) => ({ itemId: cat.itemIds[i]!, score: row[i]!, cold: cat.itemTrainCount[i]! < coldT, category: cat.categories[cat.itemCategory[i]!]! })),
      });
    });
  }
  return out;
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
