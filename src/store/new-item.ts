/**
 * New items from their photo alone: the photo is fitted like the catalogue (same size and fit),
 * embedded by the run's encoder Φ, and scored by every shopper — no purchase needed.
 */
import { BadInputError } from '../core/errors.js';
import { fitImage, type Fit } from '../data/images.js';
import { toInput } from '../models/encoder.js';
import { noGrad, tensor, tidy } from '../torch/index.js';
import type { LoadedRun } from './run.js';

export interface NewItemScores {
  /** Φ(X) [K] */
  embedding: Float32Array;
  /** θ_uᵀΦ(X) for every shopper [U] */
  scores: Float32Array;
}

export async function scoreNewItem(run: LoadedRun, photo: Buffer, source: string, fit: Fit = 'letterbox'): Promise<NewItemScores> {
  if (!run.dvbpr) throw new BadInputError(`run kind '${run.manifest.kind}' cannot embed photos: use a DVBPR run`);
  const size = run.manifest.dataset.imageSize;
  let pixels: Uint8Array;
  try {
    pixels = await fitImage(photo, size, fit);
  } catch (e) {
    throw new BadInputError(`not a readable image: ${(e as Error).message}`, { file: source });
  }
  const model = run.dvbpr;
  return noGrad(() =>
    tidy(() => {
      const e = model.encoder.forward(toInput(tensor(pixels, [1, size, size, 3]))); // [1, K]
      return { embedding: e.data(), scores: model.theta.matmul(e.transpose(0, 1)).data() }; // [U]
    }),
  );
}
