import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeSafetensors, loadSafetensors, saveSafetensors, tensor, tidy } from '../../src/torch/index.js';
import { tempDir } from '../helpers/fixtures.js';

test('saveSafetensors writes a chunk of rows at a time: the bytes encodeSafetensors gives whole, for chunks smaller than a row, a tensor, a transposed view, a scalar and an empty tensor', () => {
  tidy(() => {
    const big = tensor(
      Float32Array.from({ length: 1000 * 7 }, (_, i) => Math.sin(i)),
      [1000, 7],
    );
    const tensors = {
      big,
      transposed: big.transpose(0, 1),
      ids: tensor(BigInt64Array.from([1n, -2n, 3n]), [3]),
      scalar: tensor(Float32Array.of(2.5), []),
      empty: tensor(new Float32Array(0), [0, 4]),
    };
    const whole = encodeSafetensors(tensors, { note: 'x' });
    for (const chunk of [1, 28, 100, 4096, 1 << 20]) {
      const path = join(tempDir(), 'w.safetensors');
      saveSafetensors(path, tensors, { note: 'x' }, chunk);
      assert.ok(Buffer.from(readFileSync(path)).equals(Buffer.from(whole)), `chunk ${chunk}`);
    }
    const path = join(tempDir(), 'w.safetensors');
    saveSafetensors(path, tensors, {}, 64);
    const back = loadSafetensors(path).tensors;
    assert.deepEqual(Array.from(back.get('transposed')!.data()), Array.from(tensors.transposed.contiguous().data()));
    assert.deepEqual(back.get('empty')!.shape, [0, 4]);
  });
});
