/** Seeded initialisers (in place, outside autograd). */
import { ShapeError } from '../core/errors.js';
import type { Generator, Tensor } from './tensor.js';

/** fan_in and fan_out as PyTorch computes them: dense [out, in]; conv [out, in, kH, kW]. */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) throw new ShapeError(`fans: need at least 2 dims, got [${shape.join(', ')}]`, [[...shape]]);
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1]! * receptive, fanOut: shape[0]! * receptive };
}

/** Glorot (Xavier) uniform: U(−a, a), a = gain·√(6 / (fan_in + fan_out)). method.md: CNN weights. */
export function glorotUniform(t: Tensor, gen: Generator, gain = 1, fanOverride?: { fanIn: number; fanOut: number }): Tensor {
  const { fanIn, fanOut } = fanOverride ?? fans(t.shape);
  const a = gain * Math.sqrt(6 / (fanIn + fanOut));
  return t.uniform_(-a, a, gen);
}

export function normalInit(t: Tensor, gen: Generator, std = 0.02, mean = 0): Tensor {
  return t.normal_(mean, std, gen);
}

export function uniformInit(t: Tensor, gen: Generator, low: number, high: number): Tensor {
  return t.uniform_(low, high, gen);
}
