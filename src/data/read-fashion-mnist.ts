/**
 * Reader for Fashion-MNIST's idx files (default: Debian's dataset-fashion-mnist), gzipped or not,
 * with simulated shoppers (simulate.ts). Images are inverted to a dark garment on white, like
 * the shop photos the rest of Atelier sees, and scaled to the configured size.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { BadInputError } from '../core/errors.js';
import { IdMap } from '../core/ids.js';
import { Rng } from '../core/rng.js';
import type { RawDataset } from './dataset.js';
import type { ImageSource } from './images.js';
import { simulateShoppers, type SimulateOptions } from './simulate.js';

export const FASHION_MNIST_DEFAULT = '/usr/share/datasets/fashion-mnist';
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

function readIdx(folder: string, base: string, magic: number): { data: Uint8Array; dims: number[]; file: string; hash: string } {
  const plain = join(folder, base);
  const gz = `${plain}.gz`;
  const file = existsSync(plain) ? plain : existsSync(gz) ? gz : null;
  if (!file)
    throw new BadInputError(`missing ${base} (or ${base}.gz); install Debian's dataset-fashion-mnist or name a folder with the four idx files`, {
      file: folder,
    });
  let buf = readFileSync(file);
  const hash = createHash('sha256').update(buf).digest('hex');
  if (file.endsWith('.gz')) {
    try {
      buf = gunzipSync(buf);
    } catch (e) {
      throw new BadInputError(`not a gzip file: ${(e as Error).message}`, { file });
    }
  }
  if (buf.byteLength < 8) throw new BadInputError(`too short for an idx file (${buf.byteLength} bytes)`, { file });
  const m = buf.readUInt32BE(0);
  if (m !== magic) throw new BadInputError(`idx magic number ${m}, expected ${magic}`, { file });
  const nd = magic & 0xff;
  const dims = Array.from({ length: nd }, (_, k) => buf.readUInt32BE(4 + 4 * k));
  const count = dims.reduce((a, b) => a * b, 1);
  const offset = 4 + 4 * nd;
  if (buf.byteLength !== offset + count) {
    throw new BadInputError(`idx file has ${buf.byteLength - offset} data bytes, dims [${dims.join(', ')}] need ${count}`, { file });
  }
  return { data: new Uint8Array(buf.buffer, buf.byteOffset + offset, count), dims, file, hash };
}

export interface FashionMnistOptions {
  /** catalogue size: a seeded random subset of the 70,000 images */
  items: number;
  shoppers: Omit<SimulateOptions, 'seed'>;
  seed: number;
}

export interface FashionMnistImage {
  /** 28×28 grey, as in the idx file (a light garment on black) */
  pixels: Uint8Array;
  label: number;
  id: string;
}

/** All 70,000 images (train, then t10k) and the idx files read. */
export function readFashionMnistAll(folder: string): { all: FashionMnistImage[]; fileHashes: Record<string, string> } {
  const parts = [
    [readIdx(folder, 'train-images-idx3-ubyte', 2051), readIdx(folder, 'train-labels-idx1-ubyte', 2049)],
    [readIdx(folder, 't10k-images-idx3-ubyte', 2051), readIdx(folder, 't10k-labels-idx1-ubyte', 2049)],
  ] as const;
  const all: FashionMnistImage[] = [];
  for (const [imgs, labels] of parts) {
    const [n, h, w] = imgs.dims as [number, number, number];
    if (labels.dims[0] !== n) throw new BadInputError(`${labels.dims[0]} labels for ${n} images`, { file: labels.file });
    if (h !== 28 || w !== 28) throw new BadInputError(`images are ${h}x${w}, expected 28x28`, { file: imgs.file });
    const prefix = imgs.file.includes('t10k') ? 'test' : 'train';
    for (let i = 0; i < n; i++) {
      const label = labels.data[i]!;
      if (label > 9) throw new BadInputError(`label ${label} at index ${i} is not in 0..9`, { file: labels.file });
      all.push({ pixels: imgs.data.subarray(i * 784, (i + 1) * 784), label, id: `fmnist-${prefix}-${String(i).padStart(5, '0')}` });
    }
  }
  return { all, fileHashes: Object.fromEntries(parts.flat().map((p) => [p.file.split('/').pop()!, p.hash])) };
}

export function readFashionMnist(folder: string, o: FashionMnistOptions): RawDataset {
  const { all, fileHashes } = readFashionMnistAll(folder);
  if (!(o.items >= 10 && o.items <= all.length)) throw new BadInputError(`--items must be in 10..${all.length}, got ${o.items}`);
  const rng = new Rng(o.seed);
  const order = Int32Array.from(all.keys());
  rng.shuffle(order);
  const chosen = Array.from(order.subarray(0, o.items))
    .sort((a, b) => a - b)
    .map((k) => all[k]!);
  const sources: ImageSource[] = chosen.map((c) => ({ kind: 'raw', width: 28, height: 28, channels: 1, pixels: c.pixels.map((v) => 255 - v) }));
  return {
    source: { kind: 'fashion-mnist', path: folder, fileHashes },
    itemIds: chosen.map((c) => c.id),
    sources,
    sourceNames: chosen.map((c) => `${folder}#${c.id}`),
    categoryRaw: chosen.map((c) => FASHION_MNIST_CLASSES[c.label]!),
    categoryColumn: 'label',
    leftOut: {},
    interactions: (images, size) => {
      const sim = simulateShoppers(images(), chosen.length, size, { ...o.shoppers, seed: o.seed + 1 });
      const users = IdMap.from(Array.from({ length: o.shoppers.users }, (_, u) => `shopper-${String(u).padStart(5, '0')}`));
      return { log: { users, user: sim.user, item: sim.item, time: Float64Array.from(sim.user.keys()) }, simulation: sim.model };
    },
  };
}
