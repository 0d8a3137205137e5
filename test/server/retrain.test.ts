/**
 * Training never destroys what a served run folder gained (issue: nothing a user owns is
 * destroyed): a retrain into the folder keeps every uploaded item (re-embedded by the new model) and
 * every design; a retrain killed at any moment leaves the old run or the new one, whole; a model
 * that cannot embed photos is refused before it trains; a failed resume leaves the run as it was.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { embedWithRun } from '../../src/app/designs.js';
import { imagesTensor, trainDvbprJob } from '../../src/app/train-recommender.js';
import { simpleJob } from '../../src/app/train-baselines.js';
import { dvbprPreset } from '../../src/config/dvbpr.js';
import { BadInputError } from '../../src/core/errors.js';
import { buildServer } from '../../src/server/app.js';
import { CatalogueStore } from '../../src/store/catalogue-db.js';
import { loadRun } from '../../src/store/run.js';
import { DvbprScorer } from '../../src/models/dvbpr.js';
import { tempDir } from '../helpers/fixtures.js';
import { multipart, photo } from '../helpers/http.js';
import { tinyRuns } from '../helpers/tiny-runs.js';

const base = tinyRuns();
const retrainConfig = { ...dvbprPreset('tiny', 16), epochs: 1, seed: 7 };

/** A copy of the tiny run served with two uploads (201 each) and one design record; returns the upload ids. */
async function servedWithUploads(): Promise<{ dir: string; uploads: string[] }> {
  const t = await base;
  const dir = join(tempDir('atelier-retrain-'), 'run');
  cpSync(t.run, dir, { recursive: true });
  const store = CatalogueStore.open(dir);
  const app = await buildServer({ run: loadRun(dir), store, designsDir: join(dir, 'served') });
  const uploads = ['kept-red', 'kept-blue'];
  for (const [n, id] of uploads.entries()) {
    const body = multipart([
      { name: 'category', value: 'tops' },
      { name: 'itemId', value: id },
      { name: 'photo', value: await photo(n ? 20 : 220, 30, n ? 220 : 20), filename: `${id}.png` },
    ]);
    const r = await app.inject({ method: 'POST', url: '/items', ...body });
    assert.equal(r.statusCode, 201, r.body);
  }
  store.recordDesign({ id: 'd-1', userId: t.ds.userIds[0]!, kind: 'design', category: 'tops', result: { designs: [] } });
  await app.close();
  store.close();
  return { dir, uploads };
}

/** Every upload is in the catalogue, recommendable through the server, with the embedding the run's own encoder gives its photo. */
async function assertUploadsServed(dir: string, uploads: string[]): Promise<void> {
  const run = loadRun(dir);
  const scorer = run.recommender as DvbprScorer;
  for (const id of uploads) {
    const i = run.catalogue.itemIndex.get(id);
    assert.ok(i !== undefined, `${id} is gone`);
    const own = embedWithRun(run, run.catalogue.addedPixels.get(i)!, 1, run.manifest.dataset.imageSize);
    const stored = scorer.embeddingsOf(Int32Array.of(i));
    for (let q = 0; q < own.length; q++) assert.ok(Math.abs(own[q]! - stored[q]!) < 1e-4, `${id}: its stored embedding is not this model's`);
  }
  const store = CatalogueStore.open(dir);
  try {
    assert.deepEqual(
      store.allDesigns().map((d) => d.id),
      ['d-1'],
    );
    const app = await buildServer({ run, store, designsDir: join(dir, 'served') });
    const user = run.catalogue.userIds[0]!;
    const recs = (await app.inject(`/users/${user}/recommendations?k=1000`)).json();
    for (const id of uploads)
      assert.ok(
        recs.items.some((it: { itemId: string }) => it.itemId === id),
        `${id} is not recommended`,
      );
    for (const id of uploads) assert.equal((await app.inject(`/items/${id}/image`)).statusCode, 200);
    await app.close();
  } finally {
    store.close();
  }
}

const createdAt = (dir: string) => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')).createdAt as string;

test('a retrain into a served run keeps its uploads (re-embedded by the new model) and its designs', async () => {
  const { ds } = await base;
  const { dir, uploads } = await servedWithUploads();
  const before = createdAt(dir);
  const images = imagesTensor(ds);
  await trainDvbprJob(ds, images, { out: dir, config: retrainConfig, resume: false, callbacks: {} });
  images.dispose();
  assert.notEqual(createdAt(dir), before, 'the run was not retrained');
  await assertUploadsServed(dir, uploads);
  // their photos are where the catalogue says, and the next upload's sweep leaves them there
  const store = CatalogueStore.open(dir);
  const app = await buildServer({ run: loadRun(dir), store, designsDir: join(dir, 'served') });
  const r = await app.inject({
    method: 'POST',
    url: '/items',
    ...multipart([
      { name: 'category', value: 'tops' },
      { name: 'photo', value: await photo(90, 200, 90), filename: 'g.png' },
    ]),
  });
  assert.equal(r.statusCode, 201, r.body);
  await app.close();
  for (const path of store.imagePaths()) if (path.startsWith('uploads')) assert.ok(existsSync(join(dir, path)), `${path} was swept`);
  assert.equal([...store.imagePaths()].filter((p) => p.startsWith('uploads')).length, 3);
  store.close();
});

for (const [fault, outcome] of [
  ['run-commit:staged', 'the old run'],
  ['run-commit:moving', 'the new run'],
] as const) {
  test(`a retrain killed at ${fault} leaves ${outcome}, whole, with every upload served`, async () => {
    const { ds } = await base;
    const { dir, uploads } = await servedWithUploads();
    const before = createdAt(dir);
    const script = `
      import { imagesTensor, trainDvbprJob } from './src/app/train-recommender.ts';
      import { dvbprPreset } from './src/config/dvbpr.ts';
      import { loadDataset } from './src/data/dataset.ts';
      const [data, out] = process.argv.slice(-2);
      const ds = loadDataset(data);
      await trainDvbprJob(ds, imagesTensor(ds), { out, config: { ...dvbprPreset('tiny', 16), epochs: 1, seed: 7 }, resume: false, callbacks: {} });`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, ds.dir, dir], {
      env: { ...process.env, ATELIER_FAULT: fault },
      encoding: 'utf8',
    });
    assert.equal(child.signal, 'SIGKILL', child.stderr);
    await assertUploadsServed(dir, uploads); // loading finishes or discards the cut commit
    if (outcome === 'the old run') assert.equal(createdAt(dir), before);
    else assert.notEqual(createdAt(dir), before);
    assert.ok(!existsSync(join(dir, '.commit')), 'the commit folder was left behind');
  });
}

test('a model that cannot embed photos is refused before it trains into a folder with uploads; a failed resume leaves the run as it was', async () => {
  const { ds } = await base;
  const { dir, uploads } = await servedWithUploads();
  const before = createdAt(dir);
  assert.throws(
    () => simpleJob(ds, 'popularity', dir, 1),
    (e: unknown) => e instanceof BadInputError && /holds 2 item\(s\) uploaded/.test(e.message),
  );
  // a resume with another K fails on the checkpoint: nothing of the run is touched
  const images = imagesTensor(ds);
  await assert.rejects(() =>
    trainDvbprJob(ds, images, {
      out: dir,
      config: { ...retrainConfig, encoder: { ...retrainConfig.encoder, k: retrainConfig.encoder.k + 1 } },
      resume: true,
      callbacks: {},
    }),
  );
  images.dispose();
  assert.equal(createdAt(dir), before);
  await assertUploadsServed(dir, uploads);
});

test('a retrain at another image size into a served run with uploads is refused before it trains, naming the sizes (issue 34.9)', async () => {
  const { ds } = await base;
  const { dir, uploads } = await servedWithUploads();
  const before = createdAt(dir);
  const images = imagesTensor(ds);
  const bigger = { ...ds, imageSize: 24 }; // the same shop ingested at 24 px
  await assert.rejects(
    () =>
      trainDvbprJob(bigger, images, {
        out: dir,
        config: { ...retrainConfig, encoder: { ...retrainConfig.encoder, inputSize: 24 } },
        resume: false,
        callbacks: {},
      }),
    (e: unknown) =>
      e instanceof BadInputError &&
      /holds 2 item\(s\) uploaded to the served run at 16 px \(first 'kept-red'\); this dataset is 24 px/.test((e as Error).message),
  );
  images.dispose();
  assert.equal(createdAt(dir), before);
  await assertUploadsServed(dir, uploads);
});
