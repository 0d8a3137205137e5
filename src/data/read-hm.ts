/**
 * Reader for the Kaggle "H&M Personalized Fashion Recommendations" layout:
 * transactions_train.csv (t_dat, customer_id, article_id, ...), articles.csv (article_id,
 * product_group_name, ...), images/0XX/<article_id>.jpg. Streams the CSVs, so the full download
 * (31 M transactions) reads in bounded memory. Article ids stay strings (they begin with a zero).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BadInputError } from '../core/errors.js';
import { IdMap, idRowProblem } from '../core/ids.js';
import { openCsv, readCsv } from './csv.js';
import type { InteractionLog, RawDataset } from './dataset.js';
import { GrowableFloat64, GrowableInt32 } from './growable.js';
import { hashFile } from './hash-file.js';
import type { ImageSource } from './images.js';
import type { Problems } from './problems.js';

export interface HmOptions {
  categoryColumn: string;
  problems: Problems;
  onProgress?: (stage: string, done: number, total: number) => void;
}

export function hmImagePath(folder: string, articleId: string): string {
  return join(folder, 'images', articleId.slice(0, 3), `${articleId}.jpg`);
}

/**
 * The articles.csv columns the multi-attribute classifier learns besides the category (the Kaggle
 * names; their *_no / *_code twins say the same): what the article is, its colour and its pattern.
 */
export const HM_ATTRIBUTE_COLUMNS = [
  'product_type_name',
  'product_group_name',
  'graphical_appearance_name',
  'colour_group_name',
  'perceived_colour_value_name',
  'perceived_colour_master_name',
  'department_name',
  'index_name',
  'index_group_name',
  'section_name',
  'garment_group_name',
];

/** articles.csv: id → category and attributes (empty metadata means unknown, not a mistake). */
async function readArticles(
  articlesPath: string,
  o: HmOptions,
): Promise<{
  articleIndex: Map<string, number>;
  articleIds: string[];
  articleCat: (string | null)[];
  articleAttr: Map<string, (string | null)[]>;
  articleProduct: (string | null)[];
}> {
  const { problems } = o;
  const articleIndex = new Map<string, number>();
  const articleIds: string[] = [];
  const articleCat: (string | null)[] = [];
  const articleAttr = new Map<string, (string | null)[]>();
  const articleProduct: (string | null)[] = [];
  for await (const { record, line } of readCsv(articlesPath, { required: ['article_id', o.categoryColumn], problems })) {
    const id = record.article_id!.trim();
    if (!/^\d+$/.test(id)) {
      problems.report({ file: articlesPath, line, reason: 'bad article_id', value: id });
      continue;
    }
    if (articleIndex.has(id)) {
      problems.report({ file: articlesPath, line, reason: 'duplicate article_id', value: id });
      continue;
    }
    articleIndex.set(id, articleIds.length);
    articleIds.push(id);
    const c = record[o.categoryColumn]!.trim();
    articleCat.push(c === '' ? null : c);
    articleProduct.push(productOf(id, record.product_code));
    for (const col of HM_ATTRIBUTE_COLUMNS) {
      if (col === o.categoryColumn || !(col in record)) continue;
      let values = articleAttr.get(col);
      if (!values) articleAttr.set(col, (values = new Array<string | null>(articleIds.length - 1).fill(null)));
      const v = record[col]!.trim();
      values.push(v === '' ? null : v);
    }
  }
  return { articleIndex, articleIds, articleCat, articleAttr, articleProduct };
}

/**
 * An article's product: its product_code (7 digits, zero-padded), or for an article without
 * metadata the first 7 of its 10 digits (H&M's article_id is the product code and a 3-digit
 * colour variant); null for any other id.
 */
export function productOf(articleId: string, productCode: string | undefined): string | null {
  const code = productCode?.trim() ?? '';
  if (/^\d{1,7}$/.test(code)) return code.padStart(7, '0');
  return /^\d{10}$/.test(articleId) ? articleId.slice(0, 7) : null;
}

/**
 * transactions_train.csv, read row by row with its fields split in place (31.8 M rows in the full
 * download); repeat purchases (identical rows are multi-unit buys) collapse later. A customer id
 * is checked when first seen, a day parsed once.
 */
function readTransactions(
  txPath: string,
  articleIndex: Map<string, number>,
  o: HmOptions,
): { users: IdMap; user: Int32Array; item: Int32Array; time: Float64Array; rows: number } {
  const { problems } = o;
  const users = new IdMap();
  const user = new GrowableInt32();
  const item = new GrowableInt32();
  const time = new GrowableFloat64();
  const days = new Map<string, number>();
  const r = openCsv(txPath, { required: ['t_dat', 'customer_id', 'article_id'], problems });
  const cDay = r.column('t_dat');
  const cCustomer = r.column('customer_id');
  const cArticle = r.column('article_id');
  try {
    while (r.next()) {
      if (r.rows % 100000 === 0) o.onProgress?.('transactions', r.rows, 0);
      const aid = r.text(cArticle).trim();
      const a = articleIndex.get(aid);
      if (a === undefined) {
        problems.report({ file: txPath, line: r.line, reason: 'article not in articles.csv', value: aid });
        continue;
      }
      const day = r.text(cDay).trim();
      let t = days.get(day);
      if (t === undefined) {
        t = /^\d{4}-\d{2}-\d{2}$/.test(day) ? Date.parse(day) : NaN; // the full YYYY-MM-DD, as the Kaggle files have it
        if (!Number.isNaN(t)) days.set(day, t);
      }
      if (Number.isNaN(t)) {
        problems.report({ file: txPath, line: r.line, reason: 'bad t_dat', value: day });
        continue;
      }
      const cid = r.text(cCustomer).trim();
      let u = users.get(cid);
      if (u === undefined) {
        const bad = idRowProblem('customer_id', cid);
        if (bad) {
          problems.report({ file: txPath, line: r.line, reason: bad, value: cid });
          continue;
        }
        u = users.add(cid);
      }
      user.push(u);
      item.push(a);
      time.push(t);
    }
  } finally {
    r.close();
  }
  return { users, user: user.toArray(), item: item.toArray(), time: time.toArray(), rows: r.rows };
}

export async function readHm(folder: string, o: HmOptions): Promise<RawDataset> {
  if (!existsSync(folder)) throw new BadInputError('folder not found', { file: folder });
  const articlesPath = join(folder, 'articles.csv');
  const txPath = join(folder, 'transactions_train.csv');
  const problems = o.problems;
  const { articleIndex, articleIds, articleCat, articleAttr, articleProduct } = await readArticles(articlesPath, o);
  const { users, user: userArr, item: itemArr, time: timeArr, rows } = readTransactions(txPath, articleIndex, o);

  // photos: an article without one leaves the catalogue (not an error) unless someone bought it
  const purchased = new Uint8Array(articleIds.length);
  for (const a of itemArr) purchased[a] = 1;
  const keep = new Int32Array(articleIds.length).fill(-1);
  const itemIds: string[] = [];
  const sources: ImageSource[] = [];
  const names: string[] = [];
  const cats: (string | null)[] = [];
  const keptArticles: number[] = [];
  let withoutPhoto = 0;
  let purchasedWithoutPhoto = 0;
  for (let a = 0; a < articleIds.length; a++) {
    const path = hmImagePath(folder, articleIds[a]!);
    if (!existsSync(path)) {
      if (purchased[a]) {
        problems.report({ file: path, reason: 'missing photo of a purchased article', value: articleIds[a]! });
        purchasedWithoutPhoto++;
      } else withoutPhoto++;
      continue;
    }
    keep[a] = itemIds.length;
    itemIds.push(articleIds[a]!);
    sources.push({ kind: 'file', path });
    names.push(path);
    cats.push(articleCat[a]!);
    keptArticles.push(a);
  }
  const mask = itemArr.map((a) => (keep[a]! >= 0 ? 1 : 0));
  const kept = mask.reduce((s, m) => s + m, 0);
  const log: InteractionLog = {
    users,
    user: new Int32Array(kept),
    item: new Int32Array(kept),
    time: new Float64Array(kept),
  };
  for (let r = 0, k = 0; r < itemArr.length; r++) {
    if (!mask[r]) continue;
    log.user[k] = userArr[r]!;
    log.item[k] = keep[itemArr[r]!]!;
    log.time[k++] = timeArr[r]!;
  }
  return {
    timed: true,
    source: {
      kind: 'hm',
      path: folder,
      fileHashes: { 'articles.csv': await hashFile(articlesPath), 'transactions_train.csv': await hashFile(txPath) },
    },
    itemIds,
    sources,
    sourceNames: names,
    categoryRaw: cats,
    categoryColumn: o.categoryColumn,
    attributes: [...articleAttr].map(([name, values]) => ({ name, values: keptArticles.map((a) => values[a] ?? null) })),
    products: keptArticles.map((a) => articleProduct[a]!),
    leftOut: {
      articlesWithoutPhoto: withoutPhoto,
      purchasedArticlesWithoutPhoto: purchasedWithoutPhoto,
      transactionRows: rows,
    },
    interactions: () => ({ log }),
  };
}
