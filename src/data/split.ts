/**
 * Splits of distinct (user, item) interactions.
 * - paper: users with ≥ minUserItems distinct items (and at least 3) are evaluated: one random item
 *   each to validation and one to test (seeded); the rest train (method.md §2).
 * - temporal: the same rule; the user's last item (by first purchase time) to test, the one
 *   before to validation.
 * A user below the threshold is not dropped: every purchase of theirs trains (they get a taste
 * vector and recommendations) and none is held out, so the evaluation is the paper's.
 * Optional k-core filtering first (users and items with ≥ k interactions, repeated to a fixpoint).
 */
import { GrowableInt32 } from './growable.js';
import { Rng } from '../core/rng.js';

export type SplitKind = 'paper' | 'temporal';

export interface Pairs {
  user: Int32Array;
  item: Int32Array;
  /** first purchase time of the pair (ms since epoch, or order of appearance) */
  time: Float64Array;
}

export interface Split {
  train: { user: Int32Array; item: Int32Array };
  valid: { user: Int32Array; item: Int32Array };
  test: { user: Int32Array; item: Int32Array };
  /** kept users in the dense user space of the input (every user with a pair left after k-core) */
  keptUsers: number;
  /** of them, those with a validation and a test item (≥ minUserItems distinct items) */
  evaluatedUsers: number;
  /** training interactions per item (0 = cold) */
  itemTrainCount: Int32Array;
  /**
   * each user's latest purchase by first purchase time (ties: the later in the input), among the
   * training pairs, among all but the test pair (`known`: what is known when the test item is
   * predicted; on the temporal split the validation item) and among all of theirs; −1 for a user
   * with none (the recency prior, models/ranking)
   */
  latest: { train: Int32Array; known: Int32Array; all: Int32Array };
  /**
   * each user's latest basket in the same three histories: every item whose first purchase time is
   * the latest (the day's purchases when times are days; the latest item alone when the source has
   * no times and a row's order stands for one) — the basket and co-purchase priors (models/ranking)
   */
  baskets: { train: Baskets; known: Baskets; all: Baskets };
}

/** Items per user, packed: user u's are items[offsets[u] .. offsets[u + 1]). */
export interface Baskets {
  offsets: Int32Array;
  items: Int32Array;
}

/** Packs per-user item lists. */
export function packBaskets(lists: ArrayLike<number>[]): Baskets {
  const offsets = new Int32Array(lists.length + 1);
  for (let u = 0; u < lists.length; u++) offsets[u + 1] = offsets[u]! + lists[u]!.length;
  const items = new Int32Array(offsets[lists.length]!);
  for (let u = 0; u < lists.length; u++) items.set(lists[u]!, offsets[u]!);
  return { offsets, items };
}

/** Each user's distinct items of the given pairs, sorted, packed (users 0..numUsers − 1). */
export function packPairs(pairs: { user: Int32Array; item: Int32Array }[], numUsers: number): Baskets {
  const offsets = new Int32Array(numUsers + 1);
  for (const p of pairs) for (const u of p.user) offsets[u + 1]!++;
  for (let u = 0; u < numUsers; u++) offsets[u + 1]! += offsets[u]!;
  const items = new Int32Array(offsets[numUsers]!);
  const at = offsets.slice(0, numUsers);
  for (const p of pairs) for (let x = 0; x < p.user.length; x++) items[at[p.user[x]!]!++] = p.item[x]!;
  // sorted, repeats dropped, compacted
  const out = new Int32Array(items.length);
  const start = new Int32Array(numUsers + 1);
  let m = 0;
  for (let u = 0; u < numUsers; u++) {
    const seg = items.subarray(offsets[u]!, offsets[u + 1]!).sort();
    for (let k = 0; k < seg.length; k++) if (k === 0 || seg[k] !== seg[k - 1]) out[m++] = seg[k]!;
    start[u + 1] = m;
  }
  return { offsets: start, items: out.slice(0, m) };
}

export interface SplitOptions {
  kind: SplitKind;
  minUserItems: number;
  seed: number;
  kCore?: number;
}

/** Keeps users and items with at least k interactions, repeating until stable. Returns a mask over pairs. */
export function kCoreMask(p: Pairs, numUsers: number, numItems: number, k: number): Uint8Array {
  const keep = new Uint8Array(p.user.length).fill(1);
  for (;;) {
    const uc = new Int32Array(numUsers);
    const ic = new Int32Array(numItems);
    for (let x = 0; x < keep.length; x++) if (keep[x]) (uc[p.user[x]!]!++, ic[p.item[x]!]!++);
    let changed = false;
    for (let x = 0; x < keep.length; x++) {
      if (keep[x] && (uc[p.user[x]!]! < k || ic[p.item[x]!]! < k)) {
        keep[x] = 0;
        changed = true;
      }
    }
    if (!changed) return keep;
  }
}

/** Splits distinct pairs (users numbered 0..numUsers-1). Users below the threshold train only. */
export function splitInteractions(p: Pairs, numUsers: number, numItems: number, o: SplitOptions): Split {
  const mask = o.kCore ? kCoreMask(p, numUsers, numItems, o.kCore) : new Uint8Array(p.user.length).fill(1);
  // each user's rows, in input order, as runs of one array (1.37 M shoppers: no array per shopper)
  const start = new Int32Array(numUsers + 1);
  for (let x = 0; x < p.user.length; x++) if (mask[x]) start[p.user[x]! + 1]!++;
  for (let u = 0; u < numUsers; u++) start[u + 1]! += start[u]!;
  const rowsByUser = new Int32Array(start[numUsers]!);
  const fill = start.slice(0, numUsers);
  for (let x = 0; x < p.user.length; x++) if (mask[x]) rowsByUser[fill[p.user[x]!]!++] = x;
  const rng = new Rng(o.seed);
  const pairsOut = (): [GrowableInt32, GrowableInt32] => [new GrowableInt32(), new GrowableInt32()];
  const tr = pairsOut();
  const va = pairsOut();
  const te = pairsOut();
  let keptUsers = 0;
  let evaluatedUsers = 0;
  const latestTrain = new Int32Array(numUsers).fill(-1);
  const latestKnown = new Int32Array(numUsers).fill(-1);
  const latestAll = new Int32Array(numUsers).fill(-1);
  const latestIn = (xs: ArrayLike<number>): number => {
    let b = -1;
    for (let k = 0; k < xs.length; k++) if (b < 0 || p.time[xs[k]!]! >= p.time[b]!) b = xs[k]!;
    return b;
  };
  const none: number[] = [];
  const basketTrain: number[][] = new Array(numUsers).fill(none);
  const basketKnown: number[][] = new Array(numUsers).fill(none);
  const basketAll: number[][] = new Array(numUsers).fill(none);
  // the items first bought at the latest time among xs, in input order
  const basketIn = (xs: ArrayLike<number>): number[] => {
    if (!xs.length) return none;
    let t = -Infinity;
    for (let k = 0; k < xs.length; k++) t = Math.max(t, p.time[xs[k]!]!);
    const basket: number[] = [];
    for (let k = 0; k < xs.length; k++) if (p.time[xs[k]!] === t) basket.push(p.item[xs[k]!]!);
    return basket;
  };
  for (let u = 0; u < numUsers; u++) {
    const run = rowsByUser.subarray(start[u]!, start[u + 1]!);
    if (run.length === 0) continue;
    const xs = Array.from(run);
    keptUsers++;
    latestAll[u] = p.item[latestIn(xs)]!;
    basketAll[u] = basketIn(xs);
    if (xs.length < o.minUserItems || xs.length < 3) {
      for (const x of xs) (tr[0].push(p.user[x]!), tr[1].push(p.item[x]!));
      latestTrain[u] = latestAll[u]!;
      latestKnown[u] = latestAll[u]!;
      basketTrain[u] = basketKnown[u] = basketAll[u]!;
      continue;
    }
    evaluatedUsers++;
    let testX: number;
    let validX: number;
    if (o.kind === 'temporal') {
      // stable order: time, then order of appearance
      xs.sort((a, b) => p.time[a]! - p.time[b]! || a - b);
      testX = xs[xs.length - 1]!;
      validX = xs[xs.length - 2]!;
    } else {
      const t = rng.int(xs.length);
      testX = xs[t]!;
      let v = rng.int(xs.length - 1);
      if (v >= t) v++;
      validX = xs[v]!;
    }
    for (const x of xs) {
      const dst = x === testX ? te : x === validX ? va : tr;
      dst[0].push(p.user[x]!);
      dst[1].push(p.item[x]!);
    }
    const trainXs = xs.filter((x) => x !== testX && x !== validX);
    const knownXs = xs.filter((x) => x !== testX);
    latestTrain[u] = p.item[latestIn(trainXs)]!;
    latestKnown[u] = p.item[latestIn(knownXs)]!;
    basketTrain[u] = basketIn(trainXs);
    basketKnown[u] = basketIn(knownXs);
  }
  const pack = (a: [GrowableInt32, GrowableInt32]) => ({ user: a[0].toArray(), item: a[1].toArray() });
  const train = pack(tr);
  const itemTrainCount = new Int32Array(numItems);
  for (const i of train.item) itemTrainCount[i]!++;
  return {
    train,
    valid: pack(va),
    test: pack(te),
    keptUsers,
    evaluatedUsers,
    itemTrainCount,
    latest: { train: latestTrain, known: latestKnown, all: latestAll },
    baskets: { train: packBaskets(basketTrain), known: packBaskets(basketKnown), all: packBaskets(basketAll) },
  };
}
