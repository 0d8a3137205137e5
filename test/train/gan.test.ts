import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { CancelledError } from '../../src/core/errors.js';
import type { StepEvent } from '../../src/train/events.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/train/checkpoint.js';
import type { LoopState } from '../../src/train/loop.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ganPreset, type GanConfig } from '../../src/config/gan.js';
import { ConditionalGan, oneHot } from '../../src/models/gan.js';
import { discriminatorLoss, discriminatorStep, discriminatorStepJoint, generatorLoss, generatorStep } from '../../src/train/gan-steps.js';
import { itemDrawer, trainGan, wrongCategories } from '../../src/train/gan.js';
import { Rng } from '../../src/core/rng.js';
import { drawLatent, generate } from '../../src/eval/gan-quality.js';
import { toInput } from '../../src/models/encoder.js';
import { Adam, Generator, keep, liveTensors, loadSafetensors, randn, tensor, tidy, type Tensor } from '../../src/torch/index.js';
import { plantedDataset } from '../helpers/planted.js';

const cfg = { ...ganPreset('tiny', 16), batch: 16 };

function bytes(ts: Tensor[]): Buffer[] {
  return ts.map((t) => Buffer.from(t.data().buffer));
}

test('generator and discriminator shapes', () => {
  const gan = new ConditionalGan(cfg, ['a', 'b', 'c'], 1);
  tidy(() => {
    const x = gan.generator.forward(randn([5, cfg.zDim], new Generator(1)), oneHot(Int32Array.from([0, 1, 2, 0, 1]), 3));
    assert.deepEqual(x.shape, [5, 3, 16, 16]);
    const v = x.data();
    assert.ok(v.every((p) => p >= -1 && p <= 1));
    assert.deepEqual(gan.discriminator.forward(x, oneHot(Int32Array.from([0, 1, 2, 0, 1]), 3)).shape, [5]);
  });
  gan.dispose();
});

test("the projection discriminator adds ⟨φ(x, c), E c⟩ to the paper's output, and trains its embedding in D steps only", () => {
  const pcfg = { ...cfg, projection: true };
  const plain = new ConditionalGan(cfg, ['a', 'b', 'c'], 4);
  const proj = new ConditionalGan(pcfg, ['a', 'b', 'c'], 4);
  const names = [...proj.discriminator.stateDict().keys()];
  assert.ok(names.includes('embed.weight') && !names.includes('embed.bias'));
  assert.ok(![...plain.discriminator.stateDict().keys()].some((k) => k.startsWith('embed')));
  // the same weights elsewhere: load the projection D's into the plain one
  const state = new Map([...proj.discriminator.stateDict()].filter(([k]) => !k.startsWith('embed')));
  plain.discriminator.loadStateDict(state, 'test');
  plain.discriminator.eval();
  proj.discriminator.eval();
  const cats = Int32Array.from([0, 2, 1, 2]);
  tidy(() => {
    const x = randn([4, 3, 16, 16], new Generator(5)).tanh();
    const c = oneHot(cats, 3);
    const phi = proj.discriminator.features(x, c).data();
    const e = proj.discriminator.embed!.weight.data(); // [F, C]
    const f = phi.length / 4;
    const a = plain.discriminator.forward(x, c).data();
    const b = proj.discriminator.forward(x, c).data();
    for (let r = 0; r < 4; r++) {
      let dot = 0;
      for (let k = 0; k < f; k++) dot += phi[r * f + k]! * e[k * 3 + cats[r]!]!;
      assert.ok(Math.abs(dot) > 1e-4, 'the projection term is not negligible');
      assert.ok(Math.abs(b[r]! - a[r]! - dot) < 1e-4 * (1 + Math.abs(dot)), `row ${r}: ${b[r]} − ${a[r]} ≠ ${dot}`);
    }
  });
  proj.discriminator.train();
  const optD = new Adam(proj.discriminator.trainableParameters(), { lr: 1e-2, beta1: 0.5, beta2: 0.99 });
  const optG = new Adam(proj.generator.trainableParameters(), { lr: 1e-2, beta1: 0.5, beta2: 0.99 });
  const real = tidy(() => keep(tensor(plantedDataset().images.range(0, 4), [4, 16, 16, 3])));
  const cond = keep(oneHot(cats, 3));
  const gen = new Generator(6);
  const embed0 = bytes([proj.discriminator.embed!.weight]);
  tidy(() => generatorStep(proj, optG, cond, randn([4, cfg.zDim], gen)));
  assert.deepEqual(bytes([proj.discriminator.embed!.weight]), embed0, 'G step changed the embedding');
  tidy(() => discriminatorStep(proj, optD, real, cond, randn([4, cfg.zDim], gen)));
  assert.notDeepEqual(bytes([proj.discriminator.embed!.weight]), embed0, 'D step left the embedding alone');
  [real, cond].forEach((t) => t.dispose());
  optD.dispose();
  optG.dispose();
  plain.dispose();
  proj.dispose();
});

test('LSGAN losses equal the formulas on a hand-made batch', () => {
  tidy(() => {
    const dReal = tensor(Float32Array.from([0.5, 1.5]));
    const dFake = tensor(Float32Array.from([0.2, -0.4]));
    // D: ½[mean((D(x)−1)²) + mean(D(G(z))²)] = ½[(0.25 + 0.25)/2 + (0.04 + 0.16)/2] = 0.175
    assert.ok(Math.abs(discriminatorLoss(dReal, dFake).item() - 0.175) < 1e-6);
    // G: mean((D(G(z))−1)²) = (0.64 + 1.96)/2 = 1.3
    assert.ok(Math.abs(generatorLoss(dFake).item() - 1.3) < 1e-6);
    // with the mismatch term, weight 2: + 2·½·mean(D(x, c′)²) = (0.09 + 0.01)/2 = 0.05
    const dWrong = tensor(Float32Array.from([0.3, -0.1]));
    assert.ok(Math.abs(discriminatorLoss(dReal, dFake, dWrong, 2).item() - 0.225) < 1e-6);
    assert.ok(Math.abs(discriminatorLoss(dReal, dFake, dWrong, 0).item() - 0.175) < 1e-6);
  });
});

test('wrong categories: never the own one, uniform over the others, refused with one category', () => {
  const rng = new Rng(3);
  const cats = Int32Array.from({ length: 3000 }, (_, i) => i % 3);
  const wrong = wrongCategories(cats, 3, rng);
  const counts = [0, 0, 0].map(() => [0, 0, 0]);
  wrong.forEach((w, i) => counts[cats[i]!]![w]!++);
  counts.forEach((row, c) => {
    assert.equal(row[c], 0, `category ${c} drawn as its own wrong one`);
    row.forEach((n, w) => w !== c && assert.ok(Math.abs(n - 500) < 80, `category ${c} → ${w}: ${n} of 1000`));
  });
  assert.throws(() => wrongCategories(Int32Array.of(0, 0), 1, rng), /at least two categories, got 1/);
});

test('with the mismatch term, D learns to score real images lower under the wrong category', () => {
  const ds = plantedDataset({ items: 64 });
  const real = tidy(() => keep(tensor(ds.images.all().subarray(0, 32 * 16 * 16 * 3), [32, 16, 16, 3])));
  const cats = ds.itemCategory.slice(0, 32);
  const cond = keep(oneHot(cats, 2));
  const wrongCond = keep(
    oneHot(
      Int32Array.from(cats, (c) => 1 - c),
      2,
    ),
  );
  const gap = (weight: number) => {
    const gan = new ConditionalGan(cfg, ['left', 'right'], 4);
    const opt = new Adam(gan.discriminator.trainableParameters(), { lr: 2e-3, beta1: 0.5, beta2: 0.99 });
    const gen = new Generator(9);
    for (let i = 0; i < 40; i++) tidy(() => discriminatorStep(gan, opt, real, cond, randn([32, cfg.zDim], gen), { cond: wrongCond, weight }));
    gan.discriminator.eval();
    const g = tidy(() => gan.discriminator.forward(toInput(real), cond).mean().item() - gan.discriminator.forward(toInput(real), wrongCond).mean().item());
    opt.dispose();
    gan.dispose();
    return g;
  };
  const without = gap(0);
  const withTerm = gap(1);
  assert.ok(withTerm > 0.3, `D(x, c) − D(x, c′) = ${withTerm} with the term`);
  assert.ok(withTerm > without + 0.2, `with the term ${withTerm}, without ${without}`);
  for (const t of [real, cond, wrongCond]) t.dispose();
});

test("a G step leaves D's weights and batch-norm statistics bit-identical, a D step leaves G's, and neither leaks tensors", () => {
  const gan = new ConditionalGan(cfg, ['a', 'b'], 2);
  const optD = new Adam(gan.discriminator.trainableParameters(), { lr: 1e-2, beta1: 0.5, beta2: 0.99 });
  const optG = new Adam(gan.generator.trainableParameters(), { lr: 1e-2, beta1: 0.5, beta2: 0.99 });
  const gen = new Generator(3);
  const real = tidy(() => keep(tensor(plantedDataset().images.range(0, 4), [4, 16, 16, 3])));
  const cond = keep(oneHot(Int32Array.from([0, 1, 0, 1]), 2));
  const before = liveTensors();
  for (let i = 0; i < 3; i++) {
    const d0 = bytes(gan.discriminator.parameters());
    const dState0 = bytes([...gan.discriminator.stateDict().values()]);
    const dBuffers0 = bytes(gan.discriminator.namedBuffers().map(([, t]) => t));
    const g0 = bytes(gan.generator.parameters());
    tidy(() => generatorStep(gan, optG, cond, randn([4, cfg.zDim], gen)));
    assert.deepEqual(bytes(gan.discriminator.parameters()), d0, 'G step changed D');
    assert.deepEqual(bytes([...gan.discriminator.stateDict().values()]), dState0, "G step moved D's batch-norm running statistics");
    assert.notDeepEqual(bytes(gan.generator.parameters()), g0, 'G step did not change G');
    const g1 = bytes(gan.generator.parameters());
    tidy(() => discriminatorStep(gan, optD, real, cond, randn([4, cfg.zDim], gen)));
    assert.deepEqual(bytes(gan.generator.parameters()), g1, 'D step changed G');
    assert.notDeepEqual(bytes(gan.discriminator.parameters()), d0, 'D step did not change D');
    assert.notDeepEqual(bytes(gan.discriminator.namedBuffers().map(([, t]) => t)), dBuffers0, "D step did not move D's running statistics");
  }
  assert.equal(liveTensors(), before);
  gan.dispose();
});

test('the D step back-propagating its halves one at a time gives bit-identical weights to one joint backward', () => {
  const real = tidy(() => keep(tensor(plantedDataset().images.range(0, 4), [4, 16, 16, 3])));
  const cond = keep(oneHot(Int32Array.from([0, 1, 0, 1]), 2));
  const wrongCond = keep(oneHot(Int32Array.from([1, 0, 1, 0]), 2));
  const trained = (step: typeof discriminatorStep, weight = 0) => {
    const gan = new ConditionalGan(cfg, ['a', 'b'], 4);
    const opt = new Adam(gan.discriminator.trainableParameters(), { lr: 1e-2, beta1: 0.5, beta2: 0.99 });
    const gen = new Generator(9);
    const losses = Array.from({ length: 3 }, () =>
      tidy(() => step(gan, opt, real, cond, randn([4, cfg.zDim], gen), weight ? { cond: wrongCond, weight } : undefined)),
    );
    const state = [...gan.discriminator.stateDict().values()];
    const out = { losses, weights: bytes(state) };
    opt.dispose();
    gan.dispose();
    return out;
  };
  const split = trained(discriminatorStep);
  const joint = trained(discriminatorStepJoint);
  assert.deepEqual(split.weights, joint.weights);
  split.losses.forEach((l, i) => assert.ok(Math.abs(l - joint.losses[i]!) < 1e-6, `loss ${l} vs ${joint.losses[i]}`));
  assert.notEqual(split.losses[0], split.losses[2]);
  // with the mismatch term, three contributions meet in .grad in another order than one backward
  // sums them (equal up to round-off, which Adam's first steps can amplify): compare the gradients
  const gradients = (step: typeof discriminatorStep, weight: number) => {
    const gan = new ConditionalGan(cfg, ['a', 'b'], 4);
    const opt = new Adam(gan.discriminator.trainableParameters(), { lr: 1e-12, beta1: 0.5, beta2: 0.99 });
    tidy(() => step(gan, opt, real, cond, randn([4, cfg.zDim], new Generator(9)), weight ? { cond: wrongCond, weight } : undefined));
    const g = gan.discriminator.trainableParameters().map((p) => Float64Array.from(p.grad!.data() as Float32Array));
    opt.dispose();
    gan.dispose();
    return g;
  };
  const splitM = gradients(discriminatorStep, 0.5);
  const jointM = gradients(discriminatorStepJoint, 0.5);
  const plain = gradients(discriminatorStep, 0);
  const scale = Math.max(...splitM.map((g) => Math.max(...g.map(Math.abs))));
  splitM.forEach((g, i) => g.forEach((x, k) => assert.ok(Math.abs(x - jointM[i]![k]!) <= 1e-5 * scale, `gradient ${i}[${k}]: ${x} vs ${jointM[i]![k]}`)));
  const moved = splitM.reduce((s, g, i) => s + g.reduce((a, x, k) => a + Math.abs(x - plain[i]![k]!), 0), 0);
  assert.ok(moved > 1e-3 * scale, `the mismatch term changed the gradients by ${moved}`);
  real.dispose();
  cond.dispose();
  wrongCond.dispose();
});

async function run(
  dir: string,
  epochs: number,
  snapshots: number,
  resume: boolean,
  ds = plantedDataset({ items: 64 }),
  lrD?: number,
  extra: Partial<GanConfig> = {},
  stop?: { signal: AbortSignal; onStep: (e: StepEvent) => void },
) {
  const images = tidy(() => keep(tensor(ds.images.all(), [ds.itemIds.length, 16, 16, 3])));
  const gan = new ConditionalGan(cfg, ['left', 'right'], 5);
  const r = await trainGan({
    dir,
    gan,
    images,
    itemCategory: ds.itemCategory,
    config: { ...cfg, epochs, batch: 16, lr: 2e-3, ...(lrD !== undefined ? { lrD } : {}), beta1: 0.5, beta2: 0.99, snapshots, seed: 5, ...extra },
    resume,
    callbacks: stop ? { onStep: stop.onStep } : {},
    ...(stop ? { signal: stop.signal } : {}),
    snapshot: async (index) => ({ frechet: 10 - index }),
  });
  images.dispose();
  return { gan, r };
}

test('GAN resume continues exactly (also with the mismatch term, whose wrong categories come from the saved RNG)', async () => {
  for (const extra of [{}, { mismatch: 1 }]) {
    const a = mkdtempSync(join(tmpdir(), 'atelier-gan-'));
    const b = mkdtempSync(join(tmpdir(), 'atelier-gan-'));
    (await run(a, 4, 2, false, undefined, undefined, extra)).gan.dispose();
    (await run(b, 2, 1, false, undefined, undefined, extra)).gan.dispose(); // "interrupted" at the first snapshot
    (await run(b, 4, 2, true, undefined, undefined, extra)).gan.dispose();
    const ta = loadSafetensors(join(a, 'checkpoint.safetensors')).tensors;
    const tb = loadSafetensors(join(b, 'checkpoint.safetensors')).tensors;
    for (const [k, v] of ta) assert.deepEqual(Buffer.from(tb.get(k)!.data().buffer), Buffer.from(v.data().buffer), k);
  }
});

test('a GAN run resumed to more epochs goes on if its snapshots keep their places, and is refused with a message if not', async () => {
  const a = mkdtempSync(join(tmpdir(), 'atelier-gan-'));
  (await run(a, 2, 2, false)).gan.dispose(); // 4 steps per epoch: snapshots at steps 4 and 8
  const longer = await run(a, 3, 3, true); // snapshots at 4, 8, 12: one more
  assert.deepEqual(
    longer.r.history.map((h) => h.step),
    [4, 8, 12],
  );
  longer.gan.dispose();
  await assert.rejects(() => run(a, 4, 2, true), /evaluated at steps \[4, 8, 12\].*put the marks at \[8, 16\]/);
  await assert.rejects(() => run(a, 2, 2, true), /at least as many epochs/);
});

test("the discriminator's own learning rate drives its optimiser only (absent: the generator's)", async () => {
  const ds = plantedDataset({ items: 64 });
  const init = new ConditionalGan(cfg, ['left', 'right'], 5);
  const d0 = init.discriminator.parameters().map((p) => p.data());
  const moved = (g: ConditionalGan) => g.discriminator.parameters().reduce((s, p, i) => s + p.data().reduce((a, v, k) => a + Math.abs(v - d0[i]![k]!), 0), 0);
  const same = await run(mkdtempSync(join(tmpdir(), 'atelier-gan-')), 1, 1, false, ds);
  const explicit = await run(mkdtempSync(join(tmpdir(), 'atelier-gan-')), 1, 1, false, ds, 2e-3);
  const slow = await run(mkdtempSync(join(tmpdir(), 'atelier-gan-')), 1, 1, false, ds, 2e-5);
  for (const part of ['generator', 'discriminator'] as const) {
    const e = explicit.gan[part].stateDict();
    for (const [k, v] of same.gan[part].stateDict()) assert.deepEqual(Buffer.from(e.get(k)!.data().buffer), Buffer.from(v.data().buffer), `${part}.${k}`);
  }
  assert.ok(moved(slow.gan) < moved(same.gan) / 20, `D moved ${moved(slow.gan)} at lrD 2e-5 against ${moved(same.gan)} at 2e-3`);
  for (const g of [init, same.gan, explicit.gan, slow.gan]) g.dispose();
});

test('on a two-category toy set, generated images agree with their category above chance', async () => {
  const ds = plantedDataset({ items: 200 });
  const { gan } = await run(mkdtempSync(join(tmpdir(), 'atelier-gan-')), 25, 1, false, ds);
  gan.generator.eval();
  // a rule that knows the toy: the dark bar is on the left or on the right
  const side = (img: Uint8Array, n: number) => {
    let left = 0;
    let right = 0;
    for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) x < 8 ? (left += img[(n * 256 + y * 16 + x) * 3]!) : (right += img[(n * 256 + y * 16 + x) * 3]!);
    return left < right ? 0 : 1; // darker half
  };
  let agree = 0;
  for (const c of [0, 1]) {
    const imgs = tidy(() => generate(gan, c, randn([50, cfg.zDim], new Generator(9 + c))).data<'uint8'>());
    for (let n = 0; n < 50; n++) agree += side(imgs, n) === c ? 1 : 0;
  }
  assert.ok(agree / 100 > 0.75, `agreement ${agree}%`);
});

const flat = (state: Map<string, Tensor>) => [...state.values()].map((t) => Array.from(t.data(), Number));

test("the generator's weight average: snapshots see the average of the raw generator, training and D follow the raw weights", async () => {
  // the GAN is built here, so that every step's generator can be watched
  const ds = plantedDataset({ items: 64 });
  const watch = async (emaSteps: number) => {
    const images = tidy(() => keep(tensor(ds.images.all(), [ds.itemIds.length, 16, 16, 3])));
    const gan = new ConditionalGan(cfg, ['left', 'right'], 5);
    const raw: number[][][] = [flat(gan.generator.stateDict())];
    const seen: number[][][] = [];
    const r = await trainGan({
      dir: mkdtempSync(join(tmpdir(), 'atelier-gan-')),
      gan,
      images,
      itemCategory: ds.itemCategory,
      config: { ...cfg, epochs: 2, batch: 16, lr: 2e-3, beta1: 0.5, beta2: 0.99, snapshots: 2, seed: 5, emaSteps },
      resume: false,
      callbacks: { onStep: () => void raw.push(flat(gan.generator.stateDict())) },
      snapshot: async (index) => (seen.push(flat(gan.generator.stateDict())), { frechet: 10 - index }),
    });
    images.dispose();
    return { gan, r, raw, seen };
  };
  const plain = await watch(0);
  const avg = await watch(3);
  assert.equal(avg.raw.length, 9); // the initial weights and 8 steps (4 per epoch)
  assert.deepEqual(avg.raw, plain.raw, 'averaging changed the raw generator');
  for (const [k, v] of plain.gan.discriminator.stateDict())
    assert.deepEqual(Array.from(avg.gan.discriminator.stateDict().get(k)!.data()), Array.from(v.data()), `D.${k}`);
  // by hand: decay 1 − 1/3 after every step, from the initial weights; snapshots after steps 4 and 8
  const decay = 1 - 1 / 3;
  let a = avg.raw[0]!.map((t) => t.slice());
  const expected: number[][][] = [];
  avg.raw.slice(1).forEach((w, s) => {
    a = a.map((t, i) => t.map((x, j) => decay * x + (1 - decay) * w[i]![j]!));
    if ((s + 1) % 4 === 0) expected.push(a.map((t) => t.slice()));
  });
  assert.equal(avg.seen.length, 2);
  let worst = 0;
  avg.seen.forEach((snap, n) => snap.forEach((t, i) => t.forEach((x, j) => (worst = Math.max(worst, Math.abs(x - expected[n]![i]![j]!))))));
  assert.ok(worst < 1e-5, `snapshot weights differ from the hand average by ${worst}`);
  // the snapshots without averaging are the raw weights; with it they differ from them
  assert.deepEqual(plain.seen, [plain.raw[4], plain.raw[8]]);
  assert.notDeepEqual(avg.seen[1], avg.raw[8]);
  // the best snapshot (the last: frechet 10 − index) keeps the averaged generator and the raw D
  const bestG = [...avg.r.best].filter(([k]) => k.startsWith('G.')).map(([, t]) => Array.from(t.data(), Number));
  bestG.forEach((t, i) => t.forEach((x, j) => assert.ok(Math.abs(x - expected[1]![i]![j]!) < 1e-5)));
  // after training the generator holds its raw weights again
  assert.deepEqual(flat(avg.gan.generator.stateDict()), avg.raw[8]);
  for (const x of [plain, avg]) x.gan.dispose();
});

test("GAN resume with the generator's weight average continues exactly, and an unaveraged checkpoint is not resumed with it", async () => {
  const a = mkdtempSync(join(tmpdir(), 'atelier-gan-'));
  const b = mkdtempSync(join(tmpdir(), 'atelier-gan-'));
  const ema = { emaSteps: 3, categoryPower: 0.5 };
  (await run(a, 4, 2, false, undefined, undefined, ema)).gan.dispose();
  (await run(b, 2, 1, false, undefined, undefined, ema)).gan.dispose();
  (await run(b, 4, 2, true, undefined, undefined, ema)).gan.dispose();
  const ta = loadSafetensors(join(a, 'checkpoint.safetensors')).tensors;
  const tb = loadSafetensors(join(b, 'checkpoint.safetensors')).tensors;
  assert.ok([...ta.keys()].some((k) => k.startsWith('avg.')));
  for (const [k, v] of ta) assert.deepEqual(Buffer.from(tb.get(k)!.data().buffer), Buffer.from(v.data().buffer), k);
  const c = mkdtempSync(join(tmpdir(), 'atelier-gan-'));
  (await run(c, 2, 1, false)).gan.dispose();
  await assert.rejects(() => run(c, 4, 2, true, undefined, undefined, ema), /no averaged weights/);
});

test('GAN training cancelled between snapshots writes a checkpoint of that step; --resume from it ends exactly where the uninterrupted run does', async () => {
  const ema = { emaSteps: 3, mismatch: 1 };
  const a = mkdtempSync(join(tmpdir(), 'atelier-gan-'));
  (await run(a, 4, 2, false, undefined, undefined, ema)).gan.dispose();
  const b = mkdtempSync(join(tmpdir(), 'atelier-gan-'));
  const abort = new AbortController();
  await assert.rejects(
    run(b, 4, 2, false, undefined, undefined, ema, { signal: abort.signal, onStep: (e) => e.globalStep === 5 && abort.abort() }),
    (e: Error) => e instanceof CancelledError && /GAN training \(stopped at step 5 of \d+/.test(e.message),
  );
  assert.equal((JSON.parse(readFileSync(join(b, 'checkpoint.json'), 'utf8')) as { step: number }).step, 5);
  const resumed = await run(b, 4, 2, true, undefined, undefined, ema);
  resumed.gan.dispose();
  const ta = loadSafetensors(join(a, 'checkpoint.safetensors')).tensors;
  const tb = loadSafetensors(join(b, 'checkpoint.safetensors')).tensors;
  assert.deepEqual([...tb.keys()].sort(), [...ta.keys()].sort());
  for (const [k, v] of ta) assert.deepEqual(Buffer.from(tb.get(k)!.data().buffer), Buffer.from(v.data().buffer), k);
  assert.deepEqual(
    resumed.r.history.map((h) => [h.step, h.dLoss, h.gLoss]),
    JSON.parse(readFileSync(join(a, 'checkpoint.json'), 'utf8')).history.map((h: { step: number; metrics: { dLoss: number; gLoss: number } }) => [
      h.step,
      h.metrics.dLoss,
      h.metrics.gLoss,
    ]),
  );
});

test("a checkpoint of the GAN loop before the one loop ('zgen', 'ema.*' and its own fields) resumes to the uninterrupted run's very weights", async () => {
  const ema = { emaSteps: 3, mismatch: 1 };
  const a = mkdtempSync(join(tmpdir(), 'atelier-gan-'));
  (await run(a, 4, 2, false, undefined, undefined, ema)).gan.dispose();
  const b = mkdtempSync(join(tmpdir(), 'atelier-gan-'));
  (await run(b, 2, 1, false, undefined, undefined, ema)).gan.dispose();
  // the same checkpoint in the earlier layout
  const ck = loadCheckpoint<LoopState>(b);
  const s = ck.state;
  const { step, marks: snapshot, rngs, best: bestFrechet, bestMark: bestSnapshot } = s;
  const { dLoss, gLoss } = s.history.at(-1)!.metrics; // the last step's losses
  const history = s.history.map(({ mark, step: at, epoch, metrics: { dLoss: d, gLoss: g, ...metrics } }) => ({
    snapshot: mark,
    step: at,
    epoch,
    dLoss: d,
    gLoss: g,
    metrics,
  }));
  const legacy = { step, snapshot, rng: rngs[0], dLoss, gLoss, bestFrechet, bestSnapshot, history };
  const tensors = new Map([...ck.tensors].map(([k, v]) => [k === 'gen.0' ? 'zgen' : k.startsWith('avg.') ? `ema.${k.slice(4)}` : k, v]));
  saveCheckpoint(b, legacy, tensors);
  (await run(b, 4, 2, true, undefined, undefined, ema)).gan.dispose();
  const ta = loadSafetensors(join(a, 'checkpoint.safetensors')).tensors;
  const tb = loadSafetensors(join(b, 'checkpoint.safetensors')).tensors;
  assert.deepEqual([...tb.keys()].sort(), [...ta.keys()].sort());
  for (const [k, v] of ta) assert.deepEqual(Buffer.from(tb.get(k)!.data().buffer), Buffer.from(v.data().buffer), k);
});

test('the category draw: ∝ n_c^power, items of a category uniformly, uncategorised items never', () => {
  // 90 items of category 0, 10 of category 1, 5 left out (−1), category 2 empty
  const cats = Int32Array.from([...Array(90).fill(0), ...Array(10).fill(1), ...Array(5).fill(-1)]);
  const share = (power?: number) => {
    const { draw } = itemDrawer(cats, 3, new Rng(7), power);
    const hits = new Int32Array(cats.length);
    for (let i = 0; i < 40000; i++) hits[draw()]!++;
    const inCat = (c: number) => hits.reduce((s, h, i) => s + (cats[i] === c ? h : 0), 0) / 40000;
    return { c1: inCat(1), left: inCat(-1), hits };
  };
  const close = (x: number, want: number) => assert.ok(Math.abs(x - want) < 0.01, `${x} vs ${want}`);
  close(share(undefined).c1, 0.1); // items uniformly
  close(share(1).c1, 0.1);
  close(share(0).c1, 0.5); // categories equally
  close(share(0.5).c1, Math.sqrt(10) / (Math.sqrt(10) + Math.sqrt(90)));
  for (const p of [undefined, 0, 0.5, 1]) assert.equal(share(p).left, 0);
  // within category 1 under power 0 (20,000 draws over 10 items): each item about 2,000 times
  const h = share(0).hits.subarray(90, 100);
  assert.ok(Math.min(...h) > 1700 && Math.max(...h) < 2300, `${Array.from(h)}`);
});

test("the design's bounded codes for the quality figures are tanh of the same normal draw", () => {
  tidy(() => {
    const normal = drawLatent(50, 16, new Generator(4), 'normal').data();
    const bounded = drawLatent(50, 16, new Generator(4), 'bounded').data();
    assert.ok(
      normal.some((v) => Math.abs(v) > 1),
      'a normal draw of 800 values leaves (−1, 1)',
    );
    bounded.forEach((v, i) => assert.ok(Math.abs(v - Math.tanh(normal[i]!)) < 1e-6 && Math.abs(v) < 1));
  });
});
