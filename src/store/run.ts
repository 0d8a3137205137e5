/**
 * A run folder: everything needed to recommend without the training data.
 *
 *   manifest.json         kind, config, seed, dataset hash, versions, metrics, history
 *   catalogue.json        item ids, categories, item category, training counts (cold items), user ids
 *   purchases.i32         each user's known items (train + valid + test), CSR: [U+1 offsets..., items...]
 *   weights.safetensors   model weights (best validation), when the model has any
 *   item-embeddings.f32   DVBPR: Φ(X_i) for every catalogue item [N, K]
 *   checkpoint.*          the last epoch's training state, for --resume
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BadInputError, NotFoundError } from '../core/errors.js';
import { readJsonFile, writeFileAtomic, writeJsonAtomic } from '../core/fs.js';
import type { Dataset } from '../data/dataset.js';
import type { EncoderConfig } from '../config/dvbpr.js';
import { Dvbpr, DvbprScorer } from '../models/dvbpr.js';
import { FactorModel, type FactorConfig } from '../models/mf.js';
import type { Recommender, RecommenderKind } from '../models/recommender.js';
import { PopularityRecommender, RandomRecommender } from '../models/simple.js';
import { loadSafetensors } from '../torch/index.js';

export const RUN_FORMAT = 1;

export interface RunManifest {
  format: number;
  kind: RecommenderKind;
  name: string;
  createdAt: string;
  finishedAt?: string;
  seed: number;
  config: Record<string, unknown>;
  dataset: { path: string; dataHash: string; imageSize: number; items: number; users: number };
  versions: Record<string, string>;
  metrics: Record<string, unknown>;
  history: unknown[];
  embeddings?: { file: string; count: number; k: number };
}

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
}

export function writeCatalogue(dir: string, ds: Dataset): void {
  writeJsonAtomic(join(dir, 'catalogue.json'), {
    itemIds: ds.itemIds,
    userIds: ds.userIds,
    categories: ds.categories,
    itemCategory: Array.from(ds.itemCategory),
    itemTrainCount: Array.from(ds.itemTrainCount),
  });
  const per = Array.from({ length: ds.userIds.length }, () => new Set<number>());
  for (const p of [ds.train, ds.valid, ds.test]) for (let x = 0; x < p.user.length; x++) per[p.user[x]!]!.add(p.item[x]!);
  const offsets = new Int32Array(per.length + 1);
  per.forEach((s, u) => (offsets[u + 1] = offsets[u]! + s.size));
  const items = new Int32Array(offsets[per.length]!);
  per.forEach((s, u) => items.set(Int32Array.from([...s].sort((a, b) => a - b)), offsets[u]!));
  const all = new Int32Array(offsets.length + items.length);
  all.set(offsets);
  all.set(items, offsets.length);
  writeFileAtomic(join(dir, 'purchases.i32'), new Uint8Array(all.buffer));
}

const readJson = <T>(path: string): T => readJsonFile<T>(path, 'is this a run folder?');

export function readCatalogue(dir: string): Catalogue {
  const c = readJson<{ itemIds: string[]; userIds: string[]; categories: string[]; itemCategory: number[]; itemTrainCount: number[] }>(join(dir, 'catalogue.json'));
  const buf = readFileSync(join(dir, 'purchases.i32'));
  const all = new Int32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const u = c.userIds.length;
  return {
    itemIds: c.itemIds,
    userIds: c.userIds,
    categories: c.categories,
    itemCategory: Int32Array.from(c.itemCategory),
    itemTrainCount: Int32Array.from(c.itemTrainCount),
    purchaseOffsets: all.slice(0, u + 1),
    purchaseItems: all.slice(u + 1),
    itemIndex: new Map(c.itemIds.map((id, i) => [id, i])),
    userIndex: new Map(c.userIds.map((id, i) => [id, i])),
  };
}

export function writeManifest(dir: string, m: RunManifest): void {
  writeJsonAtomic(join(dir, 'manifest.json'), m);
}

export function readManifest(dir: string): RunManifest {
  const m = readJson<RunManifest>(join(dir, 'manifest.json'));
  if (m.format !== RUN_FORMAT) throw new BadInputError(`run format ${m.format}, expected ${RUN_FORMAT}`, { file: join(dir, 'manifest.json') });
  return m;
}

export function writeEmbeddings(dir: string, e: Float32Array): void {
  writeFileAtomic(join(dir, 'item-embeddings.f32'), new Uint8Array(e.buffer, e.byteOffset, e.byteLength));
}

export function readEmbeddings(dir: string, count: number, k: number): Float32Array {
  const path = join(dir, 'item-embeddings.f32');
  if (!existsSync(path)) throw new BadInputError('missing item embeddings', { file: path });
  const buf = readFileSync(path);
  if (buf.byteLength !== count * k * 4) throw new BadInputError(`${buf.byteLength} bytes, expected ${count}×${k} float32`, { file: path });
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

export interface LoadedRun {
  dir: string;
  manifest: RunManifest;
  catalogue: Catalogue;
  recommender: Recommender;
  /** DVBPR only: the full model (encoder for new images) */
  dvbpr?: Dvbpr;
}

/** Loads a run folder as a Recommender, without the training data. */
export function loadRun(dir: string): LoadedRun {
  const manifest = readManifest(dir);
  const catalogue = readCatalogue(dir);
  const nU = catalogue.userIds.length;
  const nI = catalogue.itemIds.length;
  const weights = () => loadSafetensors(join(dir, 'weights.safetensors')).tensors;
  switch (manifest.kind) {
    case 'random':
      return { dir, manifest, catalogue, recommender: new RandomRecommender(nU, nI, manifest.seed) };
    case 'popularity':
      return { dir, manifest, catalogue, recommender: new PopularityRecommender(nU, catalogue.itemTrainCount) };
    case 'bpr-mf':
    case 'vbpr': {
      const cfg = manifest.config as unknown as FactorConfig & { featureDim: number };
      const w = weights();
      const feats = w.get('features');
      const model = new FactorModel(nU, nI, cfg, manifest.seed, feats ? { data: feats.data(), dim: feats.shape[1]! } : undefined);
      model.loadStateDict(w, join(dir, 'weights.safetensors'));
      return { dir, manifest, catalogue, recommender: model };
    }
    case 'dvbpr': {
      const enc = (manifest.config as { encoder: EncoderConfig }).encoder;
      const model = new Dvbpr(enc, nU, manifest.seed);
      model.loadStateDict(weights(), join(dir, 'weights.safetensors'));
      model.eval();
      const e = readEmbeddings(dir, nI, enc.k);
      return { dir, manifest, catalogue, recommender: new DvbprScorer(model.theta.data(), e, enc.k), dvbpr: model };
    }
    default:
      throw new BadInputError(`unknown run kind '${String(manifest.kind)}'`, { file: join(dir, 'manifest.json') });
  }
}

export function userIndexOf(c: Catalogue, userId: string): number {
  const u = c.userIndex.get(userId);
  if (u === undefined) throw new NotFoundError('user', userId);
  return u;
}

export function purchasesOf(c: Catalogue, u: number): Int32Array {
  return c.purchaseItems.subarray(c.purchaseOffsets[u]!, c.purchaseOffsets[u + 1]!);
}
