/**
 * DVBPR (method.md §1): x(u, i) = θ_uᵀ Φ(X_i). The encoder Φ and the user table θ [U, K]
 * (init U(0, 0.01)). No item bias, no non-visual item factor.
 */
import type { EncoderConfig } from '../config/dvbpr.js';
import { cat, Generator, Module, noGrad, tidy, zeros, tensor, type Tensor } from '../torch/index.js';
import { Encoder, toInput } from './encoder.js';
import { checkUsers, type Recommender } from './recommender.js';

export class Dvbpr extends Module {
  readonly encoder: Encoder;
  readonly theta: Tensor;

  constructor(
    readonly encoderConfig: EncoderConfig,
    readonly numUsers: number,
    seed: number,
  ) {
    super();
    const gen = new Generator(seed);
    this.encoder = this.registerModule('encoder', new Encoder(encoderConfig, gen, new Generator(seed + 1)));
    this.theta = this.registerParameter('theta', zeros([numUsers, encoderConfig.k]).uniform_(0, 0.01, gen)); // [U, K]
  }

  /** x(u,i) − x(u,j) for a batch of triplets, from uint8 images [B, S, S, 3] of i and j. */
  preferenceDiff(users: Tensor, posImages: Tensor, negImages: Tensor): { diff: Tensor; thetaU: Tensor } {
    const [b] = users.shape;
    const phi = this.encoder.forward(toInput(cat([posImages, negImages], 0))); // one pass over 2B images: [2B, K]
    const phiPos = phi.narrow(0, 0, b!); // Φ(X_i) [B, K]
    const phiNeg = phi.narrow(0, b!, b!); // Φ(X_j) [B, K]
    const thetaU = this.theta.indexSelect(0, users); // θ_u [B, K]
    const diff = thetaU.mul(phiPos.sub(phiNeg)).sum(1); // x(u,i) − x(u,j) [B]
    return { diff, thetaU };
  }
}

/** Embeds uint8 images [N, S, S, 3] (a tensor) in batches, eval mode: [N, K] float32. */
export function embedImages(encoder: Encoder, images: Tensor, batch = 256): Float32Array {
  const [n] = images.shape;
  const k = encoder.config.k;
  const out = new Float32Array(n! * k);
  const wasTraining = encoder.training;
  encoder.eval();
  noGrad(() => {
    for (let s = 0; s < n!; s += batch) {
      tidy(() => {
        const len = Math.min(batch, n! - s);
        out.set(encoder.forward(toInput(images.narrow(0, s, len))).data(), s * k);
      });
    }
  });
  encoder.train(wasTraining);
  return out;
}

/** A trained DVBPR as a Recommender: θ and the item embedding matrix E [N, K]. */
export class DvbprScorer implements Recommender {
  readonly kind = 'dvbpr' as const;
  readonly numUsers: number;
  readonly numItems: number;
  constructor(
    readonly theta: Float32Array,
    readonly embeddings: Float32Array,
    readonly k: number,
  ) {
    this.numUsers = theta.length / k;
    this.numItems = embeddings.length / k;
  }

  scoreUsers(users: Int32Array): Float32Array {
    checkUsers(users, this.numUsers);
    return tidy(() => {
      const e = tensor(this.embeddings, [this.numItems, this.k]);
      const rows = new Float32Array(users.length * this.k);
      users.forEach((u, r) => rows.set(this.theta.subarray(u * this.k, (u + 1) * this.k), r * this.k));
      return tensor(rows, [users.length, this.k]).matmul(e.transpose(0, 1)).data(); // [U', N]
    });
  }
}
