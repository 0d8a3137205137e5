import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NotFoundError } from '../../src/core/errors.js';
import { dvbprPreset } from '../../src/config/dvbpr.js';
import { imagesTensor, rankingOn, trainDvbprJob, withoutHeldOut } from '../../src/app/train-recommender.js';
import { simpleJob, trainFactorJob } from '../../src/app/train-baselines.js';
import { loadRun } from '../../src/store/run.js';
import { recommend } from '../../src/store/recommend.js';
import type { Recommender } from '../../src/models/recommender.js';
import { plantedDataset } from '../helpers/planted.js';

const ds = plantedDataset();
const dir = () => mkdtempSync(join(tmpdir(), 'atelier-run-'));
const quiet = {};

async function build(kind: string, seed = 1): Promise<{ rec: Recommender; runDir: string }> {
  const out = dir();
  if (kind === 'random' || kind === 'popularity') simpleJob(ds, kind, out, seed);
  else if (kind === 'bpr-mf' || kind === 'vbpr') {
    const features =
      kind === 'vbpr'
        ? {
            data: Float32Array.from({ length: ds.itemIds.length * 2 }, (_, x) => (x % 2 === ds.itemCategory[x >> 1]! ? 1 : 0)),
            dim: 2,
            source: 'planted side one-hot',
          }
        : undefined;
    await trainFactorJob(ds, {
      out,
      kind,
      factors: 4,
      visualFactors: 2,
      lambda: 0.001,
      lambdaE: 0.001,
      lr: 0.05,
      epochs: 4,
      batch: 32,
      seed,
      resume: false,
      features,
      callbacks: quiet,
    });
  } else {
    const images = imagesTensor(ds);
    const cfg = { ...dvbprPreset('tiny', 16), epochs: 6, seed };
    await trainDvbprJob(ds, images, { out, config: cfg, resume: false, callbacks: quiet });
    images.dispose();
  }
  return { rec: loadRun(out).recommender, runDir: out };
}

const kinds = ['random', 'popularity', 'bpr-mf', 'vbpr', 'dvbpr'];
const built = new Map<string, { rec: Recommender; runDir: string }>();
const get = async (k: string) => {
  if (!built.has(k)) built.set(k, await build(k));
  return built.get(k)!;
};

for (const kind of kinds) {
  test(`contract (${kind}): scores every item, finite, deterministic for a seed, unknown user is a typed error`, async () => {
    const { rec } = await get(kind);
    const s = rec.scoreUsers(Int32Array.from([0, 3]));
    assert.equal(s.length, 2 * ds.itemIds.length);
    assert.ok(s.every(Number.isFinite));
    const again = (await build(kind)).rec.scoreUsers(Int32Array.from([0, 3]));
    assert.deepEqual([...again], [...s]);
    assert.throws(() => rec.scoreUsers(Int32Array.from([ds.userIds.length])), NotFoundError);
  });
}

test('contract: a planted visual preference is learned by the visual models, on cold items too; BPR-MF stays at chance on cold items', async () => {
  const auc = async (k: string) => rankingOn(ds, (await get(k)).rec, 'test');
  const dv = await auc('dvbpr');
  const vb = await auc('vbpr');
  const mf = await auc('bpr-mf');
  const rnd = await auc('random');
  // Ceiling 0.75: half the negatives share the liked side (a coin flip), half do not (a sure win).
  assert.ok(dv.coldAuc > 0.7, `DVBPR cold AUC ${dv.coldAuc}`);
  assert.ok(vb.coldAuc > 0.7, `VBPR cold AUC ${vb.coldAuc}`);
  assert.ok(Math.abs(mf.coldAuc - 0.5) < 0.12, `BPR-MF cold AUC ${mf.coldAuc}`);
  assert.ok(Math.abs(rnd.auc - 0.5) < 0.12, `random AUC ${rnd.auc}`);
});

test('recommend: exact top-K with category, cold-only and exclude-bought filters', async () => {
  const run = loadRun((await get('dvbpr')).runDir);
  const [all] = recommend(run.recommender, run.catalogue, ['user0'], { k: Infinity });
  assert.equal(all!.items.length, ds.itemIds.length);
  for (let n = 1; n < all!.items.length; n++) assert.ok(all!.items[n - 1]!.score >= all!.items[n]!.score);
  const [left] = recommend(run.recommender, run.catalogue, ['user0'], { k: 5, category: 'left', coldOnly: true, excludeBought: true });
  assert.equal(left!.items.length, 5);
  for (const it of left!.items) {
    assert.equal(it.category, 'left');
    assert.ok(it.cold);
  }
  // user0 is in the "left" group: its best items overall are left-bar items
  assert.equal(all!.items.slice(0, 10).filter((i) => i.category === 'left').length, 10);
  assert.throws(() => recommend(run.recommender, run.catalogue, ['ghost'], { k: 3 }), /unknown user 'ghost'/);
  assert.throws(() => recommend(run.recommender, run.catalogue, ['user0'], { k: 3, category: 'hats' }), /hats/);
});

test('a new item is scored from its photo alone, consistently with the stored embeddings', async () => {
  const { scoreNewItem } = await import('../../src/store/new-item.js');
  const sharp = (await import('sharp')).default;
  const run = loadRun((await get('dvbpr')).runDir);
  // item 0's own pixels as a PNG: its photo-only score must match its stored catalogue score
  const png = await sharp(Buffer.from(ds.images.all().subarray(0, 16 * 16 * 3)), { raw: { width: 16, height: 16, channels: 3 } })
    .png()
    .toBuffer();
  const r = await scoreNewItem(run, png, 'item0.png');
  const stored = run.recommender.scoreUsers(Int32Array.from([0, 1, 2]));
  for (let u = 0; u < 3; u++) assert.ok(Math.abs(r.scores[u]! - stored[u * ds.itemIds.length]!) < 1e-4, `user ${u}`);
  await assert.rejects(scoreNewItem(run, Buffer.from('nope'), 'bad.jpg'), /bad\.jpg: not a readable image/);
});

test('top-K by heap equals a full sort, ties broken by index', async () => {
  const { topK } = await import('../../src/store/recommend.js');
  const scores = Float32Array.from({ length: 500 }, (_, i) => Math.round(Math.sin(i * 12.9898) * 20) / 4);
  const cand = Array.from(scores.keys()).filter((i) => i % 3 !== 0);
  const full = [...cand].sort((a, b) => scores[b]! - scores[a]! || a - b);
  for (const k of [1, 5, 17, 100]) assert.deepEqual(topK(cand, scores, k), full.slice(0, k));
});

test('withoutHeldOut: every purchase trains (--split none); with keepTest the test items stay held out and the rest trains', () => {
  const pairs = (p: { user: Int32Array; item: Int32Array }) => [...p.user].map((u, x) => `${u}:${p.item[x]}`);
  const all = withoutHeldOut(ds);
  assert.deepEqual(new Set(pairs(all.train)), new Set([...pairs(ds.train), ...pairs(ds.valid), ...pairs(ds.test)]));
  assert.equal(all.valid.user.length + all.test.user.length, 0);
  const refit = withoutHeldOut(ds, true);
  assert.deepEqual(new Set(pairs(refit.train)), new Set([...pairs(ds.train), ...pairs(ds.valid)]));
  assert.equal(refit.valid.user.length, 0);
  assert.deepEqual(pairs(refit.test), pairs(ds.test));
  assert.deepEqual([...refit.sampledNegatives], [...ds.sampledNegatives]);
  // the item counts follow the training pairs; a test item is never counted
  for (const [d, p] of [
    [all, all.train],
    [refit, refit.train],
  ] as const) {
    const want = new Int32Array(ds.itemIds.length);
    for (const i of p.item) want[i]!++;
    assert.deepEqual([...d.itemTrainCount], [...want]);
  }
});
