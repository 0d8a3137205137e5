/** recency: cos(e_i, e_latest), the item's likeness (the model's embeddings) to the shopper's latest purchase. */
import { addMeanCosine, registerPrior } from './prior.js';

export const recency = registerPrior({
  name: 'recency',
  summary: "cosine of the item's embedding to the shopper's latest purchase",
  grid: [0, 1, 3, 10, 30],
  available: (_h, rec) => rec.similarTo !== undefined,
  prepare: (h, rec) => ({
    add(u, row, w, items) {
      const j = h.latest[u] ?? -1;
      if (j >= 0) addMeanCosine(rec, Int32Array.of(j), row, w, items);
    },
  }),
});
