/**
 * GAN quality in the feature space of the category classifier (models/classifier.ts):
 *  - Fréchet distance between real and generated features of a category:
 *      ‖μ_r − μ_g‖² + Tr(Σ_r + Σ_g − 2 (Σ_r Σ_g)^{1/2}),
 *    with Tr((Σ_r Σ_g)^{1/2}) = Σ √λ_k of the symmetric Σ_r^{1/2} Σ_g Σ_r^{1/2};
 *  - category agreement: share of generated images the classifier assigns to the intended category;
 *  - an Inception-Score-style figure: exp(E_x KL(p(y|x) ‖ p(y))) over all generated images;
 * and `ganQuality`, the three of them for a GAN against real items' features (`realFeatures`).
 */
import type { Classifier } from '../models/classifier.js';
import { toInput, toUint8 } from '../models/encoder.js';
import { oneHot, type ConditionalGan } from '../models/gan.js';
import { Generator, noGrad, randn, tensor, tidy, type Tensor, type PixelRows } from '../torch/index.js';

/** mean [d] and covariance [d, d] of rows [n, d] (float64). */
function moments(x: Tensor): { mu: Tensor; cov: Tensor } {
  const [n] = x.shape;
  const mu = x.mean(0); // [d]
  const c = x.sub(mu); // [n, d]
  const cov = c
    .transpose(0, 1)
    .matmul(c)
    .div(Math.max(1, n! - 1)); // [d, d]
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

/** Generated images (uint8 [n, S, S, 3]) of one category from the latent codes z [n, zDim]. */
export function generate(gan: ConditionalGan, category: number, z: Tensor): Tensor {
  return noGrad(() => tidy(() => toUint8(gan.generator.forward(z, oneHot(new Int32Array(z.shape[0]!).fill(category), gan.categories.length)))));
}

/** Classifier features [n, K] and class probabilities [n, C] of float images in [−1, 1]. */
export function judge(clf: Classifier, x: Tensor): { feats: Float32Array; probs: Float32Array } {
  return noGrad(() => tidy(() => ({ feats: clf.featuresFloat(x).data(), probs: clf.logitsFloat(x).softmax(1).data() })));
}

export interface GanQuality {
  frechet: number;
  categoryAgreement: number;
  inceptionScore: number;
  perCategory: { category: string; frechet: number; agreement: number }[];
}

/**
 * How latent codes are drawn for the quality figures: 'normal', z ~ N(0, I) as in training; 'bounded',
 * z = tanh(w) with w ~ N(0, I), the codes the design starts from (its z is bounded to (−1, 1)).
 */
export type LatentDraw = 'normal' | 'bounded';

export function drawLatent(n: number, zDim: number, gen: Generator, draw: LatentDraw): Tensor {
  return draw === 'bounded' ? tidy(() => randn([n, zDim], gen).tanh()) : randn([n, zDim], gen);
}

/** Quality of `gan` against real items, in the classifier's feature space. classOf maps GAN category → classifier class. */
export function ganQuality(
  gan: ConditionalGan,
  clf: Classifier,
  realFeats: Float32Array[],
  classOf: number[],
  perCategory: number,
  seed: number,
  draw: LatentDraw = 'normal',
): GanQuality {
  const gen = new Generator(seed);
  const k = clf.encoderConfig.k;
  const nc = clf.numClasses;
  const allProbs: Float32Array[] = [];
  const per = gan.categories.map((name, c) => {
    const feats: Float32Array[] = [];
    const probs: Float32Array[] = [];
    for (let s = 0; s < perCategory; s += 100) {
      const n = Math.min(100, perCategory - s);
      tidy(() => {
        const x = noGrad(() => gan.generator.forward(drawLatent(n, gan.config.zDim, gen, draw), oneHot(new Int32Array(n).fill(c), gan.categories.length)));
        const j = judge(clf, x);
        feats.push(j.feats);
        probs.push(j.probs);
      });
    }
    const f = concat(feats);
    const p = concat(probs);
    allProbs.push(p);
    return {
      category: name,
      frechet: frechetDistance(realFeats[c]!, f, k),
      agreement: categoryAgreement(p, nc, new Int32Array(p.length / nc).fill(classOf[c]!)),
    };
  });
  const probs = concat(allProbs);
  const intended = Int32Array.from({ length: probs.length / nc }, (_, r) => classOf[Math.floor(r / perCategory)]!);
  return {
    frechet: per.reduce((s, p) => s + p.frechet, 0) / per.length,
    categoryAgreement: categoryAgreement(probs, nc, intended),
    inceptionScore: inceptionScore(probs, nc),
    perCategory: per,
  };
}

export function concat<A extends Float32Array | Uint8Array>(parts: A[]): A {
  const Ctor = (parts[0]?.constructor ?? Float32Array) as new (n: number) => A;
  const out = new Ctor(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Real items' classifier features per GAN category (up to `max` each). */
export function realFeatures(images: PixelRows, clf: Classifier, itemCat: Int32Array, numCats: number, max: number): Float32Array[] {
  return Array.from({ length: numCats }, (_, c) => {
    const items = Int32Array.from([...itemCat.keys()].filter((i) => itemCat[i] === c).slice(0, max));
    const parts: Float32Array[] = [];
    for (let s = 0; s < items.length; s += 256) {
      const part = items.subarray(s, s + 256);
      parts.push(tidy(() => judge(clf, toInput(images.indexSelect(0, tensor(part, [part.length], 'int64')))).feats));
    }
    return concat(parts);
  });
}
