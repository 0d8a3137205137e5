/**
 * An approximate top-K index over the item embeddings, for catalogues past one machine's comfort:
 * LanceDB (IVF-PQ, inner-product metric) in `<run>/lance/`. Exact search (recommend.ts) stays the
 * default; this is what `atelier index` builds and `atelier serve --index lance` uses.
 *
 * Rows: idx (item index), category, cold, vector (Φ(X_i), float32[K]). The query asks for
 * `candidates` rows by the index's approximate inner product, LanceDB re-ranks them with the full
 * vectors (refine), and the scores returned here are exact inner products of those rows.
 */
import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { createRequire } from 'node:module';
import type { Table } from 'apache-arrow';
import { BadInputError } from '../core/errors.js';
import { DvbprScorer } from '../models/dvbpr.js';
import { COLD_THRESHOLD } from '../core/auc.js';
import type { Recommendation } from './recommend.js';
import { categoryIndexOf, readEmbeddings, thetaOf, type LoadedRun } from './run.js';

// LanceDB is CommonJS and checks `instanceof arrow.Table`: take Arrow from the same (CommonJS) module
const arrow = createRequire(import.meta.url)('apache-arrow') as typeof import('apache-arrow');
const { Bool, Field, FixedSizeList, Float32, Int32, makeData, RecordBatch, Schema, Struct } = arrow;

export const LANCE_DIR = 'lance';
const TABLE = 'items';

export interface LanceBuildOptions {
  /** IVF partitions (default √N, at least 1) */
  partitions?: number;
  /** PQ sub-vectors (default: K/4, or another divisor of K) */
  subVectors?: number;
  /** rows per write batch */
  batch?: number;
  /** below this many rows no index is trained: LanceDB scans them all (exact) */
  minRowsForIndex?: number;
  /** progress: rows written so far, then the index training stage */
  onProgress?: (stage: 'rows' | 'train' | 'done', done: number, total: number) => void;
}

export interface LanceSearchOptions {
  k: number;
  category?: number;
  coldOnly?: boolean;
  /** IVF partitions to probe (default 100; at 1,000,000 items with 1,000 partitions, recall@10 0.79 at 13 ms: bench/results/serve.json) */
  nprobes?: number;
  /** rows fetched by PQ distance per result, re-ranked exactly (default 50) */
  refine?: number;
}

/** A divisor of K giving sub-vectors of 4 (then 8, 5, 2) values: LanceDB's default needs K divisible by 8. */
export function subVectorsFor(k: number): number {
  for (const w of [4, 8, 5, 2]) if (k % w === 0) return k / w;
  return 1;
}

function batchTable(start: number, e: Float32Array, k: number, category: Int32Array, cold: Uint8Array): Table {
  const n = e.length / k;
  const item = new Field('item', new Float32(), true);
  const schema = new Schema([
    new Field('idx', new Int32(), false),
    new Field('category', new Int32(), false),
    new Field('cold', new Bool(), false),
    new Field('vector', new FixedSizeList(k, item), false),
  ]);
  const children = [
    makeData({ type: new Int32(), length: n, nullCount: 0, data: Int32Array.from({ length: n }, (_, r) => start + r) }),
    makeData({ type: new Int32(), length: n, nullCount: 0, data: category }),
    makeData({ type: new Bool(), length: n, nullCount: 0, data: packBits(cold) }),
    makeData({ type: new FixedSizeList(k, item), length: n, nullCount: 0, child: makeData({ type: new Float32(), length: n * k, nullCount: 0, data: e }) }),
  ];
  return new arrow.Table(new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children })));
}

function packBits(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(b.length / 8));
  b.forEach((v, i) => {
    if (v) out[i >> 3]! |= 1 << (i & 7);
  });
  return out;
}

/** Builds (or rebuilds) `<dir>/lance` from embeddings [N, K] with each item's category and cold flag. */
export async function buildLanceIndex(
  dir: string,
  e: Float32Array,
  k: number,
  category: Int32Array,
  cold: Uint8Array,
  o: LanceBuildOptions = {},
): Promise<{ rows: number; indexed: boolean; seconds: number }> {
  const t0 = performance.now();
  const n = e.length / k;
  if (!Number.isInteger(n) || category.length !== n || cold.length !== n)
    throw new BadInputError(`index input: ${e.length} values are not ${category.length} rows of K=${k}`);
  const path = join(dir, LANCE_DIR);
  const tmp = join(dir, `.${LANCE_DIR}.${process.pid}.tmp`);
  rmSync(tmp, { recursive: true, force: true });
  const db = await lancedb.connect(tmp);
  const batch = o.batch ?? 100_000;
  let table: lancedb.Table | null = null;
  for (let s = 0; s < n; s += batch) {
    const m = Math.min(batch, n - s);
    const t = batchTable(s, e.subarray(s * k, (s + m) * k), k, category.subarray(s, s + m), cold.subarray(s, s + m));
    if (!table) table = await db.createTable(TABLE, t);
    else await table.add(t);
    o.onProgress?.('rows', s + m, n);
  }
  if (!table) throw new BadInputError('index input: no items');
  const indexed = n >= (o.minRowsForIndex ?? 4096);
  if (indexed) {
    o.onProgress?.('train', 0, 1);
    await table.createIndex('vector', {
      config: lancedb.Index.ivfPq({
        distanceType: 'dot',
        numPartitions: o.partitions ?? Math.max(1, Math.round(Math.sqrt(n))),
        numSubVectors: o.subVectors ?? subVectorsFor(k),
      }),
    });
  }
  await table.createIndex('category', { config: lancedb.Index.bitmap() });
  table.close();
  db.close();
  rmSync(path, { recursive: true, force: true });
  renameSync(tmp, path);
  o.onProgress?.('done', 1, 1);
  return { rows: n, indexed, seconds: (performance.now() - t0) / 1000 };
}

export class LanceIndex {
  private constructor(
    private readonly db: lancedb.Connection,
    private readonly table: lancedb.Table,
    readonly rows: number,
  ) {}

  static async open(dir: string): Promise<LanceIndex> {
    const path = join(dir, LANCE_DIR);
    if (!existsSync(path)) throw new BadInputError(`no LanceDB index (build it with: atelier index --run ${dir})`, { file: path });
    const db = await lancedb.connect(path);
    const table = await db.openTable(TABLE);
    return new LanceIndex(db, table, await table.countRows());
  }

  /** The k items with the highest θᵀΦ(X_i) by the index (approximate), best first, with exact scores. */
  async search(theta: Float32Array, o: LanceSearchOptions): Promise<{ index: number; score: number }[]> {
    let q = this.table
      .vectorSearch(Array.from(theta))
      .distanceType('dot')
      .limit(o.k)
      .nprobes(o.nprobes ?? 100)
      .refineFactor(o.refine ?? 50)
      .select(['idx', 'vector', '_distance']);
    const where = [o.category !== undefined ? `category = ${Math.trunc(o.category)}` : '', o.coldOnly ? 'cold = true' : ''].filter(Boolean);
    if (where.length) q = q.where(where.join(' AND '));
    const rows = (await q.toArray()) as { idx: number; vector: { toArray(): Float32Array } | Float32Array }[];
    return rows
      .map((r) => {
        const v = r.vector instanceof Float32Array ? r.vector : r.vector.toArray();
        let s = 0;
        for (let j = 0; j < v.length; j++) s += v[j]! * theta[j]!;
        return { index: r.idx, score: s };
      })
      .sort((a, b) => b.score - a.score || a.index - b.index);
  }

  /** Adds items after the build (uploads); LanceDB searches rows outside the IVF index exhaustively. */
  async add(start: number, e: Float32Array, k: number, category: Int32Array, cold: Uint8Array): Promise<void> {
    await this.table.add(batchTable(start, e, k, category, cold));
  }

  close(): void {
    this.table.close();
    this.db.close();
  }
}

/** Builds the index of a run from its stored embeddings and catalogue (cold = fewer than COLD_THRESHOLD training purchases). */
export async function indexRun(run: LoadedRun, o: LanceBuildOptions = {}): Promise<{ rows: number; indexed: boolean; seconds: number }> {
  if (!(run.recommender instanceof DvbprScorer))
    throw new BadInputError(`run kind '${run.manifest.kind}' has no item embeddings to index (use a DVBPR run)`, { file: join(run.dir, 'manifest.json') });
  const c = run.catalogue;
  const k = run.recommender.k;
  const e = readEmbeddings(run.dir, c.itemIds.length, k);
  return buildLanceIndex(
    run.dir,
    e,
    k,
    c.itemCategory,
    Uint8Array.from(c.itemTrainCount, (t) => (t < COLD_THRESHOLD ? 1 : 0)),
    o,
  );
}

/** `recommend` for one shopper through the index: same filters (category, cold only), same output. */
export async function recommendIndexed(
  ix: LanceIndex,
  run: LoadedRun,
  userId: string,
  o: { k: number; category?: string; coldOnly?: boolean; nprobes?: number },
): Promise<Recommendation> {
  const c = run.catalogue;
  const category = o.category === undefined ? undefined : categoryIndexOf(c, o.category);
  const theta = thetaOf(run, userId);
  const hits = await ix.search(theta, { k: o.k, category, coldOnly: o.coldOnly, nprobes: o.nprobes });
  return {
    userId,
    items: hits.map((h) => ({
      itemId: c.itemIds[h.index]!,
      score: h.score,
      cold: c.itemTrainCount[h.index]! < COLD_THRESHOLD,
      category: c.categories[c.itemCategory[h.index]!]!,
    })),
  };
}
