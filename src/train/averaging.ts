/**
 * Exponential moving averages of a module's weights (Polyak averaging), shared by the BPR loop
 * (`averageEpochs`) and the GAN loop (the generator's `emaSteps`):
 *   avg ← decay · avg + (1 − decay) · current      after every optimiser step.
 * Every entry of the state dict is averaged, BatchNorm's running statistics included (they are
 * running averages themselves, so their average stays a valid estimate).
 */
import { InvalidArgumentError } from '../core/errors.js';
import { noGrad, tensor, tidy, type Module, type Tensor } from '../torch/index.js';

/** Detached copies of a state dict's tensors. */
export function copyState(state: Map<string, Tensor>): Map<string, Tensor> {
  return noGrad(() => new Map([...state].map(([k, v]) => [k, v.detach().clone()])));
}

/** Detached copies of a module's weights and buffers. */
export const snapshot = (m: Module): Map<string, Tensor> => copyState(m.stateDict());

/** decay of an average whose time constant is `steps` optimiser steps. */
export const decayFor = (steps: number): number => 1 - 1 / steps;

/** avg ← decay · avg + (1 − decay) · current, for every entry of the state dict (but `skip`: a lazily averaged table). */
export function averageInto(avg: Map<string, Tensor>, m: Module, decay: number, skip?: string): void {
  noGrad(() =>
    tidy(() => {
      for (const [k, v] of m.stateDict()) {
        if (k === skip) continue;
        const a = avg.get(k)!;
        a.copy_(a.mul(decay).add(v.detach().mul(1 - decay)));
      }
    }),
  );
}

/**
 * The average of a table of rows trained by lazy updates (train/bpr.ts), kept lazily: a row the
 * steps did not touch keeps its value, so its average after Δ such steps is d^Δ·avg + (1 − d^Δ)·θ,
 * computed when the row is next touched (`beforeStep`, with its value still the old one) or when
 * every average is read (`flush`). The same averages as one update per step, in O(rows touched).
 */
export class LazyRowAverage {
  private readonly last: Float64Array;
  constructor(
    private readonly avg: Tensor,
    private readonly param: Tensor,
    private readonly decay: number,
    step: number,
    /** each row's step of its last update, as `steps()` gave them (a checkpoint's); absent: every row at `step` */
    last?: Float64Array,
  ) {
    this.last = last ? Float64Array.from(last) : new Float64Array(param.shape[0]!).fill(step);
    if (this.last.length !== param.shape[0]) throw new InvalidArgumentError(`LazyRowAverage: ${this.last.length} row steps for ${param.shape[0]} rows`);
  }

  /** Each row's step of its last averaging, as a float64 tensor (for a checkpoint). */
  steps(): Tensor {
    return tensor(Float64Array.from(this.last), [this.last.length], 'float64');
  }

  /** Before step s changes `rows`: their averages brought to step s − 1. */
  beforeStep(rows: Int32Array, s: number): void {
    this.mix(rows, (r) => this.decay ** (s - 1 - this.last[r]!));
  }

  /** After step s changed `rows`: the step's own update of their averages. */
  afterStep(rows: Int32Array, s: number): void {
    this.mix(rows, () => this.decay);
    for (const r of rows) this.last[r] = s;
  }

  /** Every row's average brought to step s (before the averages are read or saved). */
  flush(s: number): void {
    const f = Float32Array.from(this.last, (l) => this.decay ** (s - l));
    noGrad(() =>
      tidy(() => {
        const col = tensor(f, [f.length, 1]);
        this.avg.copy_(this.avg.mul(col).add(this.param.detach().mul(col.neg().add(1))));
      }),
    );
    this.last.fill(s);
  }

  private mix(rows: Int32Array, factor: (r: number) => number): void {
    if (!rows.length) return;
    noGrad(() =>
      tidy(() => {
        const idx = tensor(rows, [rows.length], 'int64');
        const col = tensor(Float32Array.from(rows, factor), [rows.length, 1]);
        const a = this.avg.indexSelect(0, idx);
        const p = this.param.detach().indexSelect(0, idx);
        this.avg.indexCopy_(0, idx, a.mul(col).add(p.mul(col.neg().add(1))));
      }),
    );
  }
}

/** Loads `weights` into m and returns what puts the module's own weights back. */
function swapIn(m: Module, weights: Map<string, Tensor>): () => void {
  const raw = snapshot(m);
  m.loadStateDict(weights, 'averaged weights');
  return () => {
    m.loadStateDict(raw, 'raw weights');
    disposeAll(raw);
  };
}

/** Runs fn with `weights` loaded into m; the module's own weights are put back after. */
export function withWeights<T>(m: Module, weights: Map<string, Tensor>, fn: () => T): T {
  const restore = swapIn(m, weights);
  try {
    return fn();
  } finally {
    restore();
  }
}

/** withWeights for an async fn: the weights stay loaded until its promise settles. */
export async function withWeightsAsync<T>(m: Module, weights: Map<string, Tensor>, fn: () => Promise<T>): Promise<T> {
  const restore = swapIn(m, weights);
  try {
    return await fn();
  } finally {
    restore();
  }
}

export function disposeAll(state: Map<string, Tensor>): void {
  for (const t of state.values()) t.dispose();
}
