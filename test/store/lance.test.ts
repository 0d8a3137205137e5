import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { main } from '../../src/cli/main.js';
import { Rng } from '../../src/core/rng.js';
import { buildServer } from '../../src/server/app.js';
import { CatalogueStore } from '../../src/store/catalogue-db.js';
import { buildLanceIndex, indexRun, LanceIndex, subVectorsFor } from '../../src/store/lance-index.js';
import { loadRun } from '../../src/store/run.js';
import { tempDir } from '../helpers/fixtures.js';
import { tinyRuns } from '../helpers/tiny-runs.js';

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
  return s.sort((a, b) => b.v - a.v).slice(0, top).map((x) => x.i);
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

test('serve --index lance: recommendations through the index, and an uploaded item is found at once', async () => {
  const t = await tinyRuns();
  const dir = join(tempDir('atelier-lance-run-'), 'run');
  cpSync(t.run, dir, { recursive: true });
  const run = loadRun(dir);
  const built = await indexRun(run);
  assert.equal(built.indexed, false, 'a tiny catalogue is scanned whole (exact)');
  const index = await LanceIndex.open(dir);
  const store = CatalogueStore.open(dir);
  const app = await buildServer({ run, store, index, designsDir: join(dir, 'served') });
  const u = t.ds.userIds[0]!;
  const viaIndex = (await app.inject(`/users/${u}/recommendations?k=5&category=tops`)).json();
  assert.equal(viaIndex.index, 'lance');
  const exact = (await buildServer({ run, designsDir: join(dir, 'served') }).then((a) => a.inject(`/users/${u}/recommendations?k=5&category=tops`))).json();
  assert.deepEqual(viaIndex.items.map((i: { itemId: string }) => i.itemId), exact.items.map((i: { itemId: string }) => i.itemId));
  viaIndex.items.forEach((it: { score: number }, r: number) => assert.ok(Math.abs(it.score - exact.items[r].score) < 1e-4));
  assert.equal((await app.inject(`/users/${u}/recommendations?category=capes`)).statusCode, 404);
  // an upload goes into the index too
  const boundary = 'b0undary';
  const png = await sharp({ create: { width: 20, height: 20, channels: 3, background: { r: 250, g: 250, b: 0 } } }).png().toBuffer();
  const payload = Buffer.concat([
    Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="category"\r\n\r\ntops\r\n--${boundary}\r\ncontent-disposition: form-data; name="photo"; filename="y.png"\r\ncontent-type: image/png\r\n\r\n`),
    png,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const added = await app.inject({ method: 'POST', url: '/items', payload, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } });
  assert.equal(added.statusCode, 201, added.body);
  const fan = added.json().topShoppers[0].userId;
  const recs = (await app.inject(`/users/${fan}/recommendations?k=1000&coldOnly=true`)).json();
  assert.ok(recs.items.some((i: { itemId: string }) => i.itemId === added.json().itemId), 'the new item is in the index');
  await app.close();
  store.close();
  index.close();
});

test('atelier index: builds the run index; a bad flag or a run without embeddings is exit code 2', async () => {
  const t = await tinyRuns();
  const dir = join(tempDir('atelier-lance-cli-'), 'run');
  cpSync(t.run, dir, { recursive: true });
  const out: string[] = [];
  const err: string[] = [];
  const [o, e] = [process.stdout.write.bind(process.stdout), process.stderr.write.bind(process.stderr)];
  process.stdout.write = ((c: string) => (out.push(String(c)), true)) as typeof process.stdout.write;
  process.stderr.write = ((c: string) => (err.push(String(c)), true)) as typeof process.stderr.write;
  try {
    assert.equal(await main(['node', 'atelier', 'index', '--run', dir]), 0);
    assert.equal(await main(['node', 'atelier', 'index', '--run', dir, '--partitions', 'many']), 2);
    assert.equal(await main(['node', 'atelier', 'serve', '--run', t.root, '--index', 'lance']), 2);
  } finally {
    process.stdout.write = o;
    process.stderr.write = e;
  }
  assert.equal(JSON.parse(out[0]!).rows, t.ds.itemIds.length);
  assert.ok(existsSync(join(dir, 'lance')));
  const errors = err.filter((l) => !l.includes('"event"'));
  assert.match(errors[0]!, /--partitions/);
  assert.match(errors[1]!, /manifest\.json/);
});
