/**
 * Reader for the generic layout a shop would export:
 *   items.csv         item_id, image (path relative to the folder)[, category][, other columns]
 *   interactions.csv  user_id, item_id[, timestamp (ISO date or number)]
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { BadInputError } from '../core/errors.js';
import { IdMap } from '../core/ids.js';
import { readCsv } from './csv.js';
import type { InteractionLog, RawDataset } from './dataset.js';
import { GrowableFloat64, GrowableInt32 } from './growable.js';
import { hashFile } from './hash-file.js';
import type { ImageSource } from './images.js';
import type { Problems } from './problems.js';

export interface FolderOptions {
  categoryColumn: string;
  problems: Problems;
}

export async function readFolder(folder: string, o: FolderOptions): Promise<RawDataset> {
  if (!existsSync(folder)) throw new BadInputError('folder not found', { file: folder });
  const itemsPath = join(folder, 'items.csv');
  const interPath = join(folder, 'interactions.csv');
  const problems = o.problems;
  const index = new Map<string, number>();
  const itemIds: string[] = [];
  const sources: ImageSource[] = [];
  const names: string[] = [];
  const cats: (string | null)[] = [];
  const catRequired = o.categoryColumn !== 'category';
  for await (const { record, line } of readCsv(itemsPath, { required: ['item_id', 'image', ...(catRequired ? [o.categoryColumn] : [])], problems })) {
    const id = record.item_id!.trim();
    if (id === '') {
      problems.report({ file: itemsPath, line, reason: 'empty item_id', value: id });
      continue;
    }
    if (index.has(id)) {
      problems.report({ file: itemsPath, line, reason: 'duplicate item_id', value: id });
      continue;
    }
    const image = record.image!.trim();
    const path = isAbsolute(image) ? image : join(folder, image);
    if (image === '' || !existsSync(path)) {
      problems.report({ file: itemsPath, line, reason: 'image file not found', value: image });
      continue;
    }
    index.set(id, itemIds.length);
    itemIds.push(id);
    sources.push({ kind: 'file', path });
    names.push(path);
    const c = record[o.categoryColumn]?.trim() ?? '';
    cats.push(c === '' ? null : c);
  }
  const users = new IdMap();
  const user = new GrowableInt32();
  const item = new GrowableInt32();
  const time = new GrowableFloat64();
  let row = 0;
  for await (const { record, line } of readCsv(interPath, { required: ['user_id', 'item_id'], problems })) {
    row++;
    const iid = record.item_id!.trim();
    const i = index.get(iid);
    if (i === undefined) {
      problems.report({ file: interPath, line, reason: 'item not in items.csv', value: iid });
      continue;
    }
    const uid = record.user_id!.trim();
    if (uid === '') {
      problems.report({ file: interPath, line, reason: 'empty user_id', value: uid });
      continue;
    }
    let t = row;
    const ts = record.timestamp?.trim();
    if (ts) {
      t = /^-?\d+(\.\d+)?$/.test(ts) ? Number(ts) : Date.parse(ts);
      if (Number.isNaN(t)) {
        problems.report({ file: interPath, line, reason: 'bad timestamp', value: ts });
        continue;
      }
    }
    user.push(users.add(uid));
    item.push(i);
    time.push(t);
  }
  const log: InteractionLog = { users, user: user.toArray(), item: item.toArray(), time: time.toArray() };
  return {
    source: { kind: 'folder', path: folder, fileHashes: { 'items.csv': await hashFile(itemsPath), 'interactions.csv': await hashFile(interPath) } },
    itemIds,
    sources,
    sourceNames: names,
    categoryRaw: cats,
    categoryColumn: o.categoryColumn,
    leftOut: {},
    interactions: () => ({ log }),
  };
}
