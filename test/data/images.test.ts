import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { fitImage } from '../../src/data/images.js';

const WHITE = { r: 255, g: 255, b: 255, alpha: 1 };

test("fitImage's letterbox (fitted inside, placed on white here) gives sharp's own contain, pixel for pixel: wide, tall, alpha, grey, up and down", async () => {
  for (const [w, h, channels] of [
    [37, 91, 4],
    [91, 37, 3],
    [5, 120, 1],
    [63, 65, 2],
    [64, 64, 4],
  ] as const) {
    const px = Buffer.alloc(w * h * channels);
    for (let i = 0; i < px.length; i++) px[i] = (i * 37 + (i >> 3)) & 255;
    const png = await sharp(px, { raw: { width: w, height: h, channels } })
      .png()
      .toBuffer();
    for (const size of [16, 33, 64, 100]) {
      const ours = await fitImage(png, size, 'letterbox');
      const contain = await sharp(png)
        .flatten({ background: WHITE })
        .resize(size, size, { fit: 'contain', background: WHITE, kernel: 'lanczos3' })
        .toColourspace('srgb')
        .removeAlpha()
        .raw()
        .toBuffer();
      assert.equal(ours.length, size * size * 3);
      assert.ok(Buffer.from(ours).equals(contain), `${w}x${h}x${channels} → ${size}`);
    }
  }
});
