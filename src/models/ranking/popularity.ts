/** popularity: log(1 + training purchases of the item): what sells. */
import { registerPrior } from './prior.js';

/** The most bought items, once per counts array (the index path also ranks them). */
const tops = new WeakMap<Int32Array, Int32Array>();
function topSellers(counts: Int32Array, n = 200): Int32Array {
  let t = tops.get(counts);
  if (!t) {
    const order = Array.from(counts.keys()).sort((a, b) => counts[b]! - counts[a]! || a - b);
    tops.set(counts, (t = Int32Array.from(order.slice(0, n))));
  }
  return t;
}

export const popularity = registerPrior({
  name: 'popularity',
  summary: 'log(1 + training purchases of the item)',
  grid: [0, 0.25, 0.5, 1, 2, 4],
  available: () => true,
  prepare: (h) => ({
    add(_u, row, w, items) {
      const c = h.itemTrainCount;
      if (items) for (let r = 0; r < items.length; r++) row[r]! += w * Math.log1p(c[items[r]!] ?? 0);
      else for (let i = 0; i < row.length; i++) row[i]! += w * Math.log1p(c[i] ?? 0);
    },
    candidates: () => topSellers(h.itemTrainCount),
  }),
});
