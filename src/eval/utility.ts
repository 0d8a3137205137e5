/**
 * The simulated utility of any image for a simulated shopper (docs/simulated-shoppers.md, "The
 * utility of a design"): the hidden taste of the garment it resembles, less a penalty growing with
 * how far it is from that garment,
 *
 *   U(u, x) = s(u, j*) − β · max(0, d(x, j*) / r − 1),   j* = the nearest of the 70,000 garments
 *                                                          (of the design's category, when it has one),
 *
 * with d the distance of the grey 16×16 block means (data/garments.ts), r the median distance from
 * a shop garment to its nearest other garment (an image as far from every garment as real
 * garments are from each other is not penalised), and β the taste's sharpness (one unit of taste
 * per r of extra distance). A real garment's utility is its hidden taste; a blob far from every
 * garment earns little, however well it matches the taste's pooled pixels.
 */
import type { Dataset } from '../data/dataset.js';
import { garmentSet, poolGrid, type GarmentSet } from '../data/garments.js';
import { hiddenScores, type SimulationModel } from '../data/simulate.js';
import { InvalidArgumentError } from '../core/errors.js';
import { keep, tensor, tidy, type Tensor } from '../torch/index.js';

export interface UtilityOf {
  utility: number[];
  /** the hidden taste of the nearest garment, before the penalty */
  taste: number[];
  distance: number[];
  nearest: number[];
  /** whether that garment is sold by the shop */
  inShop: boolean[];
}

export class GarmentUtility {
  readonly set: GarmentSet;
  readonly sim: SimulationModel;
  /** r: the median distance from a shop garment to its nearest other garment */
  readonly radius: number;
  readonly penalty: number;
  private readonly refT: Tensor; // [G², N]
  private readonly norms: Tensor; // [1, N]
  /** per category: the garments' indices and their own refT / norms (built when first asked) */
  private readonly byCategory = new Map<string, { index: Int32Array; refT: Tensor; norms: Tensor }>();

  constructor(ds: Dataset, set: GarmentSet = garmentSet(ds)) {
    this.set = set;
    this.sim = ds.simulation!;
    this.penalty = this.sim.sharpness;
    const g2 = set.grid * set.grid;
    const ref = tensor(set.pools, [set.count, g2]);
    this.refT = keep(tidy(() => ref.transpose(0, 1).contiguous()));
    this.norms = keep(tidy(() => ref.square().sum(1).reshape([1, set.count])));
    ref.dispose();
    // r from up to 512 shop garments (every shop garment when fewer), their own entry excluded
    const sample = Array.from(set.shopIndex.subarray(0, 512));
    const d = this.nearestOfPools(Float32Array.from(sample.flatMap((j) => Array.from(set.pools.subarray(j * g2, (j + 1) * g2)))), true);
    const sorted = d.distance.sort((a, b) => a - b);
    this.radius = Math.max(1e-6, sorted[sorted.length >> 1]!);
  }

  dispose(): void {
    this.refT.dispose();
    this.norms.dispose();
    for (const c of this.byCategory.values()) (c.refT.dispose(), c.norms.dispose());
    this.byCategory.clear();
  }

  private indexOf(category?: string): { index: Int32Array | null; refT: Tensor; norms: Tensor } {
    if (category === undefined) return { index: null, refT: this.refT, norms: this.norms };
    const known = this.byCategory.get(category);
    if (known) return known;
    const g2 = this.set.grid * this.set.grid;
    const index = Int32Array.from(this.set.category.flatMap((c, j) => (c === category ? [j] : [])));
    if (!index.length) throw new InvalidArgumentError(`simulated utility: no garment of the category '${category}'`);
    const pools = new Float32Array(index.length * g2);
    index.forEach((j, r) => pools.set(this.set.pools.subarray(j * g2, (j + 1) * g2), r * g2));
    const ref = tensor(pools, [index.length, g2]);
    const entry = {
      index,
      refT: keep(tidy(() => ref.transpose(0, 1).contiguous())),
      norms: keep(tidy(() => ref.square().sum(1).reshape([1, index.length]))),
    };
    ref.dispose();
    this.byCategory.set(category, entry);
    return entry;
  }

  /**
   * Nearest garment of each pooled row [n, G²]: the 8 nearest by one libtorch product, then the
   * exact distances of those in float64 (the product's float32 cancellation would put a garment a
   * little away from itself). With `excludeSelf`, an exact copy (distance 0) is skipped.
   */
  private nearestOfPools(pools: Float32Array, excludeSelf = false, category?: string): { distance: number[]; nearest: number[] } {
    const g2 = this.set.grid * this.set.grid;
    const ref = this.set.pools;
    const n = pools.length / g2;
    const among = this.indexOf(category);
    const k = Math.min(8, among.index ? among.index.length : this.set.count);
    const distance: number[] = [];
    const nearest: number[] = [];
    for (let s = 0; s < n; s += 256) {
      const len = Math.min(256, n - s);
      const idx = tidy(() => {
        const a = tensor(pools.subarray(s * g2, (s + len) * g2), [len, g2]);
        const d2 = a.square().sum(1, true).add(among.norms).sub(a.matmul(among.refT).mul(2)); // [len, N]
        return d2.neg().topk(k, 1)[1].data();
      });
      for (let r = 0; r < len; r++) {
        let best = -1;
        let bestD = Infinity;
        for (let c = 0; c < k; c++) {
          const j = among.index ? among.index[Number(idx[r * k + c])]! : Number(idx[r * k + c]);
          let d2 = 0;
          for (let q = 0; q < g2; q++) d2 += (pools[(s + r) * g2 + q]! - ref[j * g2 + q]!) ** 2;
          if (excludeSelf && d2 === 0) continue;
          if (d2 < bestD || (d2 === bestD && j < best)) ((bestD = d2), (best = j));
        }
        distance.push(Math.sqrt(bestD));
        nearest.push(best);
      }
    }
    return { distance, nearest };
  }

  /**
   * U(u, x) of n images [n, S, S, 3] (S the dataset's size) for the shopper `users[a]` of each; with
   * `category`, the nearest garment is one of that category (a design for trousers that looks like a
   * bag is far from every pair of trousers).
   */
  of(users: number[], images: Uint8Array, n: number, category?: string): UtilityOf {
    const size = this.set.imageSize;
    const g2 = this.set.grid * this.set.grid;
    const pools = new Float32Array(n * g2);
    for (let a = 0; a < n; a++) poolGrid(images, size, this.set.grid, a * size * size * 3, pools, a * g2);
    const { distance, nearest } = this.nearestOfPools(pools, false, category);
    const dims = this.sim.dims;
    const taste = nearest.map((j, a) => hiddenScores(this.sim, users[a]!, this.set.features.subarray(j * dims, (j + 1) * dims))[0]!);
    const utility = taste.map((t, a) => t - this.penalty * Math.max(0, distance[a]! / this.radius - 1));
    return { utility, taste, distance, nearest, inShop: nearest.map((j) => this.set.inShop[j] === 1) };
  }

  /** The hidden taste of shop items (a real garment's utility). */
  ofItems(user: number, items: number[]): number[] {
    const dims = this.sim.dims;
    return items.map((i) => {
      const j = this.set.shopIndex[i]!;
      return hiddenScores(this.sim, user, this.set.features.subarray(j * dims, (j + 1) * dims))[0]!;
    });
  }
}
