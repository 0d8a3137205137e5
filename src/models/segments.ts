/**
 * Segments of shoppers for design (docs/method.md §5): groups of shoppers who buy alike, and the
 * taste a design for a group maximises.
 *
 * A shopper's standardised taste is θ_u / σ_u, σ_u the standard deviation of θ_uᵀe_i over the
 * catalogue: the scores it gives have deviation 1, so a shopper with a long θ (many purchases, a
 * sharp taste) does not outvote the others. Segments are k-means (k-means++ starts, Lloyd
 * iterations, seeded) on the standardised tastes. A segment's taste is their mean,
 * θ_S = mean_u θ_u / σ_u, and since a score is linear in θ, θ_Sᵀe = mean_u (θ_uᵀe / σ_u): the
 * design that maximises θ_S maximises the members' mean standardised score, the two aggregates a
 * design team might ask for are one.
 */
import { InvalidArgumentError } from '../core/errors.js';
import { Rng } from '../core/rng.js';

/** σ_u of each shopper's scores θ_uᵀe_i over the items (E [N, K], θ [U, K]), by the embeddings' covariance: σ_u² = θ_uᵀΣθ_u. */
export function scoreDeviations(theta: Float32Array, embeddings: Float32Array, k: number): Float64Array {
  const n = embeddings.length / k;
  const mean = new Float64Array(k);
  for (let i = 0; i < n; i++) for (let a = 0; a < k; a++) mean[a]! += embeddings[i * k + a]!;
  for (let a = 0; a < k; a++) mean[a]! /= n;
  const cov = new Float64Array(k * k);
  for (let i = 0; i < n; i++)
    for (let a = 0; a < k; a++) {
      const da = embeddings[i * k + a]! - mean[a]!;
      for (let b = a; b < k; b++) cov[a * k + b]! += da * (embeddings[i * k + b]! - mean[b]!);
    }
  for (let a = 0; a < k; a++) for (let b = a; b < k; b++) cov[b * k + a] = cov[a * k + b]! /= n;
  const users = theta.length / k;
  const out = new Float64Array(users);
  for (let u = 0; u < users; u++) {
    let v = 0;
    for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) v += theta[u * k + a]! * cov[a * k + b]! * theta[u * k + b]!;
    out[u] = Math.sqrt(Math.max(v, 0)) || 1;
  }
  return out;
}

/** θ_u / σ_u for every shopper [U, K]. */
export function standardisedTastes(theta: Float32Array, sigma: Float64Array, k: number): Float64Array {
  return Float64Array.from(theta, (v, x) => v / sigma[Math.floor(x / k)]!);
}

/** The mean of the members' standardised tastes: the segment's taste θ_S [K]. */
export function segmentTaste(tastes: Float64Array, members: ArrayLike<number>, k: number): Float32Array {
  if (!members.length) throw new InvalidArgumentError('a segment with no members has no taste');
  const out = new Float64Array(k);
  for (let x = 0; x < members.length; x++) for (let a = 0; a < k; a++) out[a]! += tastes[members[x]! * k + a]!;
  return Float32Array.from(out, (v) => v / members.length);
}

/**
 * k-means of rows X [U, K] into `clusters` groups: k-means++ starts from the seed, then Lloyd
 * iterations until no row changes group (at most `iterations`). An empty group takes the row
 * farthest from its centre. Returns each row's group, ordered by size (group 0 the largest).
 */
export function kMeans(X: Float64Array, k: number, clusters: number, seed: number, iterations = 100): Int32Array {
  return lloyd(X, k, clusters, seed, iterations, null);
}

/**
 * kMeans, then every group smaller than `minSize` dissolved: its rows go to the nearest other
 * group's centre and the rest iterate again, the smallest first, until each group has at least
 * `minSize` rows (or one group is left). Fewer groups than asked may come back.
 */
export function kMeansAtLeast(X: Float64Array, k: number, clusters: number, seed: number, minSize: number): Int32Array {
  let group = kMeans(X, k, clusters, seed);
  for (;;) {
    const n = Math.max(...group) + 1;
    const sizes = new Int32Array(n);
    for (const g of group) sizes[g]!++;
    // groups are ordered by size: the last is the smallest
    if (n <= 1 || sizes[n - 1]! >= minSize) return group;
    const centres = centresOf(X, k, group, n - 1);
    group = lloyd(X, k, n - 1, seed, 100, centres);
  }
}

/** The mean row of each of the first `n` groups (rows of other groups left out). */
function centresOf(X: Float64Array, k: number, group: Int32Array, n: number): Float64Array {
  const c = new Float64Array(n * k);
  const counts = new Int32Array(n);
  group.forEach((g, u) => {
    if (g >= n) return;
    counts[g]!++;
    for (let a = 0; a < k; a++) c[g * k + a]! += X[u * k + a]!;
  });
  for (let g = 0; g < n; g++) for (let a = 0; a < k; a++) c[g * k + a]! /= Math.max(1, counts[g]!);
  return c;
}

function lloyd(X: Float64Array, k: number, clusters: number, seed: number, iterations: number, start: Float64Array | null): Int32Array {
  const U = X.length / k;
  if (!(clusters >= 1 && clusters <= U)) throw new InvalidArgumentError(`k-means: ${clusters} groups of ${U} rows`);
  const rng = new Rng(seed);
  const dist = (u: number, c: Float64Array, j: number) => {
    let d = 0;
    for (let a = 0; a < k; a++) d += (X[u * k + a]! - c[j * k + a]!) ** 2;
    return d;
  };
  const centres = start ? Float64Array.from(start) : new Float64Array(clusters * k);
  // k-means++: the first centre uniformly, each next with probability ∝ squared distance to the nearest
  const first = rng.int(U);
  if (!start) for (let a = 0; a < k; a++) centres[a] = X[first * k + a]!;
  const near = new Float64Array(U).fill(Infinity);
  for (let j = 1; j < clusters && !start; j++) {
    let total = 0;
    for (let u = 0; u < U; u++) total += near[u] = Math.min(near[u]!, dist(u, centres, j - 1));
    let r = rng.next() * total;
    let pick = U - 1;
    for (let u = 0; u < U; u++)
      if ((r -= near[u]!) <= 0) {
        pick = u;
        break;
      }
    for (let a = 0; a < k; a++) centres[j * k + a] = X[pick * k + a]!;
  }
  const group = new Int32Array(U).fill(-1);
  for (let it = 0; it < iterations; it++) {
    let changed = 0;
    for (let u = 0; u < U; u++) {
      let best = 0;
      let bd = Infinity;
      for (let j = 0; j < clusters; j++) {
        const d = dist(u, centres, j);
        if (d < bd) ((bd = d), (best = j));
      }
      if (group[u] !== best) ((group[u] = best), changed++);
    }
    const counts = new Int32Array(clusters);
    centres.fill(0);
    for (let u = 0; u < U; u++) {
      counts[group[u]!]!++;
      for (let a = 0; a < k; a++) centres[group[u]! * k + a]! += X[u * k + a]!;
    }
    for (let j = 0; j < clusters; j++) {
      if (counts[j]) for (let a = 0; a < k; a++) centres[j * k + a]! /= counts[j]!;
      else {
        // an empty group: the row farthest from its own centre starts it again
        let far = 0;
        let fd = -1;
        for (let u = 0; u < U; u++) {
          const d = dist(u, centres, group[u]!);
          if (d > fd) ((fd = d), (far = u));
        }
        for (let a = 0; a < k; a++) centres[j * k + a] = X[far * k + a]!;
        changed++;
      }
    }
    if (!changed) break;
  }
  // groups by size, largest first (ties: the lower group)
  const sizes = new Int32Array(clusters);
  for (const g of group) sizes[g]!++;
  const order = Array.from(sizes.keys()).sort((a, b) => sizes[b]! - sizes[a]! || a - b);
  const rank = new Int32Array(clusters);
  order.forEach((g, r) => (rank[g] = r));
  return group.map((g) => rank[g]!);
}
