/**
 * The image encoder Φ (method.md §1): convs (SAME padding, ReLU, optional 2×2 max-pool) →
 * hidden dense layers with dropout → linear K. Input: float [B, 3, S, S] in [−1, 1].
 * Glorot-uniform weights, zero biases.
 */
import type { EncoderConfig } from '../config/dvbpr.js';
import { Conv2d, Dropout, Generator, Linear, maxPool2d, Module, type Tensor } from '../torch/index.js';
import { ShapeError } from '../core/errors.js';

export class Encoder extends Module {
  readonly convs: Conv2d[];
  readonly hidden: Linear[];
  readonly drop: Dropout;
  readonly out: Linear;
  readonly flatDim: number;

  constructor(
    readonly config: EncoderConfig,
    gen: Generator,
    /** dropout's own generator: its state is part of a checkpoint, so a resumed run draws the same masks */
    readonly dropoutGen?: Generator,
  ) {
    super();
    let c = 3;
    let s = config.inputSize;
    this.convs = config.convs.map((spec, k) => {
      const conv = this.registerModule(`conv${k + 1}`, new Conv2d(c, spec.out, spec.kernel, { gen, stride: spec.stride, padding: 'same' }));
      c = spec.out;
      s = Math.floor((s + 2 * conv.padding - spec.kernel) / spec.stride) + 1;
      if (spec.pool) s = Math.floor(s / 2);
      return conv;
    });
    if (s < 1) throw new ShapeError(`encoder: input ${config.inputSize} px shrinks to nothing`, [[config.inputSize]]);
    this.flatDim = c * s * s;
    let d = this.flatDim;
    this.hidden = config.hidden.map((h, k) => {
      const l = this.registerModule(`fc${k + 1}`, new Linear(d, h, { gen }));
      d = h;
      return l;
    });
    this.drop = this.registerModule('drop', new Dropout(config.dropout, dropoutGen));
    this.out = this.registerModule('out', new Linear(d, config.k, { gen }));
  }

  /** The conv trunk + hidden layers: [B, 3, S, S] → [B, D] (D = last hidden width or flatDim). */
  features(x: Tensor): Tensor {
    const [b, ch, h, w] = x.shape;
    if (ch !== 3 || h !== this.config.inputSize || w !== this.config.inputSize) {
      throw new ShapeError(`encoder expects [B, 3, ${this.config.inputSize}, ${this.config.inputSize}], got [${x.shape.join(', ')}]`, [x.shape as number[]]);
    }
    let y = x;
    this.convs.forEach((conv, k) => {
      y = conv.forward(y).relu();
      if (this.config.convs[k]!.pool) y = maxPool2d(y, 2);
    });
    y = y.reshape([b!, this.flatDim]); // [B, C·s·s]
    for (const l of this.hidden) y = this.drop.forward(l.forward(y).relu());
    return y;
  }

  /** Φ(X): [B, 3, S, S] → [B, K]. Dropout before the last layer as the paper's fc layers. */
  forward(x: Tensor): Tensor {
    const f = this.features(x);
    return this.out.forward(this.config.hidden.length ? f : this.drop.forward(f));
  }
}

/** uint8 images [B, S, S, 3] → float [B, 3, S, S] in [−1, 1] (method.md: pixels scaled to [−1, 1]). */
export function toInput(u8: Tensor): Tensor {
  return u8.to('float32').permute([0, 3, 1, 2]).div(127.5).sub(1);
}
