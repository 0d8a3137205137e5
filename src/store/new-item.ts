/**
 * New items from their photo alone: the photo is fitted like the catalogue (same size and fit),
 * embedded by the run's encoder Φ, and scored by every shopper — no purchase needed.
 *
 * `addItem` also keeps it: the original photo goes to `uploads/` (temporary file + rename), its
 * embedding row is written in place at the end of item-embeddings.f32, then one catalogue
 * transaction adds the item and counts the row. A process killed at any point leaves either the
 * old catalogue (an extra, uncounted embedding row or photo at most) or the new one whole; the
 * next upload takes that row over and removes that photo. An upload that fails removes its photo.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { BadInputError, ConflictError, InUseError } from '../core/errors.js';
import { faultPoint } from '../core/fault.js';
import { writeFileAtomic } from '../core/fs.js';
import { fitImage, type Fit } from '../data/images.js';
import { DvbprScorer } from '../models/dvbpr.js';
import { toInput } from '../models/encoder.js';
import { noGrad, tensor, tidy } from '../torch/index.js';
import { appendItem, type CatalogueStore } from './catalogue-db.js';
import { appendEmbedding, type LoadedRun } from './run.js';

export interface NewItemScores {
  /** Φ(X) [K] */
  embedding: Float32Array;
  /** θ_uᵀΦ(X) for every shopper [U] */
  scores: Float32Array;
  /** the photo fitted to the dataset's size, uint8 [S, S, 3] */
  pixels: Uint8Array;
}

export async function scoreNewItem(run: LoadedRun, photo: Buffer, source: string, fit: Fit = run.catalogue.imageFit): Promise<NewItemScores> {
  if (!run.dvbpr) throw new BadInputError(`run kind '${run.manifest.kind}' cannot embed photos: use a DVBPR run`);
  const size = run.manifest.dataset.imageSize;
  let pixels: Uint8Array;
  try {
    pixels = await fitImage(photo, size, fit);
  } catch (e) {
    throw new BadInputError(`not a readable image: ${(e as Error).message}`, { file: source });
  }
  const model = run.dvbpr;
  return noGrad(() =>
    tidy(() => {
      const e = model.encoder.forward(toInput(tensor(pixels, [1, size, size, 3]))); // [1, K]
      return { embedding: e.data(), scores: model.theta.matmul(e.transpose(0, 1)).data(), pixels }; // [U]
    }),
  );
}

/** The k shoppers with the highest scores for an item, best first. */
export function topShoppers(run: LoadedRun, scores: Float32Array, k: number): { userId: string; score: number }[] {
  const order = Array.from(scores.keys()).sort((a, b) => scores[b]! - scores[a]!);
  return order.slice(0, k).map((u) => ({ userId: run.catalogue.userIds[u]!, score: scores[u]! }));
}

export const ITEM_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface AddItemRequest {
  photo: Buffer;
  category: string;
  /** the new item's id; one is made up when left out */
  itemId?: string;
  /** the product it is another colour of (a catalogue product or a new one), for the product prior */
  product?: string;
  /** where the photo came from, for messages (a file name, "upload") */
  source: string;
}

export interface AddedItem {
  itemId: string;
  index: number;
  category: string;
  /** the shoppers who would like it most, best first */
  topShoppers: { userId: string; score: number }[];
  /** Φ(X) [K] */
  embedding: Float32Array;
}

/**
 * Photos (and unfinished temporary files) an upload left that no committed item names (a process
 * killed before its transaction committed). Only a killed process leaves them (an upload that fails
 * removes its own), so each loaded run is swept once, at its first upload. Only names of the
 * uploads' own pattern (`<row>-<id>.<ext>`, or its temporary form) are ever removed; the photos of
 * items kept through a retraining keep their names and are named by the catalogue.
 */
const swept = new WeakSet<LoadedRun>();
function removeUncommittedPhotos(run: LoadedRun, store: CatalogueStore): void {
  if (swept.has(run)) return;
  swept.add(run);
  const dir = join(run.dir, 'uploads');
  if (!existsSync(dir)) return;
  const named = store.imagePaths();
  for (const name of readdirSync(dir)) {
    if (/^\.?\d+-/.test(name) && !named.has(join('uploads', name))) rmSync(join(dir, name), { force: true });
  }
}

/** Adds an item to a served DVBPR run: persisted, and recommendable as soon as this returns. */
export async function addItem(run: LoadedRun, store: CatalogueStore, r: AddItemRequest): Promise<AddedItem> {
  if (!(run.recommender instanceof DvbprScorer))
    throw new BadInputError(`run kind '${run.manifest.kind}' cannot take new items: it has no image encoder (use a DVBPR run)`);
  const cat = run.catalogue;
  const c = cat.categories.indexOf(r.category);
  if (c < 0) throw new BadInputError(`category: unknown category '${r.category}' (known: ${cat.categories.join(', ')})`);
  if (r.itemId !== undefined && !ITEM_ID.test(r.itemId))
    throw new BadInputError(`itemId: '${r.itemId}' is not an item id (letters, digits, '.', '_', '-'; at most 64)`);
  const itemId = r.itemId ?? `new-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  if (cat.itemIndex.has(itemId)) throw new ConflictError('item', itemId);
  const s = await scoreNewItem(run, r.photo, r.source);
  const format = (await sharp(r.photo).metadata()).format ?? 'img';
  // everything below is synchronous: no other request can take the same row meanwhile
  if (cat.itemIndex.has(itemId)) throw new ConflictError('item', itemId);
  const index = cat.itemIds.length;
  // checked before anything is written: another process that added items would lose them here
  const committed = store.itemCount();
  if (committed !== index)
    throw new InUseError(`the catalogue has ${committed} items, not the ${index} this server knows: another process wrote to it (one writer per run folder)`);
  const image = join('uploads', `${index}-${itemId}.${format}`);
  removeUncommittedPhotos(run, store);
  writeFileAtomic(join(run.dir, image), r.photo);
  try {
    appendEmbedding(run.dir, index, s.embedding);
    faultPoint('add-item:after-embedding');
    store.addItem(index, { itemId, category: c, image, pixels: s.pixels, ...(r.product !== undefined ? { product: r.product } : {}) });
  } catch (e) {
    rmSync(join(run.dir, image), { force: true }); // not committed: the photo goes too (the row is overwritten by the next upload)
    throw e;
  }
  appendItem(cat, itemId, c, s.pixels, r.product);
  run.recommender.addItems(s.embedding);
  return { itemId, index, category: r.category, embedding: s.embedding, topShoppers: topShoppers(run, s.scores, 5) };
}
