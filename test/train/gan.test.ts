import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ganPreset } from '../../src/config/gan.js';
import { ConditionalGan, oneHot } from '../../src/models/gan.js';
import { discriminatorLoss, discriminatorStep, discriminatorStepJoint, generatorLoss, generatorStep } from '../../src/train/gan-steps.js';
import { trainGan } from '../../src/train/gan.js';
import { generate } from '../../src/cli/gan.js';
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

test('LSGAN losses equal the formulas on a hand-made batch', () => {
  tidy(() => {
    const dReal = tensor(Float32Array.from([0.5, 1.5]));
    const dFake = tensor(Float32Array.from([0.2, -0.4]));
    // D: ½[mean((D(x)−1)²) + mean(D(G(z))²)] = ½[(0.25 + 0.25)/2 + (0.04 + 0.16)/2] = 0.175
    assert.ok(Math.abs(discriminatorLoss(dReal, dFake).item() - 0.175) < 1e-6);
    // G: mean((D(G(z))−1)²) = (0.64 + 1.96)/2 = 1.3
    assert.ok(Math.abs(generatorLoss(dFake).item() - 1.3) < 1e-6);
  });
});

test('a G step leaves D\'s weights bit-identical, a D step leaves G\'s, and neither leaks tensors', () => {
  const gan = new ConditionalGan(cfg, ['a', 'b'], 2);
  const optD = new Adam(gan.discriminator.trainableParameters(), { lr: 1e-2, beta1: 0.5, beta2: 0.99 });
  const optG = new Adam(gan.generator.trainableParameters(), { lr: 1e-2, beta1: 0.5, beta2: 0.99 });
  const gen = new Generator(3);
  const real = tidy(() => keep(tensor(plantedDataset().images.subarray(0, 4 * 16 * 16 * 3), [4, 16, 16, 3])));
  const cond = keep(oneHot(Int32Array.from([0, 1, 0, 1]), 2));
  const before = liveTensors();
  for (let i = 0; i < 3; i++) {
    const d0 = bytes(gan.discriminator.parameters());
    const g0 = bytes(gan.generator.parameters());
    tidy(() => generatorStep(gan, optG, cond, randn([4, cfg.zDim], gen)));
    assert.deepEqual(bytes(gan.discriminator.parameters()), d0, 'G step changed D');
    assert.notDeepEqual(bytes(gan.generator.parameters()), g0, 'G step did not change G');
    const g1 = bytes(gan.generator.parameters());
    tidy(() => discriminatorStep(gan, optD, real, cond, randn([4, cfg.zDim], gen)));
    assert.deepEqual(bytes(gan.generator.parameters()), g1, 'D step changed G');
    assert.notDeepEqual(bytes(gan.discriminator.parameters()), d0, 'D step did not change D');
  }
  assert.equal(liveTensors(), before);
  gan.dispose();
});

test('the D step back-propagating its halves one at a time gives bit-identical weights to one joint backward', () => {
  const real = tidy(() => keep(tensor(plantedDataset().images.subarray(0, 4 * 16 * 16 * 3), [4, 16, 16, 3])));
  const cond = keep(oneHot(Int32Array.from([0, 1, 0, 1]), 2));
  const trained = (step: typeof discriminatorStep) => {
    const gan = new ConditionalGan(cfg, ['a', 'b'], 4);
    const opt = new Adam(gan.discriminator.trainableParameters(), { lr: 1e-2, beta1: 0.5, beta2: 0.99 });
    const gen = new Generator(9);
    const losses = Array.from({ length: 3 }, () => tidy(() => step(gan, opt, real, cond, randn([4, cfg.zDim], gen))));
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
  real.dispose();
  cond.dispose();
});

async function run(dir: string, epochs: number, snapshots: number, resume: boolean, ds = plantedDataset({ items: 64 }), lrD?: number) {
  const images = tidy(() => keep(tensor(ds.images, [ds.itemIds.length, 16, 16, 3])));
  const gan = new ConditionalGan(cfg, ['left', 'right'], 5);
  const r = await trainGan({
    dir,
    gan,
    images,
    itemCategory: ds.itemCategory,
    epochs,
    batch: 16,
    lr: 2e-3,
    ...(lrD !== undefined ? { lrD } : {}),
    beta1: 0.5,
    beta2: 0.99,
    snapshots,
    seed: 5,
    resume,
    callbacks: {},
    snapshot: async (index) => ({ frechet: 10 - index }),
  });
  images.dispose();
  return { gan, r };
}

test('GAN resume continues exactly', async () => {
  const a = mkdtempSync(join(tmpdir(), 'atelier-gan-'));
  const b = mkdtempSync(join(tmpdir(), 'atelier-gan-'));
  (await run(a, 4, 2, false)).gan.dispose();
  (await run(b, 2, 1, false)).gan.dispose(); // "interrupted" at the first snapshot
  (await run(b, 4, 2, true)).gan.dispose();
  const ta = loadSafetensors(join(a, 'checkpoint.safetensors')).tensors;
  const tb = loadSafetensors(join(b, 'checkpoint.safetensors')).tensors;
  for (const [k, v] of ta) assert.deepEqual(Buffer.from(tb.get(k)!.data().buffer), Buffer.from(v.data().buffer), k);
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
    for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) (x < 8 ? (left += img[(n * 256 + y * 16 + x) * 3]!) : (right += img[(n * 256 + y * 16 + x) * 3]!));
    return left < right ? 0 : 1; // darker half
  };
  let agree = 0;
  for (const c of [0, 1]) {
    const imgs = tidy(() => generate(gan, c, randn([50, cfg.zDim], new Generator(9 + c))).data<'uint8'>());
    for (let n = 0; n < 50; n++) agree += side(imgs, n) === c ? 1 : 0;
  }
  assert.ok(agree / 100 > 0.75, `agreement ${agree}%`);
});
