/**
 * DVBPR (method.md §1): x(u, i) = θ_uᵀ Φ(X_i). The encoder Φ and the user table θ [U, K]
 * (init U(0, 0.01)). No item bias, no non-visual item factor.
 */
import type { EncoderConfig } from '../config/dvbpr.js';
import { InvalidArgumentError, ShapeError } from '../core/errors.js';
import { cat, Generator, interpolate, keep, Module, noGrad, tidy, zeros, tensor, type Tensor, type PixelRows } from '../torch/index.js';
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

  /** While a training step runs with lazy row updates (train/bpr.ts): its rows of θ as a leaf [R, K] and each user's place there. */
  private stepRows: { leaf: Tensor; place: Map<number, number> } | null = null;

  /**
   * Binds a step's rows of θ (`rows`, distinct user indices, and `leaf`, their values as a leaf
   * tensor): the loss then reads and differentiates the leaf, not θ. null unbinds.
   */
  bindRows(leaf: Tensor | null, rows: Int32Array | null = null): void {
    this.stepRows = leaf && rows ? { leaf, place: new Map(Array.from(rows, (u, r) => [u, r])) } : null;
  }

  /** θ as a table of rows the BPR loop trains lazily (train/bpr.ts BprModel.rows). */
  rowTable(): { param: Tensor; bind(leaf: Tensor | null, rows: Int32Array | null): void } {
    return { param: this.theta, bind: (leaf, rows) => this.bindRows(leaf, rows) };
  }

  /** θ_u of a batch's users [B, K]: from the bound step rows when there are. */
  userVectors(users: Tensor): Tensor {
    const b = this.stepRows;
    if (!b) return this.theta.indexSelect(0, users);
    const at = Array.from(users.data<'int64'>(), (u) => {
      const r = b.place.get(Number(u));
      if (r === undefined) throw new InvalidArgumentError(`user ${u} is not among the step's bound rows`);
      return r;
    });
    return b.leaf.indexSelect(0, tensor(Int32Array.from(at), [at.length], 'int64'));
  }

  /** x(u,i) − x(u,j) for a batch of triplets, from uint8 images [B, S, S, 3] of i and j. */
  preferenceDiff(users: Tensor, posImages: Tensor, negImages: Tensor): { diff: Tensor; thetaU: Tensor; phiPos: Tensor } {
    const [b] = users.shape;
    const phi = this.encoder.forward(toInput(cat([posImages, negImages], 0))); // one pass over 2B images: [2B, K]
    const phiPos = phi.narrow(0, 0, b!); // Φ(X_i) [B, K]
    const phiNeg = phi.narrow(0, b!, b!); // Φ(X_j) [B, K]
    const thetaU = this.userVectors(users); // θ_u [B, K]
    const diff = thetaU.mul(phiPos.sub(phiNeg)).sum(1); // x(u,i) − x(u,j) [B]
    return { diff, thetaU, phiPos };
  }
}

/** Embeds uint8 images [N, S, S, 3] (a tensor) in batches, eval mode: [N, K] float32. */
/** Φ of uint8 images [n, S, S, 3] of any size S (a GAN's, an upload's), resized to Φ's input in the graph: [n, K]. */
export function embedPixels(encoder: Encoder, u8: Uint8Array, n: number, size: number): Float32Array {
  return noGrad(() =>
    tidy(() => {
      const x = toInput(tensor(u8, [n, size, size, 3]));
      const s = encoder.config.inputSize;
      return encoder.forward(x.shape[2] === s ? x : interpolate(x, [s, s], 'bilinear')).data();
    }),
  );
}

export function embedImages(encoder: Encoder, images: PixelRows, batch = 256): Float32Array {
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

/** A trained DVBPR as a Recommender: θ and the item embedding matrix E [N, K], kept as tensors. */
export class DvbprScorer implements Recommender {
  readonly kind = 'dvbpr' as const;
  readonly numUsers: number;
  numItems: number;
  readonly embeddingDim: number;
  private eT: Tensor; // Eᵀ [K, N], contiguous for the product
  private unitT: Tensor | null = null; // Eᵀ with columns of length 1 (similarTo), made on first use
  private readonly thetaT: Tensor; // θ [U, K]

  constructor(
    readonly theta: Float32Array,
    embeddings: Float32Array,
    readonly k: number,
  ) {
    this.numUsers = theta.length / k;
    this.embeddingDim = k;
    this.numItems = embeddings.length / k;
    this.eT = keep(tidy(() => tensor(embeddings, [this.numItems, k]).transpose(0, 1).contiguous()));
    this.thetaT = keep(tensor(theta, [this.numUsers, k]));
  }

  scoreUsers(users: Int32Array): Float32Array {
    checkUsers(users, this.numUsers);
    return tidy(() =>
      this.thetaT
        .indexSelect(0, tensor(users, [users.length], 'int64'))
        .matmul(this.eT)
        .data(),
    ); // [U', N]
  }

  /** The same scores as a tensor [users.length, N], for evaluation in libtorch (the caller disposes it). */
  scoreTensor(users: Int32Array): Tensor {
    checkUsers(users, this.numUsers);
    return tidy(() => this.thetaT.indexSelect(0, tensor(users, [users.length], 'int64')).matmul(this.eT));
  }

  /** The embeddings Φ(x_i) [rows, K] of the given items (row indices). */
  embeddingsOf(rows: Int32Array): Float32Array {
    for (const r of rows) if (!(r >= 0 && r < this.numItems)) throw new InvalidArgumentError(`item row ${r} out of range 0..${this.numItems - 1}`);
    return tidy(() =>
      this.eT
        .indexSelect(1, tensor(rows, [rows.length], 'int64'))
        .transpose(0, 1)
        .contiguous()
        .data(),
    );
  }

  /** cos(Φ(x_i), Φ(x_j)) of every item i to each item j given [items.length, N] (a zero embedding: 0). */
  similarTo(items: Int32Array): Float32Array {
    for (const r of items) if (!(r >= 0 && r < this.numItems)) throw new InvalidArgumentError(`item row ${r} out of range 0..${this.numItems - 1}`);
    // the embeddings scaled to length 1, once (until items are added)
    if (!this.unitT) this.unitT = keep(tidy(() => this.eT.div(this.eT.square().sum(0).sqrt().clamp(1e-12))));
    const unit = this.unitT;
    return tidy(() =>
      unit
        .indexSelect(1, tensor(items, [items.length], 'int64'))
        .transpose(0, 1)
        .matmul(unit)
        .data(),
    );
  }

  /** Appends items (embeddings [n, K]) after the existing ones: new items are scored at once. */
  addItems(embeddings: Float32Array): void {
    const n = embeddings.length / this.k;
    if (!Number.isInteger(n)) throw new ShapeError(`embeddings of ${embeddings.length} values are not rows of K=${this.k}`, [[embeddings.length], [this.k]]);
    const next = keep(tidy(() => cat([this.eT, tensor(embeddings, [n, this.k]).transpose(0, 1)], 1).contiguous()));
    this.eT.dispose();
    this.eT = next;
    this.unitT?.dispose();
    this.unitT = null;
    this.numItems += n;
  }

  dispose(): void {
    this.eT.dispose();
    this.unitT?.dispose();
    this.thetaT.dispose();
  }
}
