/**
 * The prepared dataset: one folder that training, evaluation, the server and the demo all read.
 *
 *   manifest.json   counts, categories, split statistics, source and content hash, options, problems
 *   items.json      item ids (strings as the source writes them), category index, training count
 *   users.json      user ids of the kept users (dense index = position)
 *   train.i32 valid.i32 test.i32   [users..., items...] of each split (int32, little-endian)
 *   baskets.i32     the same three histories' latest baskets (every item of the latest purchase
 *                   time), each [users + 1] offsets then items (absent in older datasets: the
 *                   latest purchase alone)
 *   latest.i32      [users] × 3: each user's latest training purchase, latest of all but the test
 *                   pair, latest of all (−1: none; [users] × 2 in datasets ingested before the
 *                   second, which then reads as the first; absent in older ones: latestPurchases
 *                   reads the split order)
 *   images.u8       uint8 [N, S, S, 3], images.json: size, fit, per-row content keys
 *   simulation.json the hidden taste of simulated shoppers (Fashion-MNIST only)
 *
 * An ingest writes a temporary folder and renames it over the old one, so an interrupted ingest
 * leaves the previous dataset intact.
 */
import {
  closeSync,
  existsSync,
  lstatSync,
  realpathSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { COLD_THRESHOLD, rankHeldOut } from '../core/auc.js';
import { BadInputError, CorruptFileError, InvalidArgumentError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { readJsonFile } from '../core/fs.js';
import type { IdMap } from '../core/ids.js';
import { buildImageCache, cacheRowBytes, checkDiskSpace, ImageCache, type CacheResult, type Fit, type ImageSource, type PreviousCache } from './images.js';
import type { Problems } from './problems.js';
import { ATTRIBUTES_FILE, attributeOf, datasetAttributes, type Attribute, type RawAttribute } from './attributes.js';
import { packBaskets, packPairs, splitInteractions, type Baskets, type SplitKind } from './split.js';
import { hiddenFeatures, hiddenScores, type SimulationModel } from './simulate.js';

export const DATASET_FORMAT = 1;

export interface InteractionLog {
  users: IdMap;
  /** dense user index per row */
  user: Int32Array;
  /** catalogue index per row */
  item: Int32Array;
  /** time per row (ms since epoch, or row order when the source has none) */
  time: Float64Array;
}

/** A split the source fixes (the authors' .npy files): kept as it is, never redrawn. Users and items are dense indices. */
export interface FixedSplit {
  userIds: string[];
  train: SplitPairs;
  valid: SplitPairs;
  test: SplitPairs;
  /** the source's interaction rows (reviews) */
  rows: number;
}

export interface RawDataset {
  source: { kind: 'hm' | 'folder' | 'fashion-mnist' | 'paper'; path: string; fileHashes: Record<string, string> };
  itemIds: string[];
  sources: ImageSource[];
  /** path or description of each item's image, for messages */
  sourceNames: string[];
  categoryRaw: (string | null)[];
  categoryColumn: string;
  /** attributes besides the category (one value per item), for the multi-attribute classifier */
  attributes?: RawAttribute[];
  /**
   * each item's product (null: none): items of one product are one garment in other colours or
   * sizes (H&M's product_code; a folder shop's `product` column), for the product prior (models/ranking)
   */
  products?: (string | null)[];
  /** counts of things left out that are not errors (e.g. articles without a photo) */
  leftOut: Record<string, number>;
  /** the interactions carry purchase times (not row order): the default split is then temporal */
  timed?: boolean;
  /**
   * interactions, possibly made from the fitted images (simulated shoppers: `images()` reads the
   * whole cache, which only they ask for); not needed with a fixed split
   */
  interactions?: (images: () => Uint8Array, size: number) => { log: InteractionLog; simulation?: SimulationModel };
  /** the photo cache, when the reader wrote it itself as it read (a staged source) instead of listing `sources` */
  prebuiltImages?: CacheResult;
  fixedSplit?: FixedSplit;
  /** categories in the source's own order, none folded (AmazonFashion's 'c') */
  fixedCategories?: string[];
}

/**
 * A source read inside the dataset's temporary folder: `stage` writes the photo cache at
 * `imagesPath` while it reads (a multi-GB file is read once) and returns the rest.
 */
export interface StagedSource {
  sourcePath: string;
  stage: (imagesPath: string, ctx: StageContext) => Promise<RawDataset>;
}

/** What a staged source may use: the replaced dataset's photo cache (rows to reuse), and where photo progress goes. */
export interface StageContext {
  previous: PreviousCache | null;
  onImages: (done: number, total: number) => void;
}

export interface PrepareOptions {
  imageSize: number;
  fit: Fit;
  /** absent: temporal when the source has purchase times (RawDataset.timed), else paper */
  split?: SplitKind;
  minUserItems: number;
  kCore?: number;
  minCategoryCount: number;
  seed: number;
  problems: Problems;
  onProgress?: (stage: string, done: number, total: number) => void;
}

const count = z.number().int().min(0);
const splitKind = z.enum(['paper', 'temporal', 'authors']);

/**
 * The dataset's manifest.json, read by this schema: a hand-edited or damaged one is refused naming
 * the field, never read into a half-valid dataset.
 */
export const datasetManifestSchema = z.object({
  format: z.number().int(),
  createdAt: z.string(),
  source: z.object({ kind: z.string(), path: z.string(), fileHashes: z.record(z.string(), z.string()) }),
  dataHash: z.string().regex(/^[0-9a-f]{64}$/),
  imageSize: z.number().int().min(8).max(512),
  fit: z.enum(['letterbox', 'crop']),
  seed: z.number().int(),
  /** split 'authors': the source's own split, kept (minUserItems and kCore then did not apply) */
  options: z.object({
    split: splitKind,
    minUserItems: count,
    kCore: count.nullable(),
    minCategoryCount: count,
    categoryColumn: z.string(),
  }),
  counts: z.object({
    users: count,
    items: count,
    interactionRows: count,
    distinctPairs: count,
    usersBeforeFilter: count,
    /** users with a validation and a test item (≥ minUserItems distinct items); absent before every shopper was trained */
    evaluatedUsers: count.optional(),
    /** users below minUserItems: every purchase trains, none is held out (they still get recommendations) */
    trainOnlyUsers: count.optional(),
    train: count,
    valid: count,
    test: count,
  }),
  categories: z.array(z.object({ name: z.string(), items: count, folded: z.array(z.string()).optional() })).min(1),
  /** attributes besides the category (absent in a dataset written before them) */
  attributes: z.array(z.object({ name: z.string(), classes: count, labelled: count })).optional(),
  /** the source's products (absent: it names none): how many, and the items in a product with another item */
  products: z.object({ products: count, items: count, itemsWithSibling: count }).optional(),
  split: z.object({ kind: splitKind, coldTestItems: count, coldTestUsers: count, coldValidItems: count, itemsWithoutTraining: count }),
  leftOut: z.record(z.string(), count),
  problems: z.object({
    total: count,
    byReason: z.record(z.string(), count),
    items: z.array(z.object({ file: z.string(), line: count.optional(), row: count.optional(), reason: z.string(), value: z.string().optional() })),
    listed: count,
  }),
  images: z.object({ reused: count, decoded: count }),
  oracle: z.object({ testAuc: z.number(), coldTestAuc: z.number(), description: z.string() }).optional(),
  versions: z.record(z.string(), z.string()),
});

export type Manifest = z.infer<typeof datasetManifestSchema>;

export interface SplitPairs {
  user: Int32Array;
  item: Int32Array;
}

export interface Dataset {
  dir: string;
  manifest: Manifest;
  itemIds: string[];
  userIds: string[];
  itemCategory: Int32Array;
  categories: string[];
  itemTrainCount: Int32Array;
  train: SplitPairs;
  valid: SplitPairs;
  test: SplitPairs;
  imageSize: number;
  /** the image cache [N, S, S, 3], read by rows (ImageCache: any size) */
  images: ImageCache;
  /** 100 sampled negatives per test row (−1 = none), aligned with `test` */
  sampledNegatives: Int32Array;
  simulation?: SimulationModel;
  /** the category first (unknown and other masked), then the source's other attributes */
  attributes: Attribute[];
  /** each item's product (index into `products`, −1: none), absent when the source names none (the product prior) */
  itemProduct?: Int32Array;
  products?: string[];
  /**
   * each user's latest purchase (item, −1: none) by first purchase time, of the training pairs, of
   * all but the test pair (`known`: the history when the test item is predicted) and of all (latest.i32)
   */
  latest?: { train: Int32Array; known: Int32Array; all: Int32Array };
  /** each user's latest basket in the same histories (baskets.i32) */
  baskets?: { train: Baskets; known: Baskets; all: Baskets };
}

/**
 * Each user's latest basket: every item first bought at their latest purchase time in the history
 * (on H&M a day's purchases). From baskets.i32, else the latest purchase alone.
 */
export function latestBaskets(ds: Dataset, of: History): Baskets {
  if (ds.baskets) return ds.baskets[of];
  const latest = latestPurchases(ds, of);
  return packBaskets(Array.from(latest, (i) => (i >= 0 ? [i] : [])));
}

/**
 * Each user's latest purchase among the training pairs (`train`: the history when a validation
 * item is predicted), among all but the test pair (`known`: the history when the test item is
 * predicted) or among all their pairs (`all`: what a shop serves from): what the recency prior
 * (models/ranking) compares items with. From latest.i32 when the dataset
 * has it; else the last pair in split order (training pairs keep their order of appearance, which
 * is time order for a log written by date, as H&M's is; a fixed split has no times).
 */
export function latestPurchases(ds: Dataset, of: History): Int32Array {
  if (ds.latest) return ds.latest[of];
  const last = new Int32Array(ds.userIds.length).fill(-1);
  for (const p of historyPairs(ds, of)) for (let x = 0; x < p.user.length; x++) last[p.user[x]!] = p.item[x]!;
  return last;
}

/** A shopper's history: the training pairs (a validation item's), all but the test pair (a test item's), or all. */
export type History = 'train' | 'known' | 'all';

/** The splits a history is made of, in split order. */
export function historyPairs(ds: Dataset, of: History): SplitPairs[] {
  return { train: [ds.train], known: [ds.train, ds.valid], all: [ds.train, ds.valid, ds.test] }[of];
}

function writeSplit(path: string, p: SplitPairs): void {
  const a = new Int32Array(p.user.length * 2);
  a.set(p.user, 0);
  a.set(p.item, p.user.length);
  writeFileSync(path, new Uint8Array(a.buffer));
}

function readSplit(path: string): SplitPairs {
  if (!existsSync(path)) throw new BadInputError('missing split file', { file: path });
  const buf = readFileSync(path);
  if (buf.byteLength % 8 !== 0) throw new BadInputError(`split file has ${buf.byteLength} bytes, not a whole number of pairs`, { file: path });
  const a = new Int32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const n = a.length / 2;
  return { user: a.slice(0, n), item: a.slice(n) };
}

function readInt32(path: string): Int32Array {
  if (!existsSync(path)) throw new BadInputError('missing file (re-run `atelier ingest`)', { file: path });
  const buf = readFileSync(path);
  return new Int32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

const readJson = <T>(path: string): T => readJsonFile<T>(path, 'is this a prepared dataset? run `atelier ingest`');

/** Full AUC of scores against the held-out item, negatives = items the user never interacted with (restricted by `allowed`). */
/** Mean full AUC of the held-out pairs whose item `allowed` admits, against the negatives it admits. */
function oracleAuc(scoresOf: (u: number) => Float64Array, heldOut: SplitPairs, seen: Bought, allowed?: Uint8Array): number {
  let total = 0;
  let users = 0;
  for (let x = 0; x < heldOut.user.length; x++) {
    const u = heldOut.user[x]!;
    const i = heldOut.item[x]!;
    if (allowed && !allowed[i]) continue;
    const r = rankHeldOut(scoresOf(u), i, boughtOf(seen, u), allowed);
    const [wins, pairs] = allowed ? [r.coldWins, r.coldPairs] : [r.wins, r.pairs];
    if (pairs) {
      total += wins / pairs;
      users++;
    }
  }
  return users ? total / users : NaN;
}

function packageVersion(): string {
  try {
    return JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version as string;
  } catch {
    return 'unknown';
  }
}

/**
 * Refuses an --out that is not this command's own kind of output: only a missing folder, an empty
 * one, or a prepared dataset (its manifest.json says so) is replaced, and never one that holds the
 * source being read.
 */
/**
 * The files a prepared dataset consists of, in any format this Atelier wrote: re-ingesting replaces
 * these and only these, so a folder holding anything else (a user's notes, a run trained into a
 * subfolder) is refused rather than swept away with the old dataset.
 */
export const DATASET_FILES: ReadonlySet<string> = new Set([
  'manifest.json',
  'images.u8',
  'images.json',
  'items.json',
  'users.json',
  'train.i32',
  'valid.i32',
  'test.i32',
  'latest.i32',
  'baskets.i32',
  'sampled-negatives.i32',
  'simulation.json',
  ATTRIBUTES_FILE,
]);

/** `--out` as it is written: a link to a folder is followed, so the folder it names is replaced, not the link. */
export function datasetOutput(out: string): string {
  const abs = resolve(out);
  return existsSync(abs) && lstatSync(abs).isSymbolicLink() ? realpathSync(abs) : abs;
}

export function checkDatasetOutput(outDir: string, source: string): void {
  const out = datasetOutput(outDir);
  const src = resolve(source);
  if (src === out || src.startsWith(out + sep)) throw new BadInputError(`--out contains the source being read (${src}): refusing to replace it`, { file: out });
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory()) throw new BadInputError('--out is a file, not a dataset folder: refusing to replace it', { file: out });
  if (readdirSync(out).length === 0) return;
  let m: { format?: unknown; dataHash?: unknown; counts?: unknown } | null = null;
  try {
    m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
  } catch {
    m = null;
  }
  if (!m || m.format !== DATASET_FORMAT || typeof m.dataHash !== 'string' || typeof m.counts !== 'object')
    throw new BadInputError(
      '--out exists and is not a prepared dataset (no dataset manifest.json): refusing to replace it; name a new folder, or remove it yourself',
      {
        file: out,
      },
    );
  const foreign = readdirSync(out).filter((n) => !DATASET_FILES.has(n));
  if (foreign.length)
    throw new BadInputError(
      `--out holds files that are not the dataset's (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? `, … ${foreign.length} in all` : ''}): re-ingesting replaces the whole folder, so refusing; move them out, or name a new folder`,
      { file: out },
    );
}

export async function prepareDataset(raw: RawDataset | StagedSource, outDir: string, o: PrepareOptions): Promise<Manifest> {
  const out = datasetOutput(outDir);
  checkDatasetOutput(out, 'stage' in raw ? raw.sourcePath : raw.source.path);
  const tmp = `${out}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    const manifest = await prepareInto(raw, out, tmp, o);
    // swap in: the old dataset stays whole until the new one is complete
    const old = `${out}.old-${process.pid}`;
    if (existsSync(out)) renameSync(out, old);
    renameSync(tmp, out);
    rmSync(old, { recursive: true, force: true });
    return manifest;
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** The previous dataset's image index, when its rows can be reused (same fit). */
function previousImages(out: string, fit: Fit): { path: string; keys: string[]; size: number } | null {
  if (!existsSync(join(out, 'images.json')) || !existsSync(join(out, 'images.u8'))) return null;
  try {
    const prev = JSON.parse(readFileSync(join(out, 'images.json'), 'utf8')) as { size: number; fit: Fit; keys: string[] };
    return prev.fit === fit ? { path: join(out, 'images.u8'), keys: prev.keys, size: prev.size } : null;
  } catch {
    return null; // an unreadable old index only costs a full rebuild
  }
}

interface KeptItems {
  /** old index → new index, or −1 (null: every item kept) */
  keepItem: Int32Array | null;
  itemIds: string[];
  categoryRaw: (string | null)[];
  attributes: RawAttribute[];
  products?: (string | null)[];
  keys: string[];
}

/** Drops the items whose image failed (skip mode), compacting the cache file in place. */
function dropFailedImages(
  raw: RawDataset,
  cache: { keys: string[]; failed: { index: number }[] },
  cachePath: string,
  tmp: string,
  imageSize: number,
): KeptItems {
  if (!cache.failed.length)
    return {
      keepItem: null,
      itemIds: raw.itemIds,
      categoryRaw: raw.categoryRaw,
      attributes: raw.attributes ?? [],
      ...(raw.products ? { products: raw.products } : {}),
      keys: cache.keys,
    };
  const failed = new Set(cache.failed.map((f) => f.index));
  const keepItem = new Int32Array(raw.itemIds.length).fill(-1);
  const rowBytes = imageSize * imageSize * 3;
  const src = openSync(cachePath, 'r');
  const compactPath = join(tmp, 'images.compact');
  const dst = openSync(compactPath, 'w');
  const row = new Uint8Array(rowBytes);
  let n = 0;
  for (let i = 0; i < raw.itemIds.length; i++) {
    if (failed.has(i)) continue;
    readSync(src, row, 0, rowBytes, i * rowBytes);
    writeSync(dst, row, 0, rowBytes, n * rowBytes);
    keepItem[i] = n++;
  }
  closeSync(src);
  closeSync(dst);
  renameSync(compactPath, cachePath);
  const kept = <T>(xs: T[]) => xs.filter((_, i) => keepItem[i]! >= 0);
  return {
    keepItem,
    itemIds: kept(raw.itemIds),
    categoryRaw: kept(raw.categoryRaw),
    attributes: (raw.attributes ?? []).map((a) => ({ name: a.name, values: kept(a.values) })),
    ...(raw.products ? { products: kept(raw.products) } : {}),
    keys: kept(cache.keys),
  };
}

/**
 * The log's rows as distinct (user, item) pairs in the order each pair first appears, each with its
 * earliest time; rows of dropped items are counted as problems. Typed arrays and native sorts only:
 * a hash map of pairs holds at most 2^24 entries (the whole Kaggle H&M download has 27 million
 * distinct pairs). The rows are grouped by user (a counting sort), each user's rows sorted by
 * (item, row) so a pair's rows are adjacent with its first row leading, and the pairs' first rows
 * sorted back into log order. Memory: about 20 bytes a row.
 */
export function distinctPairs(
  log: InteractionLog,
  keepItem: Int32Array | null,
  numItems: number,
  problems: Problems,
): { user: Int32Array; item: Int32Array; time: Float64Array } {
  const n = log.user.length;
  const numUsers = log.users.size;
  const itemOf = new Int32Array(n);
  const start = new Int32Array(numUsers + 1);
  let droppedRows = 0;
  for (let r = 0; r < n; r++) {
    const item = keepItem ? keepItem[log.item[r]!]! : log.item[r]!;
    itemOf[r] = item;
    if (item < 0) droppedRows++;
    else start[log.user[r]! + 1]!++;
  }
  if (droppedRows) problems.counts['interaction of a left-out item'] = droppedRows;
  for (let u = 0; u < numUsers; u++) start[u + 1]! += start[u]!;
  const byUser = new Int32Array(n - droppedRows); // row indices, grouped by user, in log order within each
  const cursor = start.slice(0, numUsers);
  for (let r = 0; r < n; r++) if (itemOf[r]! >= 0) byUser[cursor[log.user[r]!]!++] = r;
  // (item, row) as one exactly representable number where it fits; a comparator otherwise
  const packed = numItems * n < Number.MAX_SAFE_INTEGER;
  let longest = 0;
  for (let u = 0; u < numUsers; u++) longest = Math.max(longest, start[u + 1]! - start[u]!);
  const keys = new Float64Array(packed ? longest : 0);
  const firstRows = new Int32Array(n - droppedRows);
  const earliest = new Float64Array(n); // at a pair's first row: its earliest time
  let pairs = 0;
  for (let u = 0; u < numUsers; u++) {
    const a = start[u]!;
    const len = start[u + 1]! - a;
    if (len === 0) continue;
    const seg = byUser.subarray(a, a + len);
    if (packed) {
      for (let k = 0; k < len; k++) keys[k] = itemOf[seg[k]!]! * n + seg[k]!;
      const sorted = keys.subarray(0, len).sort();
      for (let k = 0; k < len; k++) seg[k] = sorted[k]! % n;
    } else seg.sort((x, y) => itemOf[x]! - itemOf[y]! || x - y);
    for (let k = 0; k < len;) {
      const first = seg[k]!;
      let t = log.time[first]!;
      let q = k + 1;
      for (; q < len && itemOf[seg[q]!] === itemOf[first]; q++) t = Math.min(t, log.time[seg[q]!]!);
      firstRows[pairs++] = first;
      earliest[first] = t;
      k = q;
    }
  }
  const order = firstRows.subarray(0, pairs).sort();
  return {
    user: Int32Array.from(order, (r) => log.user[r]!),
    item: Int32Array.from(order, (r) => itemOf[r]!),
    time: Float64Array.from(order, (r) => earliest[r]!),
  };
}

/** The kept users numbered densely in order of first appearance (train, valid, test), and the splits renumbered. */
function renumberUsers(
  split: ReturnType<typeof splitInteractions>,
  log: InteractionLog,
): {
  userIds: string[];
  userOld: number[];
  train: SplitPairs;
  valid: SplitPairs;
  test: SplitPairs;
  latest: { train: Int32Array; known: Int32Array; all: Int32Array };
  baskets: { train: Baskets; known: Baskets; all: Baskets };
} {
  const userNew = new Int32Array(log.users.size).fill(-1);
  const userIds: string[] = [];
  const userOld: number[] = [];
  for (const part of [split.train, split.valid, split.test]) {
    for (const u of part.user) {
      if (userNew[u] === -1) {
        userNew[u] = userIds.length;
        userIds.push(log.users.idOf(u));
        userOld.push(u);
      }
    }
  }
  const remap = (p: SplitPairs): SplitPairs => ({ user: Int32Array.from(p.user, (u) => userNew[u]!), item: p.item });
  const latest = (l: Int32Array) => Int32Array.from(userOld, (u) => l[u]!);
  const basket = (b: Baskets) => packBaskets(userOld.map((u) => b.items.subarray(b.offsets[u]!, b.offsets[u + 1]!)));
  return {
    userIds,
    userOld,
    train: remap(split.train),
    valid: remap(split.valid),
    test: remap(split.test),
    latest: { train: latest(split.latest.train), known: latest(split.latest.known), all: latest(split.latest.all) },
    baskets: { train: basket(split.baskets.train), known: basket(split.baskets.known), all: basket(split.baskets.all) },
  };
}

/** Categories by size, the rare ones (fewer than minCount items) folded into "other". */
function foldCategories(categoryRaw: (string | null)[], minCount: number): { itemCategory: Int32Array; categories: Manifest['categories'] } {
  const catCounts = new Map<string, number>();
  for (const c of categoryRaw) catCounts.set(c ?? 'unknown', (catCounts.get(c ?? 'unknown') ?? 0) + 1);
  const folded = [...catCounts].filter(([, n]) => n < minCount).map(([c]) => c);
  const names = [...catCounts]
    .filter(([, n]) => n >= minCount)
    .sort((a, b) => b[1] - a[1])
    .map(([c]) => c);
  if (folded.length && !names.includes('other')) names.push('other');
  const catIndex = new Map(names.map((c, i) => [c, i]));
  const itemCategory = Int32Array.from(categoryRaw, (c) => catIndex.get(c ?? 'unknown') ?? catIndex.get('other')!);
  const categories = names.map((name, i) => ({
    name,
    items: itemCategory.reduce((s, c) => s + (c === i ? 1 : 0), 0),
    ...(name === 'other' && folded.length ? { folded } : {}),
  }));
  return { itemCategory, categories };
}

/** Categories in the source's order (an item without one is 'unknown', listed last); none folded. */
function ownCategories(categoryRaw: (string | null)[], names: string[]): { itemCategory: Int32Array; categories: Manifest['categories'] } {
  const all = categoryRaw.some((c) => c === null || !names.includes(c)) ? [...names, 'unknown'] : names;
  const index = new Map(all.map((c, i) => [c, i]));
  const itemCategory = Int32Array.from(categoryRaw, (c) => index.get(c ?? 'unknown') ?? index.get('unknown')!);
  const counts = new Int32Array(all.length);
  for (const c of itemCategory) counts[c]!++;
  return { itemCategory, categories: all.map((name, i) => ({ name, items: counts[i]! })) };
}

/**
 * Every item each user bought, in any split (never a negative): per user a sorted run of distinct
 * items (split.ts's packPairs), so that 1.37 M shoppers' 28 M purchases are two typed arrays, not
 * 1.37 M sets.
 */
type Bought = Baskets;

/** User u's bought items, sorted. */
function boughtOf(b: Bought, u: number): Int32Array {
  return b.items.subarray(b.offsets[u]!, b.offsets[u + 1]!);
}

function hasItem(sorted: Int32Array, i: number): boolean {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < i) lo = mid + 1;
    else hi = mid;
  }
  return lo < sorted.length && sorted[lo] === i;
}

/** The simulated shoppers' hidden taste as a model: its test AUC is the best any model can expect. */
function simulatedOracle(
  simulation: SimulationModel,
  userOld: number[],
  images: Uint8Array,
  numItems: number,
  test: SplitPairs,
  seen: Bought,
  cold: (i: number) => boolean,
): NonNullable<Manifest['oracle']> {
  // users were renumbered: the taste of new user u is that of simulated user userOld[u]
  simulation.taste = userOld.flatMap((u) => simulation.taste.slice(u * simulation.dims, (u + 1) * simulation.dims));
  const feats = hiddenFeatures(simulation, images, numItems);
  const scoresNew = (u: number) => hiddenScores(simulation, u, feats);
  const coldMask = Uint8Array.from({ length: numItems }, (_, i) => (cold(i) ? 1 : 0));
  return {
    testAuc: oracleAuc(scoresNew, test, seen),
    coldTestAuc: oracleAuc(scoresNew, test, seen, coldMask),
    description: "full AUC of the simulated shoppers' hidden taste on the test split: the best any model can expect",
  };
}

/** Sampled-AUC negatives (the released code's protocol): `perUser` per test row, never bought, fixed by the seed. */
function sampledNegatives(test: SplitPairs, seen: Bought, numItems: number, seed: number, perUser: number): Int32Array {
  const negatives = new Int32Array(test.user.length * perUser).fill(-1);
  const rngNeg = new Rng(seed + 7919);
  // chosenFor[j] = x + 1 once item j is drawn for test row x: membership without a set per row
  const chosenFor = new Int32Array(numItems);
  for (let x = 0; x < test.user.length; x++) {
    const bought = boughtOf(seen, test.user[x]!);
    const want = Math.min(perUser, numItems - bought.length);
    for (let got = 0; got < want;) {
      const j = rngNeg.int(numItems);
      if (chosenFor[j] === x + 1 || hasItem(bought, j)) continue;
      chosenFor[j] = x + 1;
      negatives[x * perUser + got++] = j;
    }
  }
  return negatives;
}

/** The dataset's hash: source files, image rows and every option that shapes the split. */
function dataHashOf(raw: RawDataset, keys: string[], o: PrepareOptions): string {
  const h = createHash('sha256');
  h.update(JSON.stringify(raw.source.fileHashes));
  for (const k of keys) h.update(k);
  // splitRule 2: users below minUserItems train instead of being dropped (a dataset made by the first rule has another hash)
  h.update(
    JSON.stringify({ imageSize: o.imageSize, fit: o.fit, split: o.split, minUserItems: o.minUserItems, kCore: o.kCore ?? null, seed: o.seed, splitRule: 2 }),
  );
  return h.digest('hex');
}

/** The interactions as distinct pairs, split (by the source, or here), the kept users numbered densely. */
function splitOf(raw: RawDataset, images: () => Uint8Array, keepItem: Int32Array | null, numItems: number, o: PrepareOptions & { split: SplitKind }) {
  if (raw.fixedSplit) return keptSplit(raw.fixedSplit, keepItem, numItems, o.problems);
  if (!raw.interactions) throw new InvalidArgumentError('a raw dataset needs interactions or a fixed split');
  const { log, simulation } = raw.interactions(images, o.imageSize);
  const pairs = distinctPairs(log, keepItem, numItems, o.problems);
  const split = splitInteractions(pairs, log.users.size, numItems, { kind: o.split, minUserItems: o.minUserItems, seed: o.seed, kCore: o.kCore });
  return {
    ...renumberUsers(split, log),
    itemTrainCount: split.itemTrainCount,
    simulation,
    counts: {
      interactionRows: log.user.length,
      distinctPairs: pairs.user.length,
      usersBeforeFilter: log.users.size,
      evaluatedUsers: split.evaluatedUsers,
      trainOnlyUsers: split.keptUsers - split.evaluatedUsers,
    },
  };
}

/** A fixed split with the rows of dropped items left out (counted as problems); every user kept. */
function keptSplit(f: FixedSplit, keepItem: Int32Array | null, numItems: number, problems: Problems) {
  let dropped = 0;
  const keep = (p: SplitPairs): SplitPairs => {
    if (!keepItem) return p;
    const user: number[] = [];
    const item: number[] = [];
    for (let x = 0; x < p.user.length; x++) {
      const i = keepItem[p.item[x]!]!;
      if (i < 0) dropped++;
      else (user.push(p.user[x]!), item.push(i));
    }
    return { user: Int32Array.from(user), item: Int32Array.from(item) };
  };
  const [train, valid, test] = [keep(f.train), keep(f.valid), keep(f.test)];
  if (dropped) problems.counts['interaction of a left-out item'] = dropped;
  const itemTrainCount = new Int32Array(numItems);
  for (const i of train.item) itemTrainCount[i]!++;
  const distinct = new Set<number>();
  for (const p of [train, valid, test]) for (let x = 0; x < p.user.length; x++) distinct.add(p.user[x]! * numItems + p.item[x]!);
  return {
    userIds: f.userIds,
    userOld: f.userIds.map((_, u) => u),
    train,
    valid,
    test,
    itemTrainCount,
    simulation: undefined as SimulationModel | undefined,
    counts: {
      interactionRows: f.rows,
      distinctPairs: distinct.size,
      usersBeforeFilter: f.userIds.length,
      evaluatedUsers: new Set(test.user).size,
      trainOnlyUsers: f.userIds.length - new Set([...test.user, ...valid.user]).size,
    },
  };
}

async function prepareInto(input: RawDataset | StagedSource, out: string, tmp: string, opts: PrepareOptions): Promise<Manifest> {
  const progress = opts.onProgress ?? (() => {});
  // 1. images, reusing rows of the previous dataset whose source bytes are unchanged (a staged source writes them as it reads)
  const cachePath = join(tmp, 'images.u8');
  if (!('stage' in input))
    checkDiskSpace(
      tmp,
      input.sources.length * cacheRowBytes(opts.imageSize),
      `the ${input.sources.length.toLocaleString('en')} photos' cache at ${opts.imageSize} px`,
    );
  const raw =
    'stage' in input ? await input.stage(cachePath, { previous: previousImages(out, opts.fit), onImages: (d, t) => progress('images', d, t) }) : input;
  // no split asked for: a log with purchase times is split by time (each shopper's next purchase held out), one without as the paper does
  const o: PrepareOptions & { split: SplitKind } = { ...opts, split: opts.split ?? (raw.timed ? 'temporal' : 'paper') };
  const cache =
    raw.prebuiltImages ?? (await buildImageCache(raw.sources, o.imageSize, o.fit, cachePath, previousImages(out, o.fit), (d, t) => progress('images', d, t)));
  for (const f of cache.failed) o.problems.report({ file: raw.sourceNames[f.index]!, reason: f.reason ?? 'undecodable image', value: f.error });

  // 2. drop items whose image failed (skip mode), compacting the cache
  const { keepItem, itemIds, categoryRaw, attributes, products, keys } = dropFailedImages(raw, cache, cachePath, tmp, o.imageSize);
  const numItems = itemIds.length;
  if (numItems === 0) throw new BadInputError('no item with a usable image', { file: raw.source.path });
  // read back only when the interactions are made from the pixels (a 224-px cache of a large catalogue does not fit in memory)
  let pixels: Uint8Array | null = null;
  const images = () => (pixels ??= ImageCache.open(cachePath, numItems, o.imageSize).all());

  // 3–4. interactions → distinct pairs → split (or the source's own), the kept users renumbered densely
  const split = splitOf(raw, images, keepItem, numItems, o);
  const { userIds, userOld, train, valid, test, simulation } = split;
  if (test.user.length === 0) {
    throw new BadInputError(`no user has at least ${Math.max(3, o.minUserItems)} distinct items (--min-user-items): nothing to evaluate`, {
      file: raw.source.path,
    });
  }

  // 5. categories: the source's own, or by size with the rare ones folded into "other"
  const { itemCategory, categories } = raw.fixedCategories ? ownCategories(categoryRaw, raw.fixedCategories) : foldCategories(categoryRaw, o.minCategoryCount);

  // 6. cold items, the oracle, the sampled negatives
  const cold = (i: number) => split.itemTrainCount[i]! < COLD_THRESHOLD;
  const seen = packPairs([train, valid, test], userIds.length);
  const oracle = simulation ? simulatedOracle(simulation, userOld, images(), numItems, test, seen, cold) : undefined;
  const negatives = sampledNegatives(test, seen, numItems, o.seed, 100);
  const coldTest = new Set(Array.from(test.item).filter(cold));
  const coldTestUsers = Array.from(test.item).filter(cold).length;
  const coldValid = new Set(Array.from(valid.item).filter(cold));

  // 7. write
  writeFileSync(
    join(tmp, 'items.json'),
    JSON.stringify({
      ids: itemIds,
      category: Array.from(itemCategory),
      trainCount: Array.from(split.itemTrainCount),
      ...(products ? { product: products } : {}),
    }),
  );
  writeFileSync(join(tmp, 'users.json'), JSON.stringify({ ids: userIds }));
  writeSplit(join(tmp, 'train.i32'), train);
  writeSplit(join(tmp, 'valid.i32'), valid);
  writeSplit(join(tmp, 'test.i32'), test);
  if ('latest' in split) {
    const l = new Int32Array(userIds.length * 3);
    l.set(split.latest.train, 0);
    l.set(split.latest.known, userIds.length);
    l.set(split.latest.all, userIds.length * 2);
    writeFileSync(join(tmp, LATEST_FILE), new Uint8Array(l.buffer));
  }
  if ('baskets' in split) {
    const b = split.baskets;
    const parts = [b.train.offsets, b.train.items, b.known.offsets, b.known.items, b.all.offsets, b.all.items];
    const a = new Int32Array(3 + parts.reduce((n, x) => n + x.length, 0));
    // header: the item counts of the three histories
    a.set([b.train.items.length, b.known.items.length, b.all.items.length], 0);
    let o = 3;
    for (const x of parts) (a.set(x, o), (o += x.length));
    writeFileSync(join(tmp, BASKETS_FILE), new Uint8Array(a.buffer));
  }
  writeFileSync(join(tmp, 'sampled-negatives.i32'), new Uint8Array(negatives.buffer));
  writeFileSync(join(tmp, 'images.json'), JSON.stringify({ size: o.imageSize, fit: o.fit, keys }));
  if (simulation) writeFileSync(join(tmp, 'simulation.json'), JSON.stringify(simulation));
  // attributes: rare values masked by the same threshold as rare categories
  const minClass = raw.fixedCategories ? 1 : o.minCategoryCount;
  const kept = attributes.map((a) => attributeOf(a, minClass)).filter((a): a is Attribute => a !== null);
  if (kept.length)
    writeFileSync(
      join(tmp, ATTRIBUTES_FILE),
      JSON.stringify({ attributes: kept.map((a) => ({ name: a.name, classes: a.classes, labels: Array.from(a.labels) })) }),
    );
  const sharpVersions = (await import('sharp')).default.versions;
  const manifest: Manifest = {
    format: DATASET_FORMAT,
    createdAt: new Date().toISOString(),
    source: raw.source,
    dataHash: dataHashOf(raw, keys, o),
    imageSize: o.imageSize,
    fit: o.fit,
    seed: o.seed,
    options: {
      split: raw.fixedSplit ? 'authors' : o.split,
      minUserItems: raw.fixedSplit ? 0 : o.minUserItems,
      kCore: raw.fixedSplit ? null : (o.kCore ?? null),
      minCategoryCount: raw.fixedCategories ? 0 : o.minCategoryCount,
      categoryColumn: raw.categoryColumn,
    },
    counts: {
      users: userIds.length,
      items: numItems,
      ...split.counts,
      train: train.user.length,
      valid: valid.user.length,
      test: test.user.length,
    },
    categories,
    attributes: kept.map((a) => ({ name: a.name, classes: a.classes.length, labelled: a.labels.reduce((n, l) => n + (l >= 0 ? 1 : 0), 0) })),
    ...(products ? { products: productCounts(products) } : {}),
    split: {
      kind: raw.fixedSplit ? 'authors' : o.split,
      coldTestItems: coldTest.size,
      coldTestUsers,
      coldValidItems: coldValid.size,
      itemsWithoutTraining: split.itemTrainCount.reduce((s, c) => s + (c === 0 ? 1 : 0), 0),
    },
    leftOut: raw.leftOut,
    problems: o.problems.summary(),
    images: { reused: cache.reused, decoded: cache.decoded },
    ...(oracle ? { oracle } : {}),
    versions: { atelier: packageVersion(), node: process.version, sharp: sharpVersions.sharp ?? 'unknown', vips: sharpVersions.vips },
  };
  writeFileSync(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

const LATEST_FILE = 'latest.i32';
const BASKETS_FILE = 'baskets.i32';

function readBaskets(path: string, users: number, numItems: number): { baskets?: { train: Baskets; known: Baskets; all: Baskets } } {
  if (!existsSync(path)) return {};
  const a = readInt32(path);
  const bad = (why: string) => new CorruptFileError(why, path);
  if (a.length < 3) throw bad(`${a.length} values, not a baskets file`);
  let o = 3;
  const one = (n: number): Baskets => {
    if (!(n >= 0) || o + users + 1 + n > a.length) throw bad(`a history of ${n} items does not fit ${a.length} values`);
    const offsets = a.subarray(o, o + users + 1);
    const items = a.subarray(o + users + 1, o + users + 1 + n);
    o += users + 1 + n;
    if (offsets[0] !== 0 || offsets[users] !== n) throw bad(`offsets run ${offsets[0]}..${offsets[users]}, not 0..${n}`);
    for (let u = 0; u < users; u++) if (offsets[u + 1]! < offsets[u]!) throw bad(`offsets of user ${u} decrease`);
    for (const i of items) if (!(i >= 0 && i < numItems)) throw bad(`item index ${i} outside 0..${numItems - 1}`);
    return { offsets, items };
  };
  const baskets = { train: one(a[0]!), known: one(a[1]!), all: one(a[2]!) };
  if (o !== a.length) throw bad(`${a.length - o} values after the three histories`);
  return { baskets };
}

/** The manifest's product counts: products, items with one, and those sharing theirs with another item. */
function productCounts(products: (string | null)[]): NonNullable<Manifest['products']> {
  const size = new Map<string, number>();
  for (const p of products) if (p !== null) size.set(p, (size.get(p) ?? 0) + 1);
  let items = 0;
  let itemsWithSibling = 0;
  for (const p of products) if (p !== null) (items++, size.get(p)! > 1 && itemsWithSibling++);
  return { products: size.size, items, itemsWithSibling };
}

/** Dense product indices (−1: none) in order of first appearance, and the product of each index. */
export function productIndex(values: (string | null)[]): { itemProduct: Int32Array; products: string[] } {
  const index = new Map<string, number>();
  const itemProduct = Int32Array.from(values, (v) => {
    if (v === null || v === '') return -1;
    let k = index.get(v);
    if (k === undefined) index.set(v, (k = index.size));
    return k;
  });
  return { itemProduct, products: [...index.keys()] };
}

function readLatest(path: string, users: number): { latest?: { train: Int32Array; known: Int32Array; all: Int32Array } } {
  if (!existsSync(path)) return {};
  const l = readInt32(path);
  // written before `known`: train, then all (the test item's history then reads as the training pairs')
  if (l.length === users * 2) return { latest: { train: l.slice(0, users), known: l.slice(0, users), all: l.slice(users) } };
  if (l.length !== users * 3) throw new CorruptFileError(`${l.length} values for ${users} users (want ${users * 3})`, path);
  return { latest: { train: l.slice(0, users), known: l.slice(users, users * 2), all: l.slice(users * 2) } };
}

/** A prepared dataset's manifest alone (its image size, counts, split), without its arrays. */
export function readDatasetManifest(dir: string): Manifest {
  const path = join(resolve(dir), 'manifest.json');
  const raw = readJson<{ format?: unknown }>(path);
  if (raw.format !== DATASET_FORMAT)
    throw new BadInputError(`dataset format ${String(raw.format)}, this Atelier reads format ${DATASET_FORMAT}`, { file: path });
  const r = datasetManifestSchema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw new CorruptFileError(`${issue.path.join('.') || 'manifest'}: ${issue.message}`, path);
}

export function loadDataset(dir: string): Dataset {
  const d = resolve(dir);
  const manifest = readDatasetManifest(d);
  const items = readJson<{ ids: string[]; category: number[]; trainCount: number[]; product?: (string | null)[] }>(join(d, 'items.json'));
  if (items.product) {
    if (!Array.isArray(items.product) || items.product.length !== items.ids.length)
      throw new CorruptFileError(
        `${Array.isArray(items.product) ? items.product.length : 'no list of'} products for ${items.ids.length} items`,
        join(d, 'items.json'),
      );
    const bad = items.product.findIndex((v) => v !== null && typeof v !== 'string');
    if (bad >= 0) throw new CorruptFileError(`product of item ${bad} is ${JSON.stringify(items.product[bad])}, not a string or null`, join(d, 'items.json'));
  }
  const users = readJson<{ ids: string[] }>(join(d, 'users.json'));
  const simPath = join(d, 'simulation.json');
  const itemCategory = Int32Array.from(items.category);
  const categories = manifest.categories.map((c) => c.name);
  return {
    dir: d,
    manifest,
    itemIds: items.ids,
    userIds: users.ids,
    itemCategory,
    categories,
    attributes: datasetAttributes(d, categories, itemCategory),
    ...(items.product ? productIndex(items.product) : {}),
    itemTrainCount: Int32Array.from(items.trainCount),
    train: readSplit(join(d, 'train.i32')),
    valid: readSplit(join(d, 'valid.i32')),
    test: readSplit(join(d, 'test.i32')),
    imageSize: manifest.imageSize,
    images: ImageCache.open(join(d, 'images.u8'), items.ids.length, manifest.imageSize),
    sampledNegatives: readInt32(join(d, 'sampled-negatives.i32')),
    ...readLatest(join(d, LATEST_FILE), users.ids.length),
    ...readBaskets(join(d, BASKETS_FILE), users.ids.length, items.ids.length),
    ...(existsSync(simPath) ? { simulation: readJson<SimulationModel>(simPath) } : {}),
  };
}
