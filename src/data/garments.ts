/**
 * The garments a simulated shopper knows: all 70,000 Fashion-MNIST images (the shop sells only its
 * catalogue), each with its hidden features (simulate.ts), and each described in a feature space
 * fixed before any training: the grey image average-pooled to a 16×16 grid (8×8 when the size is
 * not a multiple of 16). The simulated utility of any image (eval/utility.ts) is the hidden taste of
 * its nearest garment in that space, less a penalty growing with the distance to it; see
 * docs/simulated-shoppers.md for why this space.
 *
 * The catalogue's own garments are taken from the dataset's packed images (bit for bit what the
 * shopper's hidden taste was computed from); the others are scaled from 28 px by bilinear
 * interpolation (inverted to a dark garment on white, as the reader does).
 */
import { BadInputError } from '../core/errors.js';
import type { Dataset } from './dataset.js';
import { FASHION_MNIST_CLASSES, readFashionMnistAll } from './read-fashion-mnist.js';
import { hiddenFeatures } from './simulate.js';

export interface GarmentSet {
  count: number;
  grid: number;
  imageSize: number;
  /** grey block means in [0, 1], [count, grid²] */
  pools: Float32Array;
  /** hidden features [count, dims] */
  features: Float64Array;
  /** reference index of each catalogue item */
  shopIndex: Int32Array;
  /** 1 where the reference garment is sold by the shop */
  inShop: Uint8Array;
  /** each garment's class name (Fashion-MNIST's label) */
  category: string[];
}

export function gridOf(size: number): number {
  if (size % 16 === 0) return 16;
  if (size % 8 === 0) return 8;
  throw new BadInputError(`simulated shoppers need an image size that is a multiple of 8, got ${size}`);
}

/** Grey block means of one S×S×3 image on a grid × grid raster, into out[at..]. */
export function poolGrid(img: Uint8Array, size: number, grid: number, offset: number, out: Float32Array, at: number): void {
  const block = size / grid;
  const acc = new Float64Array(grid * grid);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const p = offset + (y * size + x) * 3;
      acc[((y / block) | 0) * grid + ((x / block) | 0)]! += img[p]! + img[p + 1]! + img[p + 2]!;
    }
  }
  const scale = 1 / (3 * 255 * block * block);
  for (let k = 0; k < grid * grid; k++) out[at + k] = acc[k]! * scale;
}

/** A 28×28 idx image as the shop would show it: inverted, scaled to S×S×3 by bilinear interpolation. */
export function scaleGarment(pixels: Uint8Array, size: number, out: Uint8Array, offset: number): void {
  const r = 28 / size;
  for (let y = 0; y < size; y++) {
    const sy = Math.min(27, Math.max(0, (y + 0.5) * r - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(27, y0 + 1);
    const fy = sy - y0;
    for (let x = 0; x < size; x++) {
      const sx = Math.min(27, Math.max(0, (x + 0.5) * r - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(27, x0 + 1);
      const fx = sx - x0;
      const v =
        (1 - fy) * ((1 - fx) * pixels[y0 * 28 + x0]! + fx * pixels[y0 * 28 + x1]!) + fy * ((1 - fx) * pixels[y1 * 28 + x0]! + fx * pixels[y1 * 28 + x1]!);
      const g = 255 - Math.round(v);
      const p = offset + (y * size + x) * 3;
      out[p] = out[p + 1] = out[p + 2] = g;
    }
  }
}

/** The garment set of a Fashion-MNIST dataset with simulated shoppers (its idx folder is the manifest's source). */
export function garmentSet(ds: Dataset): GarmentSet {
  const sim = ds.simulation;
  if (!sim || ds.manifest.source.kind !== 'fashion-mnist') {
    throw new BadInputError('the simulated utility needs a Fashion-MNIST dataset with simulated shoppers', { file: ds.dir });
  }
  const { all } = readFashionMnistAll(ds.manifest.source.path);
  const size = ds.imageSize;
  const grid = gridOf(size);
  const per = size * size * 3;
  const byId = new Map(ds.itemIds.map((id, i) => [id, i]));
  const count = all.length;
  const pools = new Float32Array(count * grid * grid);
  const features = new Float64Array(count * sim.dims);
  const shopIndex = new Int32Array(ds.itemIds.length).fill(-1);
  const inShop = new Uint8Array(count);
  const chunk = 2048;
  const u8 = new Uint8Array(chunk * per);
  for (let s = 0; s < count; s += chunk) {
    const len = Math.min(chunk, count - s);
    for (let j = 0; j < len; j++) {
      const g = all[s + j]!;
      const item = byId.get(g.id);
      if (item !== undefined) {
        u8.set(ds.images.row(item), j * per);
        shopIndex[item] = s + j;
        inShop[s + j] = 1;
      } else scaleGarment(g.pixels, size, u8, j * per);
      poolGrid(u8, size, grid, j * per, pools, (s + j) * grid * grid);
    }
    features.set(hiddenFeatures(sim, u8.subarray(0, len * per), len), s * sim.dims);
  }
  if (shopIndex.some((r) => r < 0)) throw new BadInputError('a catalogue item is not among the Fashion-MNIST images read', { file: ds.manifest.source.path });
  return { count, grid, imageSize: size, pools, features, shopIndex, inShop, category: all.map((g) => FASHION_MNIST_CLASSES[g.label]!) };
}

/**
 * The images [n, S, S, 3] of garments of the set (indices into it) at the dataset's size: a shop
 * garment's own photo, any other scaled as the ingest scales Fashion-MNIST.
 */
export function garmentImages(ds: Dataset, set: GarmentSet, indices: number[]): Uint8Array {
  const { all } = readFashionMnistAll(ds.manifest.source.path);
  const size = ds.imageSize;
  const per = size * size * 3;
  const itemOf = new Map<number, number>();
  set.shopIndex.forEach((j, i) => itemOf.set(j, i));
  const out = new Uint8Array(indices.length * per);
  indices.forEach((j, r) => {
    const item = itemOf.get(j);
    if (item !== undefined) out.set(ds.images.row(item), r * per);
    else scaleGarment(all[j]!.pixels, size, out, r * per);
  });
  return out;
}
