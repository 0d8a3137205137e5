import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runIngest } from '../../src/cli/ingest.js';
import { createProgress } from '../../src/cli/progress.js';
import { BadInputError } from '../../src/core/errors.js';
import { loadDataset } from '../../src/data/dataset.js';
import { appendItem, CatalogueStore } from '../../src/store/catalogue-db.js';
import { purchasesOf, readCatalogue, writeCatalogue, type RunManifest } from '../../src/store/run.js';
import { makeShop, tempDir } from '../helpers/fixtures.js';

async function dataset() {
  const shop = await makeShop(12, 6, 5);
  const data = join(tempDir(), 'data');
  await runIngest('folder', shop.dir, { out: data, imageSize: 8, minCategoryCount: 1 }, createProgress({ quiet: true }));
  return loadDataset(data);
}

const manifest = { kind: 'random', name: 'random', createdAt: '2026-01-01T00:00:00.000Z' } as RunManifest;

test('the catalogue in SQLite holds the dataset: ids, categories, cold counts and every known purchase', async () => {
  const ds = await dataset();
  const dir = tempDir();
  writeCatalogue(dir, ds, manifest);
  assert.deepEqual(readdirSync(dir), ['catalogue.sqlite'], 'written by rename: no temporary file left');
  const c = readCatalogue(dir);
  assert.deepEqual(c.itemIds, ds.itemIds);
  assert.deepEqual(c.userIds, ds.userIds);
  assert.deepEqual(c.categories, ds.categories);
  assert.deepEqual(c.itemCategory, ds.itemCategory);
  assert.deepEqual(c.itemTrainCount, ds.itemTrainCount);
  assert.equal(c.imageFit, ds.manifest.fit);
  for (let u = 0; u < ds.userIds.length; u++) {
    const known = new Set<number>();
    for (const p of [ds.train, ds.valid, ds.test]) for (let x = 0; x < p.user.length; x++) if (p.user[x] === u) known.add(p.item[x]!);
    assert.deepEqual(Array.from(purchasesOf(c, u)), [...known].sort((a, b) => a - b), `shopper ${u}`);
  }
  // the in-memory catalogue grows by one item at a time
  const i = appendItem(c, 'new-1', 1, new Uint8Array(8 * 8 * 3));
  assert.equal(i, ds.itemIds.length);
  assert.equal(c.itemIndex.get('new-1'), i);
  assert.equal(c.itemCategory[i], 1);
  assert.equal(c.itemTrainCount[i], 0);
});

test('items are added one transaction at a time, at the next row only; designs are kept per shopper', async () => {
  const ds = await dataset();
  const dir = tempDir();
  writeCatalogue(dir, ds, manifest);
  const store = CatalogueStore.open(dir);
  const n = ds.itemIds.length;
  const pixels = Uint8Array.from({ length: 8 * 8 * 3 }, (_, x) => x % 251);
  assert.throws(() => store.addItem(n + 1, { itemId: 'gap', category: 0, image: 'uploads/x.png', pixels }), /cannot add row/);
  assert.throws(() => store.addItem(n, { itemId: ds.itemIds[0]!, category: 0, image: 'uploads/x.png', pixels }), /UNIQUE/);
  assert.equal(store.embeddingRows(), 0);
  store.addItem(n, { itemId: 'added', category: 0, image: 'uploads/added.png', pixels });
  assert.equal(store.embeddingRows(), n + 1);
  store.recordDesign({ id: 'd1', userId: ds.userIds[0]!, kind: 'design', category: ds.categories[0]!, result: { designs: [{ score: 1.5 }] } });
  store.close();
  const again = CatalogueStore.open(dir, { readonly: true });
  const c = again.read();
  assert.equal(c.itemIds[n], 'added');
  assert.deepEqual(c.addedPixels.get(n), pixels);
  const d = again.designsOf(ds.userIds[0]!);
  assert.equal(d.length, 1);
  assert.deepEqual(d[0]!.result, { designs: [{ score: 1.5 }] });
  assert.deepEqual(again.designsOf(ds.userIds[1]!), []);
  again.close();
});

test('a missing or foreign catalogue is a BadInputError naming the file', () => {
  const dir = tempDir();
  assert.throws(() => readCatalogue(dir), (e: unknown) => e instanceof BadInputError && e.message.includes(join(dir, 'catalogue.sqlite')));
  writeFileSync(join(dir, 'catalogue.sqlite'), 'not a database at all, just text that is long enough to be read as a header');
  assert.throws(() => readCatalogue(dir), (e: unknown) => e instanceof BadInputError && /not a readable catalogue/.test(e.message));
});
