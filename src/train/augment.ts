/**
 * Training-time image augmentation for the encoder, the geometric changes a product photo survives:
 * a horizontal flip (a garment mirrored is the same garment), a translation of up to `shift`
 * pixels per axis, and a zoom by a factor in [1 − scale, 1 + scale] about the centre, applied as
 * one nearest-pixel warp per image; the uncovered border repeats the edge row or column (catalogue
 * photos have a plain background, so the edge is background). Colour is left alone: colour is
 * taste. The encoder stops seeing the exact same pixels every epoch, the usual remedy for a CNN
 * that memorises a few thousand images. The draws come from their own torch generator, whose state
 * a checkpoint keeps, so a resumed run draws the same changes.
 */
import { InvalidArgumentError, ShapeError } from '../core/errors.js';
import { Generator, rand, randint, randn, tensor, type Tensor } from '../torch/index.js';

/** Per image of a batch: mirrored or not, the shift (rows, columns), the zoom factor. */
export interface Warps {
  flip?: ArrayLike<boolean>;
  dy: ArrayLike<number>;
  dx: ArrayLike<number>;
  scale?: ArrayLike<number>;
}

/**
 * Warps uint8 images [B, S, S, C] (row-major): output pixel (y, x) shows the source pixel at
 * ((y − c)/z + c − dy, (x′ − c)/z + c − dx), rounded and clamped to the image, where c = (S − 1)/2,
 * z the zoom and x′ = S − 1 − x when mirrored (else x): the image shifted and zoomed, then mirrored.
 */
export function warpImages(src: Uint8Array, b: number, s: number, c: number, w: Warps): Uint8Array {
  const out = new Uint8Array(src.length);
  const per = s * s * c;
  const mid = (s - 1) / 2;
  const clamp = (v: number) => Math.min(s - 1, Math.max(0, v));
  const rowOf = new Int32Array(s);
  const colOf = new Int32Array(s);
  for (let n = 0; n < b; n++) {
    const z = w.scale?.[n] ?? 1;
    const flip = w.flip?.[n] ?? false;
    for (let k = 0; k < s; k++) {
      rowOf[k] = clamp(Math.round((k - mid) / z + mid) - w.dy[n]!);
      colOf[k] = clamp(Math.round(((flip ? s - 1 - k : k) - mid) / z + mid) - w.dx[n]!);
    }
    const base = n * per;
    for (let y = 0; y < s; y++) {
      const sy = rowOf[y]!;
      for (let x = 0; x < s; x++) {
        const o = base + (y * s + x) * c;
        const i = base + (sy * s + colOf[x]!) * c;
        for (let k = 0; k < c; k++) out[o + k] = src[i + k]!;
      }
    }
  }
  return out;
}

/** Shifts uint8 images [B, S, S, C] by (dy[b], dx[b]); edge pixels repeat. */
export function shiftImages(src: Uint8Array, b: number, s: number, c: number, dy: ArrayLike<number>, dx: ArrayLike<number>): Uint8Array {
  return warpImages(src, b, s, c, { dy, dx });
}

export interface Augmenter {
  /** uint8 [B, S, S, C] → augmented uint8 [B, S, S, C] (a new tensor) */
  apply(images: Tensor): Tensor;
  /** its generator, to be checkpointed with the run */
  generator: Generator;
}

export interface AugmentOptions {
  /** largest translation per axis in pixels (0 = none) */
  shift: number;
  /** mirror half of the images, left to right */
  flip: boolean;
  /** zoom factors uniform in [1 − scale, 1 + scale] (0 = none) */
  scale: number;
  /**
   * Gaussian pixel noise of this standard deviation in the network's input units ([−1, 1]: 0.1 is
   * about 13 of 255), added after the warp and rounded back to uint8 (0 = none). Not a photo
   * change: it makes Φ smoother around the images it learns from, so that a design search ascends
   * along what the shopper likes rather than along pixel patterns no garment has (method.md §6).
   */
  noise?: number;
}

/** Whether the options change anything (an augmenter of none is not made). */
export function augments(o: AugmentOptions): boolean {
  return o.shift > 0 || o.flip || o.scale > 0 || (o.noise ?? 0) > 0;
}

/**
 * An augmenter drawing, per batch, integer shifts uniform in [−shift, shift] per axis (first, as
 * the shift-only augmenter always did, so its runs draw what they drew), then a flip bit and a
 * zoom factor per image when asked for, then the noise.
 */
export function augmenter(o: AugmentOptions, seed: number): Augmenter {
  if (!Number.isInteger(o.shift) || o.shift < 0) throw new InvalidArgumentError(`augmentShift must be a non-negative integer, got ${o.shift}`);
  if (!(o.scale >= 0 && o.scale < 0.5)) throw new InvalidArgumentError(`augmentScale must be in [0, 0.5), got ${o.scale}`);
  if (!((o.noise ?? 0) >= 0 && (o.noise ?? 0) <= 1)) throw new InvalidArgumentError(`augmentNoise must be in [0, 1], got ${o.noise}`);
  if (!augments(o)) throw new InvalidArgumentError('an augmenter needs augmentShift, augmentFlip, augmentScale or augmentNoise');
  const generator = new Generator(seed);
  return {
    generator,
    apply(images: Tensor): Tensor {
      const [b, s, s2, c] = images.shape;
      if (images.shape.length !== 4 || s !== s2)
        throw new ShapeError(`augmenter: expected uint8 images [B, S, S, C], got [${images.shape.join(', ')}]`, [[...images.shape]]);
      const n = b!;
      let dy: number[] = new Array<number>(n).fill(0);
      let dx: number[] = new Array<number>(n).fill(0);
      if (o.shift > 0) {
        const shifts = randint(-o.shift, o.shift + 1, [2, n], generator);
        const d = shifts.data<'int64'>();
        shifts.dispose();
        dy = Array.from(d.subarray(0, n), Number);
        dx = Array.from(d.subarray(n), Number);
      }
      const w: Warps = { dy, dx };
      if (o.flip || o.scale > 0) {
        const u = rand([2, n], generator);
        const d = u.data<'float32'>();
        u.dispose();
        if (o.flip) w.flip = Array.from(d.subarray(0, n), (v) => v < 0.5);
        if (o.scale > 0) w.scale = Array.from(d.subarray(n), (v) => 1 + o.scale * (2 * v - 1));
      }
      const warped = warpImages(images.data<'uint8'>(), n, s!, c!, w);
      if ((o.noise ?? 0) > 0) {
        const e = randn([warped.length], generator);
        const z = e.data<'float32'>();
        e.dispose();
        const sd = o.noise! * 127.5;
        for (let q = 0; q < warped.length; q++) warped[q] = Math.min(255, Math.max(0, Math.round(warped[q]! + sd * z[q]!)));
      }
      return tensor(warped, [n, s!, s!, c!]);
    },
  };
}

/** An augmenter shifting by up to `max` pixels (uniform integer shifts in [−max, max] per axis). */
export function shiftAugmenter(max: number, seed: number): Augmenter {
  if (!Number.isInteger(max) || max < 1) throw new InvalidArgumentError(`augmentShift must be a positive integer, got ${max}`);
  return augmenter({ shift: max, flip: false, scale: 0 }, seed);
}
