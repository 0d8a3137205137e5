/**
 * Reader for the authors' released files (AmazonFashion6ImgPartitioned.npy, AmazonWomen, AmazonMen,
 * Tradesy): `np.save` of [user_train, user_validation, user_test, Item, usernum, itemnum] pickled
 * under Python 2 (see pickle.ts). Their split is kept as it is (one review per user to validation
 * and one to test), every item is kept (bought or not), categories come from AmazonFashion's 'c'
 * one-hot, item ids from 'asin'. Photos are decoded into the packed cache as the items arrive, at
 * most `concurrency` at a time, so no more than that many JPEGs are in memory at once.
 */
import { closeSync, existsSync, ftruncateSync, openSync, statSync, writeSync } from 'node:fs';
import { BadInputError } from '../core/errors.js';
import { idProblem } from '../core/ids.js';
import type { RawDataset, SplitPairs, StagedSource } from './dataset.js';
import { hashFile } from './hash-file.js';
import { contentKey, fitImage, type CacheResult, type Fit } from './images.js';
import { bytesOf, ndarrayValues, PyBytes, PyNdarray, readNpyHeader, unpickle } from './pickle.js';
import { excerpt, type Problems } from './problems.js';

export interface PaperOptions {
  imageSize: number;
  fit: Fit;
  problems: Problems;
  onProgress?: (stage: string, done: number, total: number) => void;
  /** strings this long stay in the file until used (tests lower it) */
  lazyBytes?: number;
  /** photos decoded at once */
  concurrency?: number;
}

/** More items than any released file has by far (Amazon Fashion: 234,892): an index past it is a corrupt file. */
const MAX_ITEMS = 50_000_000;

const PARTS = ['user_train', 'user_validation', 'user_test', 'Item', 'usernum', 'itemnum'] as const;

/** The staged source `prepareDataset` reads: the parse writes the photos straight into the dataset's temporary folder. */
export function paperSource(file: string, o: PaperOptions): StagedSource {
  return { sourcePath: file, stage: (imagesPath) => readPaper(file, imagesPath, o) };
}

function text(v: unknown, file: string): string | null {
  if (v instanceof PyBytes) return bytesOf(file, v).toString('latin1');
  if (typeof v === 'string') return v;
  return null;
}

/** More categories than a one-hot 'c' of the released files has (Amazon Fashion: 6): a longer 'c' is not one. */
export const MAX_PAPER_CATEGORIES = 64;

/**
 * The category index of a 'c' one-hot (an ndarray or a list), or null when it names none (empty,
 * or no entry above 0). Entries must be finite numbers from 0, and there are at most
 * MAX_PAPER_CATEGORIES of them.
 */
function categoryOf(c: unknown, file: string, where: string): { index: number; width: number } | null {
  const values = c instanceof PyNdarray ? ndarrayValues(c, file) : Array.isArray(c) ? c : null;
  if (!values || !values.length) return null;
  if (values.length > MAX_PAPER_CATEGORIES)
    throw new BadInputError(`${where}['c'] has ${values.length} entries: not a one-hot of at most ${MAX_PAPER_CATEGORIES} categories`, { file });
  let best = -1;
  for (let k = 0; k < values.length; k++) {
    const v = values[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new BadInputError(`${where}['c'][${k}] is ${excerpt(String(v))}: a one-hot holds finite numbers from 0`, { file });
    if (v > 0 && (best < 0 || v > (values[best] as number))) best = k;
  }
  return best < 0 ? null : { index: best, width: values.length };
}

interface ItemInfo {
  asin: (string | null)[];
  category: (number | null)[];
  width: number;
  seen: Uint8Array;
  count: number;
}

async function readPaper(file: string, imagesPath: string, o: PaperOptions): Promise<RawDataset> {
  if (!existsSync(file) || !statSync(file).isFile()) throw new BadInputError('file not found', { file });
  const { start, shape } = readNpyHeader(file);
  if (shape.length !== 1 || shape[0] !== 6) {
    throw new BadInputError(`the .npy array has shape (${shape.join(', ')}), not the authors' (6,) [${PARTS.join(', ')}]`, { file });
  }
  const hash = hashFile(file);
  const size = o.imageSize;
  const rowBytes = size * size * 3;
  const white = new Uint8Array(rowBytes).fill(255);
  const fd = openSync(imagesPath, 'w');
  const keys: string[] = [];
  const failed: CacheResult['failed'] = [];
  const info: ItemInfo = { asin: [], category: [], width: 0, seen: new Uint8Array(1024), count: 0 };
  const pending = new Set<Promise<void>>();
  const concurrency = o.concurrency ?? 4;
  let decoded = 0;
  let maxIndex = -1;

  const onItem = (item: Map<unknown, unknown>, key: unknown): Promise<void> | void => {
    if (typeof key !== 'number' || !Number.isInteger(key) || key < 0 || key >= MAX_ITEMS) {
      throw new BadInputError(`an item under the key ${String(key)}: item indices are integers from 0`, { file });
    }
    const index = key;
    if (index >= info.seen.length) {
      const grown = new Uint8Array(Math.max(index + 1, info.seen.length * 2));
      grown.set(info.seen);
      info.seen = grown;
    }
    if (info.seen[index]) throw new BadInputError(`Item[${index}] appears twice`, { file });
    info.seen[index] = 1;
    info.count++;
    maxIndex = Math.max(maxIndex, index);
    info.asin[index] = text(item.get('asin'), file);
    const c = item.has('c') ? categoryOf(item.get('c'), file, `Item[${index}]`) : null;
    info.category[index] = c ? c.index : null;
    if (c) info.width = Math.max(info.width, c.width);
    const imgs = item.get('imgs');
    item.delete('imgs'); // the tree keeps the metadata, not the photo
    const job = (async () => {
      try {
        if (!(imgs instanceof PyBytes)) throw new BadInputError(`'imgs' is not a byte string`);
        const bytes = bytesOf(file, imgs);
        const row = await fitImage(bytes, size, o.fit);
        keys[index] = contentKey(bytes, size, o.fit);
        writeSync(fd, row, 0, rowBytes, index * rowBytes);
        decoded++;
      } catch (e) {
        keys[index] = '';
        failed.push({ index, error: (e as Error).message });
        writeSync(fd, white, 0, rowBytes, index * rowBytes);
      }
    })();
    pending.add(job);
    void job.finally(() => pending.delete(job));
    if (pending.size >= concurrency) return Promise.race(pending);
  };

  let root: unknown;
  try {
    root = await unpickle(file, {
      start,
      lazyBytes: o.lazyBytes,
      onElement: (value, key) => (value instanceof Map && value.has('imgs') ? onItem(value, key) : undefined),
      onProgress: (at, total) => o.onProgress?.('read', at, total),
    });
  } finally {
    await Promise.allSettled(pending);
  }
  const parts = root instanceof PyNdarray && Array.isArray(root.data) ? root.data : Array.isArray(root) ? root : null;
  if (!parts || parts.length !== 6) throw new BadInputError(`the pickled value is not the authors' 6-element array [${PARTS.join(', ')}]`, { file });
  const usernum = parts[4];
  const itemnum = parts[5];
  for (const [name, v] of [
    ['usernum', usernum],
    ['itemnum', itemnum],
  ] as const) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_ITEMS)
      throw new BadInputError(`${name} is ${String(v)}, not a positive count`, { file });
  }
  const numItems = itemnum as number;
  const numUsers = usernum as number;
  if (maxIndex >= numItems) throw new BadInputError(`Item[${maxIndex}] is past itemnum = ${numItems}`, { file });

  // items without a photo: a problem each (prepareDataset reports them; skip mode drops them)
  for (let i = 0; i < numItems; i++) {
    if (i < info.seen.length && info.seen[i]) continue;
    keys[i] = '';
    failed.push({ index: i, error: `no entry with 'imgs' (itemnum = ${numItems})`, reason: 'item without a photo' });
    writeSync(fd, white, 0, rowBytes, i * rowBytes);
  }
  ftruncateSync(fd, numItems * rowBytes);
  closeSync(fd);
  failed.sort((a, b) => a.index - b.index);

  const userIds = userIdsOf(parts, numUsers, file);
  const [train, valid, test] = [0, 1, 2].map((p) => pairsOf(parts[p], PARTS[p]!, numUsers, numItems, file, o.problems));
  const rows = train!.user.length + valid!.user.length + test!.user.length;
  const width = info.width;
  const categoryRaw = Array.from({ length: numItems }, (_, i) => {
    const c = info.category[i];
    return width ? (c === null || c === undefined ? null : `c${c}`) : 'all';
  });
  const itemIds = itemIdsOf(info.asin, numItems, file);
  return {
    source: { kind: 'paper', path: file, fileHashes: { [file.split('/').pop()!]: await hash } },
    itemIds,
    sources: [],
    sourceNames: Array.from({ length: numItems }, (_, i) => `${file} Item[${i}]`),
    categoryRaw,
    categoryColumn: width ? 'c' : '(none)',
    leftOut: {},
    prebuiltImages: { keys, reused: 0, decoded, failed },
    fixedSplit: { userIds, train: train!, valid: valid!, test: test!, rows },
    fixedCategories: width ? Array.from({ length: width }, (_, k) => `c${k}`) : ['all'],
  };
}

/**
 * Each item's id: its 'asin', or its index where it has none. An asin must be a usable id (not
 * empty, no control characters) and name one item only: the catalogue keys items by id, so a
 * duplicate would otherwise surface only when training commits, as a database error.
 */
function itemIdsOf(asin: (string | null)[], numItems: number, file: string): string[] {
  const ids = Array.from({ length: numItems }, (_, i) => asin[i] ?? String(i));
  const first = new Map<string, number>();
  for (let i = 0; i < numItems; i++) {
    const id = ids[i]!;
    const bad = idProblem(id);
    if (bad) throw new BadInputError(`Item[${i}]['asin'] ${bad}: '${excerpt(id)}'`, { file });
    const j = first.get(id);
    if (j !== undefined)
      throw new BadInputError(
        `Item[${j}] and Item[${i}] have the same id '${excerpt(id)}'${asin[j] === null || asin[i] === null ? " (an item without 'asin' is named by its index)" : ''}: every item needs its own asin`,
        { file },
      );
    first.set(id, i);
  }
  return ids;
}

/** A user's id: the reviewerID of their reviews when every user has a distinct one, else the user index. */
function userIdsOf(parts: unknown[], numUsers: number, file: string): string[] {
  const ids = new Array<string | null>(numUsers).fill(null);
  for (const p of [0, 1, 2]) {
    const byUser = parts[p];
    if (!(byUser instanceof Map)) continue;
    for (const [u, reviews] of byUser) {
      if (typeof u !== 'number' || u < 0 || u >= numUsers || ids[u] !== null || !Array.isArray(reviews)) continue;
      const first = reviews.find((r) => r instanceof Map);
      ids[u] = first ? text((first as Map<unknown, unknown>).get('reviewerID'), file) : null;
    }
  }
  const distinct = new Set(ids);
  const usable = distinct.size === numUsers && ids.every((id) => id !== null && idProblem(id) === null);
  return usable ? (ids as string[]) : ids.map((_, u) => String(u));
}

/** One split's (user, item) rows in the file's order, every productid checked against [0, itemnum). */
function pairsOf(byUser: unknown, name: string, numUsers: number, numItems: number, file: string, problems: Problems): SplitPairs {
  if (!(byUser instanceof Map) && !Array.isArray(byUser)) throw new BadInputError(`${name} is not a dict of users`, { file });
  const entries: [unknown, unknown][] = byUser instanceof Map ? [...byUser] : byUser.map((v, i) => [i, v]);
  const users: number[] = [];
  const items: number[] = [];
  for (const [u, reviews] of entries) {
    if (typeof u !== 'number' || !Number.isInteger(u) || u < 0 || u >= numUsers) {
      throw new BadInputError(`${name} has the user ${String(u)}, outside [0, usernum = ${numUsers})`, { file });
    }
    if (!Array.isArray(reviews)) throw new BadInputError(`${name}[${u}] is not a list of reviews`, { file });
    reviews.forEach((r, k) => {
      const p = r instanceof Map ? r.get('productid') : undefined;
      // 0 is a valid item: test for a number, never for truth
      if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p >= numItems) {
        problems.report({ file, reason: `productid outside [0, itemnum = ${numItems})`, value: `${name}[${u}][${k}]['productid'] = ${String(p)}` });
        return;
      }
      users.push(u);
      items.push(p);
    });
  }
  return { user: Int32Array.from(users), item: Int32Array.from(items) };
}
