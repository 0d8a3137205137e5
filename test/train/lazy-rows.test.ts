import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RowAdam, tensor } from '../../src/torch/index.js';
import { LazyRowAverage } from '../../src/train/averaging.js';
import { batchRows } from '../../src/train/bpr.js';
import { Rng } from '../../src/core/rng.js';

const f32 = (x: number) => Math.fround(x);

test("lazy Adam: the step's rows follow Adam's formula by hand (bias-corrected by the step count); every other row and its moments stay bit-identical", () => {
  const rng = new Rng(3);
  const U = 50;
  const K = 4;
  const init = Float32Array.from({ length: U * K }, () => rng.normal());
  const theta = tensor(init, [U, K]);
  const opt = new RowAdam(theta, 0.01);
  const m = new Float64Array(U * K);
  const v = new Float64Array(U * K);
  const want = Float64Array.from(init);
  const touched = new Set<number>();
  for (let step = 1; step <= 3; step++) {
    const rows = Int32Array.from(new Set(Array.from({ length: 6 }, () => rng.int(U)))).sort();
    const g = Float32Array.from({ length: rows.length * K }, () => rng.normal());
    opt.step(tensor(rows, [rows.length], 'int64'), tensor(g, [rows.length, K]));
    rows.forEach((r, x) => {
      touched.add(r);
      for (let c = 0; c < K; c++) {
        const k = r * K + c;
        m[k] = 0.9 * m[k]! + 0.1 * g[x * K + c]!;
        v[k] = 0.999 * v[k]! + 0.001 * g[x * K + c]! ** 2;
        want[k] = want[k]! - (0.01 / (1 - 0.9 ** step)) * (m[k]! / (Math.sqrt(v[k]! / (1 - 0.999 ** step)) + 1e-8));
      }
    });
  }
  const got = theta.data() as Float32Array;
  const state = opt.stateDict().tensors;
  const gm = state.get('exp_avg')!.data() as Float32Array;
  const gv = state.get('exp_avg_sq')!.data() as Float32Array;
  for (let r = 0; r < U; r++)
    for (let c = 0; c < K; c++) {
      const k = r * K + c;
      if (touched.has(r)) {
        assert.ok(Math.abs(got[k]! - want[k]!) < 1e-5, `row ${r}: ${got[k]} vs ${want[k]}`);
        assert.ok(Math.abs(gm[k]! - m[k]!) < 1e-6 && Math.abs(gv[k]! - v[k]!) < 1e-6);
      } else {
        assert.equal(got[k], init[k], `untouched row ${r} is bit-identical`);
        assert.equal(gm[k], 0);
        assert.equal(gv[k], 0);
      }
    }
  assert.ok(touched.size < U, 'some rows untouched');
  assert.equal(f32(got[0]!), got[0]);
});

test('the lazy average of a table equals one average update per step, though it touches only the rows a step changed', () => {
  const rng = new Rng(5);
  const U = 30;
  const K = 3;
  const d = 0.9;
  const theta = tensor(
    Float32Array.from({ length: U * K }, () => rng.normal()),
    [U, K],
  );
  const avg = theta.detach().clone();
  const dense = Float64Array.from(theta.data() as Float32Array);
  const lazy = new LazyRowAverage(avg, theta, d, 0);
  for (let s = 1; s <= 12; s++) {
    const rows = batchRows({ user: Int32Array.from({ length: 4 }, () => rng.int(U)), pos: new Int32Array(4), neg: new Int32Array(4) });
    lazy.beforeStep(rows, s);
    // the step changes its rows
    const cur = Float32Array.from(theta.data() as Float32Array);
    for (const r of rows) for (let c = 0; c < K; c++) cur[r * K + c] = Math.fround(cur[r * K + c]! + rng.normal());
    theta.copy_(tensor(cur, [U, K]));
    lazy.afterStep(rows, s);
    for (let k = 0; k < U * K; k++) dense[k] = d * dense[k]! + (1 - d) * cur[k]!;
    if (s === 7 || s === 12) {
      lazy.flush(s);
      const got = avg.data() as Float32Array;
      for (let k = 0; k < U * K; k++) assert.ok(Math.abs(got[k]! - dense[k]!) < 1e-5, `step ${s} entry ${k}: ${got[k]} vs ${dense[k]}`);
    }
  }
});

test('batchRows: the distinct users of a batch, ascending', () => {
  assert.deepEqual([...batchRows({ user: Int32Array.from([5, 1, 5, 3, 1]), pos: new Int32Array(5), neg: new Int32Array(5) })], [1, 3, 5]);
  assert.deepEqual([...batchRows({ user: new Int32Array(0), pos: new Int32Array(0), neg: new Int32Array(0) })], []);
});
