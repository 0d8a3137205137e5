/**
 * `atelier segments`: groups of shoppers who buy alike (k-means on their standardised tastes,
 * models/segments.ts), stored in the run's catalogue for `design --segment` and the API's
 * `POST /segments/:id/designs`; and a segment's taste for a design.
 */
import { medianOf } from '../core/quantile.js';
import { join } from 'node:path';
import { openTable } from '../data/table.js';
import { Problems } from '../data/problems.js';
import { BadInputError, NotFoundError } from '../core/errors.js';
import { kMeansAtLeast, scoreDeviations, segmentTaste, standardisedTastes } from '../models/segments.js';
import { CatalogueStore } from '../store/catalogue-db.js';
import { withFolderLock } from '../store/lock.js';
import { dvbprOf, loadRun, type LoadedRun } from '../store/run.js';
import { DvbprScorer } from '../models/dvbpr.js';

/** Every shopper's standardised taste θ_u / σ_u [U, K] and σ_u, once per loaded run. */
const tastesOf = new WeakMap<LoadedRun, { tastes: Float64Array; sigma: Float64Array; embeddings: Float32Array }>();
export function standardisedTastesOf(run: LoadedRun): Float64Array {
  return tastesAndDeviations(run).tastes;
}

/** Every shopper's standardised taste and score deviation, and the catalogue's embeddings they came from (cached per run). */
function tastesAndDeviations(run: LoadedRun): { tastes: Float64Array; sigma: Float64Array; embeddings: Float32Array } {
  let t = tastesOf.get(run);
  if (!t) {
    const model = dvbprOf(run, 'a segment');
    const k = model.encoderConfig.k;
    const scorer = run.recommender;
    if (!(scorer instanceof DvbprScorer))
      throw new BadInputError(`run kind '${run.manifest.kind}' stores no item embeddings`, { file: join(run.dir, 'manifest.json') });
    const n = run.catalogue.itemIds.length;
    const e = scorer.embeddingsOf(Int32Array.from({ length: n }, (_, i) => i));
    const theta = model.theta.data() as Float32Array;
    const sigma = scoreDeviations(theta, e, k);
    tastesOf.set(run, (t = { tastes: standardisedTastes(theta, sigma, k), sigma, embeddings: e }));
  }
  return t;
}

/** A segment's taste θ_S (the mean of its members' standardised tastes); an unknown segment is a NotFoundError naming the known ones. */
export function segmentThetaOf(run: LoadedRun, segment: string): Float32Array {
  const members = run.catalogue.segments.get(segment);
  if (!members)
    throw new NotFoundError(
      run.catalogue.segments.size
        ? `segment (known: ${[...run.catalogue.segments.keys()].join(', ')})`
        : 'segment (none made: run `atelier segments --run <run>`)',
      segment,
    );
  return segmentTaste(standardisedTastesOf(run), members, dvbprOf(run).encoderConfig.k);
}

/**
 * The factor a segment's search scales θ_S by: its median member's score deviation σ_u over the
 * deviation of θ_S's own scores. The mean of standardised tastes is shorter than any member's taste
 * (its scores' deviation 0.5 to 0.9 on the demo's and H&M's segments, a median shopper's 2.1 to 2.3),
 * so unscaled the search's realism term η(D − 1)² would outweigh the segment's taste and hold its
 * designs back; scaled, a segment's search weighs taste against realism as a typical member's does.
 * The direction, and so every ranking by θ_S, is unchanged.
 */
const scalesOf = new WeakMap<LoadedRun, Map<string, number>>();
export function segmentScaleOf(run: LoadedRun, segment: string): number {
  const known = scalesOf.get(run)?.get(segment);
  if (known !== undefined) return known;
  const theta = segmentThetaOf(run, segment); // an unknown segment: NotFoundError naming the known ones
  const members = run.catalogue.segments.get(segment)!;
  const { sigma, embeddings } = tastesAndDeviations(run);
  const scale = medianOf([...members].map((u) => sigma[u]!)) / scoreDeviations(theta, embeddings, theta.length)[0]!;
  (scalesOf.get(run) ?? scalesOf.set(run, new Map()).get(run)!).set(segment, scale);
  return scale;
}

/** The mean standardised taste over every shopper (what a 'distinctive' segment design subtracts). */
export function meanTasteOf(run: LoadedRun): Float32Array {
  const all = Int32Array.from({ length: run.catalogue.userIds.length }, (_, u) => u);
  return segmentTaste(standardisedTastesOf(run), all, dvbprOf(run).encoderConfig.k);
}

export interface SegmentsMade {
  method: 'k-means on standardised tastes' | 'a column of the customers table';
  /** --by: the column, and the table it was read from */
  by?: { column: string; table: string; bands?: number };
  /** the segments made (fewer than `asked` when small ones were dissolved into the others) */
  k: number;
  asked?: number;
  minMembers: number;
  seed: number;
  createdAt: string;
  segments: { name: string; members: number }[];
}

/** Writes the segments (each shopper's group, −1 for none, and the groups' names) into the run's catalogue; the caller holds the folder's lock. */
function storeSegments(dir: string, group: Int32Array, names: string[], made: SegmentsMade): SegmentsMade {
  const store = CatalogueStore.open(dir);
  try {
    store.writeSegments(group, names, made as unknown as Record<string, unknown>);
  } finally {
    store.close();
  }
  return made;
}

/** k-means segments of the run's shoppers, written into its catalogue holding the folder's lock (a served run is refused: one writer). */
export async function makeSegments(dir: string, o: { k: number; seed: number; minMembers?: number }): Promise<SegmentsMade> {
  return withFolderLock(dir, 'segments', async () => {
    const run = loadRun(dir);
    const k = dvbprOf(run, 'segments').encoderConfig.k;
    const users = run.catalogue.userIds.length;
    if (!(o.k >= 2 && o.k <= users)) throw new BadInputError(`--k ${o.k}: between 2 and the run's ${users} shoppers`);
    const group = kMeansAtLeast(standardisedTastesOf(run), k, o.k, o.seed, o.minMembers ?? 1);
    const groups = Math.max(...group) + 1;
    const names = Array.from({ length: groups }, (_, g) => `s${g + 1}`);
    const sizes = new Int32Array(groups);
    for (const g of group) sizes[g]!++;
    const made: SegmentsMade = {
      method: 'k-means on standardised tastes',
      k: groups,
      ...(groups < o.k ? { asked: o.k } : {}),
      minMembers: o.minMembers ?? 1,
      seed: o.seed,
      createdAt: new Date().toISOString(),
      segments: names.map((name, g) => ({ name, members: sizes[g]! })),
    };
    return storeSegments(dir, group, names, made);
  });
}

/**
 * Segments from a column of a customers table (CSV or Parquet; its first column named
 * customer_id or user_id holds the shopper's id): one segment per value, a number put in bands
 * of `bands` (age 20–29: "age 20-29"). Shoppers the table does not name, or with the column
 * empty, are in no segment; a segment under `minMembers` is left out. Stored as `makeSegments`.
 */
export async function segmentsByColumn(dir: string, o: { table: string; column: string; bands?: number; minMembers?: number }): Promise<SegmentsMade> {
  const byId = new Map<string, string>();
  const t = await openTable(o.table, { required: [o.column], problems: new Problems('fail') });
  try {
    const idAt = t.columns.findIndex((c) => c === 'customer_id' || c === 'user_id');
    if (idAt < 0) throw new BadInputError(`no customer_id or user_id column (columns: ${t.columns.join(', ')})`, { file: o.table });
    const at = t.columns.indexOf(o.column);
    while (await t.block())
      while (t.next()) {
        const raw = t.text(at).trim();
        if (!raw) continue;
        const n = Number(raw);
        const lo = o.bands && Number.isFinite(n) ? Math.floor(n / o.bands) * o.bands : null;
        const value = lo !== null ? `${o.column} ${lo}-${lo + o.bands! - 1}` : `${o.column} ${raw}`;
        byId.set(t.text(idAt), value);
      }
  } finally {
    t.close();
  }
  return withFolderLock(dir, 'segments', async () => {
    const run = loadRun(dir);
    dvbprOf(run, 'segments');
    const values = run.catalogue.userIds.map((id) => byId.get(id));
    const counts = new Map<string, number>();
    for (const v of values) if (v !== undefined) counts.set(v, (counts.get(v) ?? 0) + 1);
    const names = [...counts].filter(([, c]) => c >= (o.minMembers ?? 1)).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    if (!names.length) throw new BadInputError(`no value of '${o.column}' has ${o.minMembers ?? 1} or more of the run's shoppers`, { file: o.table });
    const index = new Map(names.map(([v], g) => [v, g]));
    const group = Int32Array.from(values, (v) => (v === undefined ? -1 : (index.get(v) ?? -1)));
    const made: SegmentsMade = {
      method: 'a column of the customers table',
      by: { column: o.column, table: o.table, ...(o.bands ? { bands: o.bands } : {}) },
      k: names.length,
      minMembers: o.minMembers ?? 1,
      seed: 0,
      createdAt: new Date().toISOString(),
      segments: names.map(([name, members]) => ({ name, members })),
    };
    return storeSegments(
      dir,
      group,
      names.map(([v]) => v),
      made,
    );
  });
}
