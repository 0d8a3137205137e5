/**
 * copurchase: items bought by the same shoppers as the items of the shopper's latest basket (item-
 * to-item collaborative filtering, the candidate source of the H&M competition's best entries):
 * the mean over basket items j of c(i, j) / √(n_i · n_j), c the shoppers who bought both, n the
 * shoppers who bought each (a cosine of the items' buyer sets). Counted over `counted` purchases;
 * a shopper with more than MAX_HISTORY of them is left out of the counts (their pairs grow as the
 * square and say little of any one pair).
 */
import { itemsOf, registerPrior, type ItemLists } from './prior.js';

export const MAX_HISTORY = 100;

/** Item-to-item co-purchase counts, packed by item: neighbours[offsets[j] .. offsets[j + 1]) with their counts; buyers per item. */
export interface CoPurchases {
  offsets: Int32Array;
  neighbours: Int32Array;
  counts: Int32Array;
  buyers: Int32Array;
}

export function coPurchases(counted: ItemLists, numItems: number): CoPurchases {
  const users = counted.offsets.length - 1;
  const buyers = new Int32Array(numItems);
  const degree = new Float64Array(numItems);
  for (let u = 0; u < users; u++) {
    const own = itemsOf(counted, u);
    for (const i of own) buyers[i]!++;
    if (own.length > MAX_HISTORY) continue;
    for (const i of own) degree[i]! += own.length - 1;
  }
  // every ordered pair (j, i) of one shopper, grouped by j, then counted by a sort within each j
  const start = new Float64Array(numItems + 1);
  for (let i = 0; i < numItems; i++) start[i + 1] = start[i]! + degree[i]!;
  const pairs = new Int32Array(start[numItems]!);
  const at = Float64Array.from(start.subarray(0, numItems));
  for (let u = 0; u < users; u++) {
    const own = itemsOf(counted, u);
    if (own.length > MAX_HISTORY) continue;
    for (const j of own) for (const i of own) if (i !== j) pairs[at[j]!++] = i;
  }
  const offsets = new Int32Array(numItems + 1);
  const neighbours: number[] = [];
  const counts: number[] = [];
  for (let j = 0; j < numItems; j++) {
    const seg = pairs.subarray(start[j]!, start[j + 1]!).sort();
    for (let x = 0; x < seg.length; x++) {
      if (x > 0 && seg[x] === seg[x - 1]) counts[counts.length - 1]!++;
      else (neighbours.push(seg[x]!), counts.push(1));
    }
    offsets[j + 1] = neighbours.length;
  }
  return { offsets, neighbours: Int32Array.from(neighbours), counts: Int32Array.from(counts), buyers };
}

export const copurchase = registerPrior({
  name: 'copurchase',
  summary: "how often the item is bought by the buyers of the shopper's latest basket (item-to-item)",
  grid: [0, 1, 3, 10, 30, 100],
  available: (h) => h.counted.items.length > 0,
  prepare: (h) => {
    const co = coPurchases(h.counted, h.itemTrainCount.length);
    const n = co.buyers.length; // items added later have no co-purchases
    const scores = (u: number): Map<number, number> => {
      const acc = new Map<number, number>();
      const b = itemsOf(h.basket, u).filter((j) => j < n);
      for (const j of b) {
        for (let x = co.offsets[j]!; x < co.offsets[j + 1]!; x++) {
          const i = co.neighbours[x]!;
          acc.set(i, (acc.get(i) ?? 0) + co.counts[x]! / Math.sqrt(co.buyers[i]! * co.buyers[j]!) / b.length);
        }
      }
      return acc;
    };
    return {
      add(u, row, w, items) {
        const acc = scores(u);
        if (!acc.size) return;
        if (items) {
          for (let r = 0; r < items.length; r++) {
            const s = acc.get(items[r]!);
            if (s) row[r]! += w * s;
          }
        } else for (const [i, s] of acc) if (i < row.length) row[i]! += w * s;
      },
      candidates: (u) => Int32Array.from(scores(u).keys()),
    };
  },
});
