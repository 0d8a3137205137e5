/**
 * Adam as torch.optim.Adam computes it (weight decay as L2 added to the gradient), or AdamW
 * (decoupled weight decay). The update runs in C++ over all parameters in one call.
 */
import { InvalidArgumentError } from '../core/errors.js';
import { native as n } from './native.js';
import { noGrad, zeros } from './ops.js';
import type { Tensor } from './tensor.js';
import { keep, tidy } from './tidy.js';

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

/**
 * Lazy Adam for a table of rows (a user embedding θ [U, K]): a step updates only the rows given,
 * their moments and values, by Adam's formula with the step count's bias correction; every other
 * row, and its moments, stay as they are, bit for bit. So a step costs what its rows cost, whatever
 * the table's size. Dense Adam would decay every row's moments and keep moving rows that had no
 * gradient this step (their momentum); this is what large-embedding recommenders do instead.
 * PyTorch's SparseAdam is the same update, fed by a sparse gradient (an Embedding with sparse=True);
 * here the gradient comes dense for the step's rows alone (a leaf of those rows), and no weight
 * decay is offered (the objective's λ_θ term does that job).
 */
export class RowAdam {
  stepCount = 0;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  private readonly expAvg: Tensor;
  private readonly expAvgSq: Tensor;

  constructor(
    readonly param: Tensor,
    public lr: number,
    o: { beta1?: number; beta2?: number; eps?: number } = {},
  ) {
    if (!(lr > 0)) throw new InvalidArgumentError(`Adam: lr must be positive, got ${lr}`);
    this.beta1 = o.beta1 ?? 0.9;
    this.beta2 = o.beta2 ?? 0.999;
    this.eps = o.eps ?? 1e-8;
    this.expAvg = keep(zeros(param.shape, param.dtype));
    this.expAvgSq = keep(zeros(param.shape, param.dtype));
  }

  /** One update of the rows `rows` (int64 [R], distinct) with their gradient [R, K]. */
  step(rows: Tensor, grad: Tensor): void {
    this.stepCount++;
    const bc1 = 1 - this.beta1 ** this.stepCount;
    const bc2 = 1 - this.beta2 ** this.stepCount;
    noGrad(() =>
      tidy(() => {
        const m = this.expAvg
          .indexSelect(0, rows)
          .mul(this.beta1)
          .add(grad.mul(1 - this.beta1));
        const v = this.expAvgSq
          .indexSelect(0, rows)
          .mul(this.beta2)
          .add(grad.square().mul(1 - this.beta2));
        const denom = v.sqrt().div(Math.sqrt(bc2)).add(this.eps);
        const p = this.param.indexSelect(0, rows).sub(m.div(denom).mul(this.lr / bc1));
        this.expAvg.indexCopy_(0, rows, m);
        this.expAvgSq.indexCopy_(0, rows, v);
        this.param.indexCopy_(0, rows, p);
      }),
    );
  }

  stateDict(): { step: number; tensors: Map<string, Tensor> } {
    return {
      step: this.stepCount,
      tensors: new Map([
        ['exp_avg', this.expAvg],
        ['exp_avg_sq', this.expAvgSq],
      ]),
    };
  }

  loadStateDict(state: { step: number; tensors: Map<string, Tensor> }): void {
    this.stepCount = state.step;
    this.expAvg.copy_(state.tensors.get('exp_avg')!);
    this.expAvgSq.copy_(state.tensors.get('exp_avg_sq')!);
  }

  dispose(): void {
    this.expAvg.dispose();
    this.expAvgSq.dispose();
  }
}
