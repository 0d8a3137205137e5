/**
 * The BPR triplet sampler of method.md §1: u uniform over users with training items, i uniform
 * over u's training items, j uniform over all items, rejected while j is in u's training set.
 * Seeded, and its state can be saved and restored so a resumed run draws the same triplets.
 */
import { BadInputError } from '../core/errors.js';
import { Rng, type RngState } from '../core/rng.js';

export interface Triplets {
  user: Int32Array;
  pos: Int32Array;
  neg: Int32Array;
}

export class TripletSampler {
  private readonly rng: Rng;
  /** users with at least one training item */
  private readonly users: Int32Array;
  /** CSR of each user's training items, sorted for binary search */
  private readonly offsets: Int32Array;
  private readonly items: Int32Array;

  constructor(
    train: { user: Int32Array; item: Int32Array },
    numUsers: number,
    readonly numItems: number,
    seed: number,
  ) {
    this.rng = new Rng(seed);
    const counts = new Int32Array(numUsers + 1);
    for (const u of train.user) counts[u + 1]!++;
    for (let u = 0; u < numUsers; u++) counts[u + 1]! += counts[u]!;
    this.offsets = counts;
    this.items = new Int32Array(train.item.length);
    const fill = counts.slice(0, numUsers);
    for (let x = 0; x < train.user.length; x++) this.items[fill[train.user[x]!]!++] = train.item[x]!;
    const users: number[] = [];
    for (let u = 0; u < numUsers; u++) {
      const a = this.offsets[u]!;
      const b = this.offsets[u + 1]!;
      if (b > a) users.push(u);
      this.items.subarray(a, b).sort();
    }
    this.users = Int32Array.from(users);
    if (this.users.length === 0) throw new BadInputError('the training split is empty: no shopper has a training purchase');
  }

  /** Is item i in u's training set? */
  has(u: number, i: number): boolean {
    let lo = this.offsets[u]!;
    let hi = this.offsets[u + 1]! - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.items[mid]!;
      if (v === i) return true;
      if (v < i) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  trainItemsOf(u: number): Int32Array {
    return this.items.subarray(this.offsets[u]!, this.offsets[u + 1]!);
  }

  sample(batch: number): Triplets {
    const out: Triplets = { user: new Int32Array(batch), pos: new Int32Array(batch), neg: new Int32Array(batch) };
    for (let b = 0; b < batch; b++) {
      const u = this.users[this.rng.int(this.users.length)]!;
      const a = this.offsets[u]!;
      const n = this.offsets[u + 1]! - a;
      if (n >= this.numItems) throw new BadInputError(`shopper index ${u} has bought every item: no negative exists for BPR`);
      const i = this.items[a + this.rng.int(n)]!;
      let j = this.rng.int(this.numItems);
      while (this.has(u, j)) j = this.rng.int(this.numItems);
      out.user[b] = u;
      out.pos[b] = i;
      out.neg[b] = j;
    }
    return out;
  }

  getState(): RngState {
    return this.rng.getState();
  }

  setState(s: RngState): void {
    this.rng.setState(s);
  }
}
