/**
 * `npm run bench -- topk`: top-10 for one shopper over 20,000 items (K = 100), exact inner
 * product + filters, as `atelier recommend` and the server run it. Writes bench/results/topk.json.
 */
import { writeJsonAtomic } from '../src/core/fs.js';
import { Rng } from '../src/core/rng.js';
import { DvbprScorer } from '../src/models/dvbpr.js';
import { recommend } from '../src/store/recommend.js';
import type { Catalogue } from '../src/store/run.js';

export async function topkBench(): Promise<void> {
  const N = 20000;
  const U = 1000;
  const K = 100;
  const rng = new Rng(1);
  const theta = Float32Array.from({ length: U * K }, () => rng.normal());
  const emb = Float32Array.from({ length: N * K }, () => rng.normal());
  const scorer = new DvbprScorer(theta, emb, K);
  const itemIds = Array.from({ length: N }, (_, i) => `i${i}`);
  const userIds = Array.from({ length: U }, (_, u) => `u${u}`);
  const cat: Catalogue = {
    addedPixels: new Map(),
    imageFit: 'letterbox',
    latestPurchase: new Int32Array(U).fill(-1),
    latestBasket: { offsets: new Int32Array(U + 1), items: new Int32Array(0) },
    segments: new Map(),
    itemProduct: new Int32Array(N).fill(-1),
    products: [],
    itemIds,
    userIds,
    categories: ['a', 'b'],
    itemCategory: Int32Array.from({ length: N }, (_, i) => i % 2),
    itemTrainCount: Int32Array.from({ length: N }, (_, i) => i % 7),
    purchaseOffsets: Int32Array.from({ length: U + 1 }, (_, u) => u * 10),
    purchaseItems: Int32Array.from({ length: U * 10 }, (_, x) => (x * 37) % N),
    itemIndex: new Map(itemIds.map((id, i) => [id, i])),
    userIndex: new Map(userIds.map((id, u) => [id, u])),
  };
  const time = (o: Parameters<typeof recommend>[3]) => {
    for (let w = 0; w < 20; w++) recommend(scorer, cat, [userIds[w]!], o);
    const ts: number[] = [];
    for (let r = 0; r < 300; r++) {
      const t0 = performance.now();
      recommend(scorer, cat, [userIds[r % U]!], o);
      ts.push(performance.now() - t0);
    }
    ts.sort((a, b) => a - b);
    return { medianMs: ts[150]!, p99Ms: ts[Math.floor(ts.length * 0.99)]! };
  };
  const out = {
    items: N,
    k: K,
    top10: time({ k: 10 }),
    top10ExcludeBought: time({ k: 10, excludeBought: true }),
    top10CategoryColdOnly: time({ k: 10, category: 'a', coldOnly: true }),
    command: 'npm run bench -- topk',
  };
  writeJsonAtomic('bench/results/topk.json', out);
  console.log(JSON.stringify(out));
}
