/**
 * Item attributes beyond the category (H&M's product type, colour group, graphical appearance…; a
 * folder shop's other categorical columns): the labels of the multi-attribute classifier that
 * starts DVBPR's encoder (src/train/classifier.ts). Stored in the dataset folder as
 * attributes.json; an item without a value, or with a value rarer than the category threshold,
 * has label −1 (masked out of the loss, never folded into a made-up class).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonFile } from '../core/fs.js';

export interface Attribute {
  name: string;
  classes: string[];
  /** class index per catalogue item, −1 = no label */
  labels: Int32Array;
}

/** What a reader hands over: the raw value of each item (null = empty). */
export interface RawAttribute {
  name: string;
  values: (string | null)[];
}

export const ATTRIBUTES_FILE = 'attributes.json';

/** Category names that are not a label: the reader's placeholder and the fold of rare categories. */
export const NOT_A_LABEL = new Set(['unknown', 'Unknown', 'other']);

/**
 * Classes by size (ties by name), those with fewer than `minCount` items masked; an attribute left
 * with fewer than two classes says nothing and is dropped (null).
 */
export function attributeOf(raw: RawAttribute, minCount: number): Attribute | null {
  const counts = new Map<string, number>();
  for (const v of raw.values) if (v !== null && v !== '') counts.set(v, (counts.get(v) ?? 0) + 1);
  const classes = [...counts]
    .filter(([, n]) => n >= minCount)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([c]) => c);
  if (classes.length < 2) return null;
  const index = new Map(classes.map((c, k) => [c, k]));
  return { name: raw.name, classes, labels: Int32Array.from(raw.values, (v) => (v === null ? -1 : (index.get(v) ?? -1))) };
}

/**
 * Whether a column of a shop's items.csv reads as categorical: at least two values repeat, and it
 * has at most half as many distinct values as filled rows (ids, names and prices do not pass).
 */
export function isCategorical(values: (string | null)[]): boolean {
  const counts = new Map<string, number>();
  let filled = 0;
  for (const v of values) {
    if (v === null || v === '') continue;
    filled++;
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  const repeated = [...counts.values()].filter((n) => n >= 2).length;
  return repeated >= 2 && counts.size <= filled / 2;
}

/** The category as an attribute (its placeholder and fold masked), then the dataset's own. */
export function datasetAttributes(dir: string, categories: string[], itemCategory: Int32Array): Attribute[] {
  const classes = categories.filter((c) => !NOT_A_LABEL.has(c));
  const map = new Map(classes.map((c, i) => [c, i]));
  const category: Attribute = { name: 'category', classes, labels: Int32Array.from(itemCategory, (c) => map.get(categories[c]!) ?? -1) };
  const path = join(dir, ATTRIBUTES_FILE);
  if (!existsSync(path)) return [category]; // a dataset written before attributes, or a source with none
  const stored = readJsonFile<{ attributes: { name: string; classes: string[]; labels: number[] }[] }>(path, "the dataset's item attributes");
  return [category, ...stored.attributes.map((a) => ({ name: a.name, classes: a.classes, labels: Int32Array.from(a.labels) }))];
}
