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
      const top = Number.isFinite(o.k) && o.k < cand.length / 4 ? topK(cand, row, o.k) : cand.sort((a, b) => row[b]! - row[a]! || a - b).slice(0, Number.isFinite(o.k) ? o.k : undefined);
      out.push({
        userId: userIds[s + r]!,
        items: top.map((i) => ({ itemId: cat.itemIds[i]!, score: row[i]!, cold: cat.itemTrainCount[i]! < coldT, category: cat.categories[cat.itemCategory[i]!]! })),
      });
    });
  }
  return out;
}

/** The k best candidates by score (ties: lower index first), best first: a bounded min-heap, O(n log k). */
export function topK(cand: number[], score: ArrayLike<number>, k: number): number[] {
  const heap: number[] = [];
  // "worse" = lower score, or the same score and a higher index
  const worse = (a: number, b: number) => score[a]! < score[b]! || (score[a] === score[b] && a > b);
  const up = (i: number) => {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!worse(heap[i]!, heap[p]!)) break;
      [heap[i], heap[p]] = [heap[p]!, heap[i]!];
      i = p;
    }
  };
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && worse(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && worse(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  };
  for (const c of cand) {
    if (heap.length < k) {
      heap.push(c);
      up(heap.length - 1);
    } else if (worse(heap[0]!, c)) {
      heap[0] = c;
      down(0);
    }
  }
  return heap.sort((a, b) => score[b]! - score[a]! || a - b);
}
