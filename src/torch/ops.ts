/** Creation functions, neural-network ops and autograd helpers over Tensor. */
import { InvalidArgumentError, ShapeError, TorchError } from '../core/errors.js';
import { native as n, type Handle } from './native.js';
import { callNative, Tensor, type AnyTypedArray, type Device, type DType, type Generator, type Shape } from './tensor.js';

const ARRAY_DTYPE: [new (...a: never[]) => AnyTypedArray, DType][] = [
  [Float32Array, 'float32'],
  [Float64Array, 'float64'],
  [BigInt64Array, 'int64'],
  [Int32Array, 'int32'],
  [Uint8Array, 'uint8'],
];

function checkShape(shape: Shape, where: string): number[] {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`${where}: bad shape [${shape.join(', ')}]`, [shape as number[]]);
  }
  return shape as number[];
}

/** A tensor from a typed array (copied). The dtype follows the array's type unless given;
 *  an Int32Array may be widened to int64 (indices). */
export function tensor(data: AnyTypedArray | number[], shape?: Shape, dtype?: DType, device?: Device): Tensor {
  const arr = Array.isArray(data) ? Float32Array.from(data) : data;
  const own = ARRAY_DTYPE.find(([C]) => arr instanceof C)?.[1];
  if (!own) throw new InvalidArgumentError('tensor: unsupported array type');
  const s = checkShape(shape ?? [arr.length], 'tensor');
  const count = s.reduce((a, b) => a * b, 1);
  if (count !== arr.length) {
    throw new ShapeError(`tensor: ${arr.length} values do not fill shape [${s.join(', ')}] (${count} values)`, [[arr.length], s]);
  }
  const t = new Tensor(n.FromBuffer!(arr, s, own, device ?? null) as Handle);
  if (dtype && dtype !== own) {
    const c = t.to(dtype);
    t.dispose();
    return c;
  }
  return t;
}

export function scalar(value: number, dtype: DType = 'float32'): Tensor {
  return full([], value, dtype);
}

export function zeros(shape: Shape, dtype: DType = 'float32', device?: Device): Tensor {
  return new Tensor(n.Zeros!(checkShape(shape, 'zeros'), dtype, device ?? null));
}
export function ones(shape: Shape, dtype: DType = 'float32', device?: Device): Tensor {
  return new Tensor(n.Ones!(checkShape(shape, 'ones'), dtype, device ?? null));
}
export function full(shape: Shape, value: number, dtype: DType = 'float32', device?: Device): Tensor {
  return new Tensor(n.Full!(checkShape(shape, 'full'), value, dtype, device ?? null));
}
export function arange(start: number, end: number, step = 1, dtype: DType = 'int64'): Tensor {
  return new Tensor(n.Arange!(start, end, step, dtype, null));
}
/** Standard normal; seeded through a Generator (a stream per seed). */
export function randn(shape: Shape, gen?: Generator, dtype: DType = 'float32', device?: Device): Tensor {
  return new Tensor(n.Randn!(checkShape(shape, 'randn'), gen?.handle ?? null, dtype, device ?? null));
}
/** Uniform on [0, 1). */
export function rand(shape: Shape, gen?: Generator, dtype: DType = 'float32', device?: Device): Tensor {
  return new Tensor(n.Rand!(checkShape(shape, 'rand'), gen?.handle ?? null, dtype, device ?? null));
}
export function randint(low: number, high: number, shape: Shape, gen?: Generator): Tensor {
  return new Tensor(n.Randint!(low, high, checkShape(shape, 'randint'), gen?.handle ?? null));
}
export function randperm(count: number, gen?: Generator): Tensor {
  return new Tensor(n.Randperm!(count, gen?.handle ?? null));
}

export function cat(tensors: Tensor[], dim = 0): Tensor {
  return callNative(
    () =>
      n.Cat!(
        tensors.map((t) => t.handle),
        dim,
      ),
    tensors.map((t) => t.shape as number[]),
  );
}
export function stack(tensors: Tensor[], dim = 0): Tensor {
  return callNative(
    () =>
      n.Stack!(
        tensors.map((t) => t.handle),
        dim,
      ),
    tensors.map((t) => t.shape as number[]),
  );
}

// ---- neural-network ops ----------------------------------------------------------------------

const pair = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);

export interface ConvOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  groups?: number;
}

/** x [B, C, H, W], weight [O, C/groups, kH, kW] → [B, O, H', W']. */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null, o: ConvOptions = {}): Tensor {
  return callNative(
    () => n.Conv2d!(x.handle, weight.handle, bias?.handle ?? null, pair(o.stride ?? 1), pair(o.padding ?? 0), pair(o.dilation ?? 1), o.groups ?? 1),
    [x.shape as number[], weight.shape as number[]],
  );
}

export interface ConvTransposeOptions extends ConvOptions {
  outputPadding?: number | [number, number];
}

/** x [B, C, H, W], weight [C, O/groups, kH, kW] → [B, O, H', W']. */
export function convTranspose2d(x: Tensor, weight: Tensor, bias: Tensor | null, o: ConvTransposeOptions = {}): Tensor {
  return callNative(
    () =>
      n.ConvTranspose2d!(
        x.handle,
        weight.handle,
        bias?.handle ?? null,
        pair(o.stride ?? 1),
        pair(o.padding ?? 0),
        pair(o.outputPadding ?? 0),
        o.groups ?? 1,
        pair(o.dilation ?? 1),
      ),
    [x.shape as number[], weight.shape as number[]],
  );
}

export function maxPool2d(
  x: Tensor,
  kernel: number | [number, number],
  stride?: number | [number, number],
  padding: number | [number, number] = 0,
  ceilMode = false,
): Tensor {
  return callNative(() => n.MaxPool2d!(x.handle, pair(kernel), pair(stride ?? kernel), pair(padding), ceilMode), [x.shape as number[]]);
}

/** Batch normalisation over dim 1. Training mode uses batch statistics and updates the running ones in place. */
export function batchNorm(
  x: Tensor,
  weight: Tensor | null,
  bias: Tensor | null,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  training: boolean,
  momentum = 0.1,
  eps = 1e-5,
): Tensor {
  return callNative(
    () =>
      n.BatchNorm!(x.handle, weight?.handle ?? null, bias?.handle ?? null, runningMean?.handle ?? null, runningVar?.handle ?? null, training, momentum, eps),
    [x.shape as number[], (weight?.shape ?? []) as number[]],
  );
}

/** Inverted dropout; with a generator the mask is reproducible. */
export function dropout(x: Tensor, p: number, training: boolean, gen?: Generator): Tensor {
  if (!(p >= 0 && p < 1)) throw new InvalidArgumentError(`dropout: p must be in [0, 1), got ${p}`);
  return new Tensor(n.Dropout!(x.handle, p, training, gen?.handle ?? null));
}

/** x [B, in], weight [out, in], bias [out] → [B, out]. */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null): Tensor {
  return callNative(() => n.Linear!(x.handle, weight.handle, bias?.handle ?? null), [x.shape as number[], weight.shape as number[]]);
}

/** Resize [B, C, H, W] to [B, C, h, w]. */
export function interpolate(x: Tensor, size: [number, number], mode: 'nearest' | 'bilinear' = 'bilinear', alignCorners = false): Tensor {
  return callNative(() => n.Interpolate!(x.handle, size, mode, alignCorners), [x.shape as number[], size]);
}

// ---- autograd --------------------------------------------------------------------------------

/** Runs fn with gradient recording off (inference, in-place updates). */
export function noGrad<T>(fn: () => T): T {
  const prev = n.SetGradEnabled!(false) as boolean;
  try {
    return fn();
  } finally {
    n.SetGradEnabled!(prev);
  }
}

export function isGradEnabled(): boolean {
  return n.IsGradEnabled!() as boolean;
}

/** d(sum of outputs)/d inputs, without accumulating into any .grad (the design loop's d score / d z). */
export function gradients(outputs: Tensor[], inputs: Tensor[], gradOutputs?: Tensor[]): (Tensor | null)[] {
  let hs: (Handle | null)[];
  try {
    hs = n.Gradients!(
      outputs.map((t) => t.handle),
      inputs.map((t) => t.handle),
      gradOutputs?.map((t) => t.handle),
    ) as (Handle | null)[];
  } catch (e) {
    const err = e as Error;
    throw new TorchError(`gradients: ${err.message}`);
  }
  return hs.map((h) => (h === null ? null : new Tensor(h)));
}
