import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { buildServer } from '../../src/server/app.js';
import { CatalogueStore } from '../../src/store/catalogue-db.js';
import { addItem } from '../../src/store/new-item.js';
import Database from 'better-sqlite3';
import { loadRun, purchasesOf } from '../../src/store/run.js';
import { tempDir } from '../helpers/fixtures.js';
import { tinyRuns } from '../helpers/tiny-runs.js';
import { multipart, photo } from '../helpers/http.js';

const base = tinyRuns();

/** A copy of the tiny DVBPR run, so that uploads here leave other tests' run alone. */
async function freshRun(): Promise<string> {
  const t = await base;
  const dir = join(tempDir('atelier-items-'), 'run');
  cpSync(t.run, dir, { recursive: true });
  return dir;
}

async function serve(dir: string, maxUploadBytes?: number) {
  const store = CatalogueStore.open(dir);
  const run = loadRun(dir);
  const app = await buildServer({ run, store, designsDir: join(dir, 'served'), maxUploadBytes });
  app.addHook('onClose', async () => store.close());
  return { app, run };
}

function itemCount(dir: string): number {
  const s = CatalogueStore.open(dir, { readonly: true });
  try {
    return s.read().itemIds.length;
  } finally {
    s.close();
  }
}

test('POST /items: the new item is embedded, recommendable at once, and still there after a restart', async () => {
  const dir = await freshRun();
  const { app, run } = await serve(dir);
  const before = run.catalogue.itemIds.length;
  const r = await app.inject({
    method: 'POST',
    url: '/items',
    ...multipart([
      { name: 'category', value: 'tops' },
      { name: 'itemId', value: 'fresh-top' },
      { name: 'photo', value: await photo(200, 30, 30), filename: 'red.png', type: 'image/png' },
    ]),
  });
  assert.equal(r.statusCode, 201, r.body);
  const added = r.json();
  assert.equal(added.itemId, 'fresh-top');
  assert.equal(added.index, before);
  assert.equal(added.cold, true);
  const fan = added.topShoppers[0];
  // the shopper who likes it most sees it among every cold top, with the score the upload reported
  // the model's own scores: no priors (the run may have chosen some on validation)
  const rec = (await app.inject(`/users/${fan.userId}/recommendations?k=1000&category=tops&coldOnly=true&prior=0`)).json();
  const hit = rec.items.find((it: { itemId: string }) => it.itemId === 'fresh-top');
  assert.ok(hit, 'the new item is recommendable');
  assert.ok(Math.abs(hit.score - fan.score) < 1e-4);
  assert.equal(hit.cold, true);
  const img = await app.inject(added.image);
  assert.equal(img.statusCode, 200);
  assert.equal(img.headers['content-type'], 'image/png');
  await app.close();
  // a restart loads it from the catalogue and the embedding file, with the same score
  const again = loadRun(dir);
  const i = again.catalogue.itemIndex.get('fresh-top');
  assert.equal(i, before);
  const u = again.catalogue.userIndex.get(fan.userId)!;
  assert.ok(Math.abs(again.recommender.scoreUsers(Int32Array.from([u]))[i!]! - fan.score) < 1e-4);
  assert.equal(again.catalogue.categories[again.catalogue.itemCategory[i!]!], 'tops');
  assert.ok(
    readdirSync(join(dir, 'uploads')).some((f) => f.endsWith('-fresh-top.png')),
    'the original photo is kept',
  );
});

test('POST /items: bad uploads are 4xx with a message, and nothing is stored', async () => {
  const dir = await freshRun();
  const { app } = await serve(dir, 2000);
  const items = itemCount(dir);
  const emb = statSync(join(dir, 'item-embeddings.f32')).size;
  const post = async (parts: Parameters<typeof multipart>[0]) => app.inject({ method: 'POST', url: '/items', ...multipart(parts) });
  const red = await photo(200, 30, 30);
  const cases: [string, Promise<{ statusCode: number; json: () => { error: { code: string; message: string } } }>, number, RegExp][] = [
    [
      'not an image',
      post([
        { name: 'category', value: 'tops' },
        { name: 'photo', value: Buffer.from('hello, not a photo'), filename: 'x.png' },
      ]),
      400,
      /not a readable image/,
    ],
    [
      'oversized',
      post([
        { name: 'category', value: 'tops' },
        { name: 'photo', value: await photo(1, 2, 3, 900, 900).then((b) => Buffer.concat([b, Buffer.alloc(4000)])), filename: 'big.png' },
      ]),
      413,
      /file too large/i,
    ],
    [
      'unknown category',
      post([
        { name: 'category', value: 'capes' },
        { name: 'photo', value: red, filename: 'r.png' },
      ]),
      400,
      /capes/,
    ],
    ['no photo', post([{ name: 'category', value: 'tops' }]), 400, /photo/],
    ['no category', post([{ name: 'photo', value: red, filename: 'r.png' }]), 400, /category/],
    [
      'bad id',
      post([
        { name: 'category', value: 'tops' },
        { name: 'itemId', value: '../etc' },
        { name: 'photo', value: red, filename: 'r.png' },
      ]),
      400,
      /itemId/,
    ],
    [
      'existing id',
      post([
        { name: 'category', value: 'tops' },
        { name: 'itemId', value: loadRun(dir).catalogue.itemIds[0]! },
        { name: 'photo', value: red, filename: 'r.png' },
      ]),
      409,
      /already exists/,
    ],
    ['not multipart', app.inject({ method: 'POST', url: '/items', payload: { category: 'tops' } }), 400, /multipart/],
  ];
  for (const [name, res, status, message] of cases) {
    const r = await res;
    assert.equal(r.statusCode, status, name);
    assert.ok(r.json().error.code, name);
    assert.match(r.json().error.message, message, name);
  }
  assert.equal(itemCount(dir), items, 'no item was added');
  assert.equal(statSync(join(dir, 'item-embeddings.f32')).size, emb, 'the embedding file is unchanged');
  assert.ok(!existsSync(join(dir, 'uploads')) || readdirSync(join(dir, 'uploads')).length === 0, 'no photo was kept');
  await app.close();
});

test('a process killed in the middle of adding an item leaves the catalogue and embedding file consistent', async () => {
  const dir = await freshRun();
  const items = itemCount(dir);
  const script = `
    import { readFileSync } from 'node:fs';
    import { CatalogueStore } from './src/store/catalogue-db.ts';
    import { loadRun } from './src/store/run.ts';
    import { addItem } from './src/store/new-item.ts';
    const [dir, photo] = process.argv.slice(-2);
    const store = CatalogueStore.open(dir);
    const r = await addItem(loadRun(dir), store, { photo: readFileSync(photo), category: 'tops', itemId: 'doomed', source: photo });
    console.log(JSON.stringify(r));`;
  const photoPath = join(dir, '..', 'doomed.png');
  await sharp(await photo(10, 200, 10)).toFile(photoPath);
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, dir, photoPath], {
    env: { ...process.env, ATELIER_FAULT: 'add-item:after-embedding' },
    encoding: 'utf8',
  });
  assert.equal(child.signal, 'SIGKILL', child.stderr);
  // the embedding row was written, the catalogue never counted it
  const k = loadRun(dir).dvbpr!.encoderConfig.k;
  assert.equal(statSync(join(dir, 'item-embeddings.f32')).size, (items + 1) * k * 4);
  const run = loadRun(dir);
  assert.equal(run.catalogue.itemIds.length, items);
  assert.equal(run.catalogue.itemIndex.has('doomed'), false);
  assert.deepEqual(readdirSync(join(dir, 'uploads')), [`${items}-doomed.png`], 'the killed upload left its photo');
  // the next upload takes the row over, and a restart sees exactly what it returned
  const { app } = await serve(dir);
  const r = await app.inject({
    method: 'POST',
    url: '/items',
    ...multipart([
      { name: 'category', value: 'shoes' },
      { name: 'itemId', value: 'survivor' },
      { name: 'photo', value: await photo(10, 10, 200), filename: 'b.png' },
    ]),
  });
  assert.equal(r.statusCode, 201, r.body);
  await app.close();
  assert.equal(statSync(join(dir, 'item-embeddings.f32')).size, (items + 1) * k * 4);
  const after = loadRun(dir);
  assert.equal(after.catalogue.itemIds.length, items + 1);
  assert.equal(after.catalogue.itemIds[items], 'survivor');
  assert.deepEqual(readdirSync(join(dir, 'uploads')), [`${items}-survivor.png`], 'the row taken over has only its own photo');
  const fan = r.json().topShoppers[0];
  const u = after.catalogue.userIndex.get(fan.userId)!;
  assert.ok(Math.abs(after.recommender.scoreUsers(Int32Array.from([u]))[items]! - fan.score) < 1e-4);
});

test('an upload whose catalogue write fails keeps nothing: no item, no photo', async () => {
  const dir = await freshRun();
  const items = itemCount(dir);
  const store = CatalogueStore.open(dir);
  try {
    store.addItem = () => {
      throw new Error('disk full');
    };
    await assert.rejects(addItem(loadRun(dir), store, { photo: await photo(200, 10, 10), category: 'tops', itemId: 'failed', source: 'r.png' }), /disk full/);
  } finally {
    store.close();
  }
  assert.equal(itemCount(dir), items);
  assert.deepEqual(readdirSync(join(dir, 'uploads')), [], 'the failed upload removed its photo');
});

test('POST /items with a product: the other colour of what a shopper bought is lifted by the product prior, and kept through a restart and a retrain', async () => {
  const dir = await freshRun();
  // one bought item of shopper 0 is named product "line-1" (the tiny dataset names none)
  const pre = loadRun(dir);
  const u = pre.catalogue.userIds[0]!;
  const bought = purchasesOf(pre.catalogue, 0)[0]!;
  const db = new Database(join(dir, 'catalogue.sqlite'));
  db.prepare('INSERT INTO item_products (item, product) VALUES (?, ?)').run(bought, 'line-1');
  db.close();
  const { app, run } = await serve(dir);
  const r = await app.inject({
    method: 'POST',
    url: '/items',
    ...multipart([
      { name: 'category', value: pre.catalogue.categories[pre.catalogue.itemCategory[bought]!]! },
      { name: 'itemId', value: 'line-1-blue' },
      { name: 'product', value: 'line-1' },
      { name: 'photo', value: await photo(30, 30, 200), filename: 'blue.png', type: 'image/png' },
    ]),
  });
  assert.equal(r.statusCode, 201, r.body);
  const i = run.catalogue.itemIndex.get('line-1-blue')!;
  assert.equal(run.catalogue.itemProduct[i], run.catalogue.itemProduct[bought]);
  const top = (q: string) => app.inject(`/users/${u}/recommendations?k=1&coldOnly=true&prior=0&${q}`).then((x) => x.json());
  assert.equal((await top('prior-product=100')).items[0].itemId, 'line-1-blue');
  assert.deepEqual((await top('prior-product=100')).policy, { product: 100 });
  await app.close();
  const again = loadRun(dir);
  const j = again.catalogue.itemIndex.get('line-1-blue')!;
  assert.equal(again.catalogue.products[again.catalogue.itemProduct[j]!], 'line-1');
  const store = CatalogueStore.open(dir, { readonly: true });
  try {
    assert.equal(store.uploadedItems().find((x) => x.itemId === 'line-1-blue')!.product, 'line-1', 'what a retrain carries over');
  } finally {
    store.close();
  }
});
