/**
 * One interface for every recommender (random, popularity, BPR-MF, VBPR, DVBPR): scores of every
 * catalogue item for a set of users. Users are dense indices here; ids are mapped at the edges.
 */
import { NotFoundError } from '../core/errors.js';
import type { Tensor } from '../torch/index.js';

export type RecommenderKind = 'random' | 'popularity' | 'bpr-mf' | 'vbpr' | 'dvbpr';

export interface Recommender {
  readonly kind: RecommenderKind;
  readonly numUsers: number;
  readonly numItems: number;
  /** Scores of every item for each user: row-major [users.length, numItems]. */
  scoreUsers(users: Int32Array): Float32Array;
  /** The same as a tensor [users.length, numItems] (models scored in libtorch; evaluation then counts there). */
  scoreTensor?(users: Int32Array): Tensor;
  /**
   * Models with item embeddings: cos(e_i, e_j) of every item i to each of the given items j,
   * row-major [items.length, numItems] (the recency and basket priors, models/ranking).
   */
  similarTo?(items: Int32Array): Float32Array;
  /** Models with item embeddings: their dimension, and the embeddings of the given items [rows, K]. */
  readonly embeddingDim?: number;
  embeddingsOf?(rows: Int32Array): Float32Array;
}

export function checkUsers(users: Int32Array, numUsers: number): void {
  for (const u of users) if (!(u >= 0 && u < numUsers)) throw new NotFoundError('user index', String(u));
}
