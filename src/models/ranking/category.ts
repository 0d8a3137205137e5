/**
 * category: log((n_u,c(i) + ½) / (n_u + ½C)), the shopper's smoothed share of known purchases in the
 * item's category: a shopper who buys trousers sees trousers before dresses.
 */
import { itemsOf, registerPrior } from './prior.js';

export const category = registerPrior({
  name: 'category',
  summary: "log of the shopper's smoothed share of purchases in the item's category",
  grid: [0, 0.1, 0.3, 1],
  available: (h) => h.numCategories > 1,
  prepare: (h) => ({
    add(u, row, w, items) {
      const C = h.numCategories;
      const cat = h.itemCategory;
      const own = itemsOf(h.known, u);
      const counts = new Float64Array(C);
      for (const j of own) counts[cat[j]!]!++;
      const byCat = counts.map((n) => w * Math.log((n + 0.5) / (own.length + 0.5 * C)));
      if (items) for (let r = 0; r < items.length; r++) row[r]! += byCat[cat[items[r]!]!]!;
      else for (let i = 0; i < row.length; i++) row[i]! += byCat[cat[i]!]!;
    },
  }),
});
