/**
 * GAN quality in the feature space of the category classifier (models/classifier.ts):
 *  - Fréchet distance between real and generated features of a category:
 *      ‖μ_r − μ_g‖² + Tr(Σ_r + Σ_g − 2 (Σ_r Σ_g)^{1/2}),
 *    with Tr((Σ_r Σ_g)^{1/2}) = Σ √λ_k of the symmetric Σ_r^{1/2} Σ_g Σ_r^{1/2};
 *  - category agreement: share of generated images the classifier assigns to the intended category;
 *  - an Inception-Score-style figure: exp(E_x KL(p(y|x) ‖ p(y))) over all generated images.
 */
import { tensor, tidy, type Tensor } from '../torch/index.js';

/** mean [d] and covariance [d, d] of rows [n, d] (float64). */
function moments(x: Tensor): { mu: Tensor; cov: Tensor } {
  const [n] = x.shape;
  const mu = x.mean(0); // [d]
  const c = x.sub(mu); // [n, d]
  const cov = c.transpose(0, 1).matmul(c).div(Math.max(1, n! - 1)); // [d, d]
  return { mu, cov };
}

function sqrtPsd(a: Tensor): Tensor {
  const [vals, vecs] = a.eigh();
  const s = vals.clamp(0, null).sqrt(); // negative eigenvalues are round-off
  return vecs.mul(s.reshape([1, -1])).matmul(vecs.transpose(0, 1));
}

/** Fréchet distance between two feature sets [n, d] (row-major float32 arrays). */
export function frechetDistance(real: Float32Array, fake: Float32Array, dim: number): number {
  return tidy(() => {
    const r = moments(tensor(real, [real.length / dim, dim], 'float64'));
    const g = moments(tensor(fake, [fake.length / dim, dim], 'float64'));
    const diff = r.mu.sub(g.mu).square().sum().item();
    const rh = sqrtPsd(r.cov);
    const mid = rh.matmul(g.cov).matmul(rh);
    const [vals] = mid.add(mid.transpose(0, 1)).mul(0.5).eigh();
    const trSqrt = vals.clamp(0, null).sqrt().sum().item();
    const tr = traceOf(r.cov) + traceOf(g.cov);
    return Math.max(0, diff + tr - 2 * trSqrt);
  });
}

function traceOf(m: Tensor): number {
  const [d] = m.shape;
  const a = m.data<'float64'>();
  let t = 0;
  for (let i = 0; i < d!; i++) t += a[i * d! + i]!;
  return t;
}

/** Share of rows whose argmax is the intended class. probs [n, C] row-major. */
export function categoryAgreement(probs: Float32Array, numClasses: number, intended: Int32Array): number {
  let ok = 0;
  for (let r = 0; r < intended.length; r++) {
    let best = 0;
    for (let c = 1; c < numClasses; c++) if (probs[r * numClasses + c]! > probs[r * numClasses + best]!) best = c;
    if (best === intended[r]) ok++;
  }
  return intended.length ? ok / intended.length : NaN;
}

/** exp(E_x KL(p(y|x) ‖ p(y))): 1 when every image looks alike, up to C when confident and balanced. */
export function inceptionScore(probs: Float32Array, numClasses: number): number {
  const n = probs.length / numClasses;
  const marginal = new Float64Array(numClasses);
  for (let r = 0; r < n; r++) for (let c = 0; c < numClasses; c++) marginal[c]! += probs[r * numClasses + c]! / n;
  let kl = 0;
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < numClasses; c++) {
      const p = probs[r * numClasses + c]!;
      if (p > 0) kl += p * (Math.log(p) - Math.log(marginal[c]!));
    }
  }
  return Math.exp(kl / n);
}
