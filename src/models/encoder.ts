/**
 * The image encoder Φ (method.md §1): convs (SAME padding, ReLU, optional 2×2 max-pool) →
 * hidden dense layers with dropout → linear K. Input: float [B, 3, S, S] in [−1, 1].
 * Glorot-uniform weights, zero biases.
 */
import type { EncoderConfig } from '../config/dvbpr.js';
import { Conv2d, Dropout, Generator, Linear, maxPool2d, Module, type Tensor } from '../torch/index.js';
import { ShapeError } from '../core/errors.js';
import { consume } from '../torch/index.js';

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
    // Each intermediate handle is released as soon as the next op has it: autograd keeps its own
    // references to what backward needs, so this only lowers the peak memory (as PyTorch's refcounts do).
    let y = x;
    this.convs.forEach((conv, k) => {
      y = consume(y, x, (v) => consume(conv.forward(v), null, (c) => c.relu()));
      if (this.config.convs[k]!.pool) y = consume(y, x, (v) => maxPool2d(v, 2));
    });
    y = consume(y, x, (v) => v.reshape([b!, this.flatDim])); // [B, C·s·s]
    for (const l of this.hidden)
      y = consume(y, x, (v) =>
        consume(
          consume(l.forward(v), null, (h) => h.relu()),
          null,
          (h) => this.drop.forward(h),
        ),
      );
    return y;
  }

  /** Φ(X): [B, 3, S, S] → [B, K]. Dropout before the last layer as the paper's fc layers. */
  forward(x: Tensor): Tensor {
    const f = this.features(x);
    const d = this.config.hidden.length ? f : consume(f, x, (v) => this.drop.forward(v));
    return consume(d, x, (v) => this.out.forward(v));
  }
}

/** uint8 images [B, S, S, 3] → float [B, 3, S, S] in [−1, 1] (method.md: pixels scaled to [−1, 1]). */
export function toInput(u8: Tensor): Tensor {
  const f = u8.to('float32');
  const p = consume(f, null, (v) => v.permute([0, 3, 1, 2]));
  return consume(
    consume(p, null, (v) => v.div(127.5)),
    null,
    (v) => v.sub(1),
  );
}

/** float [B, 3, S, S] in [−1, 1] → uint8 [B, S, S, 3] (generated images back to pixels). */
export function toUint8(x: Tensor): Tensor {
  const p = x.add(1).mul(127.5).add(0.5).clamp(0, 255);
  return consume(
    consume(p, null, (v) => v.permute([0, 2, 3, 1]).contiguous()),
    null,
    (v) => v.to('uint8'),
  );
}
