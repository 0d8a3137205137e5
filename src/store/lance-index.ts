/**
 * An approximate top-K index over the item embeddings, for catalogues past one machine's comfort:
 * LanceDB (IVF-PQ, inner-product metric) in `<run>/lance/`. Exact search (recommend.ts) stays the
 * default; this is what `atelier index` builds and `atelier serve --index lance` uses.
 *
 * Rows: idx (item index), category, cold, vector (Φ(X_i), float32[K]). The query asks for
 * `candidates` rows by the index's approximate inner product, LanceDB re-ranks them with the full
 * vectors (refine), and the scores returned here are exact inner products of those rows.
 */
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { createRequire } from 'node:module';
import type { Table } from 'apache-arrow';
import { BadInputError, CorruptFileError } from '../core/errors.js';
import { writeJsonAtomic } from '../core/fs.js';
import { DvbprScorer } from '../models/dvbpr.js';
import { COLD_THRESHOLD } from '../core/auc.js';
import { servedTerms, topKWhere, type Recommendation } from './recommend.js';
import { activeWeights, applyPolicy, type RankingPolicy } from '../models/ranking/index.js';
import type { Recommender } from '../models/recommender.js';
import { categoryIndexOf, readEmbeddings, thetaOf, type LoadedRun } from './run.js';

// LanceDB is CommonJS and checks `instanceof arrow.Table`: take Arrow from the same (CommonJS) module
const arrow = createRequire(import.meta.url)('apache-arrow') as typeof import('apache-arrow');
const { Bool, Field, FixedSizeList, Float32, Int32, makeData, RecordBatch, Schema, Struct } = arrow;

export const LANCE_DIR = 'lance';
const TABLE = 'items';

/**
 * The vector index (bench/results/serve.json, 1,000,000 items, 2 cores):
 *   ivf-flat  the default: √N partitions by inner product, each probed partition scanned exactly:
 *             recall@10 0.99 at p99 8 ms (20 of 1,000 probed) for shoppers with a style
 *   hnsw-sq   a graph per partition of 100,000 (LanceDB IVF-HNSW-SQ) over vectors lifted so that the
 *             L2-nearest is the inner-product best: the one that reaches 0.97 for shoppers whom no
 *             cluster favours, at 31 ms
 *   ivf-pq    product-quantised (the former default): the least memory
 */
export type LanceIndexKind = 'ivf-flat' | 'hnsw-sq' | 'ivf-pq';
export const LANCE_INDEX_KINDS: readonly LanceIndexKind[] = ['ivf-flat', 'hnsw-sq', 'ivf-pq'];

/** Each kind's search settings when a query names none (chosen on the bench's million). */
const SEARCH_DEFAULTS: Record<LanceIndexKind, { nprobes: number; ef: number; refine: number }> = {
  'ivf-flat': { nprobes: 20, ef: 100, refine: 1 },
  'hnsw-sq': { nprobes: 10, ef: 100, refine: 5 },
  'ivf-pq': { nprobes: 100, ef: 100, refine: 50 },
};

export interface LanceBuildOptions {
  /** default 'ivf-flat' */
  kind?: LanceIndexKind;
  /** IVF partitions (default: √N for IVF-PQ and IVF-FLAT; for HNSW one graph per 100,000 rows, each probed partition's graph searched) */
  partitions?: number;
  /** HNSW: neighbours per node (default 20) */
  m?: number;
  /** HNSW: candidates while building (default 300) */
  efConstruction?: number;
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
  /** IVF partitions to probe (default by kind: SEARCH_DEFAULTS; every partition for hnsw-sq) */
  nprobes?: number;
  /** rows fetched by the quantised distance per result, re-ranked exactly (hnsw-sq 5, ivf-pq 50) */
  refine?: number;
  /** hnsw-sq: candidates kept while searching each graph (default 100; at least k) */
  ef?: number;
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

/** IVF partitions when none are asked for: √N, or for hnsw-sq one graph per 100,000 rows. */
export function defaultPartitions(kind: LanceIndexKind, n: number): number {
  return Math.max(1, kind === 'hnsw-sq' ? Math.ceil(n / 100_000) : Math.round(Math.sqrt(n)));
}

function vectorIndex(kind: LanceIndexKind, o: LanceBuildOptions, n: number, k: number): lancedb.Index {
  const numPartitions = o.partitions ?? defaultPartitions(kind, n);
  if (kind === 'ivf-flat') return lancedb.Index.ivfFlat({ distanceType: 'dot', numPartitions });
  if (kind === 'ivf-pq') return lancedb.Index.ivfPq({ distanceType: 'dot', numPartitions, numSubVectors: o.subVectors ?? subVectorsFor(k) });
  // a graph needs a metric: inner product is searched as L2 over the lifted vectors (liftForL2)
  return lancedb.Index.hnswSq({ distanceType: 'l2', numPartitions, m: o.m ?? 20, efConstruction: o.efConstruction ?? 300 });
}

/** What the index folder holds besides LanceDB's own files (absent: an IVF-PQ index over the plain vectors, as built before). */
interface IndexMeta {
  kind: LanceIndexKind;
  /** Φ's dimension */
  k: number;
  /** hnsw-sq: the bound M of the lift; rows whose norm exceeded it (uploads) are searched exactly */
  bound?: number;
  overflow?: number[];
  /** hnsw-sq: its partitions (every graph is searched by default) */
  partitions?: number;
}
const META = 'atelier-index.json';

function readMeta(path: string, fallbackK: () => number): IndexMeta {
  const f = join(path, META);
  if (!existsSync(f)) return { kind: 'ivf-pq', k: fallbackK() };
  let meta: IndexMeta;
  try {
    meta = JSON.parse(readFileSync(f, 'utf8')) as IndexMeta;
  } catch (err) {
    throw new CorruptFileError(`not JSON (${(err as Error).message}); rebuild the index with atelier index`, f);
  }
  if (!LANCE_INDEX_KINDS.includes(meta.kind)) throw new CorruptFileError(`kind is '${String(meta.kind)}', not one of ${LANCE_INDEX_KINDS.join(', ')}`, f);
  return meta;
}

/**
 * Maximum inner product as nearest neighbour (Bachrach et al. 2014): item x ↦ [x, √(M² − ‖x‖²)],
 * query θ ↦ [θ, 0], so ‖θ' − x'‖² = ‖θ‖² + M² − 2θᵀx and the nearest lifted item is the best
 * scoring one. M is twice the largest norm at build time, so that uploads fit under it; one that does
 * not gets 0 as its last value and is listed in the index's overflow, searched exactly.
 */
export function liftForL2(e: Float32Array, k: number, bound: number): { lifted: Float32Array; over: number[] } {
  const n = e.length / k;
  const lifted = new Float32Array(n * (k + 1));
  const over: number[] = [];
  for (let i = 0; i < n; i++) {
    let sq = 0;
    for (let j = 0; j < k; j++) {
      const v = e[i * k + j]!;
      lifted[i * (k + 1) + j] = v;
      sq += v * v;
    }
    if (sq > bound * bound) over.push(i);
    lifted[i * (k + 1) + k] = Math.sqrt(Math.max(0, bound * bound - sq));
  }
  return { lifted, over };
}

function maxNorm(e: Float32Array, k: number): number {
  let best = 0;
  for (let i = 0; i < e.length; i += k) {
    let sq = 0;
    for (let j = 0; j < k; j++) sq += e[i + j]! * e[i + j]!;
    best = Math.max(best, sq);
  }
  return Math.sqrt(best);
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
  const kind = o.kind ?? 'ivf-flat';
  const meta: IndexMeta =
    kind === 'hnsw-sq'
      ? { kind, k, bound: 2 * maxNorm(e, k) || 1, overflow: [], partitions: o.partitions ?? Math.max(1, Math.ceil(n / 100_000)) }
      : { kind, k };
  const dims = kind === 'hnsw-sq' ? k + 1 : k;
  let table: lancedb.Table | null = null;
  for (let s = 0; s < n; s += batch) {
    const m = Math.min(batch, n - s);
    const rows = e.subarray(s * k, (s + m) * k);
    const t = batchTable(
      s,
      meta.bound === undefined ? rows : liftForL2(rows, k, meta.bound).lifted,
      dims,
      category.subarray(s, s + m),
      cold.subarray(s, s + m),
    );
    if (!table) table = await db.createTable(TABLE, t);
    else await table.add(t);
    o.onProgress?.('rows', s + m, n);
  }
  if (!table) throw new BadInputError('index input: no items');
  const indexed = n >= (o.minRowsForIndex ?? 4096);
  if (indexed) {
    o.onProgress?.('train', 0, 1);
    await table.createIndex('vector', { config: vectorIndex(kind, o, n, k) });
  }
  await table.createIndex('category', { config: lancedb.Index.bitmap() });
  table.close();
  db.close();
  writeJsonAtomic(join(tmp, META), meta);
  rmSync(path, { recursive: true, force: true });
  renameSync(tmp, path);
  o.onProgress?.('done', 1, 1);
  return { rows: n, indexed, seconds: (performance.now() - t0) / 1000 };
}

export class LanceIndex {
  private constructor(
    private readonly path: string,
    private readonly db: lancedb.Connection,
    private readonly table: lancedb.Table,
    private readonly meta: IndexMeta,
    readonly rows: number,
  ) {}

  static async open(dir: string): Promise<LanceIndex> {
    const path = join(dir, LANCE_DIR);
    if (!existsSync(path)) throw new BadInputError(`no LanceDB index (build it with: atelier index --run ${dir})`, { file: path });
    const damaged = (e: unknown) =>
      e instanceof CorruptFileError || e instanceof BadInputError
        ? e
        : new CorruptFileError(`a damaged LanceDB index (${(e as Error).message.split('\n')[0]}): rebuild it with atelier index --run ${dir}`, path);
    let db: lancedb.Connection | undefined;
    try {
      db = await lancedb.connect(path);
      const table = await db.openTable(TABLE);
      const schema = await table.schema();
      const vector = schema.fields.find((f) => f.name === 'vector');
      if (!vector) throw new Error("its table has no 'vector' column");
      const meta = readMeta(path, () => (vector.type as InstanceType<typeof FixedSizeList>).listSize);
      const index = new LanceIndex(path, db, table, meta, await table.countRows());
      // one search at start-up: an index whose files are damaged fails here, naming itself, rather
      // than passing a health check and answering every recommendation with a 500
      const dim = (vector.type as InstanceType<typeof FixedSizeList>).listSize - (meta.bound !== undefined ? 1 : 0);
      await index.search(new Float32Array(dim), { k: 1 });
      return index;
    } catch (e) {
      db?.close();
      throw damaged(e);
    }
  }

  /** what was built (an index without atelier-index.json is the IVF-PQ of before) */
  get kind(): LanceIndexKind {
    return this.meta.kind;
  }

  /** The k items with the highest θᵀΦ(X_i) by the index (approximate), best first, with exact scores. */
  async search(theta: Float32Array, o: LanceSearchOptions): Promise<{ index: number; score: number }[]> {
    const lifted = this.meta.bound !== undefined;
    const query = lifted ? [...theta, 0] : Array.from(theta);
    const where = [o.category !== undefined ? `category = ${Math.trunc(o.category)}` : '', o.coldOnly ? 'cold = true' : ''].filter(Boolean);
    let q = this.table
      .vectorSearch(query)
      .distanceType(lifted ? 'l2' : 'dot')
      .limit(o.k)
      .nprobes(o.nprobes ?? this.meta.partitions ?? SEARCH_DEFAULTS[this.meta.kind].nprobes)
      .ef(Math.max(o.k, o.ef ?? SEARCH_DEFAULTS[this.meta.kind].ef))
      .refineFactor(o.refine ?? SEARCH_DEFAULTS[this.meta.kind].refine)
      .select(['idx', 'vector', '_distance']);
    if (where.length) q = q.where(where.join(' AND '));
    type Row = { idx: number; vector: { toArray(): Float32Array } | Float32Array };
    const rows = (await q.toArray()) as Row[];
    const over = this.meta.overflow ?? [];
    if (over.length) {
      // uploads past the lift's bound: few, read and scored exactly
      const extra = (await this.table
        .query()
        .where([`idx IN (${over.join(', ')})`, ...where].join(' AND '))
        .select(['idx', 'vector'])
        .toArray()) as Row[];
      rows.push(...extra.filter((r) => !rows.some((x) => x.idx === r.idx)));
    }
    return rows
      .map((r) => {
        const v = r.vector instanceof Float32Array ? r.vector : r.vector.toArray();
        let s = 0;
        for (let j = 0; j < theta.length; j++) s += v[j]! * theta[j]!;
        return { index: r.idx, score: s };
      })
      .sort((a, b) => b.score - a.score || a.index - b.index)
      .slice(0, o.k);
  }

  /** Adds items after the build (uploads); LanceDB searches rows outside the trained index exhaustively. */
  async add(start: number, e: Float32Array, k: number, category: Int32Array, cold: Uint8Array): Promise<void> {
    if (k !== this.meta.k) throw new BadInputError(`index add: K=${k} but the index holds K=${this.meta.k}`, { file: this.path });
    if (this.meta.bound === undefined) {
      await this.table.add(batchTable(start, e, k, category, cold));
      return;
    }
    const { lifted, over } = liftForL2(e, k, this.meta.bound);
    await this.table.add(batchTable(start, lifted, k + 1, category, cold));
    if (over.length) {
      this.meta.overflow = [...(this.meta.overflow ?? []), ...over.map((i) => start + i)];
      writeJsonAtomic(join(this.path, META), this.meta);
    }
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
  o: { k: number; category?: string; coldOnly?: boolean; nprobes?: number; policy?: RankingPolicy },
): Promise<Recommendation> {
  const c = run.catalogue;
  const category = o.category === undefined ? undefined : categoryIndexOf(c, o.category);
  const theta = thetaOf(run, userId);
  const item = (index: number, score: number) => ({
    itemId: c.itemIds[index]!,
    score,
    cold: c.itemTrainCount[index]! < COLD_THRESHOLD,
    category: c.categories[c.itemCategory[index]!]!,
  });
  const active = o.policy ? activeWeights(o.policy) : [];
  if (!active.length) {
    const hits = await ix.search(theta, { k: o.k, category, coldOnly: o.coldOnly, nprobes: o.nprobes });
    return { userId, items: hits.map((h) => item(h.index, h.score)) };
  }
  // the policy over candidates: the index's best by the model (ten times k, at least 200) and the
  // items each prior lifts (a bought product's colours, the basket's co-purchases, the best sellers)
  const rec = run.recommender;
  const u = c.userIndex.get(userId)!;
  const terms = servedTerms(c, rec);
  const hits = await ix.search(theta, { k: Math.min(c.itemIds.length, Math.max(10 * o.k, 200)), category, coldOnly: o.coldOnly, nprobes: o.nprobes });
  const pool = new Set(hits.map((h) => h.index));
  const admits = (i: number) => (category === undefined || c.itemCategory[i] === category) && (!o.coldOnly || c.itemTrainCount[i]! < COLD_THRESHOLD);
  for (const [name] of active) {
    const more = terms.term(name).candidates?.(u);
    if (more) for (let x = 0; x < more.length; x++) if (admits(more[x]!)) pool.add(more[x]!);
  }
  const items = Int32Array.from(pool);
  const k = rec.embeddingDim!;
  const e = rec.embeddingsOf!(items);
  const row = new Float32Array(items.length);
  for (let r = 0; r < items.length; r++) {
    let s = 0;
    for (let j = 0; j < k; j++) s += theta[j]! * e[r * k + j]!;
    row[r] = s;
  }
  applyPolicy(terms, o.policy!, u, row, items, scoreStats(rec, theta));
  const top = topKWhere(row, o.k, () => true);
  return { userId, items: top.map((r) => item(items[r]!, row[r]!)) };
}

/**
 * The mean and standard deviation of θᵀe_i over the whole catalogue without scoring it: θᵀē and
 * √(θᵀΣθ), ē and Σ the embeddings' mean and covariance (once per model and catalogue size), so the
 * policy standardises the index's candidates as the exact path standardises every item.
 */
const moments = new WeakMap<Recommender, { n: number; mean: Float64Array; cov: Float64Array }>();
export function scoreStats(rec: Recommender, theta: Float32Array): { mean: number; sd: number } {
  const k = rec.embeddingDim!;
  let m = moments.get(rec);
  if (!m || m.n !== rec.numItems) {
    const n = rec.numItems;
    const mean = new Float64Array(k);
    const cov = new Float64Array(k * k);
    const step = 4096;
    for (let s = 0; s < n; s += step) {
      const rows = Int32Array.from({ length: Math.min(step, n - s) }, (_, x) => s + x);
      const e = rec.embeddingsOf!(rows);
      for (let r = 0; r < rows.length; r++) for (let a = 0; a < k; a++) mean[a]! += e[r * k + a]!;
    }
    for (let a = 0; a < k; a++) mean[a]! /= n;
    for (let s = 0; s < n; s += step) {
      const rows = Int32Array.from({ length: Math.min(step, n - s) }, (_, x) => s + x);
      const e = rec.embeddingsOf!(rows);
      for (let r = 0; r < rows.length; r++)
        for (let a = 0; a < k; a++) {
          const da = e[r * k + a]! - mean[a]!;
          for (let b = a; b < k; b++) cov[a * k + b]! += da * (e[r * k + b]! - mean[b]!);
        }
    }
    for (let a = 0; a < k; a++) for (let b = a; b < k; b++) cov[b * k + a] = cov[a * k + b]! /= n;
    moments.set(rec, (m = { n, mean, cov }));
  }
  let mu = 0;
  let v = 0;
  for (let a = 0; a < k; a++) {
    mu += theta[a]! * m.mean[a]!;
    for (let b = 0; b < k; b++) v += theta[a]! * m.cov[a * k + b]! * theta[b]!;
  }
  return { mean: mu, sd: Math.sqrt(Math.max(v, 0)) || 1 };
}
