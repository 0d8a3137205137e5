/**
 * A table of uint8 image rows [N, S, S, 3] that hands out tensors: the batch's rows, or a range.
 * A resident Tensor is one (every row on the device); src/app's image-cache rows read a batch's
 * rows from disk instead, so a catalogue larger than memory trains and embeds by rows.
 */
import type { Tensor } from './tensor.js';

export interface PixelRows {
  /** [N, S, S, 3] */
  readonly shape: readonly number[];
  /** the rows at `index` (int64 [n], dim 0 only): uint8 [n, S, S, 3] */
  indexSelect(dim: number, index: Tensor): Tensor;
  /** rows [start, start + length) (dim 0 only): uint8 [length, S, S, 3] */
  narrow(dim: number, start: number, length: number): Tensor;
  dispose(): void;
}
