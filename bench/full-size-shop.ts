/**
 * A shop in the Kaggle H&M layout at a fraction f of the full download's sizes (1,371,980
 * customers, 105,542 articles, 31,788,324 purchases), made from the shared sample, deterministic
 * for a seed: articles.csv (the sample's rows under new ids, each sample article copied in turn,
 * its product code made distinct per copy), images/0XX/<id>.jpg as hard links to the sample's
 * photos (so the disk holds the sample's photos once), and transactions_train.csv in date order
 * with customers and articles drawn from skewed distributions, as real purchases are (a few
 * customers and articles take most of them), and repeated rows for multi-unit purchases.
 */
import { closeSync, existsSync, linkSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { Rng } from '../src/core/rng.js';

export const KAGGLE = { customers: 1_371_980, articles: 105_542, purchases: 31_788_324 };

const csvField = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

export interface ShopSizes {
  customers: number;
  articles: number;
  purchases: number;
}

export function sizesAt(fraction: number): ShopSizes {
  return {
    customers: Math.max(10, Math.round(KAGGLE.customers * fraction)),
    articles: Math.max(10, Math.round(KAGGLE.articles * fraction)),
    purchases: Math.max(100, Math.round(KAGGLE.purchases * fraction)),
  };
}

/** Writes the shop into `out` (replaced); returns its sizes. */
export function writeFullSizeShop(sample: string, out: string, fraction: number, seed = 1): ShopSizes {
  const sizes = sizesAt(fraction);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, 'images'), { recursive: true });
  const rows = parse(readFileSync(join(sample, 'articles.csv')), { columns: false, skip_empty_lines: true }) as string[][];
  const header = rows[0]!;
  const src = rows.slice(1).filter((r) => existsSync(photoOf(sample, r[0]!)));
  const lines = [header.map(csvField).join(',')];
  const ids: string[] = [];
  for (let k = 0; k < sizes.articles; k++) {
    const row = [...src[k % src.length]!];
    const copy = Math.floor(k / src.length);
    const id = `0${String(100_000_000 + k)}`; // ten digits with H&M's leading zero
    const photo = photoOf(out, id);
    mkdirSync(join(out, 'images', id.slice(0, 3)), { recursive: true });
    linkSync(photoOf(sample, row[0]!), photo);
    row[0] = id;
    // a product per sample product and copy (the sample's articles without metadata: one each)
    row[1] = `${row[1] || String(2_000_000 + (k % src.length))}${copy ? String(copy).padStart(2, '0') : ''}`;
    ids.push(id);
    lines.push(row.map(csvField).join(','));
  }
  writeFileSync(join(out, 'articles.csv'), lines.join('\n') + '\n');

  const rng = new Rng(seed);
  const customers = Array.from({ length: sizes.customers }, (_, c) => createHash('sha256').update(`customer ${seed} ${c}`).digest('hex'));
  const fd = openSync(join(out, 'transactions_train.csv'), 'w');
  let buf = 't_dat,customer_id,article_id,price,sales_channel_id\n';
  const days = 734; // 2018-09-20 .. 2020-09-22
  const day0 = Date.UTC(2018, 8, 20);
  for (let r = 0; r < sizes.purchases;) {
    const d = Math.min(days - 1, Math.floor((r / sizes.purchases) * days));
    const date = new Date(day0 + d * 86_400_000).toISOString().slice(0, 10);
    // skewed: most purchases by few customers, of few articles (u³ and u² concentrate on low indices)
    const c = customers[Math.floor(sizes.customers * rng.next() ** 3)]!;
    const a = ids[Math.floor(sizes.articles * rng.next() ** 2)]!;
    const units = rng.next() < 0.08 ? 2 : 1;
    const line = `${date},${c},${a},0.0${String(10000 + rng.int(60000))},${1 + rng.int(2)}\n`;
    for (let u = 0; u < units && r < sizes.purchases; u++, r++) buf += line;
    if (buf.length > 1 << 23) {
      writeSync(fd, buf);
      buf = '';
    }
  }
  writeSync(fd, buf);
  closeSync(fd);
  return sizes;
}

function photoOf(root: string, id: string): string {
  return join(root, 'images', id.slice(0, 3), `${id}.jpg`);
}
