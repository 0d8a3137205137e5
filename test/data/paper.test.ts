/**
 * `atelier ingest paper`: the authors' released .npy layout, read from files written by
 * scripts/paper-fixture.py (Python 2's pickling imitated) and checked against what NumPy itself reads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, openSync, readdirSync, truncateSync, writeSync, closeSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { runIngest } from '../../src/app/ingest.js';
import { createProgress } from '../../src/app/progress.js';
import { BadInputError } from '../../src/core/errors.js';
import { loadDataset, prepareDataset, type Dataset } from '../../src/data/dataset.js';
import { Problems } from '../../src/data/problems.js';
import { paperSource } from '../../src/data/read-paper.js';
import { makePaperNpy, numpyReadsPaper, python, tempDir } from '../helpers/fixtures.js';

const quiet = createProgress({ quiet: true });
const colourOf = (i: number) => [(i * 37 + 11) % 256, (i * 91 + 53) % 256, (i * 13 + 101) % 256];

const rowsOf = (p: Dataset['train'], ids: string[]) => Array.from(p.user, (u, x) => [Number(ids[u]!.slice(1, 6)), p.item[x]!]);

function assertPixels(ds: Dataset, itemIndex: (k: number) => number): void {
  const s = ds.imageSize;
  for (let k = 0; k < ds.itemIds.length; k++) {
    const want = colourOf(itemIndex(k));
    const at = (k * s * s + Math.floor(s / 2) * s + Math.floor(s / 2)) * 3;
    const got = [...ds.images.all().subarray(at, at + 3)];
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(got[c]! - want[c]!) <= 4, `item ${k} pixel ${got} against ${want}`);
  }
}

test("ingest paper keeps the authors' split, every item, 'c' categories, asins and pixels (as NumPy reads the file)", async () => {
  const file = makePaperNpy({ withC: true, users: 12, items: 20 });
  const want = numpyReadsPaper(file);
  const out = join(tempDir(), 'data');
  const m = await runIngest('paper', file, { out, imageSize: 16 }, quiet);
  const ds = loadDataset(out);
  assert.deepEqual(
    { users: m.counts.users, items: m.counts.items, train: m.counts.train, valid: m.counts.valid, test: m.counts.test },
    { users: 12, items: 20, train: want.train.length, valid: 12, test: 12 },
  );
  assert.equal(m.split.kind, 'authors');
  // the split is the file's, row for row (users numbered as in the file: ids are the reviewerIDs)
  assert.deepEqual(ds.userIds.slice(0, 2), ['A00000X', 'A00001X']);
  assert.deepEqual(rowsOf(ds.train, ds.userIds), want.train);
  assert.deepEqual(rowsOf(ds.valid, ds.userIds), want.valid);
  assert.deepEqual(rowsOf(ds.test, ds.userIds), want.test);
  assert.deepEqual(ds.itemIds, want.asin);
  assert.deepEqual(ds.categories, ['c0', 'c1', 'c2', 'c3', 'c4', 'c5']);
  assert.deepEqual(Array.from(ds.itemCategory), want.category);
  assert.deepEqual(
    m.categories.map((c) => c.items),
    [0, 1, 2, 3, 4, 5].map((k) => want.category.filter((c) => c === k).length),
  );
  assertPixels(ds, (k) => k);
  // items nobody trained on are kept, as many as the file has
  const trained = new Set(want.train.map(([, i]) => i));
  assert.ok(trained.size < 20, 'the fixture has items without a training review');
  assert.equal(m.split.itemsWithoutTraining, 20 - trained.size);
});

test("ingest paper without 'c', Item as a dict, photos left in the file until used: one category, the same pixels", async () => {
  const file = makePaperNpy({ container: 'dict', users: 9, items: 15 });
  const want = numpyReadsPaper(file);
  const read = async (lazyBytes: number) => {
    const out = join(tempDir(), 'data');
    const m = await prepareDataset(paperSource(file, { imageSize: 12, fit: 'letterbox', problems: new Problems('fail'), lazyBytes }), out, {
      imageSize: 12,
      fit: 'letterbox',
      split: 'paper',
      minUserItems: 5,
      minCategoryCount: 50,
      seed: 1,
      problems: new Problems('fail'),
    });
    return { m, ds: loadDataset(out) };
  };
  const lazy = await read(16); // every JPEG (and the longer titles) read from the file when used
  const eager = await read(1 << 20);
  assert.deepEqual(lazy.ds.categories, ['all']);
  assert.equal(lazy.m.counts.items, 15);
  assert.deepEqual(rowsOf(lazy.ds.train, lazy.ds.userIds), want.train);
  assert.deepEqual(lazy.ds.itemIds, want.asin);
  assert.deepEqual(Buffer.from(lazy.ds.images.all()), Buffer.from(eager.ds.images.all()));
  assertPixels(lazy.ds, (k) => k);
  assert.equal(lazy.m.dataHash, eager.m.dataHash);
});

/** The ingest fails with exit-code-2 BadInputError matching `message`, and leaves nothing in or beside --out. */
async function refused(file: string, message: RegExp, extra: Record<string, unknown> = {}): Promise<void> {
  const parent = tempDir();
  const out = join(parent, 'data');
  await assert.rejects(runIngest('paper', file, { out, imageSize: 16, ...extra }, quiet), (e: unknown) => {
    assert.ok(e instanceof BadInputError, String(e));
    assert.match((e as Error).message, message);
    assert.ok((e as Error).message.includes(file), 'the message names the file');
    return true;
  });
  assert.equal(existsSync(out), false);
  assert.deepEqual(readdirSync(parent), []);
}

test('ingest paper refuses a truncated file, naming where it ends and the opcode it cut', async () => {
  const file = makePaperNpy({ withC: true });
  const cut = join(dirname(file), 'cut.npy');
  copyFileSync(file, cut);
  truncateSync(cut, Math.floor(statSync(file).size * 0.6));
  await refused(cut, /truncated: the pickle ends at byte \d+ inside the opcode at byte offset \d+/);
});

test('ingest paper refuses a wrong magic, a non-object .npy and an opcode it does not read', async () => {
  const file = makePaperNpy();
  const noMagic = join(dirname(file), 'magic.npy');
  copyFileSync(file, noMagic);
  const fd = openSync(noMagic, 'r+');
  writeSync(fd, Buffer.from('PK'), 0, 2, 0);
  closeSync(fd);
  await refused(noMagic, /not a \.npy file: it does not start with the magic/);
  const floats = join(dirname(file), 'floats.npy');
  python(['-c', 'import numpy as np, sys; np.save(sys.argv[1], np.zeros(3))', floats]);
  await refused(floats, /holds a '<f8' array, not the pickled object array/);
  await refused(makePaperNpy({ bad: 'opcode' }), /pickle opcode 0x8c \(SHORT_BINUNICODE\) is not supported at byte offset \d+/);
});

test('ingest paper refuses a productid outside [0, itemnum), naming the user and the review', async () => {
  await refused(makePaperNpy({ users: 12, items: 20, bad: 'productid' }), /productid outside \[0, itemnum = 20\): 'user_train\[11\]\[0\]\['productid'\] = 20'/);
});

test('ingest paper: an undecodable photo names the item; with --on-bad skip the item and its reviews are left out and counted', async () => {
  const file = makePaperNpy({ withC: true, users: 12, items: 20, bad: 'image' });
  const want = numpyReadsPaper(file);
  const bad = want.train.find(([u]) => u === 1)![1]!; // the fixture's broken photo: user 1's first purchase
  await refused(file, new RegExp(`Item\\[${bad}\\]: undecodable image`));
  const out = join(tempDir(), 'data');
  const m = await runIngest('paper', file, { out, imageSize: 16, onBad: 'skip' }, quiet);
  const ds = loadDataset(out);
  assert.equal(m.counts.items, 19);
  assert.equal(m.problems.byReason['undecodable image'], 1);
  const reviewsOfBad = [...want.train, ...want.valid, ...want.test].filter(([, i]) => i === bad).length;
  assert.ok(reviewsOfBad > 0);
  assert.equal(m.problems.byReason['interaction of a left-out item'], reviewsOfBad);
  assert.equal(m.counts.train + m.counts.valid + m.counts.test, want.train.length + want.valid.length + want.test.length - reviewsOfBad);
  assert.deepEqual(
    ds.itemIds,
    want.asin.filter((_, i) => i !== bad),
  );
  assertPixels(ds, (k) => (k >= bad ? k + 1 : k));
});

test('ingest paper refuses a duplicate, empty or unprintable asin and a NaN or overlong c, naming the item; an all-zero c is no category (issues 34.5, 34.15)', async () => {
  await refused(makePaperNpy({ withC: true, bad: 'dup-asin' }), /Item\[3\] and Item\[7\] have the same id 'B00000003'/);
  await refused(makePaperNpy({ withC: true, bad: 'empty-asin' }), /Item\[5\]\['asin'\] empty/);
  await refused(makePaperNpy({ withC: true, bad: 'esc-asin' }), /Item\[4\]\['asin'\] holds a control character: 'B\\u001b\[31mred\\u0000'/);
  await refused(makePaperNpy({ withC: true, bad: 'nan-c' }), /Item\[2\]\['c'\]\[0\] is NaN/);
  await refused(makePaperNpy({ withC: true, bad: 'long-c' }), /Item\[2\]\['c'\] has 1000 entries/);
  const out = join(tempDir(), 'data');
  await runIngest('paper', makePaperNpy({ withC: true, bad: 'zero-c' }), { out, imageSize: 16 }, quiet);
  const ds = loadDataset(out);
  assert.equal(ds.categories[ds.itemCategory[2]!], 'unknown', 'an all-zero c names no category (before: c0, the first)');
  assert.equal(ds.categories[ds.itemCategory[8]!], 'c2', 'the one-hots beside it keep theirs');
});
