import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShapeError, TorchError } from '../../src/core/errors.js';
import {
  Adam,
  conv2d,
  Conv2d,
  Generator,
  gradients,
  Linear,
  liveTensors,
  loadSafetensors,
  noGrad,
  randn,
  saveSafetensors,
  tensor,
  tidy,
  zeros,
  BatchNorm2d,
  engineInfo,
  Module,
  type Tensor,
} from '../../src/torch/index.js';

test('tensor round-trips typed arrays with shape and dtype', () => {
  tidy(() => {
    const t = tensor(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
    assert.deepEqual(t.shape, [2, 3]);
    assert.equal(t.dtype, 'float32');
    assert.deepEqual([...t.data()], [1, 2, 3, 4, 5, 6]);
    const i = tensor(Int32Array.from([7, 0, 3]), [3], 'int64');
    assert.equal(i.dtype, 'int64');
    assert.deepEqual([...i.toInt32()], [7, 0, 3]);
    assert.deepEqual([...tensor(Uint8Array.from([255, 1]), [2]).data<'uint8'>()], [255, 1]);
    assert.deepEqual([...tensor(Float64Array.from([0.1]), [1]).data<'float64'>()], [0.1]);
  });
});

test('a shape mismatch is a ShapeError naming both shapes', () => {
  tidy(() => {
    const a = zeros([2, 3]);
    const b = zeros([4, 5]);
    assert.throws(
      () => a.add(b),
      (e: unknown) => e instanceof ShapeError && /\[2, 3\]/.test(e.message) && /\[4, 5\]/.test(e.message) && e.code === 'SHAPE_MISMATCH',
    );
    assert.throws(
      () => a.matmul(b),
      (e: unknown) => e instanceof ShapeError && /\[2, 3\]/.test(e.message) && /\[4, 5\]/.test(e.message),
    );
    assert.throws(() => tensor(Float32Array.from([1, 2, 3]), [2, 2]), ShapeError);
  });
});

test('a libtorch error becomes a JS exception with its message, and the process goes on', () => {
  tidy(() => {
    const x = zeros([1, 3, 8, 8]);
    const w = zeros([4, 2, 3, 3]); // expects 2 input channels, gets 3
    assert.throws(
      () => conv2d(x, w, null),
      (e: unknown) => (e instanceof ShapeError || e instanceof TorchError) && /channels|weight|size/i.test((e as Error).message),
    );
    assert.equal(x.add(1).sum().item(), 192);
  });
});

test('seeded generators are reproducible and independent of each other', () => {
  tidy(() => {
    const a = randn([5], new Generator(42)).data();
    const g = new Generator(42);
    const other = new Generator(1);
    randn([100], other); // drawing from another generator must not disturb g
    const b = randn([5], g).data();
    assert.deepEqual([...a], [...b]);
    assert.notDeepEqual([...randn([5], new Generator(43)).data()], [...a]);
    // state save/restore continues exactly
    const state = g.getState();
    const next = randn([3], g).data();
    g.setState(state);
    assert.deepEqual([...randn([3], g).data()], [...next]);
  });
});

test('backward, grad, zeroGrad, noGrad', () => {
  tidy(() => {
    const x = tensor(Float32Array.from([1, 2, 3])).requiresGrad_();
    x.mul(x).sum().backward(); // d/dx Σx² = 2x
    assert.deepEqual([...x.grad!.data()], [2, 4, 6]);
    x.mul(x).sum().backward(); // accumulates
    assert.deepEqual([...x.grad!.data()], [4, 8, 12]);
    x.zeroGrad();
    assert.equal(x.grad, null);
    const y = noGrad(() => x.mul(2));
    assert.equal(y.requiresGrad, false);
  });
});

test('gradients() gives d output / d input without touching parameter grads', () => {
  tidy(() => {
    const w = tensor(Float32Array.from([1, -2])).requiresGrad_();
    const z = tensor(Float32Array.from([3, 4])).requiresGrad_();
    const score = w.mul(z.tanh()).sum();
    const [gz] = gradients([score], [z]);
    const expected = [1 * (1 - Math.tanh(3) ** 2), -2 * (1 - Math.tanh(4) ** 2)];
    const got = gz!.data();
    for (let i = 0; i < 2; i++) assert.ok(Math.abs(got[i]! - expected[i]!) < 1e-6);
    assert.equal(w.grad, null);
  });
});

test('an Adam step equals the hand-computed update (L2 and decoupled decay)', () => {
  for (const decoupled of [false, true]) {
    tidy(() => {
      const p0 = [0.5, -1.0, 2.0];
      const grads = [
        [0.1, -0.2, 0.3],
        [-0.4, 0.5, 0.05],
      ];
      const lr = 0.01,
        b1 = 0.9,
        b2 = 0.999,
        eps = 1e-8,
        wd = 0.1;
      const p = tensor(Float64Array.from(p0)).requiresGrad_();
      const opt = new Adam([p], { lr, beta1: b1, beta2: b2, eps, weightDecay: wd, decoupled });
      // hand computation
      const ref = [...p0];
      const m = [0, 0, 0];
      const v = [0, 0, 0];
      grads.forEach((g, s) => {
        const step = s + 1;
        // make p.grad = g via backward of Σ g·p
        opt.zeroGrad();
        p.mul(tensor(Float64Array.from(g)))
          .sum()
          .backward();
        opt.step();
        for (let i = 0; i < 3; i++) {
          let gi = g[i]!;
          if (decoupled) ref[i] = ref[i]! * (1 - lr * wd);
          else gi += wd * ref[i]!;
          m[i] = b1 * m[i]! + (1 - b1) * gi;
          v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
          const mh = m[i]! / (1 - b1 ** step);
          const vh = v[i]! / (1 - b2 ** step);
          ref[i] = ref[i]! - (lr * mh) / (Math.sqrt(vh) + eps);
        }
      });
      const got = p.data<'float64'>();
      for (let i = 0; i < 3; i++) assert.ok(Math.abs(got[i]! - ref[i]!) < 1e-12, `decoupled=${decoupled} p[${i}] ${got[i]} vs ${ref[i]}`);
      // the learning rate can be changed while training
      opt.lr = 0;
      opt.step();
      assert.deepEqual([...p.data<'float64'>()], [...got]);
      opt.dispose();
    });
  }
});

test('a 1,000-step training loop inside tidy ends with the live-tensor count it started with', () => {
  const gen = new Generator(3);
  const layer = new Linear(8, 1, { gen });
  const opt = new Adam(layer.parameters(), { lr: 1e-3 });
  const x = randn([16, 8], gen);
  const before = liveTensors();
  for (let i = 0; i < 1000; i++) {
    tidy(() => {
      opt.zeroGrad();
      const loss = layer.forward(x).square().mean();
      loss.backward();
      opt.step();
    });
  }
  assert.equal(liveTensors(), before);
  x.dispose();
  opt.dispose();
  layer.dispose();
});

test('tidy keeps returned tensors and frees the rest, also on throw', () => {
  const before = liveTensors();
  const kept = tidy(() => {
    const a = zeros([3]);
    const b = a.add(1);
    return { b };
  });
  assert.equal(liveTensors(), before + 1);
  kept.b.dispose();
  assert.throws(() =>
    tidy(() => {
      zeros([3]);
      throw new Error('boom');
    }),
  );
  assert.equal(liveTensors(), before);
});

test('save → load round-trips named tensors bit for bit, in the safetensors layout', () => {
  const dir = mkdtempSync(join(tmpdir(), 'atelier-st-'));
  const path = join(dir, 'w.safetensors');
  tidy(() => {
    const gen = new Generator(9);
    const a = randn([3, 4], gen);
    const b = randn([2], gen, 'float64');
    const c = tensor(Int32Array.from([1, -5, 7]), [3], 'int64');
    const d = tensor(Uint8Array.from([0, 128, 255]), [3]);
    saveSafetensors(path, { 'enc.conv1.weight': a, b, c, d }, { seed: '9' });
    const raw = readFileSync(path);
    const headerLen = Number(raw.readBigUInt64LE(0));
    const header = JSON.parse(raw.subarray(8, 8 + headerLen).toString());
    assert.equal(header['enc.conv1.weight'].dtype, 'F32');
    assert.deepEqual(header['enc.conv1.weight'].shape, [3, 4]);
    assert.equal(header.__metadata__.seed, '9');
    const { tensors, metadata } = loadSafetensors(path);
    assert.equal(metadata.seed, '9');
    for (const [name, t] of Object.entries({ 'enc.conv1.weight': a, b, c, d })) {
      const l = tensors.get(name)!;
      assert.equal(l.dtype, t.dtype);
      assert.deepEqual(l.shape, t.shape);
      assert.deepEqual(Buffer.from(l.data().buffer), Buffer.from(t.data().buffer), name);
    }
  });
  writeFileSync(path, Buffer.from([1, 2, 3]));
  assert.throws(() => loadSafetensors(path), /w\.safetensors/);
});

class TinyCnn extends Module {
  readonly c1: Conv2d;
  readonly bn: BatchNorm2d;
  readonly fc: Linear;
  constructor(gen: Generator) {
    super();
    this.c1 = this.registerModule('c1', new Conv2d(1, 4, 3, { gen, stride: 2, padding: 'same' }));
    this.bn = this.registerModule('bn', new BatchNorm2d(4));
    this.fc = this.registerModule('fc', new Linear(4 * 4 * 4, 2, { gen }));
  }
  forward(x: Tensor): Tensor {
    const [b] = x.shape;
    const h = this.bn.forward(this.c1.forward(x)).relu(); // [B, 4, 4, 4]
    return this.fc.forward(h.reshape([b!, 64])); // [B, 2]
  }
}

test('a small CNN learns a planted task (bright blob top-left vs bottom-right)', () => {
  const gen = new Generator(5);
  const net = new TinyCnn(gen);
  const opt = new Adam(net.parameters(), { lr: 1e-2 });
  const make = (count: number, seed: number) => {
    const g = new Generator(seed);
    return tidy(() => {
      const noise = randn([count, 1, 8, 8], g).mul(0.3).data();
      const labels = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        labels[i] = i % 2;
        const [r0, c0] = labels[i] ? [5, 5] : [1, 1];
        for (let r = r0; r < r0 + 2; r++) for (let c = c0; c < c0 + 2; c++) noise[i * 64 + r * 8 + c]! += 1.5;
      }
      return { x: tensor(noise, [count, 1, 8, 8]), y: tensor(labels, [count, 1], 'int64') };
    });
  };
  const train = make(64, 1);
  const testSet = make(64, 2);
  const accuracy = () =>
    tidy(() => {
      net.eval();
      const pred = net.forward(testSet.x).argmax(1).toInt32();
      net.train();
      const y = testSet.y.toInt32();
      return pred.reduce((s, p, i) => s + (p === y[i] ? 1 : 0), 0) / y.length;
    });
  const initial = accuracy();
  for (let step = 0; step < 60; step++) {
    tidy(() => {
      opt.zeroGrad();
      const loss = net.forward(train.x).logSoftmax(1).gather(1, train.y).mean().neg();
      loss.backward();
      opt.step();
    });
  }
  const final = accuracy();
  assert.ok(final >= 0.95, `accuracy ${final} (started at ${initial})`);
  // freezing: a step leaves frozen weights bit-identical
  net.fc.freeze();
  const before = net.fc.weight.data();
  tidy(() => {
    opt.zeroGrad();
    net.forward(train.x).sum().backward();
    opt.step();
  });
  assert.deepEqual(Buffer.from(net.fc.weight.data().buffer), Buffer.from(before.buffer));
});

test('engine reports its libtorch version and thread count', () => {
  const info = engineInfo();
  assert.match(info.torchVersion, /^\d+\.\d+\.\d+$/);
  assert.ok(info.threads >= 1);
});

test('subnormal floats are flushed to zero inside libtorch (FTZ/DAZ), and JavaScript keeps its own', () => {
  // 1e-40 is a float32 subnormal (the smallest normal is 1.18e-38): read as zero, so 1e-40 · 1 = 0
  const sub = tensor(Float32Array.from([1e-40, 1, 3e-39]), [3]);
  const out = sub.mul(1).data<'float32'>();
  assert.deepEqual(Array.from(out), [0, 1, 0]);
  // a product landing in the subnormal range is flushed too: 1e-20 · 1e-20 = 1e-40 → 0
  assert.equal(
    tensor(Float32Array.from([1e-20]), [1])
      .mul(1e-20)
      .data<'float32'>()[0],
    0,
  );
  // after the call, the process's own arithmetic is IEEE again: a JS subnormal survives
  const tiny = Number.MIN_VALUE;
  assert.equal(tiny * 1, 5e-324);
  assert.ok(new Float32Array([1e-40])[0]! > 0);
  sub.dispose();
});
