/** Baselines without parameters to learn: random and popularity (PopRank). */
import { checkUsers, type Recommender } from './recommender.js';

/** Random scores, fixed per (seed, user, item): a hash, so scoring twice gives the same ranking. */
export class RandomRecommender implements Recommender {
  readonly kind = 'random' as const;
  constructor(
    readonly numUsers: number,
    readonly numItems: number,
    readonly seed: number,
  ) {}

  scoreUsers(users: Int32Array): Float32Array {
    checkUsers(users, this.numUsers);
    const out = new Float32Array(users.length * this.numItems);
    users.forEach((u, r) => {
      for (let i = 0; i < this.numItems; i++) {
        let h = Math.imul(u + 1, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca77) ^ Math.imul(this.seed + 1, 0xc2b2ae3d);
        h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
        h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
        out[r * this.numItems + i] = ((h ^ (h >>> 15)) >>> 0) / 4294967296;
      }
    });
    return out;
  }
}

/** Popularity: the number of training interactions of each item, the same for every user. */
export class PopularityRecommender implements Recommender {
  readonly kind = 'popularity' as const;
  constructor(
    readonly numUsers: number,
    readonly itemTrainCount: Int32Array,
  ) {}

  get numItems(): number {
    return this.itemTrainCount.length;
  }

  scoreUsers(users: Int32Array): Float32Array {
    checkUsers(users, this.numUsers);
    const out = new Float32Array(users.length * this.numItems);
    for (let r = 0; r < users.length; r++) out.set(Float32Array.from(this.itemTrainCount), r * this.numItems);
    return out;
  }
}
