/**
 * Training-time image augmentation for the encoder: a random translation of each image by up to
 * `max` pixels in each direction, the uncovered border filled by repeating the edge row or column
 * (catalogue photos have a plain background, so the edge is background). A small shift keeps what
 * an item looks like while the encoder stops seeing the exact same pixels every epoch, the usual
 * remedy for a CNN that memorises a few thousand images. The shifts come from their own torch
 * generator, whose state a checkpoint keeps, so a resumed run draws the same shifts.
 */
import { InvalidArgumentError, ShapeError } from '../core/errors.js';
import { Generator, randint, tensor, type Tensor } from '../torch/index.js';

/** Shifts uint8 images [B, S, S, C] (row-major) by (dy[b], dx[b]); edge pixels repeat. */
export function shiftImages(src: Uint8Array, b: number, s: number, c: number, dy: ArrayLike<number>, dx: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(src.length);
  const per = s * s * c;
  for (let n = 0; n < b; n++) {
    const oy = dy[n]!;
    const ox = dx[n]!;
    const base = n * per;
    for (let y = 0; y < s; y++) {
      const sy = Math.min(s - 1, Math.max(0, y - oy)); // output row y shows source row y − dy
      for (let x = 0; x < s; x++) {
        const sx = Math.min(s - 1, Math.max(0, x - ox));
        const o = base + (y * s + x) * c;
        const i = base + (sy * s + sx) * c;
        for (let k = 0; k < c; k++) out[o + k] = src[i + k]!;
      }
    }
  }
  return out;
}

export interface Augmenter {
  /** uint8 [B, S, S, C] → shifted uint8 [B, S, S, C] (a new tensor) */
  apply(images: Tensor): Tensor;
  /** its generator, to be checkpointed with the run */
  generator: Generator;
}

/** An augmenter shifting by up to `max` pixels (uniform integer shifts in [−max, max] per axis). */
export function shiftAugmenter(max: number, seed: number): Augmenter {
  if (!Number.isInteger(max) || max < 1) throw new InvalidArgumentError(`augmentShift must be a positive integer, got ${max}`);
  const generator = new Generator(seed);
  return {
    generator,
    apply(images: Tensor): Tensor {
      const [b, s, s2, c] = images.shape;
      if (images.shape.length !== 4 || s !== s2)
        throw new ShapeError(`shiftAugmenter: expected uint8 images [B, S, S, C], got [${images.shape.join(', ')}]`, [[...images.shape]]);
      const shifts = randint(-max, max + 1, [2, b!], generator);
      const d = shifts.data<'int64'>();
      shifts.dispose();
      const dy = Array.from(d.subarray(0, b!), Number);
      const dx = Array.from(d.subarray(b!), Number);
      return tensor(shiftImages(images.data<'uint8'>(), b!, s!, c!, dy, dx), [b!, s!, s!, c!]);
    },
  };
}
