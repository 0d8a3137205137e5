/**
 * The typed tensor. A Tensor owns one native handle (an at::Tensor); ops return new Tensors.
 * Autograd is libtorch's: an op records itself when an input requires grad.
 */
import { ShapeError, TorchError } from '../core/errors.js';
import { native, type Gen, type Handle } from './native.js';
import { track, type Disposable } from './tidy.js';

export type DType = 'float32' | 'float64' | 'int64' | 'int32' | 'uint8' | 'bool';
export type Device = 'cpu' | `cuda${'' | `:${number}`}`;
export type Shape = readonly number[];

type TypedArrayOf<D extends DType> = D extends 'float32'
  ? Float32Array
  : D extends 'float64'
    ? Float64Array
    : D extends 'int64'
      ? BigInt64Array
      : D extends 'int32'
        ? Int32Array
        : Uint8Array;

export type AnyTypedArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

const n = native;
/** tensors wrapped so far: one per op call, so a step's op count is a difference of two readings */
let created = 0;

export function createdTensors(): number {
  return created;
}

/** Maps native errors to typed ones: shape errors name both shapes. */
function rethrow(err: unknown): never {
  const e = err as Error & { code?: string; shapes?: number[][] };
  if (e && e.code === 'SHAPE_MISMATCH') throw new ShapeError(e.message, e.shapes ?? []);
  if (e && e.code === 'TORCH_ERROR') throw new TorchError(e.message);
  throw err;
}

export class Tensor implements Disposable {
  #h: Handle | null;
  #shape: number[] | undefined;

  /** Wraps a native handle; internal. */
  constructor(handle: Handle) {
    this.#h = handle;
    created++;
    track(this);
  }

  get handle(): Handle {
    if (this.#h === null) throw new TorchError('tensor used after dispose');
    return this.#h;
  }

  get isDisposed(): boolean {
    return this.#h === null;
  }

  dispose(): void {
    if (this.#h !== null) {
      n.Free!(this.#h);
      this.#h = null;
    }
  }

  get shape(): Shape {
    return (this.#shape ??= n.Shape!(this.handle) as number[]);
  }

  get rank(): number {
    return this.shape.length;
  }

  get size(): number {
    let s = 1;
    for (const d of this.shape) s *= d;
    return s;
  }

  get dtype(): DType {
    return n.DtypeOf!(this.handle) as DType;
  }

  get device(): string {
    return n.DeviceOf!(this.handle) as string;
  }

  // ---- data ----------------------------------------------------------------------------------

  /** Copies the data out (detached, contiguous, on the CPU). */
  data<D extends DType = 'float32'>(): TypedArrayOf<D> {
    // an activation under bf16 autocast (usePrecision) reads as float32 (stored tensors are never bfloat16)
    if ((this.dtype as string) === 'bfloat16') {
      const f = this.to('float32');
      try {
        return f.data<D>();
      } finally {
        f.dispose();
      }
    }
    const buf = n.ToBuffer!(this.handle) as ArrayBuffer;
    switch (this.dtype) {
      case 'float32':
        return new Float32Array(buf) as TypedArrayOf<D>;
      case 'float64':
        return new Float64Array(buf) as TypedArrayOf<D>;
      case 'int64':
        return new BigInt64Array(buf) as TypedArrayOf<D>;
      case 'int32':
        return new Int32Array(buf) as TypedArrayOf<D>;
      default:
        return new Uint8Array(buf) as TypedArrayOf<D>;
    }
  }

  /** Float data as a Float32Array, whatever the dtype. */
  toFloat32(): Float32Array {
    if (this.dtype === 'float32') return this.data<'float32'>();
    const t = this.to('float32');
    try {
      return t.data<'float32'>();
    } finally {
      t.dispose();
    }
  }

  /** Integer data as an Int32Array (indices, labels). */
  toInt32(): Int32Array {
    const t = this.to('int32');
    try {
      return t.data<'int32'>();
    } finally {
      t.dispose();
    }
  }

  item(): number {
    return n.Item!(this.handle) as number;
  }

  // ---- autograd ------------------------------------------------------------------------------

  get requiresGrad(): boolean {
    return n.RequiresGrad!(this.handle) as boolean;
  }

  set requiresGrad(on: boolean) {
    n.SetRequiresGrad!(this.handle, on);
  }

  requiresGrad_(on = true): this {
    n.SetRequiresGrad!(this.handle, on);
    return this;
  }

  /** The accumulated gradient (a new handle sharing its storage), or null. */
  get grad(): Tensor | null {
    const h = n.Grad!(this.handle) as Handle | null;
    return h === null ? null : new Tensor(h);
  }

  zeroGrad(): void {
    n.ZeroGrad!(this.handle);
  }

  backward(gradient?: Tensor, retainGraph = false): void {
    try {
      n.Backward!(this.handle, gradient?.handle ?? null, retainGraph);
    } catch (e) {
      rethrow(e);
    }
  }

  detach(): Tensor {
    return new Tensor(n.Detach!(this.handle));
  }

  clone(): Tensor {
    return new Tensor(n.Clone!(this.handle));
  }

  // ---- arithmetic (broadcasting; the second operand may be a number) -------------------------

  add(b: Tensor | number): Tensor {
    return binary('Add', this, b);
  }
  sub(b: Tensor | number): Tensor {
    return binary('Sub', this, b);
  }
  mul(b: Tensor | number): Tensor {
    return binary('Mul', this, b);
  }
  div(b: Tensor | number): Tensor {
    return binary('Div', this, b);
  }
  pow(b: Tensor | number): Tensor {
    return binary('Pow', this, b);
  }
  matmul(b: Tensor): Tensor {
    return binary('Matmul', this, b);
  }
  maximum(b: Tensor | number): Tensor {
    return binary('Maximum', this, b);
  }
  gt(b: Tensor | number): Tensor {
    return binary('Gt', this, b);
  }
  lt(b: Tensor | number): Tensor {
    return binary('Lt', this, b);
  }
  eq(b: Tensor | number): Tensor {
    return binary('Eq', this, b);
  }

  neg(): Tensor {
    return unary('Neg', this);
  }
  exp(): Tensor {
    return unary('Exp', this);
  }
  log(): Tensor {
    return unary('Log', this);
  }
  sqrt(): Tensor {
    return unary('Sqrt', this);
  }
  square(): Tensor {
    return unary('Square', this);
  }
  abs(): Tensor {
    return unary('Abs', this);
  }
  sigmoid(): Tensor {
    return unary('Sigmoid', this);
  }
  logSigmoid(): Tensor {
    return unary('LogSigmoid', this);
  }
  relu(): Tensor {
    return unary('Relu', this);
  }
  tanh(): Tensor {
    return unary('Tanh', this);
  }
  softplus(beta = 1, threshold = 20): Tensor {
    return new Tensor(n.Softplus!(this.handle, beta, threshold));
  }
  leakyRelu(slope = 0.01): Tensor {
    return new Tensor(n.LeakyRelu!(this.handle, slope));
  }
  logSoftmax(dim: number): Tensor {
    return call(() => n.LogSoftmax!(this.handle, dim));
  }
  softmax(dim: number): Tensor {
    return call(() => n.Softmax!(this.handle, dim));
  }
  clamp(min: number | null, max: number | null = null): Tensor {
    return new Tensor(n.Clamp!(this.handle, min, max));
  }

  // ---- reductions ----------------------------------------------------------------------------

  /** Sum over `dims` (all when omitted). */
  sum(dims?: number | number[], keepDim = false): Tensor {
    return call(() => n.Sum!(this.handle, dims === undefined ? null : [dims].flat(), keepDim));
  }
  mean(dims?: number | number[], keepDim = false): Tensor {
    return call(() => n.Mean!(this.handle, dims === undefined ? null : [dims].flat(), keepDim));
  }
  max(dim: number, keepDim = false): Tensor {
    return call(() => n.Max!(this.handle, dim, keepDim));
  }
  argmax(dim: number, keepDim = false): Tensor {
    return call(() => n.Argmax!(this.handle, dim, keepDim));
  }
  /** [values, indices] of the k largest (or smallest) along dim, sorted. */
  topk(k: number, dim = -1, largest = true): [Tensor, Tensor] {
    const [v, i] = call2(() => n.Topk!(this.handle, k, dim, largest) as [Handle, Handle]);
    return [v, i];
  }

  /** Eigen-decomposition of a symmetric matrix: [eigenvalues ascending [n], eigenvectors as columns [n, n]]. */
  eigh(): [Tensor, Tensor] {
    return call2(() => n.Eigh!(this.handle) as [Handle, Handle]);
  }

  // ---- shape ---------------------------------------------------------------------------------

  reshape(shape: number[]): Tensor {
    return call(() => n.Reshape!(this.handle, shape), [this.shape as number[], shape]);
  }
  permute(dims: number[]): Tensor {
    return call(() => n.Permute!(this.handle, dims));
  }
  transpose(d0: number, d1: number): Tensor {
    return call(() => n.Transpose!(this.handle, d0, d1));
  }
  expand(shape: number[]): Tensor {
    return call(() => n.Expand!(this.handle, shape), [this.shape as number[], shape]);
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return call(() => n.Narrow!(this.handle, dim, start, length));
  }
  contiguous(): Tensor {
    return new Tensor(n.Contiguous!(this.handle));
  }
  /** Rows of an embedding table: index along dim by an int64 tensor. */
  indexSelect(dim: number, index: Tensor): Tensor {
    return call(() => n.IndexSelect!(this.handle, dim, index.handle));
  }
  gather(dim: number, index: Tensor): Tensor {
    return call(() => n.Gather!(this.handle, dim, index.handle), [this.shape as number[], index.shape as number[]]);
  }

  to(dtype: DType): Tensor {
    return new Tensor(n.ToDtype!(this.handle, dtype));
  }
  toDevice(device: Device): Tensor {
    return call(() => n.ToDevice!(this.handle, device));
  }

  // ---- in place (no autograd) ----------------------------------------------------------------

  /** Copies src into this tensor (same shape or broadcastable), outside autograd. */
  copy_(src: Tensor): this {
    try {
      n.Copy_!(this.handle, src.handle);
    } catch (e) {
      const err = e as { code?: string };
      if (err.code === 'TORCH_ERROR') {
        throw new ShapeError(`copy_: cannot copy shape [${src.shape.join(', ')}] into [${this.shape.join(', ')}]`, [
          this.shape as number[],
          src.shape as number[],
        ]);
      }
      rethrow(e);
    }
    return this;
  }
  zero_(): this {
    n.Zero_!(this.handle);
    return this;
  }
  /** Replaces the slices at `index` (int64, distinct) along dim by src's, in place, outside autograd. */
  indexCopy_(dim: number, index: Tensor, src: Tensor): this {
    try {
      n.IndexCopy_!(this.handle, dim, index.handle, src.handle);
    } catch (e) {
      const err = e as { code?: string; message?: string };
      if (err.code === 'TORCH_ERROR')
        throw new ShapeError(
          `indexCopy_: ${err.message} (shapes [${this.shape.join(', ')}], index [${index.shape.join(', ')}], src [${src.shape.join(', ')}])`,
          [this.shape as number[], src.shape as number[]],
        );
      rethrow(e);
    }
    return this;
  }
  uniform_(low: number, high: number, gen?: Generator): this {
    n.Uniform_!(this.handle, low, high, gen?.handle ?? null);
    return this;
  }
  normal_(mean: number, std: number, gen?: Generator): this {
    n.Normal_!(this.handle, mean, std, gen?.handle ?? null);
    return this;
  }

  toString(): string {
    return `Tensor(${this.dtype}, [${this.shape.join(', ')}])`;
  }
}

function binary(op: string, a: Tensor, b: Tensor | number): Tensor {
  try {
    return new Tensor(n[op]!(a.handle, typeof b === 'number' ? b : b.handle));
  } catch (e) {
    rethrow(e);
  }
}

function unary(op: string, a: Tensor): Tensor {
  return new Tensor(n[op]!(a.handle));
}

/** Runs a native op; a libtorch error becomes a TorchError (with the shapes, when given). */
function call(f: () => Handle, shapes?: number[][]): Tensor {
  try {
    return new Tensor(f());
  } catch (e) {
    const err = e as { code?: string; message?: string };
    if (shapes && err.code === 'TORCH_ERROR') {
      throw new ShapeError(`${err.message} (shapes ${shapes.map((s) => `[${s.join(', ')}]`).join(' and ')})`, shapes);
    }
    rethrow(e);
  }
}

function call2(f: () => [Handle, Handle]): [Tensor, Tensor] {
  try {
    const [a, b] = f();
    return [new Tensor(a), new Tensor(b)];
  } catch (e) {
    rethrow(e);
  }
}

export { rethrow as rethrowNative, call as callNative };

/** A libtorch random generator with its own seed, so that two seeded streams never interfere. */
export class Generator {
  readonly handle: Gen;
  readonly seed: number;
  constructor(seed: number) {
    this.seed = seed;
    this.handle = n.NewGenerator!(seed) as Gen;
  }
  /** The full generator state as a uint8 tensor (for checkpoints). */
  getState(): Tensor {
    return new Tensor(n.GeneratorGetState!(this.handle));
  }
  setState(state: Tensor): void {
    n.GeneratorSetState!(this.handle, state.handle);
  }
}

/** Number of native tensors not yet disposed (for tests and leak checks). */
export function liveTensors(): number {
  return n.LiveCount!() as number;
}
