/**
 * A run folder: everything needed to recommend without the training data.
 *
 *   manifest.json         kind, config, seed, dataset hash, versions, metrics, history
 *   catalogue.sqlite      items, categories, shoppers, purchases, the run, designs (catalogue-db.ts)
 *   weights.safetensors   model weights (best validation), when the model has any
 *   item-embeddings.f32   DVBPR: Φ(X_i) for every catalogue item [N, K], float32, row = item index;
 *                         rows past the catalogue's committed count are an interrupted upload's
 *                         and are ignored (and overwritten by the next one)
 *   uploads/              photos of items added after training (POST /items)
 *   checkpoint.*          the last epoch's training state, for --resume
 */
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { BadInputError, CorruptFileError, NotFoundError } from '../core/errors.js';
import { readJsonFile, sha256File, writeFileAtomic, writeJsonAtomic } from '../core/fs.js';
import { CATALOGUE_FILE, catalogueSourceOf, CatalogueStore, EMBEDDINGS_FILE, writeCatalogueDb, type Catalogue } from './catalogue-db.js';
import { INTEGRITY_KEY, recoverRunFolder, type IntegrityRecord } from './run-commit.js';
import type { Dataset } from '../data/dataset.js';
import type { Fit } from '../data/images.js';
import { dvbprSchema, MAX_K, priorWeight } from '../config/dvbpr.js';
import { Dvbpr, DvbprScorer } from '../models/dvbpr.js';
import { policySchema, type RankingPolicy } from '../models/ranking/index.js';
import { FactorModel } from '../models/mf.js';
import type { Recommender } from '../models/recommender.js';
import { PopularityRecommender, RandomRecommender } from '../models/simple.js';
import { loadSafetensors, tidy, type Tensor } from '../torch/index.js';

/** 2: the catalogue moved from catalogue.json + purchases.i32 to catalogue.sqlite */
export const RUN_FORMAT = 2;

/** A number as JSON keeps it: NaN and ±Infinity are written as null and read back as NaN. */
export const jsonNumber = z.preprocess((v) => (v === null ? NaN : v), z.union([z.number(), z.nan()]));

/** eval/ranking.ts's RankingResult as the manifest keeps it. */
const rankingSchema = z.object({
  auc: jsonNumber,
  sampledAuc: jsonNumber,
  coldAuc: jsonNumber,
  recallAtK: jsonNumber,
  ndcgAtK: jsonNumber,
  k: z.number(),
  recallAt50: jsonNumber.optional(),
  recallAt12: jsonNumber.optional(),
  mapAt12: jsonNumber.optional(),
  users: z.number(),
  coldUsers: z.number(),
});

const runMetrics = z.object({
  bestEpoch: z.number().int().min(0).optional(),
  valid: rankingSchema.optional(),
  test: rankingSchema.optional(),
  /** DVBPR runs made before ranking policies: the four priors' weights (α popularity, β recency, γ category, δ product), read as a policy (runPolicy) */
  popularityPrior: z
    .object({
      alpha: priorWeight,
      /** β of the recency prior (absent in runs made before it: 0) */
      beta: priorWeight.optional(),
      /** γ of the category prior (absent in runs made before it: 0) */
      gamma: priorWeight.optional(),
      /** δ of the product prior (absent in runs made before it: 0) */
      delta: priorWeight.optional(),
      /** validation AUC of each γ (and δ: absent before the product prior, 0) */
      gammaGrid: z.array(z.object({ gamma: priorWeight, delta: priorWeight.optional(), auc: jsonNumber })).optional(),
      grid: z.array(z.object({ alpha: priorWeight, beta: priorWeight.optional(), recallAt50: jsonNumber, auc: jsonNumber })).optional(),
      categoryTest: rankingSchema.optional(),
      test: rankingSchema.optional(),
    })
    .optional(),
  /** DVBPR --init classifier: the classifier its encoder started from */
  classifier: z
    .object({
      heldOutAccuracy: jsonNumber,
      classes: z.array(z.string()),
      /** the multi-attribute classifier: every head's held-out accuracy */
      attributes: z.array(z.object({ name: z.string(), classes: z.number().int(), heldOutAccuracy: jsonNumber })).optional(),
    })
    .optional(),
});

const epochRecord = z.object({ epoch: z.number(), loss: jsonNumber, seconds: jsonNumber, metrics: z.record(z.string(), jsonNumber) });

const common = {
  format: z.number().int(),
  name: z.string(),
  createdAt: z.string(),
  finishedAt: z.string().optional(),
  seed: z.number().int(),
  dataset: z.object({ path: z.string(), dataHash: z.string(), imageSize: z.number().int(), items: z.number().int(), users: z.number().int() }),
  versions: z.record(z.string(), z.string()),
  metrics: runMetrics,
  history: z.array(epochRecord),
  /** the ranking policy recommendations use by default (models/ranking; app/ranking.ts choosePolicy) */
  ranking: z
    .object({
      policy: policySchema,
      /** what validation held out (`like`: taken from the run --like named) */
      chosenOn: z.enum(['next purchase', 'random purchase', 'like']),
      metric: z.literal('auc').optional(),
      cells: z.array(z.object({ policy: policySchema, score: jsonNumber })).optional(),
      test: rankingSchema.optional(),
      ablation: z.array(z.object({ without: z.string(), test: rankingSchema })).optional(),
    })
    .optional(),
};

export const factorRunConfig = z.object({
  factors: z.number().int(),
  visualFactors: z.number().int(),
  lambda: z.number(),
  lambdaE: z.number(),
  lr: z.number(),
  epochs: z.number(),
  batch: z.number().int(),
  featureSource: z.string().nullable(),
});

/** manifest.json of a run folder, one shape per kind of recommender. */
export const runManifestSchema = z.discriminatedUnion('kind', [
  z.object({
    ...common,
    kind: z.literal('dvbpr'),
    config: dvbprSchema,
    embeddings: z.object({ file: z.string(), count: z.number().int().min(0), k: z.number().int().min(1).max(MAX_K) }).optional(),
    /** what it trained on: the dataset's train split, or (`--split none`, a shop's serving model) every purchase */
    training: z
      .object({
        split: z.enum(['dataset', 'none']),
        pairs: z.number().int(),
        users: z.number().int(),
        /** `--like`: the evaluated run whose settings and best epoch it took */
        like: z
          .object({
            run: z.string(),
            name: z.string(),
            dataHash: z.string(),
            bestEpoch: z.number().int().min(0),
            ranking: policySchema.optional(),
            /** runs made before ranking policies */
            popularityPrior: priorWeight.optional(),
            recencyPrior: priorWeight.optional(),
            categoryPrior: priorWeight.optional(),
            productPrior: priorWeight.optional(),
          })
          .optional(),
        /** data-parallel processes (c10d), when more than one */
        ranks: z.number().int().optional(),
      })
      .optional(),
  }),
  z.object({ ...common, kind: z.enum(['bpr-mf', 'vbpr']), config: factorRunConfig }),
  z.object({ ...common, kind: z.enum(['random', 'popularity']), config: z.object({}) }),
]);

export type RunManifest = z.infer<typeof runManifestSchema>;
export type DvbprRunManifest = Extract<RunManifest, { kind: 'dvbpr' }>;

export type { Catalogue } from './catalogue-db.js';

/** Writes the run's catalogue (catalogue.sqlite) from the dataset it is trained on. */
export function writeCatalogue(dir: string, ds: Dataset, m: RunManifest): void {
  writeCatalogueDb(dir, catalogueSourceOf(ds), { kind: m.kind, name: m.name, createdAt: m.createdAt, manifest: m });
}

export function readCatalogue(dir: string): Catalogue {
  const store = CatalogueStore.open(dir, { readonly: true });
  try {
    return store.read();
  } finally {
    store.close();
  }
}

const readJson = <T>(path: string): T => readJsonFile<T>(path, 'is this a run folder?');

export function writeManifest(dir: string, m: RunManifest): void {
  writeJsonAtomic(join(dir, 'manifest.json'), m);
  if (existsSync(join(dir, CATALOGUE_FILE))) {
    const store = CatalogueStore.open(dir);
    try {
      store.recordRun(dir, m);
    } finally {
      store.close();
    }
  }
}

/** Reads and checks manifest.json (a format-1 run is migrated first); a field out of shape is a CorruptFileError naming it. */
export function readManifest(dir: string): RunManifest {
  const path = join(dir, 'manifest.json');
  let raw = readJson<{ format?: unknown }>(path);
  if (raw.format === 1) raw = migrateFormat1(dir, raw as RunManifest);
  if (raw.format !== RUN_FORMAT) throw new BadInputError(`run format ${String(raw.format)}, expected ${RUN_FORMAT}`, { file: path });
  return parseManifest(runManifestSchema, raw, path);
}

/** A manifest read from disk, checked by its schema. */
export function parseManifest<S extends z.ZodType>(schema: S, raw: unknown, path: string): z.infer<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw new CorruptFileError(`${issue.path.join('.') || 'manifest'}: ${issue.message}`, path);
}

/**
 * Format 1 kept the catalogue in catalogue.json + purchases.i32: build catalogue.sqlite from them
 * (atomically), then mark the manifest format 2. The old files are left in place.
 */
function migrateFormat1(dir: string, m: RunManifest): RunManifest {
  const c = readJson<{ itemIds: string[]; userIds: string[]; categories: string[]; itemCategory: number[]; itemTrainCount: number[] }>(
    join(dir, 'catalogue.json'),
  );
  const path = join(dir, 'purchases.i32');
  if (!existsSync(path)) throw new BadInputError('missing purchases of a format-1 run', { file: path });
  const buf = readFileSync(path);
  const all = new Int32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const nU = c.userIds.length;
  const offsets = all.subarray(0, nU + 1);
  const user = new Int32Array(all.length - nU - 1);
  for (let u = 0; u < nU; u++) user.fill(u, offsets[u]!, offsets[u + 1]!);
  const dsManifest = join(m.dataset.path, 'manifest.json');
  const fit = existsSync(dsManifest) ? ((JSON.parse(readFileSync(dsManifest, 'utf8')) as { fit?: Fit }).fit ?? 'letterbox') : 'letterbox';
  writeCatalogueDb(
    dir,
    {
      itemIds: c.itemIds,
      userIds: c.userIds,
      categories: c.categories,
      itemCategory: Int32Array.from(c.itemCategory),
      itemTrainCount: Int32Array.from(c.itemTrainCount),
      imagesFrom: m.dataset.path,
      imageFit: fit,
      purchases: [{ user, item: all.subarray(nU + 1) }],
    },
    { kind: m.kind, name: m.name, createdAt: m.createdAt, manifest: m },
  );
  const migrated = { ...m, format: RUN_FORMAT };
  if (m.kind === 'dvbpr' && m.embeddings) {
    const store = CatalogueStore.open(dir);
    try {
      store.setEmbeddingRows(m.embeddings.count);
    } finally {
      store.close();
    }
  }
  writeJsonAtomic(join(dir, 'manifest.json'), migrated);
  return migrated;
}

/** Writes the embedding matrix of every catalogue item [N, K] and marks its N rows committed. */
export function writeEmbeddings(dir: string, e: Float32Array, k: number): void {
  writeFileAtomic(join(dir, EMBEDDINGS_FILE), new Uint8Array(e.buffer, e.byteOffset, e.byteLength));
  const store = CatalogueStore.open(dir);
  try {
    store.setEmbeddingRows(e.length / k);
  } finally {
    store.close();
  }
}

/** The first `count` rows of the embedding matrix (rows past them are an interrupted upload's). */
export function readEmbeddings(dir: string, count: number, k: number): Float32Array {
  const path = join(dir, EMBEDDINGS_FILE);
  if (!existsSync(path)) throw new BadInputError('missing item embeddings', { file: path });
  const buf = readFileSync(path);
  if (buf.byteLength < count * k * 4)
    throw new BadInputError(`${buf.byteLength} bytes, expected at least ${count}×${k} float32 (the catalogue's items)`, { file: path });
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + count * k * 4));
}

/**
 * Writes row `index` of the embedding matrix in place (fsync'd) and cuts anything after it:
 * the catalogue's transaction that commits the item comes after, so a process killed between
 * the two leaves a row nobody counts, which the next upload overwrites.
 */
export function appendEmbedding(dir: string, index: number, e: Float32Array): void {
  const path = join(dir, EMBEDDINGS_FILE);
  const fd = openSync(path, 'r+');
  try {
    const at = index * e.byteLength;
    if (fstatSync(fd).size < at) throw new CorruptFileError(`shorter than its ${index} committed rows`, path);
    writeSync(fd, new Uint8Array(e.buffer, e.byteOffset, e.byteLength), 0, e.byteLength, at);
    ftruncateSync(fd, at + e.byteLength);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * The ranking policy a run's recommendations use by default: the one it chose (manifest.ranking),
 * or a run made before policies, its four priors by their names; none for other kinds.
 */
export function runPolicy(m: RunManifest): RankingPolicy {
  if (m.ranking) return m.ranking.policy;
  const p = m.metrics.popularityPrior;
  if (p) {
    const legacy: Record<string, number> = { popularity: p.alpha, recency: p.beta ?? 0, category: p.gamma ?? 0, product: p.delta ?? 0 };
    return Object.fromEntries(Object.entries(legacy).filter(([, w]) => w > 0));
  }
  const like = m.kind === 'dvbpr' ? m.training?.like : undefined;
  if (like?.ranking) return like.ranking;
  if (like?.popularityPrior !== undefined) {
    const legacy: Record<string, number> = {
      popularity: like.popularityPrior,
      recency: like.recencyPrior ?? 0,
      category: like.categoryPrior ?? 0,
      product: like.productPrior ?? 0,
    };
    return Object.fromEntries(Object.entries(legacy).filter(([, w]) => w > 0));
  }
  return {};
}

interface LoadedRunBase {
  dir: string;
  catalogue: Catalogue;
  recommender: Recommender;
}

/** A run loaded for use: a DVBPR run carries its full model (the encoder embeds new images; θ is each shopper's taste), no other kind does. */
export type LoadedRun =
  (LoadedRunBase & { manifest: DvbprRunManifest; dvbpr: Dvbpr }) | (LoadedRunBase & { manifest: Exclude<RunManifest, { kind: 'dvbpr' }>; dvbpr?: undefined });

/** The run's DVBPR model; any other kind is a BadInputError saying what `what` needs. */
export function dvbprOf(run: LoadedRun, what = 'design'): Dvbpr {
  if (!run.dvbpr)
    throw new BadInputError(`run kind '${run.manifest.kind}' has no image encoder: ${what} needs a DVBPR run`, { file: join(run.dir, 'manifest.json') });
  return run.dvbpr;
}

/** A weights file's tensors; a NaN or infinite weight is a CorruptFileError naming the tensor. */
function finiteWeights(path: string): Map<string, Tensor> {
  const { tensors } = loadSafetensors(path);
  for (const [name, t] of tensors) {
    const v: unknown = t.data();
    if (!(v instanceof Float32Array || v instanceof Float64Array)) continue;
    const bad = v.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new CorruptFileError(`tensor '${name}' holds ${v[bad]} at ${bad}: not finite (training diverged?)`, path);
  }
  return tensors;
}

/**
 * Checks a run against what its commit recorded (runs committed before the record have none):
 * the manifest's kind, and each weights or embeddings file's SHA-256 over the bytes the commit
 * wrote. A mismatch is a CorruptFileError naming the file. Cost: one read of those files (about
 * 0.4 GB of embeddings at a million items with K = 100: bench/results/integrity.md).
 */
function checkIntegrity(dir: string, kind: string, raw: string): void {
  let rec: IntegrityRecord;
  try {
    rec = JSON.parse(raw) as IntegrityRecord;
    if (typeof rec.kind !== 'string' || !rec.files || typeof rec.files !== 'object') throw new Error('not an integrity record');
  } catch (e) {
    throw new CorruptFileError(`the catalogue's integrity record is unreadable: ${(e as Error).message}`, join(dir, CATALOGUE_FILE));
  }
  if (rec.kind !== kind)
    throw new CorruptFileError(
      `kind '${kind}', but this run was committed as a '${rec.kind}' run: the manifest was edited; restore its kind`,
      join(dir, 'manifest.json'),
    );
  for (const [file, want] of Object.entries(rec.files)) {
    const path = join(dir, file);
    if (!existsSync(path)) throw new CorruptFileError('missing: the run was committed with it', path);
    const size = statSync(path).size;
    if (size < want.bytes) throw new CorruptFileError(`${size} bytes, but ${want.bytes} were committed: the file was cut`, path);
    if (sha256File(path, want.bytes) !== want.sha256)
      throw new CorruptFileError(
        'its checksum differs from the one recorded when the run was committed: the file changed (a damaged disk or copy?); restore the run folder or train it again',
        path,
      );
  }
}

/** Loads a run folder as a Recommender, without the training data. */
export function loadRun(dir: string): LoadedRun {
  recoverRunFolder(dir); // a training killed while it replaced the run: finish it, or leave the old run whole
  const manifest = readManifest(dir);
  const store = CatalogueStore.open(dir, { readonly: true });
  let catalogue: Catalogue;
  let embeddingRows: number;
  let integrity: string | undefined;
  try {
    catalogue = store.read();
    embeddingRows = store.embeddingRows();
    integrity = store.meta(INTEGRITY_KEY);
  } finally {
    store.close();
  }
  if (integrity !== undefined) checkIntegrity(dir, manifest.kind, integrity);
  const nU = catalogue.userIds.length;
  const nI = catalogue.itemIds.length;
  const weights = () => finiteWeights(join(dir, 'weights.safetensors'));
  switch (manifest.kind) {
    case 'random':
      return { dir, manifest, catalogue, recommender: new RandomRecommender(nU, nI, manifest.seed) };
    case 'popularity':
      return { dir, manifest, catalogue, recommender: new PopularityRecommender(nU, catalogue.itemTrainCount) };
    case 'bpr-mf':
    case 'vbpr': {
      const cfg = manifest.config;
      const w = weights();
      const feats = w.get('features');
      const model = new FactorModel(nU, nI, cfg, manifest.seed, feats ? { data: feats.data(), dim: feats.shape[1]! } : undefined);
      model.loadStateDict(w, join(dir, 'weights.safetensors'));
      return { dir, manifest, catalogue, recommender: model };
    }
    case 'dvbpr': {
      const enc = manifest.config.encoder;
      const model = new Dvbpr(enc, nU, manifest.seed);
      model.loadStateDict(weights(), join(dir, 'weights.safetensors'));
      model.eval();
      if (embeddingRows !== nI)
        throw new BadInputError(`the catalogue has ${nI} items but ${embeddingRows} committed embedding rows (did training finish?)`, {
          file: join(dir, CATALOGUE_FILE),
        });
      const e = readEmbeddings(dir, nI, enc.k);
      const bad = e.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) throw new CorruptFileError(`item ${Math.floor(bad / enc.k)}'s embedding holds ${e[bad]}: not finite`, join(dir, EMBEDDINGS_FILE));
      return { dir, manifest, catalogue, recommender: new DvbprScorer(model.theta.data(), e, enc.k), dvbpr: model };
    }
  }
}

export function userIndexOf(c: Catalogue, userId: string): number {
  const u = c.userIndex.get(userId);
  if (u === undefined) throw new NotFoundError('user', userId);
  return u;
}

/** A category's index; an unknown one is a NotFoundError listing the known ones. */
export function categoryIndexOf(c: Catalogue, category: string): number {
  const i = c.categories.indexOf(category);
  if (i < 0) throw new NotFoundError(`category (known: ${c.categories.join(', ')})`, category);
  return i;
}

export function purchasesOf(c: Catalogue, u: number): Int32Array {
  return c.purchaseItems.subarray(c.purchaseOffsets[u]!, c.purchaseOffsets[u + 1]!);
}

/** The shopper's taste vector θ_u [K] of a DVBPR run. */
export function thetaOf(run: LoadedRun, userId: string): Float32Array {
  const model = dvbprOf(run);
  const u = userIndexOf(run.catalogue, userId);
  const k = model.encoderConfig.k;
  return tidy(() => model.theta.narrow(0, u, 1).reshape([k]).data());
}
