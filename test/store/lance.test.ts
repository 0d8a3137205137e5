import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import { buildLanceIndex, LanceIndex, subVectorsFor } from '../../src/store/lance-index.js';
import { tempDir } from '../helpers/fixtures.js';

/** Clustered embeddings (as learned ones are): 40 centres, small spread. */
function clustered(n: number, k: number, seed: number) {
  const rng = new Rng(seed);
  const centres = Array.from({ length: 40 }, () => Float32Array.from({ length: k }, () => rng.normal()));
  const e = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    const c = centres[i % 40]!;
    for (let j = 0; j < k; j++) e[i * k + j] = c[j]! + 0.3 * rng.normal();
  }
  return { e, category: Int32Array.from({ length: n }, (_, i) => i % 3), cold: Uint8Array.from({ length: n }, (_, i) => (i % 4 === 0 ? 1 : 0)), rng };
}

function exactTop(e: Float32Array, k: number, theta: Float32Array, keep: (i: number) => boolean, top: number): number[] {
  const n = e.length / k;
  const s: { i: number; v: number }[] = [];
  for (let i = 0; i < n; i++) {
    if (!keep(i)) continue;
    let v = 0;
    for (let j = 0; j < k; j++) v += e[i * k + j]! * theta[j]!;
    s.push({ i, v });
  }
  return s
    .sort((a, b) => b.v - a.v)
    .slice(0, top)
    .map((x) => x.i);
}

test('sub-vectors divide K (LanceDB would fall back to one sub-vector for K=100)', () => {
  assert.equal(subVectorsFor(100), 25);
  assert.equal(subVectorsFor(64), 16);
  assert.equal(subVectorsFor(50), 10);
  assert.equal(subVectorsFor(7), 1);
});

test('IVF-PQ index (inner product): recall@10 against exact search, filters respected, exact scores', async () => {
  const K = 16;
  const N = 3000;
  const { e, category, cold, rng } = clustered(N, K, 1);
  const dir = tempDir('atelier-lance-');
  const built = await buildLanceIndex(dir, e, K, category, cold, { partitions: 8, minRowsForIndex: 0 });
  assert.equal(built.indexed, true);
  assert.equal(built.rows, N);
  const ix = await LanceIndex.open(dir);
  let hits = 0;
  for (let q = 0; q < 10; q++) {
    const theta = Float32Array.from({ length: K }, () => rng.normal());
    const got = await ix.search(theta, { k: 10, nprobes: 8, refine: 20 });
    const want = exactTop(e, K, theta, () => true, 10);
    hits += got.filter((g) => want.includes(g.index)).length;
    for (let r = 1; r < got.length; r++) assert.ok(got[r - 1]!.score >= got[r]!.score, 'best first');
    for (const g of got) {
      const dot = Array.from({ length: K }, (_, j) => e[g.index * K + j]! * theta[j]!).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(g.score - dot) < 1e-3, 'scores are exact inner products');
    }
    const filtered = await ix.search(theta, { k: 10, category: 2, coldOnly: true, nprobes: 8, refine: 20 });
    assert.ok(filtered.length > 0);
    for (const g of filtered) assert.ok(category[g.index] === 2 && cold[g.index] === 1, `item ${g.index} passes the filter`);
  }
  assert.ok(hits / 100 >= 0.9, `recall@10 ${hits / 100} with every partition probed`);
  ix.close();
});
