/**
 * A ranking prior: one term added, with a weight, to a shopper's standardised model scores
 * (docs/method.md §7). Each prior is one file of this folder that registers itself; a policy
 * (policy.ts) names the weights, and one function applies it for evaluation and for serving, over
 * the whole catalogue or over an index's candidates.
 */
import { InvalidArgumentError } from '../../core/errors.js';
import type { Recommender } from '../recommender.js';

/** Items per shopper, packed: shopper u's are items[offsets[u] .. offsets[u + 1]) (data/split.ts Baskets has this shape). */
export interface ItemLists {
  offsets: Int32Array;
  items: Int32Array;
}

/**
 * What a prior may read when shoppers are ranked: what the shop knows at that moment. In
 * evaluation, every purchase but the one predicted (and the test item when a validation item is);
 * in serving, every purchase. Item arrays may grow after a term is prepared (items uploaded while
 * served): terms read them when they are called.
 */
export interface ShopHistory {
  readonly numUsers: number;
  /** each shopper's distinct known items, sorted */
  readonly known: ItemLists;
  /** each shopper's latest basket: every item of their latest purchase time */
  readonly basket: ItemLists;
  /** each shopper's latest purchase (−1: none) */
  readonly latest: Int32Array;
  /** the purchases shop-wide statistics count (co-purchases): the training pairs in evaluation, every purchase in serving */
  readonly counted: ItemLists;
  readonly itemCategory: Int32Array;
  readonly numCategories: number;
  /** each item's product (−1: none); absent when the shop names none */
  readonly itemProduct?: Int32Array;
  /** training purchases per item */
  readonly itemTrainCount: Int32Array;
}

export interface PriorTerm {
  /** Adds w·term(u, i) to row[r] for every item i = items ? items[r] : r. */
  add(u: number, row: Float32Array, w: number, items?: Int32Array): void;
  /** Items this prior lifts for u that the model's own top may miss (the index path ranks them too). */
  candidates?(u: number): ArrayLike<number>;
}

export interface Prior {
  /** the one name of the prior: the policy's key, `--prior-<name>` on the CLI, `prior-<name>` in the API */
  readonly name: string;
  /** what the term is, in a line (help text) */
  readonly summary: string;
  /** the weights validation tries, 0 (off) first */
  readonly grid: readonly number[];
  /** whether the term means anything for this shop and model (a product prior needs products) */
  available(h: ShopHistory, rec: Recommender): boolean;
  prepare(h: ShopHistory, rec: Recommender): PriorTerm;
}

const registry = new Map<string, Prior>();

/** Adds a prior to the registry: its flag, query key, policy key and validation grid follow from it. */
export function registerPrior(p: Prior): Prior {
  if (!/^[a-z][a-z0-9]*$/.test(p.name)) throw new InvalidArgumentError(`a prior's name is lower-case letters and digits, got '${p.name}'`);
  if (registry.has(p.name)) throw new InvalidArgumentError(`a prior named '${p.name}' is already registered`);
  if (p.grid[0] !== 0 || p.grid.some((w) => !(w >= 0 && Number.isFinite(w))))
    throw new InvalidArgumentError(`prior '${p.name}': its grid starts at 0 and holds finite weights ≥ 0`);
  registry.set(p.name, p);
  return p;
}

/** Every registered prior, in registration order (the order the policy search visits them). */
export function registeredPriors(): Prior[] {
  return [...registry.values()];
}

export function priorNamed(name: string): Prior {
  const p = registry.get(name);
  if (!p) throw new InvalidArgumentError(`no prior named '${name}' (the priors: ${[...registry.keys()].join(', ')})`);
  return p;
}

/** User u's items of a packed list. */
export function itemsOf(b: ItemLists, u: number): Int32Array {
  return u + 1 < b.offsets.length ? b.items.subarray(b.offsets[u]!, b.offsets[u + 1]!) : new Int32Array(0);
}

/**
 * cos(e_i, e_j) of items i (all, or `items`) to each item j of `anchors`, added into row with weight
 * w / anchors.length (their mean): the recency and basket priors.
 */
export function addMeanCosine(rec: Recommender, anchors: Int32Array, row: Float32Array, w: number, items?: Int32Array): void {
  if (!anchors.length) return;
  const scale = w / anchors.length;
  if (!items) {
    const sim = rec.similarTo!(anchors);
    const n = row.length;
    for (let a = 0; a < anchors.length; a++) for (let i = 0; i < n; i++) row[i]! += scale * sim[a * n + i]!;
    return;
  }
  const k = rec.embeddingDim!;
  const unit = (e: Float32Array) => {
    for (let r = 0; r < e.length / k; r++) {
      let s = 0;
      for (let c = 0; c < k; c++) s += e[r * k + c]! ** 2;
      const norm = Math.max(Math.sqrt(s), 1e-12);
      for (let c = 0; c < k; c++) e[r * k + c]! /= norm;
    }
    return e;
  };
  const A = unit(rec.embeddingsOf!(anchors));
  const E = unit(rec.embeddingsOf!(items));
  for (let r = 0; r < items.length; r++) {
    let s = 0;
    for (let a = 0; a < anchors.length; a++) for (let c = 0; c < k; c++) s += A[a * k + c]! * E[r * k + c]!;
    row[r]! += scale * s;
  }
}
