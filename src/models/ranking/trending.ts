/**
 * trending: log(1 + the shoppers whose latest basket holds the item): what is being bought now,
 * where `popularity` counts every purchase ever made. The baskets are each shopper's latest, so a
 * shop's recent weeks weigh most; the H&M competition's best entries all ranked recent best sellers.
 */
import { itemsOf, registerPrior, type ItemLists } from './prior.js';

/** Per item, the shoppers whose latest basket holds it, once per basket lists. */
const counts = new WeakMap<ItemLists, Float32Array>();
function trendCounts(baskets: ItemLists, numUsers: number, numItems: number): Float32Array {
  let c = counts.get(baskets);
  if (!c || c.length < numItems) {
    c = new Float32Array(numItems);
    for (let u = 0; u < numUsers; u++) for (const i of itemsOf(baskets, u)) if (i < numItems) c[i]!++;
    for (let i = 0; i < numItems; i++) c[i] = Math.log1p(c[i]!);
    counts.set(baskets, c);
  }
  return c;
}

export const trending = registerPrior({
  name: 'trending',
  summary: 'log(1 + the shoppers whose latest basket holds the item): what sells now',
  grid: [0, 0.25, 0.5, 1, 2, 4],
  available: (h) => h.basket.items.length > 0,
  prepare: (h) => {
    const c = trendCounts(h.basket, h.numUsers, h.itemTrainCount.length);
    let top: Int32Array | null = null;
    return {
      add(_u, row, w, items) {
        if (items) for (let r = 0; r < items.length; r++) row[r]! += w * (c[items[r]!] ?? 0);
        else for (let i = 0; i < row.length && i < c.length; i++) row[i]! += w * c[i]!;
      },
      candidates: () =>
        (top ??= Int32Array.from(
          Array.from(c.keys())
            .sort((a, b) => c[b]! - c[a]! || a - b)
            .slice(0, 200),
        )),
    };
  },
});
