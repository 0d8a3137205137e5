import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BadInputError, CorruptFileError } from '../../src/core/errors.js';
import { runIngest } from '../../src/app/ingest.js';
import { createProgress } from '../../src/app/progress.js';
import { distinctPairs, latestBaskets, loadDataset } from '../../src/data/dataset.js';
import { Problems } from '../../src/data/problems.js';
import { IdMap } from '../../src/core/ids.js';
import { Rng } from '../../src/core/rng.js';
import { readTable } from '../../src/data/table.js';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { HM_COLOURS, HM_PRODUCT_CODES, makeHm, makeIdx, makeShop, tempDir } from '../helpers/fixtures.js';

const quiet = createProgress({ quiet: true });

test('folder reader: ids stay strings, every kept user has one validation and one test item', async () => {
  const shop = await makeShop();
  const out = join(tempDir(), 'data');
  const m = await runIngest('folder', shop.dir, { out, imageSize: 16, minCategoryCount: 1 }, quiet);
  const ds = loadDataset(out);
  assert.equal(m.counts.items, 12);
  assert.equal(m.counts.users, 6);
  assert.deepEqual(ds.itemIds.slice(0, 2), ['0100', '0101']); // leading zeros kept
  assert.equal(ds.images.all().length, 12 * 16 * 16 * 3);
  assert.deepEqual(ds.categories.sort(), ['shoes', 'tops']);
  for (let u = 0; u < ds.userIds.length; u++) {
    const tr = ds.train.item.filter((_, x) => ds.train.user[x] === u);
    const va = ds.valid.item.filter((_, x) => ds.valid.user[x] === u);
    const te = ds.test.item.filter((_, x) => ds.test.user[x] === u);
    assert.equal(va.length, 1);
    assert.equal(te.length, 1);
    assert.notEqual(va[0], te[0]);
    assert.ok(!tr.includes(va[0]!) && !tr.includes(te[0]!));
    assert.equal(tr.length, 4);
  }
  // item training counts match the train split
  const counts = new Int32Array(12);
  for (const i of ds.train.item) counts[i]!++;
  assert.deepEqual([...ds.itemTrainCount], [...counts]);
  assert.match(m.dataHash, /^[0-9a-f]{64}$/);
});

test("temporal split puts each user's last purchase in test", async () => {
  const shop = await makeShop();
  const out = join(tempDir(), 'data');
  await runIngest('folder', shop.dir, { out, imageSize: 16, split: 'temporal', minCategoryCount: 1 }, quiet);
  const ds = loadDataset(out);
  for (let x = 0; x < ds.test.user.length; x++) {
    const u = ds.userIds[ds.test.user[x]!]!;
    const uNum = Number(u.slice(1));
    const expected = shop.items[(uNum + 5 * 2) % 12]; // k = 5 has the latest timestamp
    assert.equal(ds.itemIds[ds.test.item[x]!], expected);
  }
});

test('users below --min-user-items are trained on every purchase and not evaluated', async () => {
  const shop = await makeShop(12, 6, 6);
  appendFileSync(join(shop.dir, 'interactions.csv'), 'lonely,0100,1\nlonely,0101,2\nlonely,0102,3\n');
  const out = join(tempDir(), 'data');
  const m = await runIngest('folder', shop.dir, { out, imageSize: 16, minCategoryCount: 1 }, quiet);
  assert.equal(m.counts.users, 7);
  assert.equal(m.counts.usersBeforeFilter, 7);
  assert.equal(m.counts.evaluatedUsers, 6);
  assert.equal(m.counts.trainOnlyUsers, 1);
  const ds = loadDataset(out);
  const u = ds.userIds.indexOf('lonely');
  assert.ok(u >= 0);
  const bought = Array.from(
    ds.train.item.filter((_, x) => ds.train.user[x] === u),
    (i) => ds.itemIds[i],
  ).sort();
  assert.deepEqual(bought, ['0100', '0101', '0102']);
  assert.ok(!ds.valid.user.includes(u) && !ds.test.user.includes(u));
});

test('a re-ingest reuses every unchanged image and leaves the same dataset hash', async () => {
  const shop = await makeShop();
  const out = join(tempDir(), 'data');
  const a = await runIngest('folder', shop.dir, { out, imageSize: 16, minCategoryCount: 1 }, quiet);
  const b = await runIngest('folder', shop.dir, { out, imageSize: 16, minCategoryCount: 1 }, quiet);
  assert.equal(b.images.reused, 12);
  assert.equal(b.images.decoded, 0);
  assert.equal(a.dataHash, b.dataHash);
  const c = await runIngest('folder', shop.dir, { out, imageSize: 24, minCategoryCount: 1 }, quiet);
  assert.equal(c.images.decoded, 12); // another size is another image
});

test('hm reader: Kaggle layout, leading-zero ids, repeat purchases collapse, photo-less articles left out and counted', async () => {
  const hm = await makeHm({ articleWithoutPhoto: true });
  const out = join(tempDir(), 'data');
  const m = await runIngest('hm', hm.dir, { out, imageSize: 16, minCategoryCount: 1 }, quiet);
  assert.equal(m.counts.items, 10);
  assert.equal(m.leftOut.articlesWithoutPhoto, 1);
  assert.equal(m.counts.interactionRows, 31);
  assert.equal(m.counts.distinctPairs, 30);
  const ds = loadDataset(out);
  assert.ok(ds.itemIds.every((id) => id.startsWith('0')));
  assert.deepEqual(new Set(ds.categories), new Set(['Shoes', 'Garment Upper body']));
  // the colour group is an attribute, aligned with the articles that have a photo (Red, photo-less, is not a class)
  const colour = ds.attributes.find((a) => a.name === 'colour_group_name')!;
  assert.deepEqual(new Set(colour.classes), new Set(['Black', 'White']));
  assert.deepEqual(
    ds.itemIds.map((_, i) => (colour.labels[i]! < 0 ? '' : colour.classes[colour.labels[i]!])),
    ds.itemIds.map((id) => HM_COLOURS[hm.articles.indexOf(id)]),
  );
  // each article's product: its product_code zero-padded, or the first 7 digits of its id when the code is blank
  const productOfId = (id: string) => {
    const code = HM_PRODUCT_CODES[hm.articles.indexOf(id)]!;
    return code ? code.padStart(7, '0') : id.slice(0, 7);
  };
  assert.deepEqual(
    ds.itemIds.map((_, i) => ds.products![ds.itemProduct![i]!]),
    ds.itemIds.map(productOfId),
  );
  assert.deepEqual(new Set(ds.products), new Set(['0108775', '0000555']));
  assert.deepEqual(m.products, { products: 2, items: 10, itemsWithSibling: 10 });
});

test("a shop's product column names each item's product (the product prior), blank for none; it is not an attribute", async () => {
  const shop = await makeShop(12, 6, 6);
  const rows = readFileSync(join(shop.dir, 'items.csv'), 'utf8').trim().split('\n');
  const products = ['p1', 'p1', 'p2', '', 'p3', 'p1', 'p2', 'p4', '', 'p5', 'p5', 'p6'];
  writeFileSync(join(shop.dir, 'items.csv'), [`${rows[0]},product`, ...rows.slice(1).map((r, i) => `${r},${products[i]}`)].join('\n') + '\n');
  const out = join(tempDir(), 'data');
  const m = await runIngest('folder', shop.dir, { out, imageSize: 16, minCategoryCount: 2 }, quiet);
  assert.deepEqual(m.products, { products: 6, items: 10, itemsWithSibling: 7 });
  assert.ok(!(m.attributes ?? []).some((a) => a.name === 'product'));
  const ds = loadDataset(out);
  assert.deepEqual(
    ds.itemIds.map((_, i) => (ds.itemProduct![i]! < 0 ? '' : ds.products![ds.itemProduct![i]!])),
    ds.itemIds.map((id) => products[shop.items.indexOf(id)]),
  );
  // a cut or foreign product list is a clear error naming items.json
  const itemsPath = join(out, 'items.json');
  const items = JSON.parse(readFileSync(itemsPath, 'utf8'));
  writeFileSync(itemsPath, JSON.stringify({ ...items, product: items.product.slice(1) }));
  const n = items.ids.length;
  assert.throws(() => loadDataset(out), new RegExp(`items\\.json.*${n - 1} products for ${n} items`));
  writeFileSync(itemsPath, JSON.stringify({ ...items, product: [7, ...items.product.slice(1)] }));
  assert.throws(() => loadDataset(out), /items\.json.*product of item 0 is 7, not a string or null/);
  // a shop without the column: no products, and the product prior is not offered
  const bare = await makeShop(12, 6, 6);
  const plainOut = join(tempDir(), 'data');
  const pm = await runIngest('folder', bare.dir, { out: plainOut, imageSize: 16, minCategoryCount: 2 }, quiet);
  assert.equal(pm.products, undefined);
  assert.equal(loadDataset(plainOut).itemProduct, undefined);
});

async function expectBad(setup: (dir: string) => void, pattern: RegExp, kind: 'folder' | 'hm' = 'folder') {
  const fx = kind === 'folder' ? await makeShop() : await makeHm();
  setup(fx.dir);
  const out = join(tempDir(), 'data');
  await assert.rejects(runIngest(kind, fx.dir, { out, imageSize: 16, minCategoryCount: 1 }, quiet), (e: unknown) => {
    assert.ok(e instanceof BadInputError, String(e));
    assert.match((e as Error).message, pattern);
    return true;
  });
  // and skip mode goes on, reporting the problem in the manifest
  const m = await runIngest(kind, fx.dir, { out, imageSize: 16, minCategoryCount: 1, onBad: 'skip' }, quiet).catch((e: Error) => e);
  return m;
}

test('bad input: undecodable image names the file; skip drops the item and counts it', async () => {
  const m = await expectBad((d) => writeFileSync(join(d, 'img', '0103.png'), 'not an image'), /0103\.png.*undecodable image/);
  assert.ok(!(m instanceof Error));
  assert.equal(m.counts.items, 11);
  assert.equal(m.problems.byReason['undecodable image'], 1);
  assert.ok(m.problems.byReason['interaction of a left-out item']! > 0);
});

test('bad input: interaction with an item not in the catalogue names file, line and value', async () => {
  const m = await expectBad((d) => appendFileSync(join(d, 'interactions.csv'), 'u1,0999,5\n'), /interactions\.csv:38: item not in items\.csv: '0999'/);
  assert.ok(!(m instanceof Error));
  assert.equal(m.problems.byReason['item not in items.csv'], 1);
  assert.equal(m.problems.items[0]!.line, 38);
});

test('bad input (hm): a bad transaction row stops the photos being decoded alongside, and leaves nothing in the output folder', async () => {
  const fx = await makeHm();
  const tx = join(fx.dir, 'transactions_train.csv');
  const lines = readFileSync(tx, 'utf8').trimEnd().split('\n').length;
  appendFileSync(tx, '2020-09-22,c1,0999999999,0.01,2\n');
  const out = join(tempDir(), 'data');
  await assert.rejects(
    runIngest('hm', fx.dir, { out, imageSize: 16, minCategoryCount: 1 }, quiet),
    new RegExp(`transactions_train\\.csv:${lines + 1}: article not in articles\\.csv: '0999999999'`),
  );
  assert.ok(!existsSync(out) && !existsSync(`${out}.tmp-${process.pid}`));
  const m = await runIngest('hm', fx.dir, { out, imageSize: 16, minCategoryCount: 1, onBad: 'skip' }, quiet);
  assert.equal(m.problems.byReason['article not in articles.csv'], 1);
  assert.equal(m.images.decoded, m.counts.items);
});

test('bad input: missing column', async () => {
  await expectBad((d) => writeFileSync(join(d, 'items.csv'), 'item_id,picture\n0100,img/0100.png\n'), /items\.csv:1: missing column\(s\) 'image'/);
});

test('bad input: empty file', async () => {
  await expectBad((d) => writeFileSync(join(d, 'interactions.csv'), ''), /interactions\.csv: empty file/);
});

test('bad input: duplicate catalogue rows', async () => {
  const m = await expectBad((d) => appendFileSync(join(d, 'items.csv'), '0100,img/0100.png,tops\n'), /items\.csv:14: duplicate item_id: '0100'/);
  assert.ok(!(m instanceof Error));
  assert.equal(m.problems.byReason['duplicate item_id'], 1);
});

test('bad input: a CSV cut in the middle of a row', async () => {
  await expectBad((d) => appendFileSync(join(d, 'interactions.csv'), 'u1,01'), /interactions\.csv:38: row has the wrong number of fields/);
  await expectBad((d) => appendFileSync(join(d, 'articles.csv'), '0108775099,1,"Strap top, cut'), /articles\.csv.*quoted field/, 'hm');
});

test('bad input: missing photo of a purchased article (hm)', async () => {
  await expectBad((d) => rmSync(join(d, 'images', '010', '0108775012.jpg')), /0108775012\.jpg: missing photo of a purchased article/, 'hm');
});

test('an interrupted ingest leaves the previous dataset intact', async () => {
  const shop = await makeShop();
  const out = join(tempDir(), 'data');
  await runIngest('folder', shop.dir, { out, imageSize: 16, minCategoryCount: 1 }, quiet);
  const before = readFileSync(join(out, 'manifest.json'), 'utf8');
  appendFileSync(join(shop.dir, 'interactions.csv'), 'u1,0999,5\n');
  await assert.rejects(runIngest('folder', shop.dir, { out, imageSize: 16, minCategoryCount: 1 }, quiet));
  assert.equal(readFileSync(join(out, 'manifest.json'), 'utf8'), before);
  assert.equal(loadDataset(out).itemIds.length, 12);
  assert.ok(!existsSync(`${out}.tmp-${process.pid}`));
});

test('bad option values name the flag and the value', async () => {
  await assert.rejects(runIngest('folder', '/nowhere', { out: '/tmp/x', imageSize: 'big' }, quiet), /--image-size.*'big'/);
});

test('fashion-mnist reader: simulated shoppers with an oracle AUC, deterministic for a seed', async () => {
  const idx = makeIdx(30);
  const run = async (seed: number) => {
    const out = join(tempDir(), 'data');
    const m = await runIngest('fashion-mnist', idx, { out, imageSize: 16, items: 60, simulateShoppers: 40, minCategoryCount: 1, seed }, quiet);
    return { m, ds: loadDataset(out) };
  };
  const a = await run(3);
  const b = await run(3);
  const c = await run(4);
  assert.equal(a.m.counts.items, 60);
  assert.equal(a.ds.categories.length, 10);
  assert.ok(a.m.oracle && a.m.oracle.testAuc > 0.6, `oracle ${a.m.oracle?.testAuc}`);
  assert.ok(a.ds.simulation && a.ds.simulation.taste.length === a.m.counts.users * a.ds.simulation.dims);
  assert.equal(a.m.dataHash, b.m.dataHash);
  assert.deepEqual([...a.ds.test.item], [...b.ds.test.item]);
  assert.notDeepEqual([...a.ds.train.item], [...c.ds.train.item]);
  // inverted: the background is white
  assert.equal(a.ds.images.all()[0], 255);
});

test('fashion-mnist reader: a wrong idx file names the file and the magic number', async () => {
  const idx = makeIdx(30);
  writeFileSync(join(idx, 'train-labels-idx1-ubyte.gz'), Buffer.from([1, 2, 3]));
  await assert.rejects(
    runIngest('fashion-mnist', idx, { out: join(tempDir(), 'd'), imageSize: 16, items: 20 }, quiet),
    /train-labels-idx1-ubyte\.gz: not a gzip file/,
  );
});

test("a shop's other categorical columns become attributes (ids and names do not; a blank or rare value is no label)", async () => {
  const shop = await makeShop(12, 6, 6);
  const rows = readFileSync(join(shop.dir, 'items.csv'), 'utf8').trim().split('\n');
  const colours = ['red', 'blue', 'red', 'blue', 'red', 'blue', 'red', 'blue', '', 'red', 'blue', 'green'];
  const withMore = [`${rows[0]},colour,name`, ...rows.slice(1).map((r, i) => `${r},${colours[i]},item number ${i}`)];
  writeFileSync(join(shop.dir, 'items.csv'), withMore.join('\n') + '\n');
  const out = join(tempDir(), 'data');
  const m = await runIngest('folder', shop.dir, { out, imageSize: 16, minCategoryCount: 2 }, quiet);
  assert.deepEqual(m.attributes, [{ name: 'colour', classes: 2, labelled: 10 }]);
  const ds = loadDataset(out);
  assert.deepEqual(
    ds.attributes.map((a) => a.name),
    ['category', 'colour'],
  );
  const colour = ds.attributes[1]!;
  const expected = colours.map((c) => (c === '' || c === 'green' ? -1 : colour.classes.indexOf(c)));
  assert.deepEqual(
    ds.itemIds.map((id) => colour.labels[ds.itemIds.indexOf(id)]),
    shop.items.map((id) => expected[shop.items.indexOf(id)]),
  );
  assert.deepEqual([...ds.attributes[0]!.labels].sort(), [...ds.itemCategory].sort());
});

test("each shopper's latest purchase is kept, of the training pairs, of all but the test pair and of all (latest.i32), on both splits", async () => {
  const shop = await makeShop();
  appendFileSync(join(shop.dir, 'interactions.csv'), 'lonely,0100,3\nlonely,0101,1\nlonely,0102,2\n');
  for (const split of ['temporal', 'paper'] as const) {
    const out = join(tempDir(), 'data');
    await runIngest('folder', shop.dir, { out, imageSize: 16, split, minCategoryCount: 1 }, quiet);
    const ds = loadDataset(out);
    assert.ok(ds.latest, 'latest.i32 written and read');
    for (let u = 0; u < ds.userIds.length; u++) {
      const id = ds.userIds[u]!;
      if (id === 'lonely') {
        // trained only: by time 0100 (t = 3) is the latest, though the file lists it first
        assert.equal(ds.itemIds[ds.latest.all[u]!], '0100');
        assert.equal(ds.latest.train[u], ds.latest.all[u]);
        assert.equal(ds.latest.known[u], ds.latest.all[u]);
        continue;
      }
      const n = Number(id.slice(1));
      const itemAt = (k: number) => shop.items[(n + k * 2) % 12];
      assert.equal(ds.itemIds[ds.latest.all[u]!], itemAt(5), `${split} ${id}: k = 5 has the latest time`);
      // the latest of the training pairs: the highest k that is neither validation nor test
      const held = new Set([...ds.valid.item.filter((_, x) => ds.valid.user[x] === u), ...ds.test.item.filter((_, x) => ds.test.user[x] === u)]);
      const k = [5, 4, 3, 2, 1, 0].find((k) => !held.has(ds.itemIds.indexOf(itemAt(k)!)))!;
      assert.equal(ds.itemIds[ds.latest.train[u]!], itemAt(k), `${split} ${id}`);
      if (split === 'temporal') assert.equal(k, 3);
      // the history of the test item: the highest k that is not the test item (temporal: the validation item)
      const testItem = ds.test.item[Array.from(ds.test.user).indexOf(u)]!;
      const known = [5, 4, 3, 2, 1, 0].find((k) => ds.itemIds.indexOf(itemAt(k)!) !== testItem)!;
      assert.equal(ds.itemIds[ds.latest.known[u]!], itemAt(known), `${split} ${id}: latest but the test item`);
      if (split === 'temporal') assert.equal(ds.latest.known[u], ds.valid.item[Array.from(ds.valid.user).indexOf(u)]);
    }
  }
});

test('latest.i32 of an older dataset ([users] × 2: training, all) reads with the training latest as the test history; another length is a clear error', async () => {
  const shop = await makeShop();
  const out = join(tempDir(), 'data');
  await runIngest('folder', shop.dir, { out, imageSize: 16, split: 'temporal', minCategoryCount: 1 }, quiet);
  const now = loadDataset(out).latest!;
  const users = now.train.length;
  const old = new Int32Array(users * 2);
  old.set(now.train, 0);
  old.set(now.all, users);
  writeFileSync(join(out, 'latest.i32'), new Uint8Array(old.buffer));
  const read = loadDataset(out).latest!;
  assert.deepEqual([...read.train], [...now.train]);
  assert.deepEqual([...read.known], [...now.train]);
  assert.deepEqual([...read.all], [...now.all]);
  writeFileSync(join(out, 'latest.i32'), new Uint8Array(new Int32Array(users * 3 + 1).buffer));
  assert.throws(() => loadDataset(out), new RegExp(`latest\\.i32: ${users * 3 + 1} values for ${users} users \\(want ${users * 3}\\)`));
});

test("a re-ingest replaces only a dataset's own files: a folder holding a user's notes or a run is refused and left whole; a linked --out stays a link (issues 34.4, 34.17)", async () => {
  const shop = await makeShop();
  const out = join(tempDir(), 'data');
  await runIngest('folder', shop.dir, { out, imageSize: 16, minCategoryCount: 1 }, quiet);
  writeFileSync(join(out, 'notes.txt'), 'my notes');
  mkdirSync(join(out, 'run'));
  writeFileSync(join(out, 'run', 'manifest.json'), '{}');
  const manifest = readFileSync(join(out, 'manifest.json'), 'utf8');
  await assert.rejects(
    runIngest('folder', shop.dir, { out, imageSize: 16, minCategoryCount: 1 }, quiet),
    (e: Error) => e instanceof BadInputError && e.message.includes(out) && /not the dataset's \(notes\.txt, run\)/.test(e.message),
  );
  assert.equal(readFileSync(join(out, 'notes.txt'), 'utf8'), 'my notes');
  assert.ok(existsSync(join(out, 'run', 'manifest.json')));
  assert.equal(readFileSync(join(out, 'manifest.json'), 'utf8'), manifest);
  // --out a link to a dataset folder: the folder it names is replaced, the link kept
  const real = join(tempDir(), 'real');
  await runIngest('folder', shop.dir, { out: real, imageSize: 16, minCategoryCount: 1 }, quiet);
  const link = join(tempDir(), 'link');
  symlinkSync(real, link);
  await runIngest('folder', shop.dir, { out: link, imageSize: 24, minCategoryCount: 1 }, quiet);
  assert.ok(lstatSync(link).isSymbolicLink(), 'the link is still a link');
  assert.equal(loadDataset(real).manifest.imageSize, 24, 'the dataset it names was replaced');
});

test('bad input: an id with a control character, an overlong row and a huge value are refused with a short, printable excerpt; skipped, they are counted (issues 34.15, 34.18)', async () => {
  const shop = await makeShop();
  const inter = join(shop.dir, 'interactions.csv');
  const good = readFileSync(inter, 'utf8');
  writeFileSync(inter, good + 'u1\u001b[2J\u0000,0101,7\n');
  await assert.rejects(
    runIngest('folder', shop.dir, { out: join(tempDir(), 'data'), imageSize: 16, minCategoryCount: 1 }, quiet),
    (e: Error) =>
      e instanceof BadInputError && e.message.includes(`${inter}:`) && e.message.includes("user_id holds a control character: 'u1\\u001b[2J\\u0000'"),
  );
  const items = join(shop.dir, 'items.csv');
  writeFileSync(inter, good);
  const huge = 'x'.repeat(200_000);
  appendFileSync(items, `9999,img/0100.png,${huge}\n`);
  await assert.rejects(
    runIngest('folder', shop.dir, { out: join(tempDir(), 'data'), imageSize: 16, minCategoryCount: 1 }, quiet),
    (e: Error) => e instanceof BadInputError && e.message.includes(`${items}:`) && /row longer than 65536 characters/.test(e.message) && e.message.length < 600,
  );
  const out = join(tempDir(), 'data');
  const m = await runIngest('folder', shop.dir, { out, imageSize: 16, minCategoryCount: 1, onBad: 'skip' }, quiet);
  assert.equal(loadDataset(out).itemIds.length, 12, 'the overlong row is left out');
  assert.ok(statSync(join(out, 'manifest.json')).size < 50_000, 'the manifest does not carry the huge field');
  assert.ok(m.problems.total >= 1);
});

test("distinct (user, item) pairs: first-appearance order and earliest time, as a map of pairs gives them, without a map's 2^24 limit (issue 35)", () => {
  const rng = new Rng(3);
  const n = 5000;
  const users = new IdMap();
  for (let u = 0; u < 40; u++) users.add(`u${u}`);
  const log = {
    users,
    user: Int32Array.from({ length: n }, () => rng.int(40)),
    item: Int32Array.from({ length: n }, () => rng.int(60)),
    time: Float64Array.from({ length: n }, () => rng.int(1000)),
  };
  const keep = Int32Array.from({ length: 60 }, (_, i) => (i % 7 === 3 ? -1 : i - Math.floor((i + 3) / 7))); // every 7th item left out
  const want = new Map<string, { user: number; item: number; time: number }>();
  for (let r = 0; r < n; r++) {
    const item = keep[log.item[r]!]!;
    if (item < 0) continue;
    const k = `${log.user[r]},${item}`;
    const seen = want.get(k);
    if (!seen) want.set(k, { user: log.user[r]!, item, time: log.time[r]! });
    else seen.time = Math.min(seen.time, log.time[r]!);
  }
  const problems = new Problems('fail');
  const got = distinctPairs(log, keep, 52, problems);
  assert.deepEqual(
    Array.from(got.user, (u, x) => ({ user: u, item: got.item[x]!, time: got.time[x]! })),
    [...want.values()],
  );
  assert.ok(problems.counts['interaction of a left-out item']! > 0);
});

test("dated purchases are split by time unless told otherwise; each shopper's latest basket is every item of their latest purchase time, in each history", async () => {
  const shop = await makeShop();
  // every shopper buys their six items on three days: two on day 1, two on day 2, two on day 3
  const rows = ['user_id,item_id,timestamp'];
  shop.users.forEach((u, n) => [0, 1, 2, 3, 4, 5].forEach((k) => rows.push(`${u},${shop.items[(n + k * 2) % 12]},2024-01-0${1 + Math.floor(k / 2)}`)));
  writeFileSync(join(shop.dir, 'interactions.csv'), rows.join('\n') + '\n');
  const out = join(tempDir(), 'data');
  const m = await runIngest('folder', shop.dir, { out, imageSize: 16, minCategoryCount: 1 }, quiet);
  assert.equal(m.options.split, 'temporal', 'dated purchases: the temporal split by default');
  const ds = loadDataset(out);
  assert.ok(ds.baskets, 'baskets.i32 written and read');
  const of = (h: 'train' | 'known' | 'all', u: number) =>
    [...latestBaskets(ds, h).items.subarray(latestBaskets(ds, h).offsets[u]!, latestBaskets(ds, h).offsets[u + 1]!)].map((i) => ds.itemIds[i]).sort();
  for (let u = 0; u < ds.userIds.length; u++) {
    const n = Number(ds.userIds[u]!.slice(1));
    const itemAt = (k: number) => shop.items[(n + k * 2) % 12]!;
    // test: k = 5 (the last row of day 3); validation: k = 4 (day 3 too); training ends with day 2
    assert.equal(ds.itemIds[ds.test.item[Array.from(ds.test.user).indexOf(u)]!], itemAt(5));
    assert.deepEqual(of('all', u), [itemAt(4), itemAt(5)].sort());
    assert.deepEqual(of('known', u), [itemAt(4)]);
    assert.deepEqual(of('train', u), [itemAt(2), itemAt(3)].sort());
  }
  // the same purchases without dates: the paper split, and a basket is the latest row alone
  writeFileSync(join(shop.dir, 'interactions.csv'), rows.map((r) => r.split(',').slice(0, 2).join(',')).join('\n') + '\n');
  const out2 = join(tempDir(), 'data');
  const m2 = await runIngest('folder', shop.dir, { out: out2, imageSize: 16, minCategoryCount: 1 }, quiet);
  assert.equal(m2.options.split, 'paper');
  const ds2 = loadDataset(out2);
  const all = latestBaskets(ds2, 'all');
  for (let u = 0; u < ds2.userIds.length; u++) assert.deepEqual([...all.items.subarray(all.offsets[u]!, all.offsets[u + 1]!)], [ds2.latest!.all[u]!]);
});

test('a photo cache the disk cannot hold is refused before any photo is decoded, naming the sizes and what to change', async () => {
  const { checkDiskSpace } = await import('../../src/data/images.js');
  const gib = 2 ** 30;
  assert.throws(
    () => checkDiskSpace('/data/out', 3.2 * gib, "the 22,881 photos' cache at 224 px", 1 * gib),
    (e: unknown) =>
      e instanceof BadInputError &&
      /\/data\/out: the 22,881 photos' cache at 224 px needs 3\.26 GiB and the disk has 1\.00 GiB free/.test((e as Error).message) &&
      /--image-size/.test((e as Error).message),
  );
  assert.doesNotThrow(() => checkDiskSpace('/data/out', 3.2 * gib, 'the cache', 4 * gib));
  // the real disk's free space (statfs): a cache larger than any disk is refused
  const shop = await makeShop();
  const out = join(tempDir(), 'data');
  await assert.rejects(
    runIngest('folder', shop.dir, { out, imageSize: 16, minCategoryCount: 1 }, quiet).then(() => checkDiskSpace(out, 2 ** 60, 'a cache of an exabyte')),
    /a cache of an exabyte needs .* GiB and the disk has .* GiB free/,
  );
});

test('H&M tables as Parquet (snappy, pandas-style int64 article ids and timestamps) ingest to the dataset the CSVs give; a bad row is named by its row', async () => {
  const fx = await makeHm();
  const csvOut = join(tempDir(), 'csv');
  const fromCsv = await runIngest('hm', fx.dir, { out: csvOut, imageSize: 16, minCategoryCount: 1 }, quiet);
  // the same tables as Parquet, written as pandas writes a frame read with default dtypes
  const rowsOf = (name: string) => {
    const [head, ...lines] = readFileSync(join(fx.dir, name), 'utf8').trimEnd().split('\n');
    return { head: head!.split(','), lines };
  };
  const articles: Record<string, string>[] = [];
  for await (const { record } of readTable(join(fx.dir, 'articles.csv'), { required: [], problems: new Problems('fail') })) articles.push(record);
  const column = (name: string) => articles.map((r) => r[name]!);
  writeFileSync(
    join(fx.dir, 'articles.parquet'),
    Buffer.from(
      parquetWriteBuffer({
        columnData: [
          { name: 'article_id', data: column('article_id').map((v) => BigInt(v)), type: 'INT64' },
          { name: 'product_code', data: column('product_code').map((v) => (v === '' ? null : BigInt(v))), type: 'INT64' },
          ...['prod_name', 'product_group_name', 'colour_group_name', 'detail_desc'].map((name) => ({ name, data: column(name), type: 'STRING' as const })),
        ],
      }),
    ),
  );
  rmSync(join(fx.dir, 'articles.csv'));
  const tx = rowsOf('transactions_train.csv');
  const txCols = tx.lines.map((l) => l.split(','));
  writeFileSync(
    join(fx.dir, 'transactions_train.parquet'),
    Buffer.from(
      parquetWriteBuffer({
        columnData: [
          { name: 't_dat', data: txCols.map((c) => new Date(`${c[0]}T00:00:00Z`)), type: 'TIMESTAMP' },
          { name: 'customer_id', data: txCols.map((c) => c[1]!), type: 'STRING' },
          { name: 'article_id', data: txCols.map((c) => BigInt(c[2]!)), type: 'INT64' },
          { name: 'price', data: txCols.map((c) => Number(c[3])), type: 'DOUBLE' },
        ],
      }),
    ),
  );
  rmSync(join(fx.dir, 'transactions_train.csv'));
  const pqOut = join(tempDir(), 'parquet');
  const fromParquet = await runIngest('hm', fx.dir, { out: pqOut, imageSize: 16, minCategoryCount: 1 }, quiet);
  assert.deepEqual(fromParquet.counts, fromCsv.counts);
  const a = loadDataset(csvOut);
  const b = loadDataset(pqOut);
  assert.deepEqual(b.itemIds, a.itemIds);
  for (const part of ['train', 'valid', 'test'] as const) {
    assert.deepEqual([...b[part].user], [...a[part].user], part);
    assert.deepEqual([...b[part].item], [...a[part].item], part);
  }
  assert.ok('transactions_train.parquet' in fromParquet.source.fileHashes);
  // a row of an unknown article, and both files at once
  const bad = txCols.map((c) => c.slice());
  bad[3]![2] = '999999999';
  writeFileSync(
    join(fx.dir, 'transactions_train.parquet'),
    Buffer.from(
      parquetWriteBuffer({
        columnData: [
          { name: 't_dat', data: bad.map((c) => c[0]!), type: 'STRING' },
          { name: 'customer_id', data: bad.map((c) => c[1]!), type: 'STRING' },
          { name: 'article_id', data: bad.map((c) => c[2]!), type: 'STRING' },
        ],
      }),
    ),
  );
  await assert.rejects(
    runIngest('hm', fx.dir, { out: join(tempDir(), 'x'), imageSize: 16, minCategoryCount: 1 }, quiet),
    /transactions_train\.parquet row 4: article not in articles\.csv: '0999999999'/,
  );
  writeFileSync(join(fx.dir, 'transactions_train.csv'), 't_dat,customer_id,article_id\n');
  await assert.rejects(
    runIngest('hm', fx.dir, { out: join(tempDir(), 'x'), imageSize: 16, minCategoryCount: 1 }, quiet),
    /both transactions_train\.csv and transactions_train\.parquet are here: keep one/,
  );
});

test("a dataset's manifest is read by its schema: a damaged field is refused by name, not read into a half-valid dataset", async () => {
  const shop = await makeShop();
  const out = join(tempDir(), 'data');
  await runIngest('folder', shop.dir, { out, imageSize: 16, minCategoryCount: 1 }, quiet);
  const path = join(out, 'manifest.json');
  const good = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown> & { counts: Record<string, unknown> };
  assert.equal(loadDataset(out).manifest.counts.items, 12);
  for (const [damage, field] of [
    [(m: typeof good) => (m.counts.items = '12'), /counts\.items/],
    [(m: typeof good) => (m.imageSize = 100_000), /imageSize/],
    [(m: typeof good) => delete m.categories, /categories/],
    [(m: typeof good) => (m.fit = 'stretch'), /fit/],
  ] as const) {
    const m = structuredClone(good);
    damage(m);
    writeFileSync(path, JSON.stringify(m));
    assert.throws(
      () => loadDataset(out),
      (e: unknown) => e instanceof CorruptFileError && field.test((e as Error).message) && (e as Error).message.includes(path),
    );
  }
});
