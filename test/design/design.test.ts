import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GuardRangeCache, maximisePreference, nearestDistances, nearestOf, realTensors, render, type DesignStart } from '../../src/design/maximise.js';
import { oneHot } from '../../src/models/gan.js';
import { quantileOf } from '../../src/core/quantile.js';
import { projectToLatent } from '../../src/design/improve.js';
import { loadGanRun } from '../../src/store/gan-run.js';
import { loadRun, thetaOf } from '../../src/store/run.js';
import { catalogueIsGrey, categoryEmbeddings, designForShopper, designModels, designRequest, distinctiveThetaOf, scoresOf } from '../../src/app/designs.js';
import { noGrad, tensor, tidy, type Tensor } from '../../src/torch/index.js';
import { tinyRuns } from '../helpers/tiny-runs.js';

const ctx = tinyRuns();
const bytes = (ts: Tensor[]) => ts.map((t) => Buffer.from(t.data().buffer));
/** the tiny run and GAN loaded, and the design's models */
async function loaded() {
  const { run, gan } = await ctx;
  const r = loadRun(run);
  const g = loadGanRun(gan);
  return { r, g, m: { gan: g.gan, encoder: r.dvbpr!.encoder } };
}

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
  const res = maximisePreference(
    { gan: g.gan, encoder: r.dvbpr!.encoder },
    { theta: thetaOf(r, r.catalogue.userIds[0]!), category: 0, n: 3, steps: 5, lr: 0.05, eta: 1, seed: 1 },
  );
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
  const res = maximisePreference(
    { gan: g.gan, encoder: r.dvbpr!.encoder },
    { theta: thetaOf(r, r.catalogue.userIds[1]!), category: 1, n: 4, steps: 12, lr: 0.002, eta: 1, seed: 3 },
  );
  const total = res.objective.map((o) => o.reduce((a, b) => a + b, 0));
  for (let s = 1; s < total.length; s++) assert.ok(total[s]! > total[s - 1]!, `step ${s}: ${total[s - 1]} → ${total[s]}`);
});

test('the anchor keeps each design near its own random start, and costs nothing at the start', async () => {
  const { r, m } = await loaded();
  const base = { theta: thetaOf(r, r.catalogue.userIds[2]!), category: 0, n: 4, steps: 20, lr: 0.05, eta: 1, seed: 2 };
  const z0 = maximisePreference(m, { ...base, steps: 0 }).z;
  const free = maximisePreference(m, base);
  const leashed = maximisePreference(m, { ...base, start: { kind: 'random', anchor: 5 } });
  const zDim = z0.length / base.n;
  const dist = (z: Float32Array, a: number) => Math.hypot(...Array.from({ length: zDim }, (_, q) => z[a * zDim + q]! - z0[a * zDim + q]!));
  for (let a = 0; a < base.n; a++) {
    assert.ok(dist(free.z, a) > 0.1, `design ${a} moved ${dist(free.z, a)}`);
    assert.ok(dist(leashed.z, a) < 0.5 * dist(free.z, a), `design ${a}: leashed ${dist(leashed.z, a)} vs free ${dist(free.z, a)}`);
  }
  assert.deepEqual(leashed.objective[0], free.objective[0]); // z = z0 at step 0: the leash is 0
  // a leash belongs to random starts: a code start has its own γ, and the two cannot be written together
  const code = tensor(free.z, [base.n, zDim]);
  // @ts-expect-error: anchor is not a field of a code start
  const mixed: DesignStart = { kind: 'code', z0: code, gamma: 1, anchor: 1 };
  assert.equal(mixed.kind, 'code');
  code.dispose();
});

test('best-of-N starts: the n starts are the n best of the N random codes by the objective', async () => {
  const { r, m } = await loaded();
  const base = { theta: thetaOf(r, r.catalogue.userIds[1]!), category: 1, steps: 0, lr: 0.05, eta: 1, seed: 7 };
  const all = maximisePreference(m, { ...base, n: 32 }).objective[0]!; // the 32 draws, unselected
  const best = maximisePreference(m, { ...base, n: 4, start: { kind: 'random', candidates: 32 } }).objective[0]!;
  const top = [...all].sort((a, b) => b - a).slice(0, 4);
  assert.equal(best.length, 4);
  [...best].sort((a, b) => b - a).forEach((v, i) => assert.ok(Math.abs(v - top[i]!) < 1e-4, `start ${i}: ${v} vs ${top[i]}`));
  assert.throws(() => maximisePreference(m, { ...base, n: 4, start: { kind: 'random', candidates: 3 } }), /candidates must be an integer ≥ n \(4\), got 3/);
});

test("the shell bound: every code lies on ‖z‖ = √d, its starts point where the box's do; a start code cannot take it", async () => {
  const { r, g, m } = await loaded();
  const base = { theta: thetaOf(r, r.catalogue.userIds[1]!), category: 0, n: 4, lr: 0.05, eta: 1, seed: 5 };
  const d = g.gan.config.zDim;
  const norm = (z: Float32Array, a: number) => Math.hypot(...z.subarray(a * d, (a + 1) * d));
  const box0 = maximisePreference(m, { ...base, steps: 0 }).z;
  const shell0 = maximisePreference(m, { ...base, steps: 0, start: { kind: 'random', bound: 'shell' } }).z;
  const shell = maximisePreference(m, { ...base, steps: 6, start: { kind: 'random', bound: 'shell' } });
  for (let a = 0; a < base.n; a++) {
    assert.ok(Math.abs(norm(shell0, a) - Math.sqrt(d)) < 1e-4 * Math.sqrt(d), `start ${a}: ‖z‖ = ${norm(shell0, a)}`);
    assert.ok(Math.abs(norm(shell.z, a) - Math.sqrt(d)) < 1e-4 * Math.sqrt(d), `design ${a}: ‖z‖ = ${norm(shell.z, a)}`);
    assert.ok(Math.abs(norm(box0, a) - Math.sqrt(d)) > 0.1 * Math.sqrt(d), 'the box start is as long as the shell: the test cannot tell them apart');
    // the same N(0, 1) draw w: the box start is tanh(w), the shell's √d · w/‖w‖
    const w = Array.from(box0.subarray(a * d, (a + 1) * d), Math.atanh);
    const wn = Math.hypot(...w);
    w.forEach((v, q) => assert.ok(Math.abs((Math.sqrt(d) * v) / wn - shell0[a * d + q]!) < 1e-2, `start ${a}, coordinate ${q}`));
    assert.ok(Math.hypot(...Array.from({ length: d }, (_, q) => shell.z[a * d + q]! - shell0[a * d + q]!)) > 0.01, `design ${a} did not move`);
  }
  const code = tensor(box0.subarray(0, 4 * d), [4, d]);
  // @ts-expect-error: a code start is a box code, it has no bound
  const onShell: DesignStart = { kind: 'code', z0: code, gamma: 1, bound: 'shell' };
  assert.equal(onShell.kind, 'code');
  code.dispose();
});

test('nearest distances and quantiles by hand', () => {
  // rows (0, 0) and (3, 4) against real rows (0, 1) and (3, 0)
  assert.deepEqual(nearestDistances(Float32Array.from([0, 0, 3, 4]), Float32Array.from([0, 1, 3, 0]), 2), [1, 4]);
  // against a direct search on pseudo-random rows (the libtorch form loses only float32 round-off)
  const rows = (n: number, seed: number) => Float32Array.from({ length: n * 3 }, (_, i) => Math.sin(seed * 97 + i * 12.9898) * 4);
  const qs = rows(5, 1);
  const rs = rows(7, 2);
  const direct = [0, 1, 2, 3, 4].map((i) =>
    Math.sqrt(Math.min(...[0, 1, 2, 3, 4, 5, 6].map((r) => [0, 1, 2].reduce((acc, q) => acc + (qs[i * 3 + q]! - rs[r * 3 + q]!) ** 2, 0)))),
  );
  nearestDistances(qs, rs, 3).forEach((d, i) => assert.ok(Math.abs(d - direct[i]!) < 1e-4, `row ${i}: ${d} against ${direct[i]}`));
  assert.deepEqual(nearestDistances(new Float32Array(0), rs, 3), []);
  // the guard's libtorch form: ‖a‖² + ‖r‖² − 2a·r, its minimum, clamped at 0 (a row on a real item)
  const real = realTensors(Float32Array.from([0, 1, 3, 0]), 2);
  const a = tensor(Float32Array.from([0, 0, 3, 4, 3, 0]), [3, 2]);
  nearestOf(a, real).forEach((d, i) => assert.ok(Math.abs(d - [1, 4, 0][i]!) < 1e-6, `row ${i}: ${d}`));
  a.dispose();
  real.dispose();
  assert.equal(quantileOf([5, 1, 4, 2, 3], 0.95), 5);
  assert.equal(quantileOf([5, 1, 4, 2, 3], 0.4), 2);
  assert.equal(quantileOf([5, 1, 4, 2, 3], 0.05), 1);
});

/** The tiny runs' models, the first category's real items and a shopper's θ, for the guard's tests. */
async function guardSetup() {
  const { r, g, m } = await loaded();
  return { g, m, real: categoryEmbeddings(r, g.manifest.categories[0]!), theta: thetaOf(r, r.catalogue.userIds[3]!) };
}

test("the realism guard: each design is its best step inside the samples' range, or its start; the search itself is unchanged", async () => {
  const { m, real, theta } = await guardSetup();
  const base = { theta, category: 0, n: 6, steps: 40, lr: 0.3, eta: 1, seed: 5 };
  const free = maximisePreference(m, base);
  const guarded = maximisePreference(m, { ...base, start: { kind: 'random', guard: { real, quantile: 0.5 } } });
  assert.deepEqual(guarded.scores, free.scores); // the guard only chooses among the steps
  const gd = guarded.guard!;
  assert.ok(gd.maxDistance > 0 && Number.isFinite(gd.minRealism));
  for (let i = 0; i < base.n; i++) {
    const s = gd.chosenStep[i]!;
    assert.ok(
      Math.abs(guarded.finalScores[i]! - free.scores[s]![i]!) < 1e-4,
      `design ${i}: kept score ${guarded.finalScores[i]} is step ${s}'s ${free.scores[s]![i]}`,
    );
    if (s > 0) {
      assert.ok(gd.distance[i]! <= gd.maxDistance + 1e-4, `design ${i}: distance ${gd.distance[i]} > ${gd.maxDistance}`);
      assert.ok(guarded.realism[i]! >= gd.minRealism - 1e-4, `design ${i}: D ${guarded.realism[i]} < ${gd.minRealism}`);
    }
  }
  // it binds: some designs are kept before their last step, which scores higher (the search left the range)
  assert.ok(
    gd.chosenStep.some((s, i) => s < base.steps && free.scores[base.steps]![i]! > free.scores[s]![i]!),
    `chosen steps ${gd.chosenStep}`,
  );
  assert.ok(
    gd.chosenStep.some((s) => s > 0),
    `chosen steps ${gd.chosenStep}`,
  );
  const code = tensor(free.z, [base.n, free.z.length / base.n]);
  // @ts-expect-error: the guard chooses among a random start's steps; a code start has none
  const guardedCode: DesignStart = { kind: 'code', z0: code, gamma: 1, guard: { real } };
  assert.equal(guardedCode.kind, 'code');
  code.dispose();
  assert.throws(() => maximisePreference(m, { ...base, start: { kind: 'random', guard: { real: new Float32Array(3) } } }), /guard.real must hold rows of K/);
  assert.throws(() => maximisePreference(m, { ...base, start: { kind: 'random', guard: { real, quantile: 0 } } }), /guard.quantile must be in \(0, 1\], got 0/);
});

test("the guard's range cache: the reference samples are drawn once per category, seed and real items, and the designs are the same", async () => {
  const { g, m, real, theta } = await guardSetup();
  const base = { theta, category: 0, n: 3, steps: 4, lr: 0.3, eta: 1, seed: 5 };
  // count the generator's passes: the reference samples are 100 codes, two batches of 64
  const forward = g.gan.generator.forward.bind(g.gan.generator);
  let passes = 0;
  g.gan.generator.forward = (z, c) => (passes++, forward(z, c));
  const count = (f: () => unknown) => ((passes = 0), f(), passes);
  const cache = new GuardRangeCache();
  const guard = { real, quantile: 0.8, references: 100, cache };
  const plain = maximisePreference(m, { ...base, start: { kind: 'random', guard: { real, quantile: 0.8, references: 100 } } });
  let first!: ReturnType<typeof maximisePreference>;
  let again!: ReturnType<typeof maximisePreference>;
  const cold = count(() => (first = maximisePreference(m, { ...base, start: { kind: 'random', guard } })));
  const warm = count(() => (again = maximisePreference(m, { ...base, start: { kind: 'random', guard } })));
  assert.equal(cold - warm, 2, `passes ${cold} then ${warm}`);
  assert.equal(cache.hits, 1);
  for (const d of [first, again]) {
    assert.deepEqual(d.guard, plain.guard);
    assert.deepEqual(Buffer.from(d.images), Buffer.from(plain.images));
  }
  // another seed or other real items (an upload to the category) draw their own range
  count(() => maximisePreference(m, { ...base, seed: 6, start: { kind: 'random', guard } }));
  const moved = Float32Array.from(real, (v, i) => (i === 0 ? v + 1 : v));
  const other = count(() => maximisePreference(m, { ...base, start: { kind: 'random', guard: { ...guard, real: moved } } }));
  assert.equal(other, cold);
  assert.equal(cache.size, 3);
  assert.equal(cache.hits, 1);
  g.gan.generator.forward = forward;
  // bounded: the least recently used range goes first
  const small = new GuardRangeCache(2);
  const range = { maxDistance: 1, minRealism: 0 };
  small.set('a', range);
  small.set('b', range);
  small.get('a');
  small.set('c', range);
  assert.equal(small.size, 2);
  assert.ok(small.get('a') && small.get('c') && !small.get('b'));
});

test('a failure while scoring candidate starts gives G, D and Φ back trainable and in their mode', async () => {
  const { r, g, m } = await loaded();
  g.gan.generator.train(true);
  // θ of the wrong length: Φ(G(z))θ fails inside the candidates' scoring
  assert.throws(() =>
    maximisePreference(m, { theta: new Float32Array(3), category: 0, n: 2, steps: 1, lr: 0.05, eta: 1, seed: 1, start: { kind: 'random', candidates: 8 } }),
  );
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
  const p = projectToLatent(
    { gan: g.gan, encoder: r.dvbpr!.encoder },
    {
      image: ds.images.all().subarray(item * 768, (item + 1) * 768),
      category: g.manifest.categories.indexOf('tops'),
      starts: 4,
      steps: 40,
      lr: 0.05,
      alpha: 0.01,
      seed: 1,
    },
  );
  assert.ok(p.l1.at(-1)! < p.randomL1, `reconstruction L1 ${p.l1.at(-1)} vs random ${p.randomL1}`);
});

test("the 'distinctive' taste maximises (θ_u − θ̄)ᵀΦ but reports the shopper's own θ_uᵀΦ of its designs", async () => {
  const { run, gan, ds } = await ctx;
  const r = loadRun(run);
  const g = loadGanRun(gan);
  const user = ds.userIds[2]!;
  const d = designForShopper(r, g, designRequest(user, 'tops', { n: 3, steps: 3, taste: 'distinctive', seed: 4 }));
  const own = scoresOf(r, thetaOf(r, user), d.design.images, 3, d.design.imageSize);
  d.design.finalScores.forEach((s, a) => assert.ok(Math.abs(s - own[a]!) < 1e-5, "final scores are the shopper's own"));
  const distinct = scoresOf(r, distinctiveThetaOf(r, user), d.design.images, 3, d.design.imageSize);
  d.design.scores.at(-1)!.forEach((s, a) => assert.ok(Math.abs(s - distinct[a]!) < 1e-4, "the trajectory is the objective's"));
  // θ_u − θ̄ sums to zero over shoppers
  const sum = new Float64Array(thetaOf(r, user).length);
  for (const u of ds.userIds) distinctiveThetaOf(r, u).forEach((v, q) => (sum[q]! += v));
  assert.ok(sum.every((v) => Math.abs(v) < 1e-4));
});

test("the paper preset's start: free codes z ~ N(0, 0.5²) (‖z‖ ≈ 0.5√d), left unbounded by the search; record keeps every step's images", async () => {
  const { r, g, m } = await loaded();
  const d = g.gan.config.zDim;
  const base = { theta: thetaOf(r, r.catalogue.userIds[1]!), category: 0, n: 4, lr: 0.05, eta: 1, seed: 5, bound: 'free' as const, initScale: 0.5 };
  const z0 = maximisePreference(m, { ...base, steps: 0 }).z;
  const res = maximisePreference(m, { ...base, steps: 10, record: true });
  const norm = (z: Float32Array, a: number) => Math.hypot(...z.subarray(a * d, (a + 1) * d));
  const norms = Array.from({ length: 4 }, (_, a) => norm(z0, a) / Math.sqrt(d));
  assert.ok(Math.abs(norms.reduce((x, y) => x + y) / 4 - 0.5) < 0.1, `‖z‖/√d of the starts: ${norms}`);
  // free: z is w itself, so some coordinate leaves (−1, 1) where the box could never go
  assert.ok(Array.from(res.z).some((v) => Math.abs(v) > 1));
  assert.equal(res.stepImages!.length, 11);
  assert.deepEqual(Buffer.from(res.stepImages![10]!), Buffer.from(res.images));
  assert.notDeepEqual(Buffer.from(res.stepImages![0]!), Buffer.from(res.stepImages![10]!));
});

test('the ensemble objective equals a hand computation: the worst standardised member, or their mean less their spread, less η(D − 1)²', async () => {
  const { r, g, m } = await loaded();
  const enc = r.dvbpr!.encoder;
  const [t0, t1, t2] = [0, 1, 2].map((u) => thetaOf(r, r.catalogue.userIds[u]!));
  const members = [
    { encoder: enc, theta: t0!, center: 0.5, scale: 2 },
    { encoder: enc, theta: t1!, center: -0.25, scale: 0.5 },
    { encoder: enc, theta: t2!, center: 0, scale: 1 },
  ];
  const base = { theta: t0!, category: 1, n: 3, steps: 0, lr: 0.05, eta: 1, seed: 4 };
  const plain = maximisePreference(m, base);
  // the members' raw scores of the same starts, by hand from Φ of the images the search saw
  const k = t0!.length;
  const z = tensor(plain.z, [3, g.gan.config.zDim]);
  const phi = noGrad(() => tidy(() => enc.forward(render(m, z, oneHot(new Int32Array(3).fill(1), g.gan.categories.length))).data()));
  z.dispose();
  const raw = members.map((e) => [0, 1, 2].map((a) => e.theta.reduce((s, v, q) => s + v * phi[a * k + q]!, 0)));
  const std = members.map((e, j) => raw[j]!.map((x) => (x - e.center) / e.scale));
  for (const combine of ['min', 'mean-std'] as const) {
    const res = maximisePreference(m, { ...base, ensemble: { members, combine } });
    for (let a = 0; a < 3; a++) {
      const col = std.map((s) => s[a]!);
      const mu = col.reduce((x, y) => x + y) / 3;
      const pref = combine === 'min' ? Math.min(...col) : mu - Math.sqrt(col.reduce((s, x) => s + (x - mu) ** 2, 0) / 3);
      const want = pref - (plain.realism[a]! - 1) ** 2;
      assert.ok(Math.abs(res.objective[0]![a]! - want) < 1e-4, `${combine}, design ${a}: ${res.objective[0]![a]} against ${want}`);
      assert.ok(Math.abs(res.scores[0]![a]! - raw[0]![a]!) < 1e-4, 'the proxy reported is the first model');
    }
  }
  assert.throws(() => maximisePreference(m, { ...base, ensemble: { members: members.slice(0, 1), combine: 'min' } }), /at least two members/);
});

test('smoothing: the preference term is the mean over noisy copies, seeded (the same request gives the same designs)', async () => {
  const { r, m } = await loaded();
  const base = { theta: thetaOf(r, r.catalogue.userIds[1]!), category: 0, n: 3, steps: 4, lr: 0.05, eta: 1, seed: 9, smooth: { sigma: 0.3, copies: 3 } };
  const a = maximisePreference(m, base);
  const b = maximisePreference(m, base);
  assert.deepEqual(Buffer.from(a.images), Buffer.from(b.images));
  const plain = maximisePreference(m, { ...base, smooth: undefined });
  assert.deepEqual(a.scores[0], plain.scores[0], 'the proxy scores are of the clean image');
  assert.notDeepEqual(a.objective[0], plain.objective[0], 'the objective sees the noisy copies');
  assert.throws(() => maximisePreference(m, { ...base, smooth: { sigma: 0, copies: 2 } }), /smoothing needs sigma > 0/);
});
