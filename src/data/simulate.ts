/**
 * Simulated shoppers for a catalogue without real ones (Fashion-MNIST).
 *
 * The model (documented in docs/simulated-shoppers.md):
 *  - visual features: each image (S×S×3 uint8, S a multiple of 8) is turned grey and average-pooled
 *    to 8×8 = 64 values v_i; the values are centred and scaled per position over the catalogue;
 *    a fixed seeded Gaussian projection P (d × 64) gives f_i = P v_i / 8, and each of the d
 *    features is standardised over the catalogue. These are shape, size and brightness cues:
 *    they vary inside a class, so taste is not just the class label.
 *  - taste: shopper u has w_u ~ N(0, I_d) scaled to norm β (the sharpness, default 2);
 *    utility s(u, i) = w_uᵀ f_i.
 *  - purchases: n_u = minItems + Poisson(extraItems) distinct items, drawn without replacement
 *    from softmax(s(u, ·)) over the catalogue (Gumbel top-k).
 * The hidden taste is kept (simulation.json) so that any image, generated ones included, can be
 * scored by it, and its own AUC on the test split (the oracle) is written to the manifest.
 */
import { BadInputError } from '../core/errors.js';
import { Rng } from '../core/rng.js';

export interface SimulationModel {
  dims: number;
  sharpness: number;
  imageSize: number;
  /** [d × 64] projection, row-major */
  projection: number[];
  /** per-position centring and scaling of pooled pixels [64] */
  pixelMean: number[];
  pixelStd: number[];
  /** per-feature standardisation [d] */
  featureMean: number[];
  featureStd: number[];
  /** [users × d] taste vectors, row-major */
  taste: number[];
}

/** Grey 8×8 average pool of one S×S×3 image (values in [0, 1]). */
export function pool8(img: Uint8Array, size: number, offset = 0): Float64Array {
  if (size % 8 !== 0) throw new BadInputError(`--image-size: simulated shoppers need an image size that is a multiple of 8, got ${size}`);
  const block = size / 8;
  const out = new Float64Array(64);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const p = offset + (y * size + x) * 3;
      out[((y / block) | 0) * 8 + ((x / block) | 0)]! += (img[p]! + img[p + 1]! + img[p + 2]!) / (3 * 255);
    }
  }
  for (let k = 0; k < 64; k++) out[k]! /= block * block;
  return out;
}

function rawFeatures(pooled: Float64Array, m: Pick<SimulationModel, 'dims' | 'projection' | 'pixelMean' | 'pixelStd'>): Float64Array {
  const f = new Float64Array(m.dims);
  for (let d = 0; d < m.dims; d++) {
    let s = 0;
    for (let k = 0; k < 64; k++) s += m.projection[d * 64 + k]! * ((pooled[k]! - m.pixelMean[k]!) / m.pixelStd[k]!);
    f[d] = s / 8;
  }
  return f;
}

/** The hidden visual features of images [N, S, S, 3] (any images: real or generated). */
export function hiddenFeatures(m: SimulationModel, images: Uint8Array, count: number): Float64Array {
  const per = m.imageSize * m.imageSize * 3;
  const out = new Float64Array(count * m.dims);
  for (let i = 0; i < count; i++) {
    const f = rawFeatures(pool8(images, m.imageSize, i * per), m);
    for (let d = 0; d < m.dims; d++) out[i * m.dims + d] = (f[d]! - m.featureMean[d]!) / m.featureStd[d]!;
  }
  return out;
}

/** s(u, i) for every item, given features [N, d]. */
export function hiddenScores(m: SimulationModel, user: number, features: Float64Array): Float64Array {
  const n = features.length / m.dims;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let d = 0; d < m.dims; d++) s += m.taste[user * m.dims + d]! * features[i * m.dims + d]!;
    out[i] = s;
  }
  return out;
}

export interface SimulateOptions {
  users: number;
  dims: number;
  sharpness: number;
  minItems: number;
  extraItems: number;
  seed: number;
}

export interface Simulated {
  model: SimulationModel;
  /** purchases as (user, item) pairs, in purchase order per user */
  user: Int32Array;
  item: Int32Array;
}

function poisson(rng: Rng, lambda: number): number {
  const l = Math.exp(-lambda);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= rng.next();
  } while (p > l);
  return k - 1;
}

export function simulateShoppers(images: Uint8Array, count: number, imageSize: number, o: SimulateOptions): Simulated {
  const rng = new Rng(o.seed);
  const per = imageSize * imageSize * 3;
  const pooled = Array.from({ length: count }, (_, i) => pool8(images, imageSize, i * per));
  const pixelMean = new Array<number>(64).fill(0);
  const pixelStd = new Array<number>(64).fill(0);
  for (const p of pooled) for (let k = 0; k < 64; k++) pixelMean[k]! += p[k]! / count;
  for (const p of pooled) for (let k = 0; k < 64; k++) pixelStd[k]! += (p[k]! - pixelMean[k]!) ** 2 / count;
  for (let k = 0; k < 64; k++) pixelStd[k] = Math.sqrt(pixelStd[k]!) + 1e-6;
  const projection = Array.from({ length: o.dims * 64 }, () => rng.normal());
  const partial = { dims: o.dims, projection, pixelMean, pixelStd };
  const raw = pooled.map((p) => rawFeatures(p, partial));
  const featureMean = new Array<number>(o.dims).fill(0);
  const featureStd = new Array<number>(o.dims).fill(0);
  for (const f of raw) for (let d = 0; d < o.dims; d++) featureMean[d]! += f[d]! / count;
  for (const f of raw) for (let d = 0; d < o.dims; d++) featureStd[d]! += (f[d]! - featureMean[d]!) ** 2 / count;
  for (let d = 0; d < o.dims; d++) featureStd[d] = Math.sqrt(featureStd[d]!) + 1e-9;
  const taste: number[] = [];
  for (let u = 0; u < o.users; u++) {
    const w = Array.from({ length: o.dims }, () => rng.normal());
    const norm = Math.sqrt(w.reduce((s, x) => s + x * x, 0));
    taste.push(...w.map((x) => (x / norm) * o.sharpness));
  }
  const model: SimulationModel = { dims: o.dims, sharpness: o.sharpness, imageSize, projection, pixelMean, pixelStd, featureMean, featureStd, taste };
  const features = new Float64Array(count * o.dims);
  raw.forEach((f, i) => {
    for (let d = 0; d < o.dims; d++) features[i * o.dims + d] = (f[d]! - featureMean[d]!) / featureStd[d]!;
  });
  const users: number[] = [];
  const items: number[] = [];
  const keys = new Float64Array(count);
  const order = new Int32Array(count);
  for (let u = 0; u < o.users; u++) {
    const s = hiddenScores(model, u, features);
    const n = Math.min(count - 1, o.minItems + poisson(rng, o.extraItems));
    // Gumbel top-k: the n largest of s + Gumbel noise are a draw without replacement from softmax(s).
    for (let i = 0; i < count; i++) {
      let r = rng.next();
      while (r === 0) r = rng.next();
      keys[i] = s[i]! - Math.log(-Math.log(r));
      order[i] = i;
    }
    const top = Array.from(order).sort((a, b) => keys[b]! - keys[a]!);
    for (let k = 0; k < n; k++) {
      users.push(u);
      items.push(top[k]!);
    }
  }
  return { model, user: Int32Array.from(users), item: Int32Array.from(items) };
}
