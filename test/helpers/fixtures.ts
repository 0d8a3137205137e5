/** Tiny generated fixtures: images, shop folders, H&M layouts and idx files. */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';

export function tempDir(prefix = 'atelier-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A small PNG (or JPEG) with a coloured rectangle whose position depends on `k`. */
export async function makeImage(path: string, k: number, format: 'png' | 'jpeg' = 'png', w = 12, h = 16): Promise<void> {
  const px = Buffer.alloc(w * h * 3, 255);
  const x0 = k % (w - 4);
  const y0 = (k * 3) % (h - 4);
  for (let y = y0; y < y0 + 4; y++) for (let x = x0; x < x0 + 4; x++) px.set([(k * 40) % 256, 80, 200 - ((k * 30) % 200)], (y * w + x) * 3);
  const img = sharp(px, { raw: { width: w, height: h, channels: 3 } });
  writeFileSync(path, await (format === 'png' ? img.png() : img.jpeg()).toBuffer());
}

export interface ShopFixture {
  dir: string;
  items: string[];
  users: string[];
}

/**
 * A folder-layout shop: `nItems` items (ids with a leading zero), `nUsers` users each buying
 * `perUser` distinct items with timestamps.
 */
export async function makeShop(nItems = 12, nUsers = 6, perUser = 6): Promise<ShopFixture> {
  const dir = tempDir('atelier-shop-');
  mkdirSync(join(dir, 'img'));
  const items = Array.from({ length: nItems }, (_, i) => `0${100 + i}`);
  const rows = ['item_id,image,category'];
  for (let i = 0; i < nItems; i++) {
    await makeImage(join(dir, 'img', `${items[i]}.png`), i);
    rows.push(`${items[i]},img/${items[i]}.png,${i % 2 ? 'tops' : 'shoes'}`);
  }
  writeFileSync(join(dir, 'items.csv'), rows.join('\n') + '\n');
  const users = Array.from({ length: nUsers }, (_, u) => `u${u}`);
  const inter = ['user_id,item_id,timestamp'];
  for (let u = 0; u < nUsers; u++) {
    for (let k = 0; k < perUser; k++) inter.push(`${users[u]},${items[(u + k * 2) % nItems]},${1000 + u * 10 + k}`);
  }
  writeFileSync(join(dir, 'interactions.csv'), inter.join('\n') + '\n');
  return { dir, items, users };
}

/** colour_group_name of makeHm's ten articles (one blank) */
export const HM_COLOURS = ['Black', 'White', 'Black', 'White', '', 'Black', 'White', 'Black', 'White', 'Black'];

/** product_code of makeHm's ten articles: blank for the last two (their product then comes from the article id, 0108775) */
export const HM_PRODUCT_CODES = ['108775', '108775', '108775', '108775', '108775', '555', '555', '555', '', ''];

/** An H&M-layout folder: articles.csv, transactions_train.csv, images/0XX/<id>.jpg. */
export async function makeHm(opts: { articleWithoutPhoto?: boolean } = {}): Promise<{ dir: string; articles: string[] }> {
  const dir = tempDir('atelier-hm-');
  const articles = Array.from({ length: 10 }, (_, i) => `01087750${String(10 + i)}`);
  const rows = ['article_id,product_code,prod_name,product_group_name,colour_group_name,detail_desc'];
  // first, so that its row is skipped before the others' (the attributes stay aligned with the kept articles)
  if (opts.articleWithoutPhoto) rows.push('0999999001,999999,Lost,Shoes,Red,never photographed');
  for (let i = 0; i < articles.length; i++) {
    const a = articles[i]!;
    mkdirSync(join(dir, 'images', a.slice(0, 3)), { recursive: true });
    await makeImage(join(dir, 'images', a.slice(0, 3), `${a}.jpg`), i, 'jpeg');
    rows.push(`${a},${HM_PRODUCT_CODES[i]},"Strap top, ${i}",${i % 2 ? 'Garment Upper body' : 'Shoes'},${HM_COLOURS[i]},"A top, with ""quotes"""`);
  }
  writeFileSync(join(dir, 'articles.csv'), rows.join('\n') + '\n');
  const tx = ['t_dat,customer_id,article_id,price,sales_channel_id'];
  for (let u = 0; u < 5; u++) {
    for (let k = 0; k < 6; k++) tx.push(`2019-0${1 + k}-1${u},cust${u}abc,${articles[(u + k) % articles.length]},0.02,2`);
  }
  tx.push(tx[1]!); // a multi-unit purchase: an identical row, which is normal in the real data
  writeFileSync(join(dir, 'transactions_train.csv'), tx.join('\n') + '\n');
  return { dir, articles };
}

function idx(magic: number, dims: number[], data: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(magic, 0);
  dims.forEach((d, k) => head.writeUInt32BE(d, 4 + 4 * k));
  return gzipSync(Buffer.concat([head, Buffer.from(data)]));
}

/** Four gzipped idx files with `n` synthetic 28×28 images each (train and t10k). */
export function makeIdx(n = 30): string {
  const dir = tempDir('atelier-idx-');
  for (const prefix of ['train', 't10k']) {
    const imgs = new Uint8Array(n * 784);
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = i % 10;
      const w = 4 + (i % 7) * 3; // garments of different widths: visual variation inside a class
      for (let y = 4; y < 24; y++) for (let x = 14 - (w >> 1); x < 14 + (w >> 1); x++) imgs[i * 784 + y * 28 + x] = 120 + ((i * 13) % 130);
    }
    writeFileSync(join(dir, `${prefix}-images-idx3-ubyte.gz`), idx(2051, [n, 28, 28], imgs));
    writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte.gz`), idx(2049, [n], labels));
  }
  return dir;
}

/** Debian's Python (python3-numpy, python3-pil from scripts/setup.sh), not whichever python3 is first on PATH. */
export const PYTHON = '/usr/bin/python3';

export function python(args: string[], input?: string): string {
  const r = spawnSync(PYTHON, args, { encoding: 'utf8', input, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${PYTHON} ${args.slice(0, 2).join(' ')} failed (scripts/setup.sh installs python3-numpy and python3-pil):\n${r.stderr}`);
  return r.stdout;
}

/** A file in the layout of the authors' released .npy files, written by scripts/paper-fixture.py. */
export function makePaperNpy(
  o: {
    withC?: boolean;
    container?: 'list' | 'dict';
    users?: number;
    items?: number;
    bad?: 'productid' | 'image' | 'opcode' | 'dup-asin' | 'empty-asin' | 'esc-asin' | 'nan-c' | 'zero-c' | 'long-c';
    jpegBytes?: number;
  } = {},
): string {
  const path = join(tempDir('atelier-npy-'), 'fixture.npy');
  const args = [
    fileURLToPath(new URL('../../scripts/paper-fixture.py', import.meta.url)),
    path,
    '--users',
    String(o.users ?? 12),
    '--items',
    String(o.items ?? 20),
    '--item-container',
    o.container ?? 'list',
  ];
  if (o.withC) args.push('--with-c');
  if (o.bad) args.push('--bad', o.bad);
  if (o.jpegBytes) args.push('--jpeg-bytes', String(o.jpegBytes));
  python(args);
  return path;
}

/** What NumPy itself reads from such a file: the three splits as [user, productid] rows, and each item's asin and category. */
export function numpyReadsPaper(path: string): { train: number[][]; valid: number[][]; test: number[][]; asin: string[]; category: (number | null)[] } {
  const code = `
import json, sys
import numpy as np
a = np.load(sys.argv[1], allow_pickle=True, encoding='bytes')
rows = lambda d: [[int(u), int(r[b'productid'])] for u in sorted(d) for r in d[u]]
items = a[3] if isinstance(a[3], list) else [a[3][i] for i in range(int(a[5]))]
print(json.dumps({'train': rows(a[0]), 'valid': rows(a[1]), 'test': rows(a[2]),
  'asin': [it[b'asin'].decode() for it in items],
  'category': [int(np.argmax(it[b'c'])) if b'c' in it else None for it in items]}))
`;
  return JSON.parse(python(['-c', code, path]));
}
