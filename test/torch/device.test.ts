/**
 * Devices and precision (src/torch/device.ts). Every test runs on ATELIER_TEST_DEVICE (default cpu;
 * bench/gpu.sh sets cuda), against the same computation on the CPU: tensors are made where the
 * device says, a seed draws the same numbers there, weights round-trip through a file, an Adam step
 * matches. Without CUDA, asking for it is a clear error naming LIBTORCH.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BadInputError } from '../../src/core/errors.js';
import {
  Adam,
  currentDevice,
  Dropout,
  Generator,
  gpuCount,
  Linear,
  loadSafetensors,
  noGrad,
  parseDevice,
  randn,
  saveSafetensors,
  tensor,
  tidy,
  useDevice,
  usePrecision,
  zeros,
  type DeviceRequest,
} from '../../src/torch/index.js';

const DEVICE = parseDevice(process.env.ATELIER_TEST_DEVICE ?? 'cpu', 'ATELIER_TEST_DEVICE');

/** Runs f with every new tensor on `d`, then puts the CPU back. */
function on<T>(d: DeviceRequest, f: () => T): T {
  useDevice(d);
  try {
    return f();
  } finally {
    useDevice('cpu');
  }
}

const close = (a: Float32Array, b: Float32Array, tol: number) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol * (1 + Math.abs(b[i]!)), `[${i}]: ${a[i]} vs ${b[i]}`);
};

test(`tensors are made on the device asked for (${DEVICE}), and read back to JavaScript from it`, () => {
  const want = on(DEVICE, () => currentDevice());
  assert.match(want, DEVICE === 'cpu' ? /^cpu$/ : /^cuda:\d+$/);
  on(DEVICE, () =>
    tidy(() => {
      for (const t of [zeros([2, 3]), tensor(Float32Array.of(1, 2, 3), [3]), randn([4]), tensor(Int32Array.of(0, 2), [2], 'int64')])
        assert.equal(t.device, want);
      const x = tensor(Float32Array.of(1, 2, 3, 4), [2, 2]);
      assert.deepEqual([...x.matmul(x).data()], [7, 10, 15, 22]);
      assert.deepEqual([...x.indexSelect(0, tensor(Int32Array.of(1), [1], 'int64')).data()], [3, 4]);
    }),
  );
  assert.equal(currentDevice(), 'cpu');
  assert.equal(zeros([1]).device, 'cpu');
});

test('a seed draws the same numbers on the device as on the CPU (initial weights, dropout masks)', () => {
  const draw = () =>
    tidy(() => {
      const g = new Generator(42);
      const lin = new Linear(6, 4, { gen: g });
      const drop = new Dropout(0.5, g);
      const x = randn([3, 6], g);
      return { w: lin.weight.toFloat32(), x: x.toFloat32(), d: drop.forward(x.add(10)).toFloat32() };
    });
  const cpu = draw();
  const dev = on(DEVICE, draw);
  assert.deepEqual(dev.w, cpu.w);
  assert.deepEqual(dev.x, cpu.x);
  assert.deepEqual(dev.d, cpu.d);
  assert.ok(cpu.d.some((v) => v === 0) && cpu.d.some((v) => v !== 0), 'the mask drops some and keeps some');
});

test('weights saved on the device load on either device; an Adam step there matches the CPU', () => {
  const dir = mkdtempSync(join(tmpdir(), 'atelier-device-'));
  const step = (d: DeviceRequest) =>
    on(d, () =>
      tidy(() => {
        const lin = new Linear(5, 3, { gen: new Generator(3) });
        const opt = new Adam(lin.parameters(), { lr: 0.1 });
        const x = randn([8, 5], new Generator(4));
        for (let i = 0; i < 3; i++) {
          opt.zeroGrad();
          lin.forward(x).square().mean().backward();
          opt.step();
        }
        noGrad(() => saveSafetensors(join(dir, `${d}.safetensors`), lin.stateDict()));
        return lin.weight.toFloat32();
      }),
    );
  const cpu = step('cpu');
  const dev = step(DEVICE);
  close(dev, cpu, 1e-5);
  // the device's file read on the CPU, the CPU's on the device
  const back = loadSafetensors(join(dir, `${DEVICE}.safetensors`));
  assert.equal(back.tensors.get('weight')!.device, 'cpu');
  close(back.tensors.get('weight')!.toFloat32(), cpu, 1e-5);
  on(DEVICE, () => {
    const t = loadSafetensors(join(dir, 'cpu.safetensors')).tensors.get('weight')!;
    assert.equal(t.device, currentDevice());
    close(t.toFloat32(), cpu, 0);
  });
});

test('bf16 autocast: products compute in bfloat16, gradients reach the float32 weights; fp32 turns it off', () => {
  on(DEVICE, () =>
    tidy(() => {
      const lin = new Linear(8, 4, { gen: new Generator(1) });
      const x = randn([16, 8], new Generator(2));
      const exact = lin.forward(x);
      usePrecision('bf16');
      try {
        const y = lin.forward(x);
        assert.equal(y.dtype as string, 'bfloat16');
        close(y.data(), exact.toFloat32(), 2e-2); // read as float32; bfloat16 keeps 8 bits of mantissa
        assert.deepEqual(y.data(), y.to('float32').data());
        y.to('float32').square().mean().backward();
        assert.equal(lin.weight.dtype, 'float32');
        assert.equal(lin.weight.grad!.dtype, 'float32');
      } finally {
        usePrecision('fp32');
      }
      assert.equal(lin.forward(x).dtype, 'float32');
    }),
  );
});

test('--device values: cpu, cuda, cuda:N and auto are read; anything else names the flag; auto is the CPU without a GPU', () => {
  for (const v of ['cpu', 'cuda', 'cuda:1', 'auto']) assert.equal(parseDevice(v), v);
  assert.throws(
    () => parseDevice('gpu'),
    (e: Error) => e instanceof BadInputError && /--device must be cpu, cuda, cuda:N or auto, got 'gpu'/.test(e.message),
  );
  if (gpuCount() === 0)
    assert.equal(
      on('auto', () => currentDevice()),
      'cpu',
    );
});

test('without CUDA, asking for it is a BadInputError naming LIBTORCH (the CPU kept)', { skip: gpuCount() > 0 ? 'this libtorch has a GPU' : false }, () => {
  for (const d of ['cuda', 'cuda:0'] as const)
    assert.throws(
      () => useDevice(d),
      (e: Error) =>
        e instanceof BadInputError && e.message.includes(`--device ${d}`) && e.message.includes('LIBTORCH') && e.message.includes('npm run build:native'),
    );
  assert.equal(currentDevice(), 'cpu');
});
