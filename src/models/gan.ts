/**
 * Conditional least-squares GAN, DCGAN shape (method.md §4).
 *  G: [z; onehot(c)] → dense 4·4·B → BN → lReLU(0.2) → transposed convs 3×3 stride 2 (channels
 *     halving, BN + lReLU) … → 3 channels at S×S → tanh.
 *  D: category tiled as constant maps, concatenated to the input and to every hidden map;
 *     5×5 stride-2 convs (B, 2B, 4B, 8B; BN except the first; lReLU 0.2) → linear output.
 *     With `projection` (not the paper's), D's output also gets the inner product of its last
 *     features with a learned embedding of the category (Miyato & Koyama's projection
 *     discriminator), so that D judges how well an image fits its category, not only whether it
 *     looks real: the tiled maps only let the category shift D's features.
 * Weights N(0, 0.02) (the DCGAN convention).
 */
import type { GanConfig } from '../config/gan.js';
import { ShapeError } from '../core/errors.js';
import { BatchNorm2d, cat, consume, Conv2d, ConvTranspose2d, Generator, Linear, Module, tensor, type Tensor } from '../torch/index.js';

const INIT = { kind: 'normal' as const, std: 0.02 };

function upsamplings(size: number): number {
  const n = Math.log2(size / 4);
  if (!Number.isInteger(n) || n < 1) throw new ShapeError(`GAN image size must be 4·2^n (8, 16, 32, 64, 128…), got ${size}`, [[size]]);
  return n;
}

/** one-hot [B, C] from category indices. */
export function oneHot(categories: Int32Array, numCategories: number): Tensor {
  const a = new Float32Array(categories.length * numCategories);
  categories.forEach((c, b) => (a[b * numCategories + c] = 1));
  return tensor(a, [categories.length, numCategories]);
}

export class GanGenerator extends Module {
  readonly dense: Linear;
  readonly bn0: BatchNorm2d;
  readonly ups: ConvTranspose2d[];
  readonly bns: BatchNorm2d[];
  readonly base: number;

  constructor(
    readonly config: GanConfig,
    readonly numCategories: number,
    gen: Generator,
  ) {
    super();
    const n = upsamplings(config.imageSize);
    this.base = config.genBase;
    this.dense = this.registerModule('dense', new Linear(config.zDim + numCategories, 16 * this.base, { gen, init: INIT }));
    this.bn0 = this.registerModule('bn0', new BatchNorm2d(this.base));
    this.ups = [];
    this.bns = [];
    let ch = this.base;
    for (let k = 0; k < n; k++) {
      const last = k === n - 1;
      const next = last ? 3 : Math.max(ch / 2, 8);
      this.ups.push(this.registerModule(`up${k + 1}`, new ConvTranspose2d(ch, next, 3, { gen, init: INIT, stride: 2, padding: 1, outputPadding: 1 })));
      if (!last) this.bns.push(this.registerModule(`bn${k + 1}`, new BatchNorm2d(next)));
      ch = next;
    }
  }

  /** z [B, zDim], c one-hot [B, C] → images [B, 3, S, S] in [−1, 1]. */
  forward(z: Tensor, c: Tensor): Tensor {
    const [b] = z.shape;
    // intermediate handles are released as soon as used (autograd keeps what backward needs)
    let h = consume(cat([z, c], 1), null, (zc) => this.dense.forward(zc));
    h = consume(h, null, (v) => v.reshape([b!, this.base, 4, 4])); // [B, base, 4, 4]
    h = consume(
      consume(h, null, (v) => this.bn0.forward(v)),
      null,
      (v) => v.leakyRelu(0.2),
    );
    this.ups.forEach((up, k) => {
      h = consume(h, null, (v) => up.forward(v)); // [B, ch, 2s, 2s]
      h =
        k < this.bns.length
          ? consume(
              consume(h, null, (v) => this.bns[k]!.forward(v)),
              null,
              (v) => v.leakyRelu(0.2),
            )
          : consume(h, null, (v) => v.tanh());
    });
    return h;
  }
}

export class GanDiscriminator extends Module {
  readonly convs: Conv2d[];
  readonly bns: (BatchNorm2d | null)[];
  readonly out: Linear;
  /** category embedding of the projection term (config.projection) */
  readonly embed: Linear | null;
  readonly finalSize: number;
  readonly finalChannels: number;

  constructor(
    readonly config: GanConfig,
    readonly numCategories: number,
    gen: Generator,
  ) {
    super();
    const n = Math.min(4, upsamplings(config.imageSize));
    let ch = 3;
    let size = config.imageSize;
    this.convs = [];
    this.bns = [];
    for (let k = 0; k < n; k++) {
      const o = config.discBase * 2 ** k;
      this.convs.push(this.registerModule(`conv${k + 1}`, new Conv2d(ch + numCategories, o, 5, { gen, init: INIT, stride: 2, padding: 2 })));
      this.bns.push(k === 0 ? null : this.registerModule(`bn${k + 1}`, new BatchNorm2d(o)));
      ch = o;
      size /= 2;
    }
    this.finalSize = size;
    this.finalChannels = ch;
    this.out = this.registerModule('out', new Linear(ch * size * size + numCategories, 1, { gen, init: INIT }));
    this.embed = config.projection ? this.registerModule('embed', new Linear(numCategories, ch * size * size, { gen, init: INIT, bias: false })) : null;
  }

  /** x [B, 3, S, S], c one-hot [B, C] → D's last features φ(x, c) [B, F], flattened (F = channels · size²). */
  features(x: Tensor, c: Tensor): Tensor {
    const [b, , s] = x.shape;
    const nc = this.numCategories;
    let h = x;
    let size = s!;
    const c4 = c.reshape([b!, nc, 1, 1]);
    this.convs.forEach((conv, k) => {
      const maps = c4.expand([b!, nc, size, size]); // category as constant maps [B, C, s, s]
      const input = consume(maps, null, (m) => cat([h, m], 1));
      if (h !== x) h.dispose();
      h = consume(input, null, (v) => conv.forward(v));
      const bn = this.bns[k];
      if (bn) h = consume(h, null, (v) => bn.forward(v));
      h = consume(h, null, (v) => v.leakyRelu(0.2));
      size /= 2;
    });
    c4.dispose();
    return consume(h, x, (v) => v.reshape([b!, this.finalChannels * this.finalSize * this.finalSize]));
  }

  /** x [B, 3, S, S], c one-hot [B, C] → D(x, c) [B] (linear output; LSGAN targets 1 real, 0 fake). */
  forward(x: Tensor, c: Tensor): Tensor {
    const [b] = x.shape;
    const flat = this.features(x, c);
    const y = consume(
      consume(cat([flat, c], 1), null, (v) => this.out.forward(v)),
      null,
      (v) => v.reshape([b!]),
    );
    if (!this.embed) {
      flat.dispose();
      return y;
    }
    // projection: ⟨φ(x, c), E c⟩ added to the linear output
    const proj = consume(
      consume(this.embed.forward(c), null, (e) => e.mul(flat)),
      null,
      (v) => v.sum(1),
    );
    flat.dispose();
    const out = y.add(proj);
    y.dispose();
    proj.dispose();
    return out;
  }
}

export class ConditionalGan {
  readonly generator: GanGenerator;
  readonly discriminator: GanDiscriminator;
  constructor(
    readonly config: GanConfig,
    readonly categories: string[],
    seed: number,
  ) {
    const gen = new Generator(seed);
    this.generator = new GanGenerator(config, categories.length, gen);
    this.discriminator = new GanDiscriminator(config, categories.length, gen);
  }

  dispose(): void {
    this.generator.dispose();
    this.discriminator.dispose();
  }
}

/**
 * The GAN's tensors in one map, the layout of weights.safetensors and of a checkpoint's `model.`
 * part: G's under `G.`, D's under `D.`; G's from `g` when given (the averaged generator).
 */
export function ganState(gan: ConditionalGan, g?: Map<string, Tensor>): Map<string, Tensor> {
  const m = new Map<string, Tensor>();
  for (const [k, v] of g ?? gan.generator.stateDict()) m.set(`G.${k}`, v);
  for (const [k, v] of gan.discriminator.stateDict()) m.set(`D.${k}`, v);
  return m;
}

/** Loads a map in ganState's layout into G and D; `source` names it in errors. */
export function loadGanState(gan: ConditionalGan, state: Map<string, Tensor>, source: string): void {
  const pick = (p: string) => new Map([...state].filter(([k]) => k.startsWith(p)).map(([k, v]) => [k.slice(p.length), v]));
  gan.generator.loadStateDict(pick('G.'), source);
  gan.discriminator.loadStateDict(pick('D.'), source);
}
