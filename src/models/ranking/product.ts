/**
 * product: log(1 + n_u,p(i)), the shopper's known purchases of the item's product (the same
 * garment in another colour or size: H&M's product_code); 0 for an item without one.
 */
import { itemsOf, registerPrior } from './prior.js';

/** The items of each product, once per product array (the index path ranks a bought product's items). */
const byProduct = new WeakMap<Int32Array, Map<number, number[]>>();
function productItems(itemProduct: Int32Array): Map<number, number[]> {
  let m = byProduct.get(itemProduct);
  if (!m) {
    m = new Map();
    itemProduct.forEach((q, i) => {
      if (q < 0) return;
      const l = m!.get(q);
      if (l) l.push(i);
      else m!.set(q, [i]);
    });
    byProduct.set(itemProduct, m);
  }
  return m;
}

export const product = registerPrior({
  name: 'product',
  summary: "log(1 + the shopper's purchases of the item's product: the garment in other colours)",
  grid: [0, 1, 3, 10],
  available: (h) => h.itemProduct !== undefined && h.itemProduct.some((q) => q >= 0),
  prepare: (h) => {
    const bought = (u: number) => {
      const m = new Map<number, number>();
      const ip = h.itemProduct!;
      for (const j of itemsOf(h.known, u)) {
        const q = ip[j]!;
        if (q >= 0) m.set(q, (m.get(q) ?? 0) + 1);
      }
      return m;
    };
    return {
      add(u, row, w, items) {
        const m = bought(u);
        if (!m.size) return;
        const ip = h.itemProduct!;
        if (items) {
          for (let r = 0; r < items.length; r++) {
            const n = m.get(ip[items[r]!]!);
            if (n) row[r]! += w * Math.log1p(n);
          }
        } else {
          for (let i = 0; i < row.length; i++) {
            const n = m.get(ip[i]!);
            if (n) row[i]! += w * Math.log1p(n);
          }
        }
      },
      candidates(u) {
        const byQ = productItems(h.itemProduct!);
        return [...bought(u).keys()].flatMap((q) => byQ.get(q) ?? []);
      },
    };
  },
});
