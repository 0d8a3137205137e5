/** The simulated utility of an image: a real garment's is its hidden taste; an image far from every garment earns little. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runIngest } from '../../src/app/ingest.js';
import { createProgress } from '../../src/app/progress.js';
import { loadDataset } from '../../src/data/dataset.js';
import { garmentImages, garmentSet } from '../../src/data/garments.js';
import { hiddenFeatures, hiddenScores } from '../../src/data/simulate.js';
import { GarmentUtility } from '../../src/eval/utility.js';
import { makeIdx, tempDir } from '../helpers/fixtures.js';

/** A Fashion-MNIST fixture of 2·perClass garments, the shop selling `items` of them to simulated shoppers. */
async function fixture(perClass: number, items: number, shoppers: number) {
  const out = join(tempDir(), 'data');
  await runIngest(
    'fashion-mnist',
    makeIdx(perClass),
    { out, imageSize: 16, items, simulateShoppers: shoppers, minUserItems: 3, minCategoryCount: 1 },
    createProgress({ quiet: true }),
  );
  return loadDataset(out);
}

test('simulated utility: a real garment scores its hidden taste, sold or not; an image far from every garment scores low', async () => {
  const ds = await fixture(40, 30, 12); // 80 garments, of which the shop sells 30
  const set = garmentSet(ds);
  assert.equal(set.count, 80);
  assert.equal(
    set.inShop.reduce((a, b) => a + b, 0),
    30,
  );
  const judge = new GarmentUtility(ds, set);
  try {
    const sim = ds.simulation!;
    const n = ds.itemIds.length;
    const per = 16 * 16 * 3;
    const users = Array.from({ length: n }, (_, i) => i % ds.userIds.length);
    const u = judge.of(users, ds.images.all(), n);
    const feats = hiddenFeatures(sim, ds.images.all(), n);
    for (let i = 0; i < n; i++) {
      const taste = hiddenScores(sim, users[i]!, feats.subarray(i * sim.dims, (i + 1) * sim.dims))[0]!;
      assert.ok(Math.abs(u.utility[i]! - taste) < 1e-9, `item ${i}: utility ${u.utility[i]} against hidden taste ${taste}`);
      assert.equal(u.distance[i], 0);
      assert.ok(u.inShop[i]);
    }
    assert.deepEqual(judge.ofItems(users[3]!, [3]), [u.utility[3]]);
    // within its own category a garment is still itself; asked as another category it is far from every garment of that one
    const own3 = ds.categories[ds.itemCategory[3]!]!;
    const other = ds.categories.find((c) => c !== own3)!;
    const img3 = ds.images.all().subarray(3 * per, 4 * per);
    const asOwn = judge.of([users[3]!], img3, 1, own3);
    assert.equal(asOwn.distance[0], 0);
    assert.equal(asOwn.utility[0], u.utility[3]);
    const asOther = judge.of([users[3]!], img3, 1, other);
    assert.ok(asOther.distance[0]! > 0);
    assert.equal(set.category[asOther.nearest[0]!], other);
    assert.throws(() => judge.of([0], img3, 1, 'capes'), /no garment of the category 'capes'/);
    // a garment the shop does not sell: its own reference entry, its own taste
    const unsold = Array.from(set.inShop.keys()).find((j) => !set.inShop[j])!;
    const dims = sim.dims;
    const own = hiddenScores(sim, 0, set.features.subarray(unsold * dims, (unsold + 1) * dims))[0]!;
    const img = new Uint8Array(per);
    for (let k = 0; k < 256; k++) img[k * 3] = img[k * 3 + 1] = img[k * 3 + 2] = Math.round(255 * set.pools[unsold * 256 + k]!); // grid 16 at 16 px: one pixel a block
    const v = judge.of([0], img, 1);
    assert.ok(Math.abs(v.utility[0]! - own) < 0.05 * sim.sharpness, `unsold garment: ${v.utility[0]} against ${own}`);
    assert.equal(v.inShop[0], false);
    // a checkerboard is far from every garment: below the worst real garment's utility for every shopper
    const checker = new Uint8Array(per);
    for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) checker.fill((x + y) % 2 ? 0 : 255, (y * 16 + x) * 3, (y * 16 + x) * 3 + 3);
    for (let s = 0; s < ds.userIds.length; s++) {
      const c = judge.of([s], checker, 1);
      const worst = Math.min(
        ...judge.ofItems(
          s,
          Array.from({ length: n }, (_, i) => i),
        ),
      );
      assert.ok(c.distance[0]! > 3 * judge.radius, `the checkerboard is ${c.distance[0]} from its nearest garment, r = ${judge.radius}`);
      assert.ok(c.utility[0]! < worst, `shopper ${s}: checkerboard ${c.utility[0]} against the worst garment ${worst}`);
    }
  } finally {
    judge.dispose();
  }
});

test('garmentImages: a shop garment is its catalogue photo, any other is scaled as the ingest scales it; each reads as itself, its utility its hidden taste', async () => {
  const ds = await fixture(20, 12, 6); // 40 garments, of which the shop sells 12
  const set = garmentSet(ds);
  const utility = new GarmentUtility(ds, set);
  try {
    const per = 16 * 16 * 3;
    const all = Array.from({ length: set.count }, (_, j) => j);
    const u8 = garmentImages(ds, set, all);
    set.shopIndex.forEach((j, item) => assert.deepEqual(u8.subarray(j * per, (j + 1) * per), ds.images.row(item)));
    const users = all.map((j) => j % ds.userIds.length);
    const u = utility.of(users, u8, set.count);
    const dims = ds.simulation!.dims;
    all.forEach((j) => {
      assert.equal(u.distance[j], 0, `garment ${j} is its own nearest`);
      const taste = hiddenScores(ds.simulation!, users[j]!, set.features.subarray(j * dims, (j + 1) * dims))[0]!;
      assert.ok(Math.abs(u.utility[j]! - taste) < 1e-9);
    });
  } finally {
    utility.dispose();
  }
});
