/**
 * The catalogue of a run in SQLite (better-sqlite3): categories, items (with where each photo
 * is), shoppers, purchases, the run itself and the designs made from it.
 *
 *   meta        key → value: format, embedding_rows (rows of item-embeddings.f32 that are committed)
 *   categories  idx, name
 *   items       idx (= row of the embedding matrix), item_id, category, train_count, image, pixels, added_at
 *   users       idx (= row of θ), user_id
 *   purchases   user, item (train + valid + test: what each shopper is known to have bought)
 *   latest_purchases, item_products   user → latest item (recency prior); item → product (product prior)
 *   latest_baskets  user, item: every item of the user's latest purchase time (basket and co-purchase priors)
 *   segments    user → segment (`atelier segments`; its settings in meta 'segments')
 *   runs        dir, kind, name, created_at, manifest (JSON)
 *   designs     id, user_id, kind, category, item_id, created_at, result (JSON)
 *
 * meta 'format' is the schema's version (CATALOGUE_FORMAT); an older catalogue is brought to it by
 * the steps in MIGRATIONS when opened (format 1 lacked the tables it gained later).
 *
 * The dense indices are the model's: item `idx` is the row of the embedding matrix, user `idx` the
 * row of θ. A new catalogue is written to a temporary file and renamed into place; an item added
 * later (an upload) is one transaction, which also moves `embedding_rows`, so the embedding file
 * and the catalogue agree whatever moment a process dies at (see `appendEmbedding` in run.ts).
 */
import Database from 'better-sqlite3';
import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BadInputError, CorruptFileError, InUseError } from '../core/errors.js';
import { latestBaskets, latestPurchases, productIndex, type Dataset } from '../data/dataset.js';
import type { Baskets } from '../data/split.js';
import type { Fit } from '../data/images.js';

export const CATALOGUE_FILE = 'catalogue.sqlite';
/** the item embeddings Φ(X_i) [N, K], float32, row = item index (store/run.ts) */
export const EMBEDDINGS_FILE = 'item-embeddings.f32';
export const CATALOGUE_FORMAT = 2;

/** The tables format 1 gained after its first release (a catalogue written before one lacks it), as format 2 has them. */
const LATER_TABLES: Record<string, string> = {
  latest_purchases: '(user INTEGER PRIMARY KEY REFERENCES users(idx), item INTEGER NOT NULL REFERENCES items(idx))',
  item_products: '(item INTEGER PRIMARY KEY REFERENCES items(idx), product TEXT NOT NULL)',
  latest_baskets: '(user INTEGER NOT NULL REFERENCES users(idx), item INTEGER NOT NULL REFERENCES items(idx), PRIMARY KEY (user, item)) WITHOUT ROWID',
  segments: '(user INTEGER PRIMARY KEY REFERENCES users(idx), segment TEXT NOT NULL) WITHOUT ROWID',
};

/**
 * How a catalogue of an earlier format becomes the current one, one step per format. A writable
 * open applies the steps to the file, in a transaction, and records the format; a read-only open
 * (every command that loads a run) makes the same tables in the connection's temporary schema, so
 * that the file is left as it is and every reader sees one schema.
 */
const MIGRATIONS: { to: number; what: string; sql: (has: (table: string) => boolean, temp: boolean) => string }[] = [
  {
    to: 2,
    what: "format 1's later tables where missing: no latest purchase known, no products, each latest basket the latest purchase alone (as catalogues without it were read), no segments",
    sql: (has, temp) =>
      Object.entries(LATER_TABLES)
        .filter(([name]) => !has(name))
        .map(([name, columns]) => {
          // a temporary table cannot reference the main schema's tables
          const make = `CREATE ${temp ? 'TEMP ' : ''}TABLE ${name} ${temp ? columns.replace(/ REFERENCES \w+\(idx\)/g, '') : columns};`;
          return name === 'latest_baskets' ? `${make}\nINSERT INTO ${name} (user, item) SELECT user, item FROM latest_purchases;` : make;
        })
        .join('\n'),
  },
];

const SCHEMA = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE categories (idx INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE items (
  idx INTEGER PRIMARY KEY,
  item_id TEXT NOT NULL UNIQUE,
  category INTEGER NOT NULL REFERENCES categories(idx),
  train_count INTEGER NOT NULL,
  image TEXT NOT NULL,
  pixels BLOB,
  added_at TEXT
);
CREATE INDEX items_category ON items(category);
CREATE TABLE users (idx INTEGER PRIMARY KEY, user_id TEXT NOT NULL UNIQUE);
CREATE TABLE purchases (
  user INTEGER NOT NULL REFERENCES users(idx),
  item INTEGER NOT NULL REFERENCES items(idx),
  PRIMARY KEY (user, item)
) WITHOUT ROWID;
CREATE TABLE latest_purchases (user INTEGER PRIMARY KEY REFERENCES users(idx), item INTEGER NOT NULL REFERENCES items(idx));
CREATE TABLE item_products (item INTEGER PRIMARY KEY REFERENCES items(idx), product TEXT NOT NULL);
CREATE TABLE latest_baskets (user INTEGER NOT NULL REFERENCES users(idx), item INTEGER NOT NULL REFERENCES items(idx), PRIMARY KEY (user, item)) WITHOUT ROWID;
CREATE TABLE segments (user INTEGER PRIMARY KEY REFERENCES users(idx), segment TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE runs (dir TEXT PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, created_at TEXT NOT NULL, manifest TEXT NOT NULL);
CREATE TABLE designs (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('design', 'improvement')),
  category TEXT NOT NULL,
  item_id TEXT,
  created_at TEXT NOT NULL,
  result TEXT NOT NULL
);
CREATE INDEX designs_user ON designs(user_id, created_at);
`;

/** What a new catalogue is made from (a prepared dataset has all of it). */
export interface CatalogueSource {
  itemIds: string[];
  userIds: string[];
  categories: string[];
  itemCategory: Int32Array;
  itemTrainCount: Int32Array;
  /** dataset folder whose images.u8 holds the photos, row = item index */
  imagesFrom: string;
  /** how photos were fitted to the square (new photos are fitted the same way) */
  imageFit: Fit;
  /** (user, item) pairs known to be bought */
  purchases: { user: Int32Array; item: Int32Array }[];
  /** each user's latest known purchase (−1: none), for the recency prior (models/ranking) */
  latest?: Int32Array;
  /** each user's latest basket (every item of their latest purchase time) */
  baskets?: Baskets;
  /** each item's product (−1: none) and the products' names, for the product prior (models/ranking) */
  itemProduct?: Int32Array;
  products?: string[];
}

/** What a run's catalogue is made of: the dataset's items, shoppers and every known purchase. */
export function catalogueSourceOf(ds: Dataset): CatalogueSource {
  return {
    ...ds,
    imagesFrom: ds.dir,
    imageFit: ds.manifest.fit,
    purchases: [ds.train, ds.valid, ds.test],
    latest: latestPurchases(ds, 'all'),
    baskets: latestBaskets(ds, 'all'),
  };
}

/** The catalogue in memory, as the recommenders and the server use it. */
export interface Catalogue {
  itemIds: string[];
  userIds: string[];
  categories: string[];
  itemCategory: Int32Array;
  itemTrainCount: Int32Array;
  /** CSR of each user's known items */
  purchaseOffsets: Int32Array;
  purchaseItems: Int32Array;
  itemIndex: Map<string, number>;
  userIndex: Map<string, number>;
  /** fitted pixels [S, S, 3] of items added after training (uploads), by item index */
  addedPixels: Map<number, Uint8Array>;
  /** how the catalogue's photos were fitted to the square */
  imageFit: Fit;
  /** each user's latest known purchase (item index, −1: none): what the recency prior compares items with */
  latestPurchase: Int32Array;
  /** each user's latest basket (items of their latest purchase time; the latest purchase alone in a catalogue written before baskets were) */
  latestBasket: Baskets;
  /** segments of shoppers (`atelier segments`): name → members' user indices; empty when none were made */
  segments: Map<string, number[]>;
  /** each item's product (dense index, −1: none; every item in a catalogue written before products were): the product prior's key */
  itemProduct: Int32Array;
  /** the product of each dense index */
  products: string[];
}

/** Appends an item to the in-memory catalogue (after the store committed it); `product`: the product it is another colour of, if any. */
export function appendItem(c: Catalogue, itemId: string, category: number, pixels: Uint8Array, product?: string): number {
  const i = c.itemIds.length;
  c.itemIds.push(itemId);
  c.itemIndex.set(itemId, i);
  const grow = (a: Int32Array, v: number) => {
    const b = new Int32Array(a.length + 1);
    b.set(a);
    b[a.length] = v;
    return b;
  };
  c.itemCategory = grow(c.itemCategory, category);
  c.itemTrainCount = grow(c.itemTrainCount, 0);
  let q = product === undefined ? -1 : c.products.indexOf(product);
  if (product !== undefined && q < 0) q = c.products.push(product) - 1;
  c.itemProduct = grow(c.itemProduct, q);
  c.addedPixels.set(i, pixels);
  return i;
}

export interface NewItemRow {
  itemId: string;
  category: number;
  /** where the original photo was kept (relative to the run folder) */
  image: string;
  /** the photo fitted to the dataset's image size, uint8 [S, S, 3] */
  pixels: Uint8Array;
  /** the product it is another colour of (the product prior), if the upload named one */
  product?: string;
}

export interface DesignRecord {
  id: string;
  userId: string;
  kind: 'design' | 'improvement';
  category: string;
  itemId?: string;
  result: unknown;
}

/**
 * Writes `<dir>/catalogue.sqlite` from a dataset, atomically (temporary file, then rename); into
 * `into` instead when given (a run's staging folder: the runs table still names `dir`).
 */
export function writeCatalogueDb(
  dir: string,
  src: CatalogueSource,
  run: { kind: string; name: string; createdAt: string; manifest: unknown },
  into = dir,
): void {
  const path = join(into, CATALOGUE_FILE);
  const tmp = join(into, `.${CATALOGUE_FILE}.${process.pid}.${Date.now()}.tmp`);
  rmSync(tmp, { force: true });
  const db = new Database(tmp);
  try {
    db.pragma('journal_mode = OFF'); // a fresh file: the rename is the commit
    db.pragma('synchronous = OFF');
    db.exec(SCHEMA);
    db.transaction(() => {
      const meta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
      meta.run('format', String(CATALOGUE_FORMAT));
      meta.run('embedding_rows', '0');
      meta.run('images_from', src.imagesFrom);
      meta.run('image_fit', src.imageFit);
      const c = db.prepare('INSERT INTO categories (idx, name) VALUES (?, ?)');
      src.categories.forEach((n, i) => c.run(i, n));
      const it = db.prepare('INSERT INTO items (idx, item_id, category, train_count, image) VALUES (?, ?, ?, ?, ?)');
      src.itemIds.forEach((id, i) => it.run(i, id, src.itemCategory[i]!, src.itemTrainCount[i]!, `images.u8#${i}`));
      const u = db.prepare('INSERT INTO users (idx, user_id) VALUES (?, ?)');
      src.userIds.forEach((id, i) => u.run(i, id));
      const p = db.prepare('INSERT OR IGNORE INTO purchases (user, item) VALUES (?, ?)');
      for (const pairs of src.purchases) for (let x = 0; x < pairs.user.length; x++) p.run(pairs.user[x]!, pairs.item[x]!);
      const l = db.prepare('INSERT INTO latest_purchases (user, item) VALUES (?, ?)');
      src.latest?.forEach((i, u) => i >= 0 && l.run(u, i));
      const b = db.prepare('INSERT OR IGNORE INTO latest_baskets (user, item) VALUES (?, ?)');
      if (src.baskets)
        for (let u = 0; u + 1 < src.baskets.offsets.length; u++)
          for (let x = src.baskets.offsets[u]!; x < src.baskets.offsets[u + 1]!; x++) b.run(u, src.baskets.items[x]!);
      const ip = db.prepare('INSERT INTO item_products (item, product) VALUES (?, ?)');
      if (src.itemProduct && src.products) src.itemProduct.forEach((q, i) => q >= 0 && ip.run(i, src.products![q]!));
      db.prepare('INSERT INTO runs (dir, kind, name, created_at, manifest) VALUES (?, ?, ?, ?, ?)').run(
        dir,
        run.kind,
        run.name,
        run.createdAt,
        JSON.stringify(run.manifest),
      );
    })();
    db.close();
    // on disk before it takes the old catalogue's name
    const fd = openSync(tmp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    if (db.open) db.close();
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * A writer killed inside a transaction (an upload, a retrain's commit) leaves `<file>-journal`
 * beside the catalogue. SQLite rolls such a hot journal back on the next open, but only when that
 * open may write: read-only, every read fails with "attempt to write a readonly database" and the
 * run stays wedged for every later command. So a read-only open first lets one read-write
 * connection read the file, which rolls the interrupted transaction back. SQLite's own locks decide
 * whether the journal is hot (a live writer still holds its lock, and then nothing is rolled back),
 * so this is safe beside a running server. A folder this process may not write stays as it is: the
 * read-only open then reports the failure, naming the file.
 */
function rollBackHotJournal(path: string): void {
  const journal = `${path}-journal`;
  if (!existsSync(journal) || statSync(journal).size === 0) return;
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { fileMustExist: true, timeout: 5000 });
    db.prepare('SELECT count(*) FROM sqlite_master').get();
  } catch {
    // not writable here: the read-only open below names the file and the reason
  } finally {
    db?.close();
  }
}

/** An open catalogue: read it whole, add items, keep runs and designs. */
export class CatalogueStore {
  private constructor(
    readonly path: string,
    private readonly db: Database.Database,
  ) {}

  static open(dir: string, o: { readonly?: boolean } = {}): CatalogueStore {
    const path = join(dir, CATALOGUE_FILE);
    if (!existsSync(path)) throw new BadInputError('missing catalogue (is this a run folder?)', { file: path });
    let db: Database.Database;
    try {
      if (o.readonly) rollBackHotJournal(path);
      db = new Database(path, { readonly: o.readonly ?? false, fileMustExist: true });
      if (!o.readonly) {
        // a rollback journal, not WAL: a closed catalogue is one self-contained file (a WAL file
        // left beside it by a read-only reader would hold committed rows that a copy of the run
        // folder without it would lose)
        db.pragma('journal_mode = DELETE');
        db.pragma('synchronous = FULL');
      }
      const format = (db.prepare("SELECT value FROM meta WHERE key = 'format'").get() as { value: string } | undefined)?.value;
      const n = Number(format);
      if (!(Number.isInteger(n) && n >= 1 && n <= CATALOGUE_FORMAT))
        throw new BadInputError(`catalogue format ${format}, this Atelier reads formats 1 to ${CATALOGUE_FORMAT}`, { file: path });
      migrate(db, n, o.readonly ?? false);
    } catch (e) {
      if (e instanceof BadInputError) throw e;
      throw new BadInputError(`not a readable catalogue: ${(e as Error).message}`, { file: path });
    }
    return new CatalogueStore(path, db);
  }

  meta(key: string): string | undefined {
    return (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  /** Rows of item-embeddings.f32 that belong to committed items. */
  embeddingRows(): number {
    return Number(this.meta('embedding_rows') ?? 0);
  }

  /** Sets a meta value (the commit's integrity record). */
  setMeta(key: string, value: string): void {
    this.db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(key, value);
  }

  /** Marks the embedding matrix as written for every item (after training). */
  setEmbeddingRows(n: number): void {
    this.db.prepare("UPDATE meta SET value = ? WHERE key = 'embedding_rows'").run(String(n));
  }

  read(): Catalogue {
    const categories = (this.db.prepare('SELECT idx, name FROM categories ORDER BY idx').all() as { idx: number; name: string }[]).map((r, i) => {
      if (r.idx !== i) throw new BadInputError(`category indices are not dense at ${r.idx}`, { file: this.path });
      return r.name;
    });
    const items = this.db.prepare('SELECT idx, item_id, category, train_count, pixels FROM items ORDER BY idx').all() as {
      idx: number;
      item_id: string;
      category: number;
      train_count: number;
      pixels: Buffer | null;
    }[];
    const itemIds: string[] = new Array(items.length);
    const itemCategory = new Int32Array(items.length);
    const itemTrainCount = new Int32Array(items.length);
    const addedPixels = new Map<number, Uint8Array>();
    items.forEach((r, i) => {
      if (r.idx !== i) throw new BadInputError(`item indices are not dense at ${r.idx}`, { file: this.path });
      itemIds[i] = r.item_id;
      itemCategory[i] = r.category;
      itemTrainCount[i] = r.train_count;
      if (r.pixels) addedPixels.set(i, new Uint8Array(r.pixels));
    });
    const userIds = this.db.prepare('SELECT user_id FROM users ORDER BY idx').pluck().all() as string[];
    const purchaseOffsets = new Int32Array(userIds.length + 1);
    // streamed into typed arrays: the whole Kaggle download's 29 million purchases as row arrays
    // would not fit in the JavaScript heap
    const total = this.db.prepare('SELECT count(*) FROM purchases').pluck().get() as number;
    const purchaseItems = new Int32Array(total);
    let x = 0;
    for (const [u, i] of this.db.prepare('SELECT user, item FROM purchases ORDER BY user, item').raw().iterate() as IterableIterator<[number, number]>) {
      if (!(u >= 0 && u < userIds.length) || x >= total)
        throw new BadInputError(`purchase of user index ${u}, outside 0..${userIds.length - 1}`, { file: this.path });
      purchaseOffsets[u + 1]!++;
      purchaseItems[x++] = i;
    }
    for (let u = 0; u < userIds.length; u++) purchaseOffsets[u + 1]! += purchaseOffsets[u]!;
    const latestPurchase = this.latestPurchases(userIds.length);
    return {
      itemIds,
      userIds,
      categories,
      itemCategory,
      itemTrainCount,
      purchaseOffsets,
      purchaseItems,
      itemIndex: new Map(itemIds.map((id, i) => [id, i])),
      userIndex: new Map(userIds.map((id, i) => [id, i])),
      addedPixels,
      imageFit: (this.meta('image_fit') ?? 'letterbox') as Fit,
      latestPurchase,
      latestBasket: this.latestBaskets(latestPurchase, items.length),
      segments: this.segments().members,
      ...this.itemProducts(items.length),
    };
  }

  /** Each item's product as a dense index (−1: none; every item in a catalogue written before the table was) and the products' names. */
  private itemProducts(items: number): { itemProduct: Int32Array; products: string[] } {
    const values = new Array<string | null>(items).fill(null);
    for (const [i, p] of this.productRows()) {
      if (!(i >= 0 && i < items)) throw new BadInputError(`product of item index ${i}, outside 0..${items - 1}`, { file: this.path });
      values[i] = p;
    }
    return productIndex(values);
  }

  private productRows(): [number, string][] {
    return this.db.prepare('SELECT item, product FROM item_products ORDER BY item').raw().all() as [number, string][];
  }

  /** Each user's latest known purchase (−1: none; every user in a catalogue written before the table was). */
  private latestPurchases(users: number): Int32Array {
    const out = new Int32Array(users).fill(-1);
    for (const [u, i] of this.db.prepare('SELECT user, item FROM latest_purchases').raw().all() as [number, number][]) {
      if (!(u >= 0 && u < users)) throw new BadInputError(`latest purchase of user index ${u}, outside 0..${users - 1}`, { file: this.path });
      out[u] = i;
    }
    return out;
  }

  /** Each user's latest basket (the latest purchase alone in a catalogue written before the table was). */
  private latestBaskets(latest: Int32Array, items: number): Baskets {
    const users = latest.length;
    // ordered by user: offsets by counting, items in one pass (no array per shopper)
    const total = this.db.prepare('SELECT count(*) FROM latest_baskets').pluck().get() as number;
    const offsets = new Int32Array(users + 1);
    const out = new Int32Array(total);
    let x = 0;
    for (const [u, i] of this.db.prepare('SELECT user, item FROM latest_baskets ORDER BY user, item').raw().iterate() as IterableIterator<[number, number]>) {
      if (!(u >= 0 && u < users) || x >= total) throw new BadInputError(`latest basket of user index ${u}, outside 0..${users - 1}`, { file: this.path });
      if (!(i >= 0 && i < items)) throw new BadInputError(`latest basket item index ${i}, outside 0..${items - 1}`, { file: this.path });
      offsets[u + 1]!++;
      out[x++] = i;
    }
    for (let u = 0; u < users; u++) offsets[u + 1]! += offsets[u]!;
    return { offsets, items: out };
  }

  /** Items added after training (uploads): their row, id, category name, photo, fitted pixels and when. */
  uploadedItems(): (NewItemRow & { index: number; categoryName: string; addedAt: string })[] {
    const rows = this.db
      .prepare(
        'SELECT i.idx, i.item_id, i.category, c.name, i.image, i.pixels, i.added_at FROM items i JOIN categories c ON c.idx = i.category WHERE i.pixels IS NOT NULL ORDER BY i.idx',
      )
      .all() as { idx: number; item_id: string; category: number; name: string; image: string; pixels: Buffer; added_at: string | null }[];
    const product = new Map(this.productRows());
    return rows.map((r) => ({
      index: r.idx,
      itemId: r.item_id,
      category: r.category,
      categoryName: r.name,
      image: r.image,
      pixels: new Uint8Array(r.pixels),
      addedAt: r.added_at ?? '',
      ...(product.has(r.idx) ? { product: product.get(r.idx)! } : {}),
    }));
  }

  /** Committed items. */
  itemCount(): number {
    return this.db.prepare('SELECT COUNT(*) FROM items').pluck().get() as number;
  }

  /** Every photo path the committed items name (uploads/…; dataset rows name images.u8). */
  imagePaths(): Set<string> {
    return new Set(this.db.prepare('SELECT image FROM items').pluck().all() as string[]);
  }

  /** Every design and improvement kept, as stored. */
  allDesigns(): (DesignRecord & { createdAt: string })[] {
    const rows = this.db.prepare('SELECT id, user_id, kind, category, item_id, created_at, result FROM designs ORDER BY created_at').all() as DesignRow[];
    return rows.map(designOf);
  }

  /** Adds a category at the end (an uploaded item's category that a new dataset no longer has); returns its index. */
  addCategory(name: string): number {
    const n = this.db.prepare('SELECT COUNT(*) FROM categories').pluck().get() as number;
    this.db.prepare('INSERT INTO categories (idx, name) VALUES (?, ?)').run(n, name);
    return n;
  }

  /**
   * Adds one item as row `index` (which must be the next one) and marks its embedding row
   * committed, in one transaction. Call after its embedding row is on disk.
   */
  addItem(index: number, row: NewItemRow, addedAt = new Date().toISOString()): void {
    this.db.transaction(() => {
      const n = this.db.prepare('SELECT COUNT(*) FROM items').pluck().get() as number;
      if (n !== index) throw new InUseError(`the catalogue has ${n} items: cannot add row ${index} (another process wrote to it?)`);
      this.db
        .prepare('INSERT INTO items (idx, item_id, category, train_count, image, pixels, added_at) VALUES (?, ?, ?, 0, ?, ?, ?)')
        .run(index, row.itemId, row.category, row.image, Buffer.from(row.pixels.buffer, row.pixels.byteOffset, row.pixels.byteLength), addedAt);
      if (row.product !== undefined) {
        this.db.prepare('INSERT INTO item_products (item, product) VALUES (?, ?)').run(index, row.product);
      }
      this.db.prepare("UPDATE meta SET value = ? WHERE key = 'embedding_rows'").run(String(index + 1));
    })();
  }

  /** Keeps the run's manifest (with its final metrics) beside the catalogue. */
  recordRun(dir: string, m: { kind: string; name: string; createdAt: string }): void {
    this.db
      .prepare('INSERT OR REPLACE INTO runs (dir, kind, name, created_at, manifest) VALUES (?, ?, ?, ?, ?)')
      .run(dir, m.kind, m.name, m.createdAt, JSON.stringify(m));
  }

  recordDesign(d: DesignRecord, createdAt = new Date().toISOString()): void {
    this.db
      .prepare('INSERT INTO designs (id, user_id, kind, category, item_id, created_at, result) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(d.id, d.userId, d.kind, d.category, d.itemId ?? null, createdAt, JSON.stringify(d.result));
  }

  designsOf(userId: string, limit = 20): (DesignRecord & { createdAt: string })[] {
    const rows = this.db
      .prepare('SELECT id, user_id, kind, category, item_id, created_at, result FROM designs WHERE user_id = ? ORDER BY created_at DESC LIMIT ?')
      .all(userId, limit) as DesignRow[];
    return rows.map(designOf);
  }

  /** Replaces the run's segments: each shopper's segment (by user index; −1: none) and what made them (stored as meta 'segments'). */
  writeSegments(group: Int32Array, names: string[], made: Record<string, unknown>): void {
    this.db.transaction(() => {
      this.db.exec('DELETE FROM segments');
      const ins = this.db.prepare('INSERT INTO segments (user, segment) VALUES (?, ?)');
      group.forEach((g, u) => g >= 0 && ins.run(u, names[g]!));
      this.setMeta('segments', JSON.stringify(made));
    })();
  }

  /** The run's segments: each one's members (user indices) and what made them; none when `atelier segments` has not run. */
  segments(): { members: Map<string, number[]>; made?: Record<string, unknown> } {
    const members = new Map<string, number[]>();
    for (const [u, g] of this.db.prepare('SELECT user, segment FROM segments ORDER BY user').raw().iterate() as IterableIterator<[number, string]>) {
      const l = members.get(g);
      if (l) l.push(u);
      else members.set(g, [u]);
    }
    const made = this.meta('segments');
    return { members, ...(made ? { made: JSON.parse(made) as Record<string, unknown> } : {}) };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** Brings a catalogue of `format` to CATALOGUE_FORMAT: in the file, or (read-only) in the connection. */
function migrate(db: Database.Database, format: number, readonly: boolean): void {
  const has = (table: string) => db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").pluck().get(table) !== undefined;
  for (const m of MIGRATIONS) {
    if (m.to <= format) continue;
    if (readonly) db.exec(m.sql(has, true));
    else
      db.transaction(() => {
        db.exec(m.sql(has, false));
        db.prepare("UPDATE meta SET value = ? WHERE key = 'format'").run(String(m.to));
      })();
  }
}

/** SQLite's codes for a file that is not the catalogue it claims: a damaged page, a missing table or column, an unreadable file. */
const DAMAGED = /^SQLITE_(CORRUPT|NOTADB|ERROR|IOERR|FORMAT|RANGE|MISMATCH)/;

/**
 * Every read and write of an open catalogue reports a damaged file as a CorruptFileError naming it
 * (exit 2, and the server's log), never as a database stack trace. Constraint failures (a duplicate
 * id) and a busy database stay what they are: their callers answer them.
 */
for (const name of Object.getOwnPropertyNames(CatalogueStore.prototype) as (keyof CatalogueStore)[]) {
  const method = CatalogueStore.prototype[name] as unknown;
  if (name === ('constructor' as keyof CatalogueStore) || name === 'close' || typeof method !== 'function') continue;
  Object.defineProperty(CatalogueStore.prototype, name, {
    value: function (this: CatalogueStore, ...args: unknown[]) {
      try {
        return (method as (...a: unknown[]) => unknown).apply(this, args);
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        if (e instanceof Database.SqliteError && typeof code === 'string' && DAMAGED.test(code))
          throw new CorruptFileError(`damaged catalogue (${code}): ${e.message}; restore the run folder from a copy, or train it again`, this.path);
        throw e;
      }
    },
  });
}

interface DesignRow {
  id: string;
  user_id: string;
  kind: 'design' | 'improvement';
  category: string;
  item_id: string | null;
  created_at: string;
  result: string;
}

const designOf = (r: DesignRow): DesignRecord & { createdAt: string } => ({
  id: r.id,
  userId: r.user_id,
  kind: r.kind,
  category: r.category,
  itemId: r.item_id ?? undefined,
  createdAt: r.created_at,
  result: JSON.parse(r.result) as unknown,
});
