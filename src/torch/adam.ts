/**
 * Adam as torch.optim.Adam computes it (weight decay as L2 added to the gradient), or AdamW
 * (decoupled weight decay). The update runs in C++ over all parameters in one call.
 */
import { InvalidArgumentError } from '../core/errors.js';
import { native as n } from './native.js';
import { zeros } from './ops.js';
import type { Tensor } from './tensor.js';
import { keep } from './tidy.js';

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** AdamW's decoupled decay instead of L2 in the gradient. */
  decoupled?: boolean;
}

export class Adam {
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly decoupled: boolean;
  stepCount = 0;
  private readonly expAvg: Tensor[];
  private readonly expAvgSq: Tensor[];

  constructor(
    readonly params: Tensor[],
    o: AdamOptions,
  ) {
    if (!(o.lr > 0)) throw new InvalidArgumentError(`Adam: lr must be positive, got ${o.lr}`);
    this.lr = o.lr;
    this.beta1 = o.beta1 ?? 0.9;
    this.beta2 = o.beta2 ?? 0.999;
    this.eps = o.eps ?? 1e-8;
    this.weightDecay = o.weightDecay ?? 0;
    this.decoupled = o.decoupled ?? false;
    this.expAvg = params.map((p) => keep(zeros(p.shape, p.dtype)));
    this.expAvgSq = params.map((p) => keep(zeros(p.shape, p.dtype)));
  }

  /** One update of every parameter that has a gradient. */
  step(): void {
    this.stepCount++;
    n.AdamStep!(
      this.params.map((p) => p.handle),
      this.expAvg.map((t) => t.handle),
      this.expAvgSq.map((t) => t.handle),
      this.stepCount,
      this.lr,
      this.beta1,
      this.beta2,
      this.eps,
      this.weightDecay,
      this.decoupled,
    );
  }

  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad();
  }

  /** Moment tensors by name (shared, for checkpoints) and the step count. */
  stateDict(): { step: number; tensors: Map<string, Tensor> } {
    const tensors = new Map<string, Tensor>();
    this.expAvg.forEach((t, i) => tensors.set(`exp_avg.${i}`, t));
    this.expAvgSq.forEach((t, i) => tensors.set(`exp_avg_sq.${i}`, t));
    return { step: this.stepCount, tensors };
  }

  loadStateDict(state: { step: number; tensors: Map<string, Tensor> }): void {
    this.stepCount = state.step;
    this.expAvg.forEach((t, i) => t.copy_(state.tensors.get(`exp_avg.${i}`)!));
    this.expAvgSq.forEach((t, i) => t.copy_(state.tensors.get(`exp_avg_sq.${i}`)!));
  }

  dispose(): void {
    for (const t of [...this.expAvg, ...this.expAvgSq]) t.dispose();
  }
}
