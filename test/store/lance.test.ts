/**
 * The LanceDB index (src/store/lance-index.ts): the default graph index (IVF-HNSW-SQ over vectors
 * lifted so that the L2-nearest is the inner-product best) and IVF-PQ, the former default, which a
 * run indexed before still has.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { CorruptFileError } from '../../src/core/errors.js';
import { join } from 'node:path';
import { Rng } from '../../src/core/rng.js';
import { buildLanceIndex, LanceIndex, liftForL2, subVectorsFor } from '../../src/store/lance-index.js';
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
  const built = await buildLanceIndex(dir, e, K, category, cold, { kind: 'ivf-pq', partitions: 8, minRowsForIndex: 0 });
  assert.equal(built.indexed, true);
  assert.equal(built.rows, N);
  const ix = await LanceIndex.open(dir);
  assert.equal(ix.kind, 'ivf-pq');
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

test('the lift: ‖[θ, 0] − [x, √(M² − ‖x‖²)]‖² = ‖θ‖² + M² − 2θᵀx, and a row past M is named', () => {
  const x = Float32Array.of(3, 4, 0, 1, 1, 0); // two rows of K = 3: norms 5 and √2
  const { lifted, over } = liftForL2(x, 3, 5);
  assert.deepEqual([...lifted.subarray(0, 4)], [3, 4, 0, 0]);
  assert.ok(Math.abs(lifted[7]! - Math.sqrt(23)) < 1e-6);
  assert.deepEqual(over, []);
  const theta = [0.5, -1, 2];
  const d2 = theta.reduce((s, v, j) => s + (v - lifted[4 + j]!) ** 2, 0) + lifted[7]! ** 2;
  const byHand = theta.reduce((s, v) => s + v * v, 0) + 25 - 2 * (0.5 * 1 + -1 * 1 + 2 * 0);
  assert.ok(Math.abs(d2 - byHand) < 1e-5);
  assert.deepEqual(liftForL2(Float32Array.of(6, 8, 0), 3, 5).over, [0]);
});

test('the graph index (hnsw-sq) finds the exact top 10, with filters; an upload past the lift bound is found and remembered', async () => {
  const K = 16;
  const N = 6000;
  const { e, category, cold, rng } = clustered(N, K, 2);
  const dir = tempDir('atelier-hnsw-');
  assert.equal((await buildLanceIndex(dir, e, K, category, cold, { kind: 'hnsw-sq', minRowsForIndex: 1000 })).indexed, true);
  const metaFile = join(dir, 'lance', 'atelier-index.json');
  assert.equal(JSON.parse(readFileSync(metaFile, 'utf8')).kind, 'hnsw-sq');
  const ix = await LanceIndex.open(dir);
  assert.equal(ix.kind, 'hnsw-sq');
  const queries = Array.from({ length: 20 }, () => Float32Array.from({ length: K }, () => rng.normal()));
  const score = (theta: Float32Array, i: number) => theta.reduce((s, v, j) => s + v * e[i * K + j]!, 0);
  let hits = 0;
  for (const theta of queries) {
    const got = await ix.search(theta, { k: 10, ef: 200 });
    hits += got.filter((g) => exactTop(e, K, theta, () => true, 10).includes(g.index)).length;
    got.forEach((g) => assert.ok(Math.abs(g.score - score(theta, g.index)) < 1e-3, 'scores are exact inner products'));
    for (let r = 1; r < got.length; r++) assert.ok(got[r - 1]!.score >= got[r]!.score, 'best first');
  }
  assert.ok(hits / 200 >= 0.95, `recall@10 ${hits / 200}`);
  const theta = queries[0]!;
  const keep = (i: number) => category[i] === 2 && cold[i] === 1;
  const filtered = await ix.search(theta, { k: 5, category: 2, coldOnly: true, ef: 200 });
  assert.deepEqual(
    filtered.map((g) => g.index),
    exactTop(e, K, theta, keep, 5),
  );
  // an upload far longer than any item at build time: past the lift's bound, searched exactly
  const big = Float32Array.from(theta, (v) => v * 50);
  await ix.add(N, big, K, Int32Array.of(1), Uint8Array.of(1));
  assert.deepEqual(JSON.parse(readFileSync(metaFile, 'utf8')).overflow, [N]);
  const top = await ix.search(theta, { k: 3 });
  assert.equal(top[0]!.index, N, 'the upload is the best item for this shopper');
  assert.ok(Math.abs(top[0]!.score - big.reduce((s, v, j) => s + v * theta[j]!, 0)) < 1e-2);
  assert.ok(!(await ix.search(theta, { k: 3, category: 0 })).some((g) => g.index === N), 'filters apply to it too');
  ix.close();
  const again = await LanceIndex.open(dir);
  assert.equal((await again.search(theta, { k: 1 }))[0]!.index, N);
  again.close();
});

test('the default index (IVF-FLAT, inner product) finds the exact top 10 for shoppers with a style, filters and uploads included', async () => {
  const K = 16;
  const N = 6000;
  const { e, category, cold, rng } = clustered(N, K, 4);
  const dir = tempDir('atelier-flat-');
  assert.equal((await buildLanceIndex(dir, e, K, category, cold, { minRowsForIndex: 1000 })).indexed, true);
  const ix = await LanceIndex.open(dir);
  assert.equal(ix.kind, 'ivf-flat');
  let hits = 0;
  for (let q = 0; q < 20; q++) {
    // a shopper near one of the 40 clusters (as learned θ are)
    const near = rng.int(N);
    const theta = Float32Array.from({ length: K }, (_, j) => e[near * K + j]! + 0.3 * rng.normal());
    const got = await ix.search(theta, { k: 10 });
    hits += got.filter((g) => exactTop(e, K, theta, () => true, 10).includes(g.index)).length;
  }
  assert.ok(hits / 200 >= 0.95, `recall@10 ${hits / 200} at the default settings`);
  const theta = Float32Array.from({ length: K }, (_, j) => e[j]!);
  const keep = (i: number) => category[i] === 1 && cold[i] === 1;
  assert.deepEqual(
    (await ix.search(theta, { k: 5, category: 1, coldOnly: true, nprobes: 80 })).map((g) => g.index),
    exactTop(e, K, theta, keep, 5),
  );
  await ix.add(
    N,
    Float32Array.from(theta, (v) => v * 3),
    K,
    Int32Array.of(1),
    Uint8Array.of(1),
  );
  assert.equal((await ix.search(theta, { k: 1, category: 1, coldOnly: true }))[0]!.index, N, 'an upload is searched at once');
  ix.close();
});

test('an index built before atelier-index.json existed opens as the IVF-PQ it is', async () => {
  const K = 8;
  const { e, category, cold, rng } = clustered(500, K, 3);
  const dir = tempDir('atelier-lance-old-');
  await buildLanceIndex(dir, e, K, category, cold, { kind: 'ivf-pq', minRowsForIndex: 0, partitions: 4 });
  rmSync(join(dir, 'lance', 'atelier-index.json'));
  const ix = await LanceIndex.open(dir);
  assert.equal(ix.kind, 'ivf-pq');
  const theta = Float32Array.from({ length: K }, () => rng.normal());
  assert.equal((await ix.search(theta, { k: 5, nprobes: 4 })).length, 5);
  ix.close();
  assert.ok(!existsSync(join(dir, 'lance', 'atelier-index.json')));
  // a damaged one is an error naming it, not a guess
  writeFileSync(join(dir, 'lance', 'atelier-index.json'), '{"kind": "ivf-pq"');
  await assert.rejects(LanceIndex.open(dir), (e: Error) => e instanceof CorruptFileError && e.message.includes('atelier-index.json'));
  writeFileSync(join(dir, 'lance', 'atelier-index.json'), '{"kind": "annoy", "k": 8}');
  await assert.rejects(LanceIndex.open(dir), /kind is 'annoy'/);
});

test('a damaged index is refused when it opens (a CorruptFileError naming it), not at every search (issue 34.16)', async () => {
  const K = 8;
  const { e, category, cold } = clustered(500, K, 5);
  const dir = tempDir('atelier-lance-damaged-');
  await buildLanceIndex(dir, e, K, category, cold, { minRowsForIndex: 0, partitions: 4 });
  (await LanceIndex.open(dir)).close();
  const files = (readdirSync(join(dir, 'lance'), { recursive: true }) as string[]).filter(
    (f) => f.endsWith('.lance') && statSync(join(dir, 'lance', f)).isFile(),
  );
  assert.ok(files.length > 0, 'the index has data files');
  for (const f of files) {
    const path = join(dir, 'lance', f);
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, Math.floor(bytes.length / 2))); // cut, as a failed copy leaves it
  }
  await assert.rejects(LanceIndex.open(dir), (err: unknown) => err instanceof CorruptFileError && (err as Error).message.startsWith(join(dir, 'lance')));
});
