/**
 * Reader for the generic layout a shop would export:
 *   items.csv         item_id, image (a path inside the folder, relative to it)[, category][, product][, other columns]
 *                     (product: items of one product are one garment in other colours or sizes, for
 *                     the product prior; every other categorical column is an attribute the encoder's
 *                     classifier learns)
 *   interactions.csv  user_id, item_id[, timestamp (ISO date or number)]
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, sep } from 'node:path';
import { BadInputError } from '../core/errors.js';
import { IdMap, idRowProblem } from '../core/ids.js';
import { readTable, tablePath } from './table.js';
import type { InteractionLog, RawDataset } from './dataset.js';
import { GrowableFloat64, GrowableInt32 } from './growable.js';
import { hashFile } from './hash-file.js';
import { isCategorical } from './attributes.js';
import { MAX_IMAGE_BYTES, type ImageSource } from './images.js';
import type { Problems } from './problems.js';

export interface FolderOptions {
  categoryColumn: string;
  problems: Problems;
}

/**
 * Why an image path may not be read, or null: it must resolve (links followed) inside the shop
 * folder, name a regular file (not a device, a pipe or a folder), and be at most MAX_IMAGE_BYTES.
 */
export function refusedImage(path: string, root: string): string | null {
  const real = realpathSync(path);
  if (real !== root && !real.startsWith(root + sep)) return 'image outside the shop folder';
  const st = statSync(real);
  if (!st.isFile()) return 'image is not a regular file';
  if (st.size > MAX_IMAGE_BYTES) return `image larger than ${MAX_IMAGE_BYTES} bytes`;
  return null;
}

/** An ISO 8601 date, with an optional time and zone: a shorter or looser date is a bad row. */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

export async function readFolder(folder: string, o: FolderOptions): Promise<RawDataset> {
  if (!existsSync(folder)) throw new BadInputError('folder not found', { file: folder });
  const root = realpathSync(folder);
  const itemsPath = tablePath(folder, 'items');
  const interPath = tablePath(folder, 'interactions');
  const problems = o.problems;
  const index = new Map<string, number>();
  const itemIds: string[] = [];
  const sources: ImageSource[] = [];
  const names: string[] = [];
  const cats: (string | null)[] = [];
  const other = new Map<string, (string | null)[]>(); // every other column, for the attributes
  const products: (string | null)[] = [];
  let hasProduct = false;
  const catRequired = o.categoryColumn !== 'category';
  for await (const { record, at } of readTable(itemsPath, { required: ['item_id', 'image', ...(catRequired ? [o.categoryColumn] : [])], problems })) {
    const id = record.item_id!.trim();
    const bad = idRowProblem('item_id', id);
    if (bad) {
      problems.report({ ...at, reason: bad, value: id });
      continue;
    }
    if (index.has(id)) {
      problems.report({ ...at, reason: 'duplicate item_id', value: id });
      continue;
    }
    const image = record.image!.trim();
    const path = isAbsolute(image) ? image : join(folder, image);
    if (image === '' || !existsSync(path)) {
      problems.report({ ...at, reason: 'image file not found', value: image });
      continue;
    }
    const refused = refusedImage(path, root);
    if (refused) {
      problems.report({ ...at, reason: refused, value: image });
      continue;
    }
    index.set(id, itemIds.length);
    itemIds.push(id);
    sources.push({ kind: 'file', path });
    names.push(path);
    const c = record[o.categoryColumn]?.trim() ?? '';
    cats.push(c === '' ? null : c);
    const product = record.product?.trim() ?? '';
    if ('product' in record) hasProduct = true;
    products.push(product === '' ? null : product);
    for (const [col, raw] of Object.entries(record)) {
      if (col === 'item_id' || col === 'image' || col === 'product' || col === o.categoryColumn) continue;
      let values = other.get(col);
      if (!values) other.set(col, (values = new Array<string | null>(itemIds.length - 1).fill(null)));
      const v = raw?.trim() ?? '';
      values.push(v === '' ? null : v);
    }
    for (const values of other.values()) if (values.length < itemIds.length) values.push(null); // a row without the column
  }
  // only categorical columns are attributes (ids, names, prices are not)
  const attributes = [...other].map(([name, values]) => ({ name, values })).filter((a) => isCategorical(a.values));
  const users = new IdMap();
  const user = new GrowableInt32();
  const item = new GrowableInt32();
  const time = new GrowableFloat64();
  let row = 0;
  let timedRows = 0;
  for await (const { record, at } of readTable(interPath, { required: ['user_id', 'item_id'], problems })) {
    row++;
    const iid = record.item_id!.trim();
    const i = index.get(iid);
    if (i === undefined) {
      problems.report({ ...at, reason: 'item not in items.csv', value: iid });
      continue;
    }
    const uid = record.user_id!.trim();
    const bad = idRowProblem('user_id', uid);
    if (bad) {
      problems.report({ ...at, reason: bad, value: uid });
      continue;
    }
    let t = row;
    const ts = record.timestamp?.trim();
    if (ts) {
      t = /^-?\d+(\.\d+)?$/.test(ts) ? Number(ts) : ISO_DATE.test(ts) ? Date.parse(ts) : NaN;
      if (Number.isNaN(t)) {
        problems.report({ ...at, reason: 'bad timestamp', value: ts });
        continue;
      }
      timedRows++;
    }
    user.push(users.add(uid));
    item.push(i);
    time.push(t);
  }
  const log: InteractionLog = { users, user: user.toArray(), item: item.toArray(), time: time.toArray() };
  return {
    // every row dated: the default split is by time
    timed: timedRows > 0 && timedRows === user.length,
    source: { kind: 'folder', path: folder, fileHashes: { 'items.csv': await hashFile(itemsPath), 'interactions.csv': await hashFile(interPath) } },
    itemIds,
    sources,
    sourceNames: names,
    categoryRaw: cats,
    categoryColumn: o.categoryColumn,
    attributes,
    ...(hasProduct ? { products } : {}),
    leftOut: {},
    interactions: () => ({ log }),
  };
}
