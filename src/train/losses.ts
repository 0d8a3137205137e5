/**
 * The BPR objectives (method.md §1–2) as pure functions of a batch of triplets.
 */
import type { Triplets } from '../data/sampler.js';
import type { Dvbpr } from '../models/dvbpr.js';
import type { FactorModel } from '../models/mf.js';
import type { Augmenter } from './augment.js';
import { scalar, tensor, type Tensor } from '../torch/index.js';

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
export function dvbprLoss(model: Dvbpr, images: Tensor, lambdaPhi: number, lambdaTheta: number, augment?: Augmenter) {
  // augmentation (training only): each image of the batch gets its own random shift
  const pick = (items: Int32Array) => (augment ? augment.apply(images.indexSelect(0, idx(items))) : images.indexSelect(0, idx(items)));
  // paramShare: the weight of λ_Φ's term on this rank (1/W of W data-parallel ranks: src/train/bpr.ts)
  return (t: Triplets, paramShare = 1): { total: Tensor; bpr: Tensor; regPhi: Tensor; regTheta: Tensor } => {
    const users = idx(t.user);
    const { diff, thetaU } = model.preferenceDiff(users, pick(t.pos), pick(t.neg));
    const bpr = diff.neg().softplus().sum(); // Σ −ln σ(x_uij)
    const regPhi = halfSquaredNorm(model.encoder.regularisedParameters()).mul(lambdaPhi * paramShare);
    const regTheta = thetaU
      .square()
      .sum()
      .mul(0.5 * lambdaTheta);
    return { total: bpr.add(regPhi).add(regTheta), bpr, regPhi, regTheta };
  };
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
