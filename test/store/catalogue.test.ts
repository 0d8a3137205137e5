import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runIngest } from '../../src/app/ingest.js';
import { createProgress } from '../../src/app/progress.js';
import { BadInputError, CorruptFileError } from '../../src/core/errors.js';
import { loadDataset } from '../../src/data/dataset.js';
import { appendItem, CatalogueStore } from '../../src/store/catalogue-db.js';
import { loadRun, purchasesOf, readCatalogue, readManifest, RUN_FORMAT, writeCatalogue, type RunManifest } from '../../src/store/run.js';
import { recommend } from '../../src/store/recommend.js';
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
    assert.deepEqual(
      Array.from(purchasesOf(c, u)),
      [...known].sort((a, b) => a - b),
      `shopper ${u}`,
    );
  }
  // the in-memory catalogue grows by one item at a time
  const i = appendItem(c, 'new-1', 1, new Uint8Array(8 * 8 * 3));
  assert.equal(i, ds.itemIds.length);
  assert.equal(c.itemIndex.get('new-1'), i);
  assert.equal(c.itemCategory[i], 1);
  assert.equal(c.itemTrainCount[i], 0);
});

test("the catalogue keeps each item's product; recommend's product prior lifts the same garment in another colour; an older catalogue has none", async () => {
  const shop = await makeShop(12, 6, 5);
  const rows = readFileSync(join(shop.dir, 'items.csv'), 'utf8').trim().split('\n');
  const products = ['a', 'b', 'c', 'd', 'e', 'f', 'a', 'b', 'c', 'd', 'e', 'f']; // item k and k + 6 are one product
  writeFileSync(join(shop.dir, 'items.csv'), [`${rows[0]},product`, ...rows.slice(1).map((r, i) => `${r},${products[i]}`)].join('\n') + '\n');
  const data = join(tempDir(), 'data');
  await runIngest('folder', shop.dir, { out: data, imageSize: 8, minCategoryCount: 1 }, createProgress({ quiet: true }));
  const ds = loadDataset(data);
  const dir = tempDir();
  writeCatalogue(dir, ds, manifest);
  const c = readCatalogue(dir);
  const name = (i: number) => products[shop.items.indexOf(c.itemIds[i]!)];
  for (let i = 0; i < c.itemIds.length; i++)
    for (let j = 0; j < c.itemIds.length; j++) assert.equal(c.itemProduct[i] === c.itemProduct[j], name(i) === name(j), `items ${i}, ${j}`);
  // every item scores the same: the product prior alone orders the list, the bought items' siblings first
  const flat = {
    kind: 'random' as const,
    numUsers: c.userIds.length,
    numItems: c.itemIds.length,
    scoreUsers: (u: Int32Array) => new Float32Array(u.length * c.itemIds.length),
  };
  const u = 0;
  const bought = new Set(purchasesOf(c, u));
  const siblings = new Set([...Array(c.itemIds.length).keys()].filter((i) => !bought.has(i) && [...bought].some((b) => c.itemProduct[b] === c.itemProduct[i])));
  assert.ok(siblings.size > 0 && siblings.size < c.itemIds.length - bought.size, `${siblings.size} siblings`);
  const [r] = recommend(flat, c, [c.userIds[u]!], { k: siblings.size, excludeBought: true, policy: { product: 1 } });
  assert.deepEqual(new Set(r!.items.map((it) => c.itemIndex.get(it.itemId)!)), siblings);
  assert.ok(r!.items.every((it) => Math.abs(it.score - Math.log(2)) < 1e-6));
  const [off] = recommend(flat, c, [c.userIds[u]!], { k: 3, excludeBought: true });
  assert.ok(
    off!.items.every((it) => it.score === 0),
    'δ absent: no term',
  );
  // an upload names no product
  const i = appendItem(c, 'new-1', 0, new Uint8Array(8 * 8 * 3));
  assert.equal(c.itemProduct[i], -1);
  // a catalogue written before the table (format 1): every item without a product
  const db = new Database(join(dir, 'catalogue.sqlite'));
  db.exec('DROP TABLE item_products');
  db.prepare("UPDATE meta SET value = '1' WHERE key = 'format'").run();
  db.close();
  assert.ok(readCatalogue(dir).itemProduct.every((q) => q === -1));
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
  assert.throws(
    () => readCatalogue(dir),
    (e: unknown) => e instanceof BadInputError && e.message.includes(join(dir, 'catalogue.sqlite')),
  );
  writeFileSync(join(dir, 'catalogue.sqlite'), 'not a database at all, just text that is long enough to be read as a header');
  assert.throws(
    () => readCatalogue(dir),
    (e: unknown) => e instanceof BadInputError && /not a readable catalogue/.test(e.message),
  );
});

test('a format-1 run (catalogue.json + purchases.i32) is migrated to catalogue.sqlite on first load', async () => {
  const ds = await dataset();
  const dir = tempDir();
  // the format-1 layout, as the previous version wrote it
  writeFileSync(
    join(dir, 'catalogue.json'),
    JSON.stringify({
      itemIds: ds.itemIds,
      userIds: ds.userIds,
      categories: ds.categories,
      itemCategory: Array.from(ds.itemCategory),
      itemTrainCount: Array.from(ds.itemTrainCount),
    }),
  );
  const per = ds.userIds.map(() => new Set<number>());
  for (const p of [ds.train, ds.valid, ds.test]) for (let x = 0; x < p.user.length; x++) per[p.user[x]!]!.add(p.item[x]!);
  const offsets = [0];
  const items: number[] = [];
  per.forEach((set) => {
    items.push(...[...set].sort((a, b) => a - b));
    offsets.push(items.length);
  });
  writeFileSync(join(dir, 'purchases.i32'), new Uint8Array(Int32Array.from([...offsets, ...items]).buffer));
  const m = {
    format: 1,
    kind: 'popularity',
    name: 'popularity',
    createdAt: '2026-01-01T00:00:00.000Z',
    seed: 1,
    config: {},
    dataset: { path: ds.dir, dataHash: 'x', imageSize: 8, items: ds.itemIds.length, users: ds.userIds.length },
    versions: {},
    metrics: {},
    history: [],
  };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
  const run = loadRun(dir);
  assert.equal(readManifest(dir).format, RUN_FORMAT);
  assert.ok(existsSync(join(dir, 'catalogue.sqlite')));
  assert.deepEqual(run.catalogue.itemIds, ds.itemIds);
  per.forEach((set, u) =>
    assert.deepEqual(
      Array.from(purchasesOf(run.catalogue, u)),
      [...set].sort((a, b) => a - b),
    ),
  );
  assert.equal(run.catalogue.imageFit, ds.manifest.fit);
});

test('a catalogue written to and read leaves one self-contained file (no WAL beside it)', async () => {
  const ds = await dataset();
  const dir = tempDir();
  writeCatalogue(dir, ds, manifest);
  const w = CatalogueStore.open(dir);
  w.setEmbeddingRows(3);
  w.close();
  const r = CatalogueStore.open(dir, { readonly: true });
  assert.equal(r.embeddingRows(), 3);
  r.close();
  assert.deepEqual(readdirSync(dir), ['catalogue.sqlite']);
});

test('a writer killed inside a transaction (a hot journal) leaves a catalogue that opens read-only, rolled back (issue 34.2)', async () => {
  const ds = await dataset();
  const dir = tempDir();
  writeCatalogue(dir, ds, manifest);
  const path = join(dir, 'catalogue.sqlite');
  // another process begins a large write with a tiny page cache (so pages spill into the file
  // before the commit) and is killed with SIGKILL mid-transaction
  const py = [
    'import os, signal, sqlite3, sys',
    'db = sqlite3.connect(sys.argv[1], isolation_level=None)',
    "db.execute('PRAGMA journal_mode = DELETE')",
    "db.execute('PRAGMA cache_size = 1')",
    "db.execute('BEGIN IMMEDIATE')",
    "db.execute(\"UPDATE meta SET value = 'x' WHERE key = 'images_from'\")",
    "for k in range(3000): db.execute('INSERT INTO users (idx, user_id) VALUES (?, ?)', (100000 + k, 'killed-%d-%s' % (k, 'y' * 200)))",
    'os.kill(os.getpid(), signal.SIGKILL)',
  ].join('\n');
  const r = spawnSync('python3', ['-c', py, path]);
  assert.equal(r.signal, 'SIGKILL', String(r.stderr));
  assert.ok(existsSync(`${path}-journal`), 'the kill left a hot journal');
  const c = readCatalogue(dir); // read-only, as loadRun, recommend and a retrain open it
  assert.deepEqual(c.userIds, ds.userIds, 'the killed transaction is rolled back');
  assert.equal(existsSync(`${path}-journal`), false);
  const w = CatalogueStore.open(dir);
  w.setEmbeddingRows(2);
  w.close();
  assert.equal(readCatalogue(dir).itemIds.length, ds.itemIds.length);
});

test('a catalogue with a damaged page or a missing table is a CorruptFileError naming the file, not a database stack trace (issue 34.11)', async () => {
  const ds = await dataset();
  const dropped = tempDir();
  writeCatalogue(dropped, ds, manifest);
  const db = new Database(join(dropped, 'catalogue.sqlite'));
  db.pragma('foreign_keys = OFF');
  db.exec('DROP TABLE items');
  db.close();
  assert.throws(
    () => readCatalogue(dropped),
    (e: Error) => e instanceof CorruptFileError && e.message.startsWith(join(dropped, 'catalogue.sqlite')) && /no such table: items/.test(e.message),
  );
  const torn = tempDir();
  writeCatalogue(torn, ds, manifest);
  const path = join(torn, 'catalogue.sqlite');
  const bytes = readFileSync(path);
  const page = 4096;
  assert.ok(bytes.length > 3 * page, `${bytes.length} bytes`);
  bytes.fill(0xa5, page + 100, bytes.length); // every page after the first: its b-tree pages garbage
  writeFileSync(path, bytes);
  assert.throws(
    () => readCatalogue(torn),
    (e: Error) => (e instanceof CorruptFileError || e instanceof BadInputError) && e.message.startsWith(path),
  );
});

test('a format-1 catalogue (written before its later tables) reads as it did, read-only leaving the file as it is; a writable open migrates the file; a newer format is refused', async () => {
  const ds = await dataset();
  const dir = tempDir();
  writeCatalogue(dir, ds, manifest);
  const path = join(dir, 'catalogue.sqlite');
  const now = readCatalogue(dir);
  const db = new Database(path);
  db.exec('DROP TABLE latest_baskets; DROP TABLE item_products; DROP TABLE segments');
  db.prepare("UPDATE meta SET value = '1' WHERE key = 'format'").run();
  db.close();
  const bytes = readFileSync(path);
  const old = readCatalogue(dir);
  assert.deepEqual(old.latestPurchase, now.latestPurchase);
  // as catalogues without the table were read: each shopper's latest purchase alone
  const alone = Array.from(now.latestPurchase, (i) => (i >= 0 ? [i] : []));
  const basketOf = (c: typeof old, u: number) => Array.from(c.latestBasket.items.subarray(c.latestBasket.offsets[u]!, c.latestBasket.offsets[u + 1]!));
  for (let u = 0; u < ds.userIds.length; u++) assert.deepEqual(basketOf(old, u), alone[u], `shopper ${u}`);
  assert.ok(old.itemProduct.every((q) => q === -1));
  assert.ok(readFileSync(path).equals(bytes), 'a read-only open writes nothing');
  CatalogueStore.open(dir).close();
  const after = new Database(path, { readonly: true });
  assert.equal(after.prepare("SELECT value FROM meta WHERE key = 'format'").pluck().get(), '2');
  assert.equal(after.prepare('SELECT count(*) FROM latest_baskets').pluck().get(), now.latestPurchase.filter((i) => i >= 0).length);
  after.close();
  const migrated = readCatalogue(dir);
  for (let u = 0; u < ds.userIds.length; u++) assert.deepEqual(basketOf(migrated, u), alone[u]);
  const newer = new Database(path);
  newer.prepare("UPDATE meta SET value = '3' WHERE key = 'format'").run();
  newer.close();
  assert.throws(() => readCatalogue(dir), /catalogue format 3, this Atelier reads formats 1 to 2/);
});
