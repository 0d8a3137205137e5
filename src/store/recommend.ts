/**
 * Exact top-K by inner product over every catalogue item, with filters: category, cold items
 * only, and excluding what the shopper already bought. `k = Infinity` returns every item.
 */
import { NotFoundError } from '../core/errors.js';
import { purchasesOf, type Catalogue } from './run.js';
import type { Recommender } from '../models/recommender.js';

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
  const coldT = o.coldThreshold ?? 5;
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
      const cand: number[] = [];
      for (let i = 0; i < n; i++) {
        if (catIdx >= 0 && cat.itemCategory[i] !== catIdx) continue;
        if (o.coldOnly && cat.itemTrainCount[i]! >= coldT) continue;
        if (bought?.has(i)) continue;
        cand.push(i);
      }
      const row = scores.subarray(r * n, (r + 1) * n);
      cand.sort((a, b) => row[b]! - row[a]! || a - b);
      const top = Number.isFinite(o.k) ? cand.slice(0, o.k) : cand;
      out.push({
        userId: userIds[s + r]!,
        items: top.map((i) => ({ itemId: cat.itemIds[i]!, score: row[i]!, cold: cat.itemTrainCount[i]! < coldT, category: cat.categories[cat.itemCategory[i]!]! })),
      });
    });
  }
  return out;
}
