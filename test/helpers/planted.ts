/**
 * A generated dataset with a planted visual preference: items are 16×16 images with a dark bar
 * on the left or on the right; shoppers of group L buy only left-bar items, group R only
 * right-bar ones. Half the items are never bought in training (cold).
 */
import { Rng } from '../../src/core/rng.js';
import type { Dataset } from '../../src/data/dataset.js';
import { ImageCache } from '../../src/data/images.js';

export function plantedDataset(opts: { users?: number; items?: number; perUser?: number; seed?: number; size?: number } = {}): Dataset {
  const users = opts.users ?? 40;
  const items = opts.items ?? 80;
  const per = opts.perUser ?? 8;
  const size = opts.size ?? 16;
  const rng = new Rng(opts.seed ?? 1);
  const images = new Uint8Array(items * size * size * 3).fill(255);
  const side = Int32Array.from({ length: items }, (_, i) => i % 2); // 0 left, 1 right
  for (let i = 0; i < items; i++) {
    const x0 = side[i] ? size - 6 : 1;
    const shade = 40 + rng.int(60);
    for (let y = 2; y < size - 2; y++) for (let x = x0; x < x0 + 5; x++) for (let c = 0; c < 3; c++) images[((i * size + y) * size + x) * 3 + c] = shade;
  }
  // training items: only the first half of the catalogue; the second half stays cold
  const warm = Array.from({ length: items / 2 }, (_, i) => i);
  const coldItems = Array.from({ length: items / 2 }, (_, i) => i + items / 2);
  const tr: [number[], number[]] = [[], []];
  const va: [number[], number[]] = [[], []];
  const te: [number[], number[]] = [[], []];
  for (let u = 0; u < users; u++) {
    const g = u % 2;
    const liked = warm.filter((i) => side[i] === g);
    rng.shuffle(liked);
    for (const i of liked.slice(0, per)) (tr[0].push(u), tr[1].push(i));
    const likedCold = coldItems.filter((i) => side[i] === g);
    va[0].push(u);
    va[1].push(likedCold[rng.int(likedCold.length)]!);
    let t = likedCold[rng.int(likedCold.length)]!;
    while (t === va[1].at(-1)) t = likedCold[rng.int(likedCold.length)]!;
    te[0].push(u);
    te[1].push(t);
  }
  const itemTrainCount = new Int32Array(items);
  for (const i of tr[1]) itemTrainCount[i]!++;
  const pack = (a: [number[], number[]]) => ({ user: Int32Array.from(a[0]), item: Int32Array.from(a[1]) });
  const sampledNegatives = new Int32Array(users * 100).fill(-1);
  return {
    dir: '/planted',
    manifest: { dataHash: 'planted', imageSize: size, fit: 'letterbox' } as Dataset['manifest'],
    itemIds: Array.from({ length: items }, (_, i) => `item${i}`),
    userIds: Array.from({ length: users }, (_, u) => `user${u}`),
    itemCategory: Int32Array.from(side),
    categories: ['left', 'right'],
    itemTrainCount,
    train: pack(tr),
    valid: pack(va),
    test: pack(te),
    imageSize: size,
    images: ImageCache.ofPixels(images, items, size),
    sampledNegatives,
    attributes: [{ name: 'category', classes: ['left', 'right'], labels: Int32Array.from(side) }],
  };
}
