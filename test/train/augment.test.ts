import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dvbprPreset } from '../../src/config/dvbpr.js';
import { imagesTensor, trainDvbprJob } from '../../src/app/train-recommender.js';
import { augmenter, shiftAugmenter, shiftImages, warpImages } from '../../src/train/augment.js';
import { tensor } from '../../src/torch/index.js';
import { plantedDataset } from '../helpers/planted.js';

// one 3×3 single-channel image, values 1..9 row by row
const img = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);

test('shiftImages moves the content and repeats the edge', () => {
  assert.deepEqual([...shiftImages(img, 1, 3, 1, [0], [0])], [...img]);
  // down by one: the top row repeats, the bottom row falls off
  assert.deepEqual([...shiftImages(img, 1, 3, 1, [1], [0])], [1, 2, 3, 1, 2, 3, 4, 5, 6]);
  // left by one: the right column repeats
  assert.deepEqual([...shiftImages(img, 1, 3, 1, [0], [-1])], [2, 3, 3, 5, 6, 6, 8, 9, 9]);
  // each image of a batch its own shift; channels move together
  const two = Uint8Array.from([...img, ...img].flatMap((v) => [v, 100 + v]));
  const out = shiftImages(two, 2, 3, 2, [0, -1], [1, 0]);
  assert.deepEqual(
    [...out.subarray(0, 18)].filter((_, i) => i % 2 === 0),
    [1, 1, 2, 4, 4, 5, 7, 7, 8],
  );
  assert.deepEqual(
    [...out.subarray(18)].filter((_, i) => i % 2 === 0),
    [4, 5, 6, 7, 8, 9, 7, 8, 9],
  );
  assert.deepEqual(
    [...out].filter((_, i) => i % 2 === 1),
    [...out].filter((_, i) => i % 2 === 0).map((v) => 100 + v),
  );
});

test('warpImages mirrors, zooms and shifts by hand-computed source pixels', () => {
  // mirrored: each row read right to left
  assert.deepEqual([...warpImages(img, 1, 3, 1, { flip: [true], dy: [0], dx: [0] })], [3, 2, 1, 6, 5, 4, 9, 8, 7]);
  // shifted right by one (the left column repeats), then mirrored
  assert.deepEqual([...warpImages(img, 1, 3, 1, { flip: [true], dy: [0], dx: [1] })], [2, 1, 1, 5, 4, 4, 8, 7, 7]);
  // zoom ×2 about the centre of a 4×4 ramp: output (y, x) reads source round((k − 1.5)/2 + 1.5)
  const ramp = Uint8Array.from({ length: 16 }, (_, i) => i);
  const z = [...warpImages(ramp, 1, 4, 1, { dy: [0], dx: [0], scale: [2] })];
  const src = (k: number) => Math.round((k - 1.5) / 2 + 1.5);
  assert.deepEqual(
    z,
    Array.from({ length: 16 }, (_, i) => src(Math.floor(i / 4)) * 4 + src(i % 4)),
  );
  // zoom 1 and no flip is the shift alone
  assert.deepEqual([...warpImages(img, 1, 3, 1, { dy: [1], dx: [-1], scale: [1], flip: [false] })], [...shiftImages(img, 1, 3, 1, [1], [-1])]);
});

test('the flip-and-zoom augmenter mirrors about half the images and zooms within the range, reproducibly', () => {
  // a 9×9 image, bright pixel left of centre: mirrored, it lands right of centre
  const s = 9;
  const b = 200;
  const u8 = new Uint8Array(b * s * s);
  for (let n = 0; n < b; n++) u8[n * s * s + 4 * s + 2] = 255;
  const images = tensor(u8, [b, s, s, 1]);
  const aug = augmenter({ shift: 0, flip: true, scale: 0 }, 3);
  const state = aug.generator.getState();
  const cols = () => {
    const d = aug.apply(images).data<'uint8'>();
    return Array.from({ length: b }, (_, n) => d.subarray(n * s * s, (n + 1) * s * s).indexOf(255) % s);
  };
  const a = cols();
  assert.ok(
    a.every((c) => c === 2 || c === 6),
    'left as it is, or mirrored',
  );
  const mirrored = a.filter((c) => c === 6).length;
  assert.ok(mirrored > 70 && mirrored < 130, `${mirrored} of ${b} mirrored`);
  aug.generator.setState(state);
  assert.deepEqual(cols(), a);
  assert.throws(() => augmenter({ shift: 0, flip: false, scale: 0.5 }, 1), /augmentScale must be in \[0, 0.5\), got 0.5/);
});

test('noise augmentation: pixel noise of the σ asked for (input units), clamped to uint8, reproducible; geometry untouched', () => {
  const s = 16;
  const b = 50;
  const images = tensor(new Uint8Array(b * s * s * 3).fill(128), [b, s, s, 3]);
  const aug = augmenter({ shift: 0, flip: false, scale: 0, noise: 0.1 }, 5);
  const state = aug.generator.getState();
  const d = aug.apply(images).data<'uint8'>();
  const dev = Array.from(d, (v) => v - 128);
  const m = dev.reduce((a, v) => a + v, 0) / dev.length;
  const sd = Math.sqrt(dev.reduce((a, v) => a + (v - m) ** 2, 0) / dev.length);
  assert.ok(Math.abs(m) < 0.5, `mean shift ${m}`);
  assert.ok(Math.abs(sd - 12.75) < 0.5, `σ ${sd} against 0.1 × 127.5`);
  aug.generator.setState(state);
  assert.deepEqual(aug.apply(images).data<'uint8'>(), d);
  // near the ends of the range the noise is clamped, not wrapped
  const white = augmenter({ shift: 0, flip: false, scale: 0, noise: 0.1 }, 1)
    .apply(tensor(new Uint8Array(300).fill(255), [1, 10, 10, 3]))
    .data<'uint8'>();
  assert.ok(
    white.every((v) => v > 190),
    'no wrap-around past 255',
  );
  assert.ok(white.filter((v) => v === 255).length > 120, 'about half clamped at 255');
  assert.throws(() => augmenter({ shift: 0, flip: false, scale: 0, noise: 2 }, 1), /augmentNoise must be in \[0, 1\], got 2/);
});

test('the augmenter shifts each image within ±max, reproducibly from its generator state', () => {
  // a 9×9 image with a single bright pixel in the middle: where it lands is the shift
  const s = 9;
  const b = 64;
  const u8 = new Uint8Array(b * s * s);
  for (let n = 0; n < b; n++) u8[n * s * s + 4 * s + 4] = 255;
  const images = tensor(u8, [b, s, s, 1]);
  const aug = shiftAugmenter(2, 5);
  const state = aug.generator.getState();
  const where = (t: ReturnType<typeof aug.apply>) => {
    const d = t.data<'uint8'>();
    return Array.from({ length: b }, (_, n) => {
      const p = d.subarray(n * s * s, (n + 1) * s * s).indexOf(255);
      return [Math.floor(p / s) - 4, (p % s) - 4];
    });
  };
  const a = where(aug.apply(images));
  for (const [dy, dx] of a) assert.ok(Math.abs(dy!) <= 2 && Math.abs(dx!) <= 2, `shift (${dy}, ${dx}) beyond 2`);
  assert.equal(new Set(a.map((p) => p.join())).size > 10, true, 'shifts vary between images');
  assert.ok(a.some(([dy]) => dy === 2) && a.some(([dy]) => dy === -2), 'both extremes are drawn');
  aug.generator.setState(state);
  assert.deepEqual(where(aug.apply(images)), a);
  assert.throws(() => shiftAugmenter(0, 1), /augmentShift must be a positive integer, got 0/);
});

test('DVBPR with augmentShift trains on shifted images (a different run from the same seed)', async () => {
  const ds = plantedDataset();
  const images = imagesTensor(ds);
  const base = dvbprPreset('tiny', 16);
  const run = async (augmentShift: number) => {
    const out = mkdtempSync(join(tmpdir(), 'atelier-aug-'));
    await trainDvbprJob(ds, images, { out, config: { ...base, epochs: 1, augmentShift }, resume: false, callbacks: {} });
    return JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
  };
  const plain = await run(0);
  const shifted = await run(1);
  assert.equal(shifted.config.augmentShift, 1);
  assert.notEqual(shifted.history[0].loss, plain.history[0].loss);
  images.dispose();
});
