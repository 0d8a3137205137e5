/**
 * basket: the mean cosine of the item's embedding to every item of the shopper's latest basket
 * (all they bought at their latest purchase time: on H&M, that day), not to one item.
 */
import { addMeanCosine, itemsOf, registerPrior } from './prior.js';

export const basket = registerPrior({
  name: 'basket',
  summary: "mean cosine of the item's embedding to the items of the shopper's latest basket",
  grid: [0, 1, 3, 10, 30, 100],
  available: (_h, rec) => rec.similarTo !== undefined,
  prepare: (h, rec) => ({
    add(u, row, w, items) {
      addMeanCosine(rec, itemsOf(h.basket, u), row, w, items);
    },
  }),
});
