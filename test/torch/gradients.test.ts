import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradCheck } from '../helpers/gradcheck.js';
import {
  batchNorm,
  cat,
  conv2d,
  convTranspose2d,
  dropout,
  Generator,
  interpolate,
  linear,
  maxPool2d,
  tensor,
  zeros,
  ones,
  type Tensor,
} from '../../src/torch/index.js';

type Case = [string, (xs: Tensor[]) => Tensor, { shape: number[]; min?: number; max?: number; values?: Float64Array }[]];

const idx = (values: number[]) => tensor(Int32Array.from(values), [values.length], 'int64');

// Every differentiable op of the engine, each checked against central finite differences in float64.
const cases: Case[] = [
  ['add (broadcast)', ([a, b]) => a!.add(b!), [{ shape: [3, 4] }, { shape: [1, 4] }]],
  ['sub (broadcast)', ([a, b]) => a!.sub(b!), [{ shape: [2, 3, 1] }, { shape: [3, 5] }]],
  ['mul (broadcast)', ([a, b]) => a!.mul(b!), [{ shape: [3, 4] }, { shape: [3, 1] }]],
  ['div', ([a, b]) => a!.div(b!), [{ shape: [3, 4] }, { shape: [3, 4], min: 0.5, max: 2 }]],
  ['scalar ops', ([a]) => a!.mul(3).add(1).sub(0.5).div(2), [{ shape: [5] }]],
  ['matmul', ([a, b]) => a!.matmul(b!), [{ shape: [3, 4] }, { shape: [4, 2] }]],
  ['batched matmul', ([a, b]) => a!.matmul(b!), [{ shape: [2, 3, 4] }, { shape: [2, 4, 2] }]],
  ['sum over dim', ([a]) => a!.sum(1), [{ shape: [3, 4, 2] }]],
  ['sum keepdim', ([a]) => a!.sum([0, 2], true), [{ shape: [3, 4, 2] }]],
  ['mean over dim', ([a]) => a!.mean(-1), [{ shape: [3, 4] }]],
  ['mean all', ([a]) => a!.mean(), [{ shape: [3, 4] }]],
  ['exp', ([a]) => a!.exp(), [{ shape: [6] }]],
  ['log', ([a]) => a!.log(), [{ shape: [6], min: 0.2, max: 3 }]],
  ['sigmoid', ([a]) => a!.sigmoid(), [{ shape: [6], min: -4, max: 4 }]],
  ['softplus', ([a]) => a!.softplus(), [{ shape: [6], min: -4, max: 4 }]],
  ['logSigmoid', ([a]) => a!.logSigmoid(), [{ shape: [6], min: -4, max: 4 }]],
  ['relu', ([a]) => a!.relu(), [{ shape: [4], values: Float64Array.from([-1.5, -0.3, 0.4, 2]) }]],
  ['leakyRelu', ([a]) => a!.leakyRelu(0.2), [{ shape: [4], values: Float64Array.from([-1.5, -0.3, 0.4, 2]) }]],
  ['tanh', ([a]) => a!.tanh(), [{ shape: [6], min: -2, max: 2 }]],
  ['pow (scalar exponent)', ([a]) => a!.pow(3), [{ shape: [5] }]],
  ['pow (tensor exponent)', ([a, b]) => a!.pow(b!), [{ shape: [5], min: 0.5, max: 2 }, { shape: [5] }]],
  ['clamp', ([a]) => a!.clamp(-0.5, 0.5), [{ shape: [4], values: Float64Array.from([-0.9, -0.2, 0.3, 0.8]) }]],
  ['abs', ([a]) => a!.abs(), [{ shape: [4], values: Float64Array.from([-0.9, -0.2, 0.3, 0.8]) }]],
  ['square/sqrt', ([a]) => a!.square().add(1).sqrt(), [{ shape: [5] }]],
  ['logSoftmax', ([a]) => a!.logSoftmax(1), [{ shape: [3, 4] }]],
  ['conv2d stride 2 pad 1', ([x, w, b]) => conv2d(x!, w!, b!, { stride: 2, padding: 1 }), [{ shape: [2, 3, 6, 6] }, { shape: [4, 3, 3, 3] }, { shape: [4] }]],
  [
    'convTranspose2d',
    ([x, w, b]) => convTranspose2d(x!, w!, b!, { stride: 2, padding: 1, outputPadding: 1 }),
    [{ shape: [2, 3, 3, 3] }, { shape: [3, 2, 3, 3] }, { shape: [2] }],
  ],
  ['maxPool2d', ([x]) => maxPool2d(x!, 2), [{ shape: [1, 2, 4, 4] }]],
  [
    'batchNorm (train)',
    ([x, w, b]) => batchNorm(x!, w!, b!, zeros([3], 'float64'), ones([3], 'float64'), true),
    [{ shape: [4, 3, 2, 2] }, { shape: [3], min: 0.5, max: 1.5 }, { shape: [3] }],
  ],
  [
    'batchNorm (eval)',
    ([x, w, b]) => batchNorm(x!, w!, b!, tensor(Float64Array.from([0.1, -0.2, 0.3]), [3]), tensor(Float64Array.from([1.5, 0.7, 1.1]), [3]), false),
    [{ shape: [4, 3, 2, 2] }, { shape: [3] }, { shape: [3] }],
  ],
  ['dropout (seeded mask)', ([x]) => dropout(x!, 0.5, true, new Generator(7)), [{ shape: [4, 5] }]],
  ['linear', ([x, w, b]) => linear(x!, w!, b!), [{ shape: [3, 4] }, { shape: [2, 4] }, { shape: [2] }]],
  ['cat', ([a, b]) => cat([a!, b!], 1), [{ shape: [2, 3] }, { shape: [2, 2] }]],
  ['reshape', ([a]) => a!.reshape([3, 4]).mul(a!.reshape([3, 4])), [{ shape: [2, 6] }]],
  ['permute', ([a]) => a!.permute([2, 0, 1]), [{ shape: [2, 3, 4] }]],
  ['indexSelect (embedding rows)', ([a]) => a!.indexSelect(0, idx([2, 0, 2])), [{ shape: [4, 3] }]],
  ['gather', ([a]) => a!.gather(1, tensor(Int32Array.from([0, 2, 1, 1]), [2, 2], 'int64')), [{ shape: [2, 3] }]],
  ['interpolate nearest', ([x]) => interpolate(x!, [6, 6], 'nearest'), [{ shape: [1, 2, 3, 3] }]],
  ['interpolate bilinear', ([x]) => interpolate(x!, [5, 7], 'bilinear'), [{ shape: [1, 2, 3, 4] }]],
];

for (const [name, f, inputs] of cases) {
  test(`gradient of ${name} equals finite differences`, () => {
    const { maxAbsErr, maxRelErr } = gradCheck(f, inputs);
    assert.ok(maxAbsErr < 1e-6 || maxRelErr < 1e-6, `max abs err ${maxAbsErr}, max rel err ${maxRelErr}`);
  });
}

test('gradcheck itself fails on a wrong gradient (detach hides a dependency)', () => {
  const { maxAbsErr } = gradCheck(([a]) => a!.mul(a!.detach()), [{ shape: [4] }]);
  assert.ok(maxAbsErr > 1e-3);
});
