/**
 * Every shopper is trained and served (issue: an encoder that knows fashion): a shopper below
 * --min-user-items gets a taste vector and recommendations; `train dvbpr --split none --like <run>`
 * trains a serving model on every purchase with the settings and best epoch of an evaluated run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { atelier } from './in-process.js';
import { recommendFor } from '../../src/app/evaluate.js';
import { loadDataset } from '../../src/data/dataset.js';
import { makeShop, tempDir } from '../helpers/fixtures.js';

const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));

test('a shopper with three purchases is trained and gets recommendations; --split none --like trains on every purchase', async () => {
  const shop = await makeShop(16, 8, 6);
  appendFileSync(join(shop.dir, 'interactions.csv'), 'few,0100,1\nfew,0103,2\nfew,0105,3\n');
  // a product column: item 01k and 01(k + 8) are one garment in two colours
  const rows = readFileSync(join(shop.dir, 'items.csv'), 'utf8').trim().split('\n');
  writeFileSync(join(shop.dir, 'items.csv'), [`${rows[0]},product`, ...rows.slice(1).map((r, i) => `${r},p${i % 8}`)].join('\n') + '\n');
  const root = tempDir('atelier-shoppers-');
  const data = join(root, 'data');
  assert.equal((await atelier('ingest', 'folder', shop.dir, '--out', data, '--image-size', '16', '--min-category-count', '1')).code, 0);
  const ds = loadDataset(data);
  assert.equal(ds.manifest.counts.trainOnlyUsers, 1);
  assert.equal(ds.manifest.counts.evaluatedUsers, 8);

  const run = join(root, 'run');
  const quiet = ['--preset', 'tiny', '--epochs', '3'];
  const trained = await atelier('train', 'dvbpr', '--data', data, '--out', run, ...quiet);
  assert.equal(trained.code, 0, trained.err);
  const m = manifestOf(run);
  assert.equal(m.dataset.users, 9);
  assert.deepEqual(m.training, { split: 'dataset', pairs: ds.train.user.length, users: 9 });
  assert.equal(m.metrics.test.users, 8, 'the shopper below the threshold is not evaluated');

  // the ranking policy was chosen on validation AUC by coordinate ascent over the priors' grids; recommendations use it unless told otherwise
  const cells = m.ranking.cells as { policy: Record<string, number>; score: number }[];
  assert.deepEqual(cells[0]!.policy, {}, 'the search starts from the model alone');
  const bestCell = Math.max(...cells.map((c) => c.score));
  assert.deepEqual(cells.find((c) => c.score === bestCell)!.policy, m.ranking.policy, 'the policy is the first cell with the best validation AUC');
  assert.equal(m.ranking.chosenOn, ds.manifest.options.split === 'temporal' ? 'next purchase' : 'random purchase');
  assert.ok(
    cells.some((c) => c.policy.product !== undefined),
    'the shop names products: the product prior was tried',
  );
  assert.equal(m.ranking.ablation.length, Object.keys(m.ranking.policy).length, 'one ablation row per chosen prior');
  const [plain] = recommendFor(run, [ds.userIds[0]!], { k: 16, usePolicy: false });
  const scores = plain!.items.map((i) => i.score);
  assert.deepEqual(
    scores,
    [...scores].sort((a, b) => b - a),
    'α = 0: the model order',
  );
  const [strong] = recommendFor(run, [ds.userIds[0]!], { k: 16, usePolicy: false, priors: { popularity: 100 } });
  const bought = (id: string) => ds.itemTrainCount[ds.itemIds.indexOf(id)]!;
  assert.ok(bought(strong!.items[0]!.itemId) >= Math.max(...ds.itemTrainCount), 'a huge α puts the best seller first');

  // the recency prior: standardised model scores plus β·cos with the shopper's latest purchase (0105 for 'few', by time), by hand from the run's embeddings
  const [recent] = recommendFor(run, ['few'], { k: 3, usePolicy: false, priors: { recency: 10 }, excludeBought: true });
  const [model] = recommendFor(run, ['few'], { k: Infinity, usePolicy: false });
  const eBytes = readFileSync(join(run, 'item-embeddings.f32'));
  const e = new Float32Array(eBytes.buffer.slice(eBytes.byteOffset, eBytes.byteOffset + eBytes.byteLength));
  const k = m.embeddings.k as number;
  const latest = ds.itemIds.indexOf('0105');
  const cos = (i: number) => {
    let d = 0;
    let a = 0;
    let b = 0;
    for (let c = 0; c < k; c++) ((d += e[i * k + c]! * e[latest * k + c]!), (a += e[i * k + c]! ** 2), (b += e[latest * k + c]! ** 2));
    return d / Math.sqrt(a * b);
  };
  const raw = new Map(model!.items.map((it) => [it.itemId, it.score]));
  const vals = [...raw.values()];
  const mean = vals.reduce((x, y) => x + y) / vals.length;
  const sd = Math.sqrt(vals.reduce((x, y) => x + (y - mean) ** 2, 0) / vals.length);
  const hand = [...raw]
    .filter(([id]) => !['0100', '0103', '0105'].includes(id))
    .map(([id, v]) => [id, (v - mean) / sd + 10 * cos(ds.itemIds.indexOf(id))] as const);
  hand.sort((x, y) => y[1] - x[1]);
  assert.deepEqual(
    recent!.items.map((i) => i.itemId),
    hand.slice(0, 3).map(([id]) => id),
  );
  recent!.items.forEach((it, n) => assert.ok(Math.abs(it.score - hand[n]![1]) < 1e-4, `${it.itemId}: ${it.score} vs ${hand[n]![1]}`));

  // a huge γ: the shopper's own categories first (by the catalogue's known purchases)
  const [byCategory] = recommendFor(run, ['few'], { k: 3, usePolicy: false, priors: { category: 100 }, excludeBought: true });
  const catOf = (id: string) => ds.categories[ds.itemCategory[ds.itemIds.indexOf(id)]!]!;
  const fewCats = ['0100', '0103', '0105'].map(catOf);
  const top = fewCats.sort((a, b) => fewCats.filter((c) => c === b).length - fewCats.filter((c) => c === a).length)[0]!;
  for (const it of byCategory!.items) assert.equal(it.category, top, `${it.itemId} is not of the shopper's most bought category ${top}`);

  // a huge δ: the other colours of what the shopper bought (0100, 0103, 0105 → 0108, 0111, 0113) first
  const [byProduct] = recommendFor(run, ['few'], { k: 3, usePolicy: false, priors: { product: 100 }, excludeBought: true });
  assert.deepEqual(new Set(byProduct!.items.map((i) => i.itemId)), new Set(['0108', '0111', '0113']));

  const [rec] = recommendFor(run, ['few'], { k: 5, excludeBought: true });
  assert.equal(rec!.items.length, 5);
  for (const bought of ['0100', '0103', '0105']) assert.ok(!rec!.items.some((i) => i.itemId === bought), `${bought} was bought already`);
  assert.ok(rec!.items.every((i) => Number.isFinite(i.score)));

  // the serving model: every purchase, the evaluated run's config, its best epoch as the epoch count
  const serving = join(root, 'serving');
  const deploy = await atelier('train', 'dvbpr', '--data', data, '--out', serving, '--split', 'none', '--like', run);
  assert.equal(deploy.code, 0, deploy.err);
  const s = manifestOf(serving);
  const all = ds.train.user.length + ds.valid.user.length + ds.test.user.length;
  assert.equal(s.training.split, 'none');
  assert.equal(s.training.pairs, all);
  assert.deepEqual(s.training.like, {
    run,
    name: m.name,
    dataHash: m.dataset.dataHash,
    bestEpoch: m.metrics.bestEpoch,
    ranking: m.ranking.policy,
  });
  assert.deepEqual(s.ranking, { policy: m.ranking.policy, chosenOn: 'like' }, 'the serving model recommends with the policy the evaluated run chose');
  assert.deepEqual({ ...s.config, epochs: 0, earlyStopping: 0 }, { ...m.config, epochs: 0, earlyStopping: 0 });
  assert.equal(s.config.epochs, m.metrics.bestEpoch);
  assert.equal(s.history.length, m.metrics.bestEpoch);
  assert.equal(s.metrics.test, undefined, 'nothing held out, nothing measured');
  // a held-out purchase of the evaluated run is one the serving model has seen: it is not recommended again
  const u = ds.test.user[0]!;
  const [again] = recommendFor(serving, [ds.userIds[u]!], { k: 16, excludeBought: true });
  assert.ok(!again!.items.some((i) => i.itemId === ds.itemIds[ds.test.item[0]!]));

  // --like needs an evaluated run: the serving run has no validation to have chosen an epoch on
  const refused = await atelier('train', 'dvbpr', '--data', data, '--out', join(root, 'again'), '--split', 'none', '--like', serving);
  assert.equal(refused.code, 2);
  assert.match(refused.err, /serving\/manifest\.json: --like needs a run evaluated on held-out purchases/);
});
