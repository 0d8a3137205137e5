/**
 * How training replaces a run folder's model without losing what the folder gained since
 * (uploads, designs), and without a moment at which the folder is half old, half new.
 *
 * `commitRun` builds the new weights, embeddings, catalogue and manifest in `<dir>/.commit/`: the
 * catalogue from the dataset, plus every item uploaded to the served run (re-embedded by the new
 * encoder) and every design kept. It then writes `.commit/COMMIT` (the commit point) and renames
 * the files into place. `recoverRunFolder` finishes a commit that a killed process left after its
 * commit point, and removes one left before it (the folder's own files are then untouched), so the
 * folder is always either the old run or the new one. Nothing of the old run is removed before the
 * commit point: a training that fails or is killed leaves the run as it was.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BadInputError } from '../core/errors.js';
import { faultPoint } from '../core/fault.js';
import { sha256File, writeFileAtomic, writeJsonAtomic } from '../core/fs.js';
import type { Dataset } from '../data/dataset.js';
import { noGrad, saveSafetensors, type Tensor } from '../torch/index.js';
import { CHECKPOINT_STATE, CHECKPOINT_TENSORS } from '../train/checkpoint.js';
import { CATALOGUE_FILE, catalogueSourceOf, CatalogueStore, EMBEDDINGS_FILE, writeCatalogueDb } from './catalogue-db.js';
import { LOCK_FILE, lockFolder, type FolderLock } from './lock.js';
import type { RunManifest } from './run.js';

export const STAGING = '.commit';
const COMMIT = 'COMMIT';

export interface RunArtifacts {
  manifest: RunManifest;
  /** the dataset the model was trained on: the new catalogue's items, shoppers and purchases */
  dataset: Dataset;
  /** the model's weights (weights.safetensors), when it has any */
  weights?: { tensors: Map<string, Tensor>; metadata: Record<string, string> };
  /**
   * DVBPR: Φ of the dataset's items [N, K], and Φ of uploaded photos (fitted pixels [n, S, S, 3]
   * at their size S), so that the uploads the folder keeps are embedded by the new encoder
   */
  embeddings?: { e: Float32Array; k: number; embed: (pixels: Uint8Array, n: number, size: number) => Float32Array };
}

/**
 * Refuses to train into a folder that is not a run folder of `kinds` (or a new, empty one, or one
 * an interrupted training left): a dataset, or a folder of the user's own files, is never written
 * over. The folder's lock (taken first) does not count as content.
 */
export function checkRunOutput(dir: string, kinds: readonly string[]): void {
  if (!existsSync(dir)) return;
  const entries = readdirSync(dir)
    .filter((n) => n !== LOCK_FILE && !n.startsWith(`${LOCK_FILE}.`))
    .sort();
  if (entries.length === 0) return;
  if (existsSync(join(dir, 'manifest.json'))) {
    let kind: unknown;
    try {
      kind = (JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { kind?: unknown }).kind;
    } catch {
      kind = undefined;
    }
    if (typeof kind === 'string' && kinds.includes(kind)) return;
    throw new BadInputError(
      `--out holds a manifest.json that is not a ${kinds.join('/')} run's (kind ${String(kind)}): refusing to write over it; name another folder`,
      { file: dir },
    );
  }
  // a training of ours, interrupted before its first commit (the tensors file alone: killed
  // between the two files of its first checkpoint)
  if (existsSync(join(dir, CHECKPOINT_STATE)) || existsSync(join(dir, CHECKPOINT_TENSORS))) return;
  throw new BadInputError(
    `--out exists and is not a run folder (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}): refusing to write into it; name a new folder`,
    { file: dir },
  );
}

/**
 * `--resume` continues a run with the settings it has: a flag that would change one (another
 * --lr, --seed, --like's settings) is refused, naming each setting with both values, rather than
 * written into the manifest over what the checkpoint was trained with. `free` names the settings a
 * resume may change (the epoch count, to train on).
 */
export function checkResumedSettings(dir: string, config: object, free: readonly string[]): void {
  const path = join(dir, 'manifest.json');
  if (!existsSync(path)) return;
  let old: unknown;
  try {
    old = (JSON.parse(readFileSync(path, 'utf8')) as { config?: unknown }).config;
  } catch {
    return; // an unreadable manifest is reported by the run's own checks
  }
  if (!old || typeof old !== 'object') return;
  const leaves = (o: unknown, at = ''): Map<string, string> => {
    const m = new Map<string, string>();
    if (o && typeof o === 'object' && !Array.isArray(o))
      for (const [k, v] of Object.entries(o)) for (const [kk, vv] of leaves(v, at ? `${at}.${k}` : k)) m.set(kk, vv);
    else m.set(at, JSON.stringify(o) ?? 'absent');
    return m;
  };
  const was = leaves(old);
  const now = leaves(config);
  const differ = [...new Set([...was.keys(), ...now.keys()])].filter((k) => !free.includes(k) && (was.get(k) ?? 'absent') !== (now.get(k) ?? 'absent'));
  if (differ.length)
    throw new BadInputError(
      `--resume continues the run with its own settings; given ${differ
        .slice(0, 4)
        .map((k) => `${k} ${now.get(k) ?? 'absent'} (the run's: ${was.get(k) ?? 'absent'})`)
        .join(', ')}${differ.length > 4 ? `, … ${differ.length} in all` : ''}: drop those flags, or train into a new folder`,
      { file: dir },
    );
}

/**
 * Refuses an output folder that is a run or a dataset (it holds their manifest.json, catalogue or
 * checkpoint): a command whose outputs are its own files (design, improve, a folder of baseline
 * runs) never writes them into a folder another command owns.
 */
export function assertNotArtifactFolder(dir: string, command: string): void {
  if (!existsSync(dir)) return;
  const owned = ['manifest.json', CATALOGUE_FILE, CHECKPOINT_TENSORS, CHECKPOINT_STATE, 'images.u8'].find((f) => existsSync(join(dir, f)));
  if (owned)
    throw new BadInputError(`--out is a run or dataset folder (it holds ${owned}): ${command} writes files of its own; name another folder`, { file: dir });
}

/** How many items were uploaded to the run in `dir` after its training (0 without a catalogue). */
export function uploadedItemCount(dir: string): number {
  if (!existsSync(join(dir, CATALOGUE_FILE))) return 0;
  const store = CatalogueStore.open(dir, { readonly: true });
  try {
    return store.uploadedItems().length;
  } finally {
    store.close();
  }
}

/** Refuses, before any training, to put a model that cannot embed photos into a folder holding uploads. */
export function assertKeepsUploads(dir: string, kind: string): void {
  const n = uploadedItemCount(dir);
  if (n > 0) throw uploadsWouldBeLost(dir, n, kind);
}

/**
 * Refuses, before any training, to retrain at another image size into a folder holding uploads:
 * their photos are kept fitted at the size they were served at, and another encoder size would
 * embed (and the server show) them at the wrong size.
 */
export function assertUploadsFit(dir: string, imageSize: number): void {
  if (!existsSync(join(dir, CATALOGUE_FILE))) return;
  const store = CatalogueStore.open(dir, { readonly: true });
  try {
    checkUploadSizes(dir, store.uploadedItems(), imageSize);
  } finally {
    store.close();
  }
}

function checkUploadSizes(dir: string, uploads: ReturnType<CatalogueStore['uploadedItems']>, imageSize: number): void {
  const wrong = uploads.filter((u) => u.pixels.length !== imageSize * imageSize * 3);
  if (wrong.length) {
    const size = Math.round(Math.sqrt(wrong[0]!.pixels.length / 3));
    throw new BadInputError(
      `holds ${wrong.length} item(s) uploaded to the served run at ${size} px (first '${wrong[0]!.itemId}'); this dataset is ${imageSize} px, so they would be embedded and shown at the wrong size: retrain at ${size} px, or into another folder`,
      { file: dir },
    );
  }
}

const uploadsWouldBeLost = (dir: string, n: number, kind: string) =>
  new BadInputError(
    `holds ${n} item(s) uploaded to the served run; a ${kind} model cannot embed photos, so training it here would lose them: train into another folder`,
    {
      file: dir,
    },
  );

/** Takes the lock of a training's output folder (made if missing) and checks that it may be written (checkRunOutput). */
export function lockRunOutput(dir: string, command: string, kinds: readonly string[]): FolderLock {
  const made = !existsSync(dir);
  const lock = lockFolder(dir, command, { create: true });
  // a folder this command made and left empty (a training that failed before writing) is removed with the lock
  const release = () => {
    lock.release();
    if (made && existsSync(dir) && readdirSync(dir).length === 0) rmdirSync(dir);
  };
  try {
    checkRunOutput(dir, kinds);
  } catch (e) {
    release();
    throw e;
  }
  return { dir, release };
}

/** Runs a training holding its output folder's lock (lockRunOutput), released however it ends. */
export async function withRunOutput<T>(dir: string, command: string, kinds: readonly string[], fn: () => Promise<T>): Promise<T> {
  const lock = lockRunOutput(dir, command, kinds);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

/** The catalogue's meta key of the commit's integrity record. */
export const INTEGRITY_KEY = 'integrity';

/**
 * What a commit wrote, to be checked on load: the run's kind (a manifest edited to another kind
 * is caught) and the SHA-256 and length of its weights and embedding files (a flipped byte is
 * caught rather than moving every ranking). The embeddings' record covers the rows written at the
 * commit: uploads append rows after them.
 */
export interface IntegrityRecord {
  kind: string;
  files: Record<string, { bytes: number; sha256: string }>;
}

function recordIntegrity(stage: string, kind: string, files: string[]): void {
  const record: IntegrityRecord = { kind, files: {} };
  for (const f of files.filter((n) => n !== CATALOGUE_FILE)) {
    const path = join(stage, f);
    record.files[f] = { bytes: statSync(path).size, sha256: sha256File(path) };
  }
  const store = CatalogueStore.open(stage);
  try {
    store.setMeta(INTEGRITY_KEY, JSON.stringify(record));
  } finally {
    store.close();
  }
}

/** Finishes a commit past its commit point, or removes one that never reached it. */
export function recoverRunFolder(dir: string): void {
  const stage = join(dir, STAGING);
  if (!existsSync(stage)) return;
  if (existsSync(join(stage, COMMIT))) finishCommit(dir);
  else rmSync(stage, { recursive: true, force: true });
}

function finishCommit(dir: string): void {
  const stage = join(dir, STAGING);
  const { files } = JSON.parse(readFileSync(join(stage, COMMIT), 'utf8')) as { files: string[] };
  for (const f of files) {
    try {
      renameSync(join(stage, f), join(dir, f));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; // already moved (by another reader finishing the same commit)
    }
    faultPoint('run-commit:moving');
  }
  rmSync(stage, { recursive: true, force: true });
}

export function commitRun(dir: string, a: RunArtifacts): void {
  recoverRunFolder(dir);
  const stage = join(dir, STAGING);
  mkdirSync(stage, { recursive: true });
  // what the folder gained since its last training
  let uploads: ReturnType<CatalogueStore['uploadedItems']> = [];
  let designs: ReturnType<CatalogueStore['allDesigns']> = [];
  if (existsSync(join(dir, CATALOGUE_FILE))) {
    const old = CatalogueStore.open(dir, { readonly: true });
    try {
      uploads = old.uploadedItems();
      designs = old.allDesigns();
    } finally {
      old.close();
    }
  }
  const ds = a.dataset;
  const m = a.manifest;
  if (uploads.length && !a.embeddings) throw uploadsWouldBeLost(dir, uploads.length, m.kind);
  checkUploadSizes(dir, uploads, ds.imageSize);
  // an uploaded item that the new dataset has itself (ingested since) is the dataset's
  const inDataset = new Set(ds.itemIds);
  const carried = uploads.filter((u) => !inDataset.has(u.itemId));
  writeCatalogueDb(dir, catalogueSourceOf(ds), { kind: m.kind, name: m.name, createdAt: m.createdAt, manifest: m }, stage);
  const files = [CATALOGUE_FILE];
  const store = CatalogueStore.open(stage);
  try {
    if (a.embeddings) {
      const { e, k, embed } = a.embeddings;
      const n0 = ds.itemIds.length;
      const all = new Float32Array((n0 + carried.length) * k);
      all.set(e);
      // each upload's fitted pixels, re-embedded by the new encoder
      carried.forEach((u, j) => all.set(embed(u.pixels, 1, Math.round(Math.sqrt(u.pixels.length / 3))), (n0 + j) * k));
      writeFileAtomic(join(stage, EMBEDDINGS_FILE), new Uint8Array(all.buffer));
      files.push(EMBEDDINGS_FILE);
      store.setEmbeddingRows(n0);
      const categories = [...ds.categories];
      carried.forEach((u, j) => {
        let c = categories.indexOf(u.categoryName);
        if (c < 0) c = (categories.push(u.categoryName), store.addCategory(u.categoryName));
        store.addItem(
          n0 + j,
          { itemId: u.itemId, category: c, image: u.image, pixels: u.pixels, ...(u.product !== undefined ? { product: u.product } : {}) },
          u.addedAt,
        );
      });
    }
    for (const d of designs) store.recordDesign(d, d.createdAt);
    store.recordRun(dir, m);
  } finally {
    store.close();
  }
  if (a.weights) {
    noGrad(() => saveSafetensors(join(stage, 'weights.safetensors'), a.weights!.tensors, a.weights!.metadata));
    files.push('weights.safetensors');
  }
  recordIntegrity(stage, m.kind, files);
  writeJsonAtomic(join(stage, 'manifest.json'), m);
  files.push('manifest.json'); // moved last: a finished manifest names a finished run
  faultPoint('run-commit:staged');
  writeJsonAtomic(join(stage, COMMIT), { files }); // the commit point
  faultPoint('run-commit:committed');
  finishCommit(dir);
}
