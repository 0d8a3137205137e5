/**
 * The BPR objectives (method.md §1–2) as pure functions of a batch of triplets.
 */
import type { Triplets } from '../data/sampler.js';
import type { Dvbpr } from '../models/dvbpr.js';
import type { FactorModel } from '../models/mf.js';
import { oneHot, type ConditionalGan } from '../models/gan.js';
import type { Augmenter } from './augment.js';
import { gradients, interpolate, randn, scalar, tensor, type Generator, type Tensor, type PixelRows } from '../torch/index.js';

const idx = (a: Int32Array) => tensor(a, [a.length], 'int64');

/** Σ_W ½‖W‖² over the given weights. */
export function halfSquaredNorm(ws: Tensor[]): Tensor {
  return ws.reduce<Tensor>((acc, w) => acc.add(w.square().sum()), scalar(0)).mul(0.5);
}

/**
 * DVBPR: Σ_batch softplus(−θ_uᵀ(Φ(X_i) − Φ(X_j))) + λ_Φ Σ_W ½‖W‖² + λ_θ Σ_batch ½‖θ_u‖²
 * (softplus(−x) = −ln σ(x), numerically safe). `images` is the uint8 catalogue [N, S, S, 3];
 * `augment`, if given, transforms each batch's images before Φ sees them.
 */
export function dvbprLoss(model: Dvbpr, images: PixelRows, lambdaPhi: number, lambdaTheta: number, augment?: Augmenter, conservative?: ConservativeTerm) {
  // augmentation (training only): each image of the batch gets its own random shift
  const pick = (items: Int32Array) => (augment ? augment.apply(images.indexSelect(0, idx(items))) : images.indexSelect(0, idx(items)));
  // paramShare: the weight of λ_Φ's term on this rank (1/W of W data-parallel ranks: src/train/bpr.ts)
  return (t: Triplets, paramShare = 1): { total: Tensor; bpr: Tensor; regPhi: Tensor; regTheta: Tensor; conservative?: Tensor } => {
    const users = idx(t.user);
    const { diff, thetaU, phiPos } = model.preferenceDiff(users, pick(t.pos), pick(t.neg));
    const bpr = diff.neg().softplus().sum(); // Σ −ln σ(x_uij)
    const regPhi = halfSquaredNorm(model.encoder.regularisedParameters()).mul(lambdaPhi * paramShare);
    const regTheta = thetaU
      .square()
      .sum()
      .mul(0.5 * lambdaTheta);
    let total = bpr.add(regPhi).add(regTheta);
    if (conservative) {
      const c = conservativeLoss(model, conservative, t, thetaU, phiPos);
      if (c) return { total: total.add(c), bpr, regPhi, regTheta, conservative: c };
    }
    return { total, bpr, regPhi, regTheta };
  };
}

/**
 * Conservative training in the spirit of COMs (Trabucco et al. 2021), for a scorer that designs
 * cannot fool as easily: for the first `perBatch` triplets whose positive item's category the GAN
 * draws, a design is searched as `atelier design` would — `steps` ascent steps on w (z = tanh(w),
 * the box) of the shopper's score θ_uᵀΦ(G(z, c)), from w ~ N(0, I), each step of length lr·√d in
 * the direction of the gradient — and the design then counts as a negative beside the real
 * positive: weight · Σ softplus(θ_uᵀΦ(x*) − θ_uᵀΦ(X_i)). G is fixed (never trained here); x* is a
 * constant for Φ's update, which learns that what the generator reaches by ascent is not liked
 * more than what the shopper bought. Draws come from `gen` (checkpointed with the run).
 */
export interface ConservativeTerm {
  gan: ConditionalGan;
  /** the GAN's category of each catalogue item (−1: a category it does not draw) */
  ganCategory: Int32Array;
  /** the catalogue is greyscale: the GAN's images are made grey, as the design search makes them */
  grey: boolean;
  weight: number;
  steps: number;
  perBatch: number;
  lr: number;
  gen: Generator;
}

/** The conservative term of a batch (null when no triplet's positive has a GAN category). */
export function conservativeLoss(model: Dvbpr, c: ConservativeTerm, t: Triplets, thetaU: Tensor, phiPos: Tensor): Tensor | null {
  const rows: number[] = [];
  for (let x = 0; x < t.pos.length && rows.length < c.perBatch; x++) if (c.ganCategory[t.pos[x]!]! >= 0) rows.push(x);
  if (rows.length === 0) return null;
  const sel = tensor(Int32Array.from(rows), [rows.length], 'int64');
  const theta = thetaU.indexSelect(0, sel); // θ_u [m, K] (in the graph: the term trains θ too)
  const cond = oneHot(
    Int32Array.from(rows, (x) => c.ganCategory[t.pos[x]!]!),
    c.gan.categories.length,
  );
  const zDim = c.gan.config.zDim;
  const size = model.encoder.config.inputSize;
  const draw = (w: Tensor) => {
    let x = c.gan.generator.forward(w.tanh(), cond); // G(z, c) [m, 3, S, S]
    if (c.grey) x = x.mean(1, true).expand([...x.shape]);
    return x.shape[2] === size ? x : interpolate(x, [size, size], 'bilinear');
  };
  let w = randn([rows.length, zDim], c.gen);
  const thetaFixed = theta.detach();
  // the search sees Φ as a design does (eval mode: no dropout draws, no batch-norm updates)
  const training = model.encoder.training;
  model.encoder.train(false);
  try {
    for (let s = 0; s < c.steps; s++) {
      const wv = w.detach();
      wv.requiresGrad = true;
      const score = model.encoder.forward(draw(wv)).mul(thetaFixed).sum(1).sum();
      const [g] = gradients([score], [wv]);
      const norm = g!.square().sum(1, true).sqrt().add(1e-12);
      w = wv.detach().add(g!.div(norm).mul(c.lr * Math.sqrt(zDim)));
    }
  } finally {
    model.encoder.train(training);
  }
  const design = draw(w.detach()).detach(); // x*, a constant for Φ's update
  const scoreDesign = model.encoder.forward(design).mul(theta).sum(1); // θ_uᵀΦ(x*) [m]
  const scorePos = phiPos.indexSelect(0, sel).mul(theta).sum(1); // θ_uᵀΦ(X_i) [m]
  return scoreDesign.sub(scorePos).softplus().sum().mul(c.weight);
}

/**
 * BPR-MF / VBPR: Σ softplus(−(x_ui − x_uj)) + λ Σ_batch ½‖params of the batch‖² + λ_E ½‖E‖²
 * (the regularisation of Rendle et al. and He & McAuley, over the rows the batch touches).
 */
export function factorLoss(model: FactorModel, lambda: number, lambdaE: number) {
  return (t: Triplets, paramShare = 1): { total: Tensor; bpr: Tensor } => {
    const users = idx(t.user);
    const pos = model.score(users, idx(t.pos));
    const neg = model.score(users, idx(t.neg));
    const bpr = pos.x.sub(neg.x).neg().softplus().sum();
    // θ_u and γ_u appear in both scores: count them once
    const reg = halfSquaredNorm([...pos.batchParams, ...neg.batchParams.slice(1, 3)]).mul(lambda);
    let total = bpr.add(reg);
    if (model.e) total = total.add(halfSquaredNorm([model.e, model.betaPrime!]).mul(lambdaE * paramShare));
    return { total, bpr };
  };
}
