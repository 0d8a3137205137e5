/** The server answering recommendations through the run's LanceDB index. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { buildServer } from '../../src/server/app.js';
import { CatalogueStore } from '../../src/store/catalogue-db.js';
import { indexRun, LanceIndex } from '../../src/store/lance-index.js';
import { loadRun, runPolicy } from '../../src/store/run.js';
import { tempDir } from '../helpers/fixtures.js';
import { tinyRuns } from '../helpers/tiny-runs.js';

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
  const exactApp = await buildServer({ run, designsDir: join(dir, 'served') });
  // the model alone, and a ranking policy (the index nominates, the policy ranks): the index's answer is the exact one
  for (const q of ['prior=0', 'prior=1&prior-popularity=2&prior-category=0.3&prior-recency=3']) {
    const viaIndex = (await app.inject(`/users/${u}/recommendations?k=5&category=tops&${q}`)).json();
    assert.equal(viaIndex.index, 'lance');
    const exact = (await exactApp.inject(`/users/${u}/recommendations?k=5&category=tops&${q}`)).json();
    assert.deepEqual(viaIndex.policy, exact.policy);
    assert.deepEqual(
      viaIndex.items.map((i: { itemId: string }) => i.itemId),
      exact.items.map((i: { itemId: string }) => i.itemId),
      q,
    );
    viaIndex.items.forEach((it: { score: number }, r: number) =>
      assert.ok(Math.abs(it.score - exact.items[r].score) < 1e-4, `${q}: ${it.score} vs ${exact.items[r].score}`),
    );
  }
  const withPolicy = await app.inject(`/users/${u}/recommendations?k=5&prior=1`);
  assert.equal(withPolicy.statusCode, 200, withPolicy.body);
  assert.deepEqual(withPolicy.json().policy, runPolicy(run.manifest), "the run's policy by default");
  // a prior this shop cannot have (it names no products) is the client's error, on both paths
  for (const a of [app, exactApp]) {
    const r = await a.inject(`/users/${u}/recommendations?prior-product=1`);
    assert.equal(r.statusCode, 400, r.body);
    assert.match(r.json().error.message, /prior product: not available/);
  }
  await exactApp.close();
  assert.equal((await app.inject(`/users/${u}/recommendations?category=capes`)).statusCode, 404);
  // an upload goes into the index too
  const boundary = 'b0undary';
  const png = await sharp({ create: { width: 20, height: 20, channels: 3, background: { r: 250, g: 250, b: 0 } } })
    .png()
    .toBuffer();
  const payload = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\ncontent-disposition: form-data; name="category"\r\n\r\ntops\r\n--${boundary}\r\ncontent-disposition: form-data; name="photo"; filename="y.png"\r\ncontent-type: image/png\r\n\r\n`,
    ),
    png,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const added = await app.inject({ method: 'POST', url: '/items', payload, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } });
  assert.equal(added.statusCode, 201, added.body);
  const fan = added.json().topShoppers[0].userId;
  const recs = (await app.inject(`/users/${fan}/recommendations?k=1000&coldOnly=true`)).json();
  assert.ok(
    recs.items.some((i: { itemId: string }) => i.itemId === added.json().itemId),
    'the new item is in the index',
  );
  await app.close();
  store.close();
  index.close();
});
