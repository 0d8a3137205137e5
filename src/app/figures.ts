/**
 * PNG output: grids of S×S×3 tiles with optional numeric labels under each tile (a built-in
 * 3×5 bitmap font for digits, '.', '-', '+', '/', so no system fonts are needed), encoded by sharp.
 */
import sharp from 'sharp';
import { writeFileAtomic } from '../core/fs.js';

const FONT: Record<string, string[]> = {
  '0': ['111', '101', '101', '101', '111'],
  '1': ['010', '110', '010', '010', '111'],
  '2': ['111', '001', '111', '100', '111'],
  '3': ['111', '001', '111', '001', '111'],
  '4': ['101', '101', '111', '001', '001'],
  '5': ['111', '100', '111', '001', '111'],
  '6': ['111', '100', '111', '101', '111'],
  '7': ['111', '001', '001', '010', '010'],
  '8': ['111', '101', '111', '101', '111'],
  '9': ['111', '101', '111', '001', '111'],
  '.': ['000', '000', '000', '000', '010'],
  '-': ['000', '000', '111', '000', '000'],
  '+': ['000', '010', '111', '010', '000'],
  '/': ['001', '001', '010', '100', '100'],
  ' ': ['000', '000', '000', '000', '000'],
};

export interface Raster {
  rgb: Uint8Array;
  width: number;
  height: number;
}

function drawText(r: Raster, text: string, x0: number, y0: number, scale: number, colour: [number, number, number]): void {
  let x = x0;
  for (const ch of text) {
    const g = FONT[ch] ?? FONT[' ']!;
    for (let gy = 0; gy < 5; gy++) {
      for (let gx = 0; gx < 3; gx++) {
        if (g[gy]![gx] !== '1') continue;
        for (let sy = 0; sy < scale; sy++) {
          for (let sx = 0; sx < scale; sx++) {
            const px = x + gx * scale + sx;
            const py = y0 + gy * scale + sy;
            if (px < 0 || py < 0 || px >= r.width || py >= r.height) continue;
            r.rgb.set(colour, (py * r.width + px) * 3);
          }
        }
      }
    }
    x += 4 * scale;
  }
}

export interface GridOptions {
  /** tile edge in pixels */
  size: number;
  cols: number;
  /** upscale factor of each tile (nearest) */
  zoom?: number;
  pad?: number;
  /** one label per tile (numbers), drawn under it */
  labels?: (string | null)[];
  /** a thick separator after this column (the paper's figure: real | generated) */
  splitAfter?: number;
}

/** tiles: uint8 [n, S, S, 3] contiguous. */
export function grid(tiles: Uint8Array, count: number, o: GridOptions): Raster {
  const zoom = o.zoom ?? 1;
  const pad = o.pad ?? 4;
  const t = o.size * zoom;
  const labelH = o.labels ? 5 * 2 + 6 : 0;
  const rows = Math.ceil(count / o.cols);
  const gap = o.splitAfter !== undefined ? 12 : 0;
  const width = o.cols * (t + pad) + pad + gap;
  const height = rows * (t + pad + labelH) + pad;
  const r: Raster = { rgb: new Uint8Array(width * height * 3).fill(255), width, height };
  const per = o.size * o.size * 3;
  for (let n = 0; n < count; n++) {
    const row = Math.floor(n / o.cols);
    const col = n % o.cols;
    const x0 = pad + col * (t + pad) + (o.splitAfter !== undefined && col >= o.splitAfter ? gap : 0);
    const y0 = pad + row * (t + pad + labelH);
    for (let y = 0; y < t; y++) {
      for (let x = 0; x < t; x++) {
        const src = n * per + (Math.floor(y / zoom) * o.size + Math.floor(x / zoom)) * 3;
        r.rgb.set(tiles.subarray(src, src + 3), ((y0 + y) * width + x0 + x) * 3);
      }
    }
    const label = o.labels?.[n];
    if (label) drawText(r, label, x0, y0 + t + 3, 2, [20, 20, 20]);
  }
  if (o.splitAfter !== undefined) {
    const xs = pad + o.splitAfter * (t + pad) + gap / 2 - 1;
    for (let y = 0; y < height; y++) for (let dx = 0; dx < 2; dx++) r.rgb.set([200, 40, 40], (y * width + xs + dx) * 3);
  }
  return r;
}

export async function encodePng(r: Raster): Promise<Buffer> {
  return sharp(r.rgb, { raw: { width: r.width, height: r.height, channels: 3 } })
    .png()
    .toBuffer();
}

export async function writePng(path: string, r: Raster): Promise<void> {
  writeFileAtomic(path, await encodePng(r));
}
