/**
 * Reader for the Kaggle "H&M Personalized Fashion Recommendations" layout:
 * transactions_train.csv (t_dat, customer_id, article_id, ...), articles.csv (article_id,
 * product_group_name, ...), images/0XX/<article_id>.jpg. Streams the CSVs, so the full download
 * (31 M transactions) reads in bounded memory. Article ids stay strings (they begin with a zero).
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { BadInputError } from '../core/errors.js';
import { IdMap, idRowProblem } from '../core/ids.js';
import { openTable, readTable, tablePath } from './table.js';
import type { InteractionLog, RawDataset, StagedSource } from './dataset.js';
import { GrowableFloat64, GrowableInt32 } from './growable.js';
import { hashFile } from './hash-file.js';
import { buildImageCache, cacheRowBytes, checkDiskSpace, type CacheResult, type Fit, type ImageSource, type PreviousCache } from './images.js';
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
  for await (const { record, at } of readTable(articlesPath, { required: ['article_id', o.categoryColumn], problems })) {
    const id = hmArticleId(record.article_id!.trim());
    if (!/^\d+$/.test(id)) {
      problems.report({ ...at, reason: 'bad article_id', value: id });
      continue;
    }
    if (articleIndex.has(id)) {
      problems.report({ ...at, reason: 'duplicate article_id', value: id });
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
 * An article id as H&M writes it, 10 digits: one read as a number (a Parquet or CSV file written
 * from pandas' default int64) lost its leading zero, given back here.
 */
export function hmArticleId(id: string): string {
  return id.length < 10 && /^\d+$/.test(id) ? id.padStart(10, '0') : id;
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
async function readTransactions(
  txPath: string,
  articleIndex: Map<string, number>,
  o: HmOptions,
): Promise<{ users: IdMap; user: Int32Array; item: Int32Array; time: Float64Array; rows: number }> {
  const { problems } = o;
  const users = new IdMap();
  const user = new GrowableInt32();
  const item = new GrowableInt32();
  const time = new GrowableFloat64();
  const days = new Map<string, number>();
  const r = await openTable(txPath, { required: ['t_dat', 'customer_id', 'article_id'], problems });
  const cDay = r.columns.indexOf('t_dat');
  const cCustomer = r.columns.indexOf('customer_id');
  const cArticle = r.columns.indexOf('article_id');
  try {
    while (await r.block())
      while (r.next()) {
        if ((r.rows & 1023) === 0) {
          // the photos decoded meanwhile are written, and the next ones started
          await new Promise(setImmediate);
          if (r.rows % 102400 === 0) o.onProgress?.('transactions', r.rows, 0);
        }
        const aid = hmArticleId(r.text(cArticle).trim());
        const a = articleIndex.get(aid);
        if (a === undefined) {
          problems.report({ ...r.place(), reason: 'article not in articles.csv', value: aid });
          continue;
        }
        const day = r.text(cDay).trim();
        let t = days.get(day);
        if (t === undefined) {
          t = /^\d{4}-\d{2}-\d{2}$/.test(day) ? Date.parse(day) : NaN; // the full YYYY-MM-DD, as the Kaggle files have it
          if (!Number.isNaN(t)) days.set(day, t);
        }
        if (Number.isNaN(t)) {
          problems.report({ ...r.place(), reason: 'bad t_dat', value: day });
          continue;
        }
        const cid = r.text(cCustomer).trim();
        let u = users.get(cid);
        if (u === undefined) {
          const bad = idRowProblem('customer_id', cid);
          if (bad) {
            problems.report({ ...r.place(), reason: bad, value: cid });
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

export interface HmStaging {
  /** where the photo cache is written (inside the dataset's temporary folder) */
  imagesPath: string;
  imageSize: number;
  fit: Fit;
  previous: PreviousCache | null;
  onImages?: (done: number, total: number) => void;
}

/**
 * The H&M layout as a staged source: its photos are decoded (sharp's threads) while the
 * transactions are read (this thread), so a full download costs the longer of the two, not both.
 */
export function hmSource(folder: string, o: HmOptions & { imageSize: number; fit: Fit }): StagedSource {
  return {
    sourcePath: folder,
    stage: (imagesPath, ctx) => readHm(folder, o, { imagesPath, imageSize: o.imageSize, fit: o.fit, previous: ctx.previous, onImages: ctx.onImages }),
  };
}

/** Reads the layout; with `staging`, writes the photo cache too, as it reads the transactions. */
export async function readHm(folder: string, o: HmOptions, staging?: HmStaging): Promise<RawDataset> {
  if (!existsSync(folder)) throw new BadInputError('folder not found', { file: folder });
  const articlesPath = tablePath(folder, 'articles');
  const txPath = tablePath(folder, 'transactions_train');
  const problems = o.problems;
  const { articleIndex, articleIds, articleCat, articleAttr, articleProduct } = await readArticles(articlesPath, o);

  // photos: an article without one leaves the catalogue (not an error) unless someone bought it (said below)
  const keep = new Int32Array(articleIds.length).fill(-1);
  const itemIds: string[] = [];
  const sources: ImageSource[] = [];
  const names: string[] = [];
  const cats: (string | null)[] = [];
  const keptArticles: number[] = [];
  for (let a = 0; a < articleIds.length; a++) {
    const path = hmImagePath(folder, articleIds[a]!);
    if (!existsSync(path)) continue;
    keep[a] = itemIds.length;
    itemIds.push(articleIds[a]!);
    sources.push({ kind: 'file', path });
    names.push(path);
    cats.push(articleCat[a]!);
    keptArticles.push(a);
  }
  let images: Promise<CacheResult> | null = null;
  const stop = new AbortController();
  if (staging) {
    checkDiskSpace(
      dirname(staging.imagesPath),
      sources.length * cacheRowBytes(staging.imageSize),
      `the ${sources.length.toLocaleString('en')} photos' cache at ${staging.imageSize} px`,
    );
    images = buildImageCache(sources, staging.imageSize, staging.fit, staging.imagesPath, staging.previous, staging.onImages, 32, stop.signal);
  }
  let tx: Awaited<ReturnType<typeof readTransactions>>;
  let withoutPhoto = 0;
  let purchasedWithoutPhoto = 0;
  try {
    tx = await readTransactions(txPath, articleIndex, o);
    const purchased = new Uint8Array(articleIds.length);
    for (const a of tx.item) purchased[a] = 1;
    for (let a = 0; a < articleIds.length; a++) {
      if (keep[a]! >= 0) continue;
      if (purchased[a]) {
        problems.report({ file: hmImagePath(folder, articleIds[a]!), reason: 'missing photo of a purchased article', value: articleIds[a]! });
        purchasedWithoutPhoto++;
      } else withoutPhoto++;
    }
  } catch (e) {
    // a bad row stops the ingest: nothing keeps writing into a folder that is about to be removed
    stop.abort();
    await images?.catch(() => {});
    throw e;
  }
  const { users, user: userArr, item: itemArr, time: timeArr, rows } = tx;
  // the purchases of articles with a photo, compacted in place (a second copy of 31.8 M rows is half a GB)
  let kept = 0;
  for (let r = 0; r < itemArr.length; r++) {
    const i = keep[itemArr[r]!]!;
    if (i < 0) continue;
    userArr[kept] = userArr[r]!;
    itemArr[kept] = i;
    timeArr[kept++] = timeArr[r]!;
  }
  const log: InteractionLog = { users, user: userArr.subarray(0, kept), item: itemArr.subarray(0, kept), time: timeArr.subarray(0, kept) };
  const prebuilt = images ? { prebuiltImages: await images } : {};
  return {
    ...prebuilt,
    timed: true,
    source: {
      kind: 'hm',
      path: folder,
      fileHashes: { [basename(articlesPath)]: await hashFile(articlesPath), [basename(txPath)]: await hashFile(txPath) },
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
