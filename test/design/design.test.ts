import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { maximisePreference } from '../../src/design/maximise.js';
import { projectToLatent } from '../../src/design/improve.js';
import { loadGanRun } from '../../src/store/gan-run.js';
import { loadRun } from '../../src/store/run.js';
import { catalogueIsGrey, designForShopper, designModels, distinctiveThetaOf, scoresOf, thetaOf } from '../../src/store/designs.js';
import type { Tensor } from '../../src/torch/index.js';
import { tinyRuns } from '../helpers/tiny-runs.js';


const ctx = tinyRuns();
const bytes = (ts: Tensor[]) => ts.map((t) => Buffer.from(t.data().buffer));

test('design updates only the latent codes: every weight of G, D, Φ and θ is bit-identical after', async () => {
  const { run, gan } = await ctx;
  const r = loadRun(run);
  const g = loadGanRun(gan);
  const all = () => [
    ...g.gan.generator.stateDict().values(),
    ...g.gan.discriminator.stateDict().values(),
    ...r.dvbpr!.stateDict().values(), // Φ and θ
  ];
  const before = bytes(all());
  const res = maximisePreference({ gan: g.gan, encoder: r.dvbpr!.encoder }, { theta: thetaOf(r, r.catalogue.userIds[0]!), category: 0, n: 3, steps: 5, lr: 0.05, eta: 1, seed: 1 });
  assert.deepEqual(bytes(all()), before);
  assert.equal(res.images.length, 3 * 16 * 16 * 3);
  assert.equal(res.scores.length, 6);
  // the modules come back as they were: parameters trainable again
  assert.ok(g.gan.generator.parameters().every((p) => p.requiresGrad));
});

test('on a tiny preset each step raises the objective', async () => {
  const { run, gan } = await ctx;
  const r = loadRun(run);
  const g = loadGanRun(gan);
  const res = maximisePreference({ gan: g.gan, encoder: r.dvbpr!.encoder }, { theta: thetaOf(r, r.catalogue.userIds[1]!), category: 1, n: 4, steps: 12, lr: 0.002, eta: 1, seed: 3 });
  const total = res.objective.map((o) => o.reduce((a, b) => a + b, 0));
  for (let s = 1; s < total.length; s++) assert.ok(total[s]! > total[s - 1]!, `step ${s}: ${total[s - 1]} → ${total[s]}`);
});

test('the anchor keeps each design near its own random start, and costs nothing at the start', async () => {
  const { run, gan } = await ctx;
  const r = loadRun(run);
  const g = loadGanRun(gan);
  const m = { gan: g.gan, encoder: r.dvbpr!.encoder };
  const base = { theta: thetaOf(r, r.catalogue.userIds[2]!), category: 0, n: 4, steps: 20, lr: 0.05, eta: 1, seed: 2 };
  const z0 = maximisePreference(m, { ...base, steps: 0 }).z;
  const free = maximisePreference(m, base);
  const leashed = maximisePreference(m, { ...base, anchor: 5 });
  const zDim = z0.length / base.n;
  const dist = (z: Float32Array, a: number) => Math.hypot(...Array.from({ length: zDim }, (_, q) => z[a * zDim + q]! - z0[a * zDim + q]!));
  for (let a = 0; a < base.n; a++) {
    assert.ok(dist(free.z, a) > 0.1, `design ${a} moved ${dist(free.z, a)}`);
    assert.ok(dist(leashed.z, a) < 0.5 * dist(free.z, a), `design ${a}: leashed ${dist(leashed.z, a)} vs free ${dist(free.z, a)}`);
  }
  assert.deepEqual(leashed.objective[0], free.objective[0]); // z = z0 at step 0: the leash is 0
  assert.throws(() => maximisePreference(m, { ...base, anchor: 1, start: { z0: free.z as never, gamma: 1 } }), /anchor applies to random starts/);
});

test('best-of-N starts: the n starts are the n best of the N random codes by the objective', async () => {
  const { run, gan } = await ctx;
  const r = loadRun(run);
  const g = loadGanRun(gan);
  const m = { gan: g.gan, encoder: r.dvbpr!.encoder };
  const base = { theta: thetaOf(r, r.catalogue.userIds[1]!), category: 1, steps: 0, lr: 0.05, eta: 1, seed: 7 };
  const all = maximisePreference(m, { ...base, n: 32 }).objective[0]!; // the 32 draws, unselected
  const best = maximisePreference(m, { ...base, n: 4, candidates: 32 }).objective[0]!;
  const top = [...all].sort((a, b) => b - a).slice(0, 4);
  assert.equal(best.length, 4);
  [...best].sort((a, b) => b - a).forEach((v, i) => assert.ok(Math.abs(v - top[i]!) < 1e-4, `start ${i}: ${v} vs ${top[i]}`));
  assert.throws(() => maximisePreference(m, { ...base, n: 4, candidates: 3 }), /candidates must be an integer ≥ n \(4\), got 3/);
});

test('a failure while scoring candidate starts gives G, D and Φ back trainable and in their mode', async () => {
  const { run, gan } = await ctx;
  const r = loadRun(run);
  const g = loadGanRun(gan);
  const m = { gan: g.gan, encoder: r.dvbpr!.encoder };
  g.gan.generator.train(true);
  // θ of the wrong length: Φ(G(z))θ fails inside the candidates' scoring
  assert.throws(() => maximisePreference(m, { theta: new Float32Array(3), category: 0, n: 2, steps: 1, lr: 0.05, eta: 1, seed: 1, candidates: 8 }));
  for (const mod of [g.gan.generator, g.gan.discriminator, r.dvbpr!.encoder]) assert.ok(mod.parameters().every((p) => p.requiresGrad));
  assert.equal(g.gan.generator.training, true);
});

test('for a grey catalogue designs are drawn grey (R = G = B), and a colour catalogue keeps colour', async () => {
  const { run, gan } = await ctx;
  const r = loadRun(run);
  const g = loadGanRun(gan);
  const isGrey = (u8: Uint8Array) => {
    for (let p = 0; p < u8.length; p += 3) if (u8[p] !== u8[p + 1] || u8[p] !== u8[p + 2]) return false;
    return true;
  };
  assert.equal(catalogueIsGrey(r), false); // the planted catalogue is in colour
  assert.equal(designModels(r, g).grey, false);
  const o = { theta: thetaOf(r, r.catalogue.userIds[0]!), category: 0, n: 2, steps: 3, lr: 0.05, eta: 1, seed: 1 };
  const colour = maximisePreference({ gan: g.gan, encoder: r.dvbpr!.encoder }, o);
  const grey = maximisePreference({ gan: g.gan, encoder: r.dvbpr!.encoder, grey: true }, o);
  assert.equal(isGrey(colour.images), false);
  assert.equal(isGrey(grey.images), true);
  assert.ok(grey.finalScores.every(Number.isFinite));
});

test("improve's reconstruction is closer to the item than a random latent code's image", async () => {
  const { run, gan, ds } = await ctx;
  const r = loadRun(run);
  const g = loadGanRun(gan);
  const item = ds.itemIds.findIndex((_, i) => ds.categories[ds.itemCategory[i]!] === 'tops');
  const p = projectToLatent({ gan: g.gan, encoder: r.dvbpr!.encoder }, { image: ds.images.subarray(item * 768, (item + 1) * 768), category: g.manifest.categories.indexOf('tops'), starts: 4, steps: 40, lr: 0.05, alpha: 0.01, seed: 1 });
  assert.ok(p.l1.at(-1)! < p.randomL1, `reconstruction L1 ${p.l1.at(-1)} vs random ${p.randomL1}`);
});

test('design and improve commands: outputs, and exit code 2 with a clear message on bad input', async () => {
  const { root, run, gan, ds } = await ctx;
  const user = ds.userIds[0]!;
  const out = join(root, 'design-out');
  assert.equal(await main(['node', 'atelier', 'design', '--run', run, '--gan', gan, '--user', user, '--category', 'tops', '--n', '2', '--steps', '3', '--out', out]), 0);
  assert.ok(existsSync(join(out, 'figure.png')) && existsSync(join(out, 'design-01.png')));
  const s = JSON.parse(readFileSync(join(out, 'scores.json'), 'utf8'));
  assert.equal(s.trajectory.scores.length, 4);
  const errs: string[] = [];
  const orig = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => (errs.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    assert.equal(await main(['node', 'atelier', 'design', '--run', run, '--gan', gan, '--user', 'nobody', '--category', 'tops', '--out', out]), 2);
    assert.equal(await main(['node', 'atelier', 'design', '--run', run, '--gan', gan, '--user', user, '--category', 'capes', '--out', out]), 2);
    assert.equal(await main(['node', 'atelier', 'design', '--run', run, '--gan', gan, '--user', user, '--category', 'hats', '--out', out]), 2);
    assert.equal(await main(['node', 'atelier', 'improve', '--run', run, '--gan', gan, '--user', user, '--item', 'no-such-item', '--out', out]), 2);
    assert.equal(await main(['node', 'atelier', 'design', '--run', run, '--gan', gan, '--user', user, '--category', 'tops', '--n', '4', '--candidates', '3', '--out', out]), 2);
  } finally {
    process.stderr.write = orig;
  }
  assert.match(errs[0]!, /unknown user 'nobody'/);
  assert.match(errs[1]!, /unknown category.*'capes'/);
  assert.match(errs[2]!, /left out of training: 1 items.*'hats'/);
  assert.match(errs[3]!, /unknown item 'no-such-item'/);
  assert.match(errs[4]!, /--candidates must be an integer in 4\.\.65536, got '3'/);
  const imp = join(root, 'improve-out');
  const item = ds.itemIds.find((_, i) => ds.categories[ds.itemCategory[i]!] === 'shoes')!;
  assert.equal(await main(['node', 'atelier', 'improve', '--run', run, '--gan', gan, '--user', user, '--item', item, '--steps', '3', '--out', imp]), 0);
  assert.ok(existsSync(join(imp, 'improved.png')));
});

test("the 'distinctive' taste maximises (θ_u − θ̄)ᵀΦ but reports the shopper's own θ_uᵀΦ of its designs", async () => {
  const { run, gan, ds } = await ctx;
  const r = loadRun(run);
  const g = loadGanRun(gan);
  const user = ds.userIds[2]!;
  const d = designForShopper(r, g, { userId: user, category: 'tops', n: 3, steps: 3, taste: 'distinctive', seed: 4 });
  const own = scoresOf(r, thetaOf(r, user), d.design.images, 3, d.design.imageSize);
  d.design.finalScores.forEach((s, a) => assert.ok(Math.abs(s - own[a]!) < 1e-5, 'final scores are the shopper\'s own'));
  const distinct = scoresOf(r, distinctiveThetaOf(r, user), d.design.images, 3, d.design.imageSize);
  d.design.scores.at(-1)!.forEach((s, a) => assert.ok(Math.abs(s - distinct[a]!) < 1e-4, 'the trajectory is the objective\'s'));
  // θ_u − θ̄ sums to zero over shoppers
  const sum = new Float64Array(thetaOf(r, user).length);
  for (const u of ds.userIds) distinctiveThetaOf(r, u).forEach((v, q) => (sum[q]! += v));
  assert.ok(sum.every((v) => Math.abs(v) < 1e-4));
});
