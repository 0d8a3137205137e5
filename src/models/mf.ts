/**
 * BPR-MF and VBPR (method.md §2):
 *   BPR-MF  x(u, i) = β_i + γ_uᵀ γ_i
 *   VBPR    x(u, i) = β_i + γ_uᵀ γ_i + θ_uᵀ (E f_i) + β'ᵀ f_i
 * with f_i fixed ("off-the-shelf") image features; here the embedding of an image classifier
 * trained on the catalogue's category labels, standing in for the paper's ImageNet CNN features.
 */
import { InvalidArgumentError } from '../core/errors.js';
import { Generator, Module, tensor, tidy, zeros, type Tensor } from '../torch/index.js';
import { checkUsers, type Recommender } from './recommender.js';

export interface FactorConfig {
  factors: number;
  /** VBPR visual factors (0 = BPR-MF) */
  visualFactors: number;
}

export class FactorModel extends Module implements Recommender {
  readonly kind: 'bpr-mf' | 'vbpr';
  readonly gammaU: Tensor;
  readonly gammaI: Tensor;
  readonly betaI: Tensor;
  readonly thetaU: Tensor | null;
  readonly e: Tensor | null;
  readonly betaPrime: Tensor | null;
  /** item features [N, F] (VBPR), not trained */
  readonly features: Tensor | null;

  constructor(
    readonly numUsers: number,
    readonly numItems: number,
    readonly config: FactorConfig,
    seed: number,
    features?: { data: Float32Array; dim: number },
  ) {
    super();
    const gen = new Generator(seed);
    this.kind = config.visualFactors > 0 ? 'vbpr' : 'bpr-mf';
    const f = config.factors;
    this.gammaU = this.registerParameter('gamma_u', zeros([numUsers, f]).normal_(0, 0.01, gen)); // [U, F]
    this.gammaI = this.registerParameter('gamma_i', zeros([numItems, f]).normal_(0, 0.01, gen)); // [N, F]
    this.betaI = this.registerParameter('beta_i', zeros([numItems])); // [N]
    if (this.kind === 'vbpr') {
      if (!features) throw new InvalidArgumentError('VBPR needs item features');
      const d = features.dim;
      this.features = this.registerBuffer('features', tensor(features.data, [numItems, d]));
      this.thetaU = this.registerParameter('theta_u', zeros([numUsers, config.visualFactors]).normal_(0, 0.01, gen)); // [U, D']
      this.e = this.registerParameter('E', zeros([d, config.visualFactors]).normal_(0, 0.01, gen)); // [F_img, D']
      this.betaPrime = this.registerParameter('beta_prime', zeros([d])); // [F_img]
    } else {
      this.features = this.thetaU = this.e = this.betaPrime = null;
    }
  }

  /** x(u, i) for paired index tensors users [B], items [B] → [B]; also the parameters of the batch to regularise. */
  score(users: Tensor, items: Tensor): { x: Tensor; batchParams: Tensor[] } {
    const gu = this.gammaU.indexSelect(0, users); // [B, F]
    const gi = this.gammaI.indexSelect(0, items); // [B, F]
    const bi = this.betaI.indexSelect(0, items); // [B]
    let x = bi.add(gu.mul(gi).sum(1));
    const batchParams = [gu, gi, bi];
    if (this.kind === 'vbpr') {
      const f = this.features!.indexSelect(0, items); // [B, F_img]
      const tu = this.thetaU!.indexSelect(0, users); // [B, D']
      const visual = tu.mul(f.matmul(this.e!)).sum(1); // θ_uᵀ E f_i
      const vbias = f.matmul(this.betaPrime!.reshape([-1, 1])).reshape([-1]); // β'ᵀ f_i
      x = x.add(visual).add(vbias);
      batchParams.push(tu);
    }
    return { x, batchParams };
  }

  scoreUsers(users: Int32Array): Float32Array {
    checkUsers(users, this.numUsers);
    return tidy(() => {
      const u = tensor(users, [users.length], 'int64');
      let s = this.gammaU
        .indexSelect(0, u)
        .matmul(this.gammaI.transpose(0, 1))
        .add(this.betaI.reshape([1, -1])); // [U', N]
      if (this.kind === 'vbpr') {
        const fe = this.features!.matmul(this.e!); // [N, D']
        s = s.add(this.thetaU!.indexSelect(0, u).matmul(fe.transpose(0, 1))).add(this.features!.matmul(this.betaPrime!.reshape([-1, 1])).reshape([1, -1]));
      }
      return s.detach().data();
    });
  }
}
