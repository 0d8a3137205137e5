/**
 * Preference maximisation (method.md §5): for shopper u and category c,
 *   ẑ = argmax_z  θ_uᵀ Φ(G(z, c)) − η (D(G(z, c), c) − 1)²,
 * with z = tanh(w) (so z ∈ (−1, 1) as the paper bounds it; or on the sphere ‖z‖ = √d, or free as
 * the authors' released code: see LatentBound) and Adam on w only; G, D, Φ and θ frozen. The
 * preference term may be an ensemble's or smoothed over noisy copies (DesignOptions). The GAN's images are resized to Φ's input size inside the graph. Each of the n designs
 * is its own random start (the objective is a sum of independent terms). For a grey catalogue
 * (every photo R = G = B, as Fashion-MNIST) the GAN's image is made grey (the mean of its
 * channels) before Φ and D see it: the search cannot exploit colour that no real item has.
 */
import { CancelledError, InvalidArgumentError } from '../core/errors.js';
import { quantileOf } from '../core/quantile.js';
import type { Encoder } from '../models/encoder.js';
import type { ConditionalGan } from '../models/gan.js';
import { oneHot } from '../models/gan.js';
import { toUint8 } from '../models/encoder.js';
import { Adam, Generator as TorchGenerator, interpolate, keep, noGrad, randn, stack, tensor, tidy, type Tensor } from '../torch/index.js';

export interface DesignModels {
  gan: ConditionalGan;
  encoder: Encoder;
  /** the catalogue is greyscale: designs are drawn grey (see `render`) */
  grey?: boolean;
}

/** The image a design shows: G(z, c) [n, 3, S, S], made grey for a grey catalogue. */
export function render(m: DesignModels, z: Tensor, cond: Tensor): Tensor {
  const x = m.gan.generator.forward(z, cond);
  if (!m.grey) return x;
  const [n, , s] = x.shape;
  return x.mean(1, true).expand([n!, 3, s!, s!]);
}

/**
 * Where each design's search starts: `random` — its own draw w ~ N(0, initScale²) mapped to z by
 * the bound, optionally the best of `candidates` draws, leashed to its start (`anchor`) or guarded
 * (`guard`); `code` — given box codes z0 (improve: an item projected into the GAN), held near by
 * γ‖z − z0‖². The two cannot be mixed: a code start has no bound, candidates, anchor or guard.
 */
export type DesignStart = RandomStart | CodeStart;

export interface RandomStart {
  kind: 'random';
  /** how w maps to the code z (see codeOf): 'box' (default, the paper), 'shell' or 'free' */
  bound?: LatentBound;
  /** random starts w ~ N(0, initScale²) (default 1; the authors' released code: 'free' with 0.5) */
  initScale?: number;
  /**
   * best-of-N starts: draw this many random codes, keep the n whose unoptimised images score best
   * under the objective, and search from those (default: n, plain random starts)
   */
  candidates?: number;
  /**
   * γ of a proximity term γ ‖z − z0‖² to each design's own random start z0: a leash that keeps the
   * search near the typical codes the generator was trained on
   */
  anchor?: number;
  /**
   * the realism guard: each design is the step of its search with the highest score among those
   * that stay as close to the category's real items as the GAN's own samples do (see DesignGuard);
   * a design that never does falls back to its start
   */
  guard?: DesignGuard;
}

export interface CodeStart {
  kind: 'code';
  /** box codes [n, zDim] in (−1, 1) */
  z0: Tensor;
  /** γ of the proximity term γ ‖z − z0‖² */
  gamma: number;
}

export interface DesignOptions {
  /** θ_u [K] */
  theta: Float32Array;
  category: number;
  n: number;
  steps: number;
  lr: number;
  /** weight of the realism term */
  eta: number;
  seed: number;
  /** default: random starts, the box bound */
  start?: DesignStart;
  /** keep every step's images (DesignResult.stepImages), for curves measured by judges afterwards */
  record?: boolean;
  /**
   * the ensemble objective: the preference term is the worst member's (or the members' mean less
   * their spread) of M independently trained Φ/θ, each standardised by its scores of the
   * category's real items; the proxy scores reported stay the first model's (m.encoder, theta)
   */
  ensemble?: DesignEnsemble;
  /**
   * randomised smoothing: Φ sees `copies` noisy copies of the image (Gaussian, σ in the image's
   * [−1, 1] units) and the preference term is their mean; D sees the clean image
   */
  smooth?: { sigma: number; copies: number };
}

/** The options as the search reads them: a random start's settings side by side, or the code. */
interface SearchOptions extends Omit<DesignOptions, 'start'>, Omit<RandomStart, 'kind'> {
  code?: { z0: Tensor; gamma: number };
}

function searchOptions(o: DesignOptions): SearchOptions {
  const { start, ...rest } = o;
  if (!start) return rest;
  if (start.kind === 'code') return { ...rest, code: { z0: start.z0, gamma: start.gamma } };
  const { kind: _k, ...random } = start;
  return { ...rest, ...random };
}

export interface DesignEnsemble {
  members: { encoder: Encoder; theta: Float32Array; center: number; scale: number }[];
  combine: 'min' | 'mean-std';
}

/**
 * The bound on latent codes. 'box': z = tanh(w) ∈ (−1, 1)ᵈ, the paper's bound. Its random starts,
 * tanh of N(0, 1) draws, are shorter than the N(0, I) codes the GAN was trained on (‖z‖ ≈ 0.63√d),
 * and the GAN's images from them are less varied. 'shell': z = √d · w / ‖w‖, the sphere on which
 * nearly all of the training codes lie (their norm is √d within a few per cent): the random starts
 * are the GAN's own samples, and a design can move anywhere on the sphere but never to a code of
 * atypical length.
 */
export type LatentBound = 'box' | 'shell' | 'free';

/** z from the free parameters w [n, zDim]. */
export function codeOf(w: Tensor, bound: LatentBound = 'box'): Tensor {
  if (bound === 'box') return w.tanh();
  if (bound === 'free') return w.mul(1); // z = w, unbounded (the authors' released code)
  const d = w.shape[1]!;
  return w.mul(Math.sqrt(d)).div(w.square().sum(1, true).sqrt().clamp(1e-6));
}

/**
 * The guard's reference: `references` random codes of the category (bounded as the design's; the
 * GAN's unoptimised samples) give the range. A step is in range when Φ of its image is no farther
 * from its nearest real item than the samples' `quantile` of that distance, and D of its image is
 * no lower than the samples' (1 − quantile). Distances in Φ's space, the only view of items the
 * design has; the bench judges in a classifier's space, which the guard never sees.
 */
export interface DesignGuard {
  /** Φ(x) [M, K] of the category's real items (e.g. the run's stored embeddings) */
  real: Float32Array;
  /** default 0.95 */
  quantile?: number;
  /** default 256 */
  references?: number;
  /**
   * ranges already computed, for a caller whose G, D and Φ do not change between designs (a
   * server): the 256 reference samples are then drawn once per category, seed and real items
   */
  cache?: GuardRangeCache;
}

export interface GuardRange {
  maxDistance: number;
  minRealism: number;
}

/**
 * The guard's ranges by category, seed, references, quantile, latent bound and the real items (their count and
 * a hash of their values, so that an upload to the category draws a new range). Only valid while
 * the models it was filled with stay unchanged: make one per loaded run and GAN.
 */
export class GuardRangeCache {
  private readonly ranges = new Map<string, GuardRange>();
  /** passes of the reference samples this cache has saved */
  hits = 0;
  /** at most this many ranges, the least recently used dropped first (requests choose their seed) */
  constructor(readonly capacity = 1024) {}
  get size(): number {
    return this.ranges.size;
  }
  key(category: number, seed: number, references: number, quantile: number, real: Float32Array, bound: LatentBound = 'box'): string {
    const words = new Uint32Array(real.buffer, real.byteOffset, real.length);
    let h = 0x811c9dc5; // FNV-1a over the 32-bit words
    for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i]!, 0x01000193) >>> 0;
    return `${category}|${seed}|${references}|${quantile}|${bound}|${real.length}|${h.toString(16)}`;
  }
  get(key: string): GuardRange | undefined {
    const r = this.ranges.get(key);
    if (r) {
      this.hits++;
      this.ranges.delete(key); // most recently used last
      this.ranges.set(key, r);
    }
    return r;
  }
  set(key: string, r: GuardRange): void {
    this.ranges.delete(key);
    this.ranges.set(key, r);
    while (this.ranges.size > this.capacity) this.ranges.delete(this.ranges.keys().next().value!);
  }
}

export interface DesignResult {
  /** uint8 [n, S, S, 3] at the GAN's size */
  images: Uint8Array;
  imageSize: number;
  /** preference score θ_uᵀΦ(G(z)) of each design at each step: [steps + 1][n] */
  scores: number[][];
  /** objective at each step [steps + 1][n] */
  objective: number[][];
  /** D(G(z, c), c) of the final designs */
  realism: number[];
  finalScores: number[];
  /** the final latent codes z [n, zDim] */
  z: Float32Array;
  /** with `record`: the images of every step [steps + 1] of uint8 [n, S, S, 3] */
  stepImages?: Uint8Array[];
  /** with a guard: the step each design was taken from (0: its start), and the range */
  guard?: { chosenStep: number[]; maxDistance: number; minRealism: number; /** Φ-distance of each design to its nearest real item */ distance: number[] };
}

/** Runs fn with every parameter of the modules frozen and in eval mode; restores both after. */
export function withFrozen<T>(mods: { freeze(): unknown; parameters(): Tensor[]; train(on?: boolean): unknown; training: boolean }[], fn: () => T): T {
  const state = mods.map((m) => ({ m, training: m.training, grads: m.parameters().map((p) => p.requiresGrad) }));
  for (const m of mods) {
    m.freeze();
    m.train(false);
  }
  try {
    return fn();
  } finally {
    for (const s of state) {
      s.m.parameters().forEach((p, i) => (p.requiresGrad = s.grads[i]!));
      s.m.train(s.training);
    }
  }
}

/** The preference terms beyond one clean Φ: the ensemble (with its thetas as tensors) and smoothing. */
export interface PreferenceTerms {
  ensemble?: { members: { encoder: Encoder; theta: Tensor; center: number; scale: number }[]; combine: 'min' | 'mean-std' };
  smooth?: { sigma: number; copies: number; gen: TorchGenerator };
}

const toInputOf = (x: Tensor, size: number) => (x.shape[2] === size ? x : interpolate(x, [size, size], 'bilinear')); // in the graph

/** θᵀΦ of x [n, 3, S, S], averaged over noisy copies when smoothing  [n] */
function scoreOf(encoder: Encoder, theta: Tensor, x: Tensor, smooth?: PreferenceTerms['smooth']): Tensor {
  const xr = toInputOf(x, encoder.config.inputSize);
  if (!smooth) return encoder.forward(xr).matmul(theta);
  let acc: Tensor | null = null;
  for (let c = 0; c < smooth.copies; c++) {
    const s = encoder.forward(xr.add(randn(xr.shape, smooth.gen).mul(smooth.sigma))).matmul(theta);
    acc = acc ? acc.add(s) : s;
  }
  return acc!.div(smooth.copies);
}

/** score, realism and objective of designs from w [n, zDim]; shapes commented. */
export function designTerms(
  m: DesignModels,
  w: Tensor,
  cond: Tensor,
  theta: Tensor,
  eta: number,
  start?: { z0: Tensor; gamma: number },
  bound: LatentBound = 'box',
  terms: PreferenceTerms = {},
) {
  const z = codeOf(w, bound); // z ∈ (−1, 1)ᵈ, on the shell ‖z‖ = √d, or free  [n, zDim]
  const x = render(m, z, cond); // G(z, c)  [n, 3, S, S]
  const phi = m.encoder.forward(toInputOf(x, m.encoder.config.inputSize)); // Φ(G(z, c))  [n, K]
  const score = phi.matmul(theta); // θ_uᵀΦ(G(z, c)), the proxy  [n]
  let preference = terms.smooth ? scoreOf(m.encoder, theta, x, terms.smooth) : score; // [n]
  if (terms.ensemble) {
    // each member standardised by its scores of the category's real items  [M, n]
    const all = stack(terms.ensemble.members.map((e) => scoreOf(e.encoder, e.theta, x, terms.smooth).sub(e.center).div(e.scale)));
    preference = terms.ensemble.combine === 'min' ? all.neg().max(0).neg() : all.mean(0).sub(all.sub(all.mean(0, true)).square().mean(0).add(1e-12).sqrt());
  }
  const d = m.gan.discriminator.forward(x, cond); // D(G(z, c), c)  [n]
  let objective = preference.sub(d.sub(1).square().mul(eta)); // [n]
  if (start) objective = objective.sub(z.sub(start.z0).square().sum(1).mul(start.gamma));
  return { x, phi, score, d, objective };
}

/** Distance from each row of a [n, K] to its nearest row of real [M, K] (libtorch, as the guard's). */
export function nearestDistances(a: Float32Array, real: Float32Array, k: number): number[] {
  if (a.length === 0) return [];
  const r = realTensors(real, k);
  try {
    return tidy(() => nearestOf(tensor(a, [a.length / k, k]), r));
  } finally {
    r.dispose();
  }
}

/**
 * The guard's real items in libtorch: Φ rows transposed [K, M] and their squared norms [1, M], so
 * that the distances of a batch to all of them are one product: ‖a‖² + ‖r‖² − 2 a·r.
 */
export interface RealTensors {
  realT: Tensor;
  norms: Tensor;
  dispose(): void;
}

export function realTensors(real: Float32Array, k: number): RealTensors {
  const r = tensor(real, [real.length / k, k]);
  const realT = keep(tidy(() => r.transpose(0, 1).contiguous()));
  const norms = keep(
    tidy(() =>
      r
        .square()
        .sum(1)
        .reshape([1, real.length / k]),
    ),
  );
  r.dispose();
  return { realT, norms, dispose: () => (realT.dispose(), norms.dispose()) };
}

/** nearestDistances of Φ rows phi [n, K] (a tensor) to the guard's real items, in float32. */
export function nearestOf(phi: Tensor, r: RealTensors): number[] {
  return tidy(() => Array.from(phi.square().sum(1, true).add(r.norms).sub(phi.matmul(r.realT).mul(2)).neg().max(1).neg().clamp(0).sqrt().data()));
}

/** The guard's range from `references` random codes (their own generator: the starts are unchanged). */
function guardRange(m: DesignModels, o: SearchOptions, g: DesignGuard, real: RealTensors, theta: Tensor, zDim: number, nc: number): GuardRange {
  const count = g.references ?? 256;
  const q = g.quantile ?? 0.95;
  if (!(Number.isInteger(count) && count >= 1)) throw new InvalidArgumentError(`design: guard.references must be a positive integer, got ${count}`);
  if (!(q > 0 && q <= 1)) throw new InvalidArgumentError(`design: guard.quantile must be in (0, 1], got ${q}`);
  const key = g.cache?.key(o.category, o.seed, count, q, g.real, o.bound); // the reference samples are drawn with the design's bound
  const cached = key !== undefined ? g.cache!.get(key) : undefined;
  if (cached) return cached;
  const gen = new TorchGenerator(o.seed + 7919);
  const dist: number[] = [];
  const dv: number[] = [];
  noGrad(() => {
    for (let s = 0; s < count; s += 64) {
      tidy(() => {
        const len = Math.min(64, count - s);
        const t = designTerms(m, randn([len, zDim], gen), oneHot(new Int32Array(len).fill(o.category), nc), theta, o.eta, undefined, o.bound);
        dist.push(...nearestOf(t.phi, real));
        dv.push(...t.d.data());
      });
    }
  });
  const range = { maxDistance: quantileOf(dist, q), minRealism: quantileOf(dv, 1 - q) };
  if (key !== undefined) g.cache!.set(key, range);
  return range;
}

/**
 * w [n, zDim] of the random starts: N(0, 1) draws; with `candidates` > n, the n best of that many
 * draws by the objective of their unoptimised images (scored in batches of 64, no gradients).
 */
function randomStarts(m: DesignModels, o: SearchOptions, theta: Tensor, zDim: number, nc: number, terms: PreferenceTerms): Tensor {
  const gen = new TorchGenerator(o.seed);
  const count = Math.max(o.n, o.candidates ?? o.n);
  const all = o.initScale !== undefined && o.initScale !== 1 ? randn([count, zDim], gen).mul(o.initScale) : randn([count, zDim], gen); // [count, zDim]
  if (count === o.n) return all;
  const objective = new Float32Array(count);
  noGrad(() => {
    for (let s = 0; s < count; s += 64) {
      tidy(() => {
        const len = Math.min(64, count - s);
        const cond = oneHot(new Int32Array(len).fill(o.category), nc);
        objective.set(designTerms(m, all.narrow(0, s, len), cond, theta, o.eta, undefined, o.bound, terms).objective.data(), s);
      });
    }
  });
  const best = Array.from(objective.keys())
    .sort((a, b) => objective[b]! - objective[a]! || a - b)
    .slice(0, o.n);
  return all.indexSelect(0, tensor(Int32Array.from(best), [o.n], 'int64'));
}

export interface DesignProgress {
  step: number;
  steps: number;
  /** preference score of each design at this step */
  scores: number[];
}

/** Options that cannot go together, or out of range: a caller's bug (the edges validate users' input first). */
function checkDesignOptions(o: SearchOptions): void {
  if (o.candidates !== undefined && !(Number.isInteger(o.candidates) && o.candidates >= o.n))
    throw new InvalidArgumentError(`design: candidates must be an integer ≥ n (${o.n}), got ${o.candidates}`);
  if (o.bound !== undefined && o.bound !== 'box' && o.bound !== 'shell' && o.bound !== 'free')
    throw new InvalidArgumentError(`design: bound must be 'box', 'shell' or 'free', got '${String(o.bound)}'`);
  if (o.initScale !== undefined && !(o.initScale > 0)) throw new InvalidArgumentError(`design: initScale must be positive, got ${o.initScale}`);
  if (o.ensemble && o.ensemble.members.length < 2) throw new InvalidArgumentError('design: an ensemble needs at least two members');
  if (o.smooth && !(o.smooth.sigma > 0 && Number.isInteger(o.smooth.copies) && o.smooth.copies >= 1))
    throw new InvalidArgumentError(`design: smoothing needs sigma > 0 and a whole number of copies ≥ 1, got ${JSON.stringify(o.smooth)}`);
}

/** Freezes G, D and Φ in eval mode; returns what gives them back trainable and in their mode. */
function freezeModels(m: DesignModels, more: Encoder[] = []): () => void {
  const mods = [m.gan.generator, m.gan.discriminator, m.encoder, ...more];
  const saved = mods.map((mod) => ({ mod, training: mod.training, grads: mod.parameters().map((p) => p.requiresGrad) }));
  for (const mod of mods) mod.freeze().train(false);
  return () => {
    for (const sv of saved) {
      sv.mod.parameters().forEach((p, i) => (p.requiresGrad = sv.grads[i]!));
      sv.mod.train(sv.training);
    }
  };
}

/** w0 [n, zDim]: from the start code (atanh of z0), or random starts (the best of the candidates, when asked). */
function startingW(m: DesignModels, o: SearchOptions, theta: Tensor, zDim: number, nc: number, terms: PreferenceTerms): Tensor {
  return tidy(() => {
    if (!o.code) return randomStarts(m, o, theta, zDim, nc, terms);
    const z0 = o.code.z0.clamp(-0.995, 0.995);
    return z0.add(1).div(z0.neg().add(1)).log().mul(0.5);
  });
}

/** The guard's choice so far: per design, the best in-range step (its w row, step and score). */
interface KeptSteps {
  w: Float32Array;
  step: number[];
  score: number[];
}

/** Keeps each design's current step where it lies inside the guard's range and outscores its kept one. */
function keepInRange(
  kept: KeptSteps,
  range: GuardRange,
  t: { phi: Tensor; d: Tensor },
  real: RealTensors,
  w: Tensor,
  scores: number[],
  step: number,
  zDim: number,
): void {
  const dist = nearestOf(t.phi.detach(), real);
  const dv = t.d.detach().data();
  const wNow = w.detach().data();
  for (let i = 0; i < scores.length; i++) {
    if (dist[i]! <= range.maxDistance && dv[i]! >= range.minRealism && scores[i]! > kept.score[i]!) {
      kept.score[i] = scores[i]!;
      kept.step[i] = step;
      kept.w.set(wNow.subarray(i * zDim, (i + 1) * zDim), i * zDim);
    }
  }
}

/**
 * The maximisation as a generator: yields after every step, returns the result. G, D and Φ are
 * frozen and in eval mode for the generator's whole life (restored in `finally`, also when the
 * consumer stops early with `return()`).
 */
export function* designSteps(m: DesignModels, options: DesignOptions): Generator<DesignProgress, DesignResult, void> {
  const o = searchOptions(options);
  checkDesignOptions(o);
  const nc = m.gan.categories.length;
  const zDim = m.gan.config.zDim;
  const restore = freezeModels(
    m,
    (o.ensemble?.members ?? []).map((e) => e.encoder).filter((e) => e !== m.encoder),
  );
  const cond = keep(oneHot(new Int32Array(o.n).fill(o.category), nc));
  const theta = keep(tensor(o.theta, [o.theta.length]));
  const terms: PreferenceTerms = {
    ...(o.ensemble
      ? {
          ensemble: {
            combine: o.ensemble.combine,
            members: o.ensemble.members.map((e) => ({ encoder: e.encoder, theta: keep(tensor(e.theta, [e.theta.length])), center: e.center, scale: e.scale })),
          },
        }
      : {}),
    ...(o.smooth ? { smooth: { ...o.smooth, gen: new TorchGenerator(o.seed + 104729) } } : {}),
  };
  const releaseTerms = () => terms.ensemble?.members.forEach((e) => e.theta.dispose());
  // w0 (random starts are scored through G, D and Φ with candidates: a failure there gives the
  // modules back as they were)
  let w: Tensor;
  let range: GuardRange | undefined;
  const fail = (e: unknown, started?: Tensor): never => {
    started?.dispose();
    cond.dispose();
    theta.dispose();
    releaseTerms();
    restore();
    throw e;
  };
  try {
    w = keep(startingW(m, o, theta, zDim, nc, terms)).requiresGrad_(true);
  } catch (e) {
    return fail(e);
  }
  let real: RealTensors | undefined;
  try {
    if (o.guard) {
      if (o.guard.real.length === 0 || o.guard.real.length % o.theta.length !== 0)
        throw new InvalidArgumentError(`design: guard.real must hold rows of K = ${o.theta.length} values (got ${o.guard.real.length})`);
      real = realTensors(o.guard.real, o.theta.length);
      range = guardRange(m, o, o.guard, real, theta, zDim, nc);
    }
  } catch (e) {
    real?.dispose();
    return fail(e, w);
  }
  // the anchor: each random start's own code, held fixed
  const anchor = o.anchor ? { z0: keep(noGrad(() => codeOf(w, o.bound))), gamma: o.anchor } : undefined;
  const prox = o.code ?? anchor;
  const opt = new Adam([w], { lr: o.lr });
  const scores: number[][] = [];
  const objective: number[][] = [];
  const stepImages: Uint8Array[] = [];
  const kept: KeptSteps | undefined = range
    ? { w: noGrad(() => w.data()), step: new Array<number>(o.n).fill(0), score: new Array<number>(o.n).fill(-Infinity) }
    : undefined;
  try {
    for (let s = 0; s <= o.steps; s++) {
      tidy(() => {
        opt.zeroGrad();
        const t = designTerms(m, w, cond, theta, o.eta, prox, o.bound, terms);
        scores.push(Array.from(t.score.detach().data()));
        if (o.record) stepImages.push(toUint8(t.x.detach()).data<'uint8'>());
        objective.push(Array.from(t.objective.detach().data()));
        if (kept && range) keepInRange(kept, range, t, real!, w, scores.at(-1)!, s, zDim);
        if (s === o.steps) return; // the last pass only measures
        t.objective.sum().neg().backward(); // ascend the objective
        opt.step();
      });
      yield { step: s, steps: o.steps, scores: scores.at(-1)! };
    }
    return noGrad(() =>
      tidy(() => {
        // with the guard, each design's kept step (its start if no step stayed in range)
        const wFinal = kept ? tensor(kept.w, [o.n, zDim]) : w;
        const t = designTerms(m, wFinal, cond, theta, o.eta, prox, o.bound, terms);
        return {
          ...(o.record ? { stepImages } : {}),
          images: toUint8(t.x).data<'uint8'>(),
          imageSize: t.x.shape[2]!,
          scores,
          objective,
          realism: Array.from(t.d.data()),
          finalScores: Array.from(t.score.data()),
          z: codeOf(wFinal, o.bound).data(),
          ...(kept && range ? { guard: { chosenStep: kept.step, ...range, distance: nearestOf(t.phi, real!) } } : {}),
        };
      }),
    );
  } finally {
    opt.dispose();
    for (const t of [w, cond, theta]) t.dispose();
    releaseTerms();
    anchor?.z0.dispose();
    real?.dispose();
    restore();
  }
}

export function maximisePreference(m: DesignModels, o: DesignOptions): DesignResult {
  const it = designSteps(m, o);
  for (;;) {
    const r = it.next();
    if (r.done) return r.value;
  }
}

/**
 * The same, yielding to the event loop between steps (a server stays responsive), reporting
 * progress, and stopping when `signal` aborts (its work and tensors are released).
 */
export async function maximisePreferenceAsync(
  m: DesignModels,
  o: DesignOptions,
  hooks: { onStep?: (p: DesignProgress) => void; signal?: AbortSignal } = {},
): Promise<DesignResult> {
  return runStepsAsync(designSteps(m, o), 'design', hooks);
}

/**
 * A search's steps run with the event loop let through between them, each reported, stopped at
 * the next step when `signal` aborts (a CancelledError naming `what`; the generator's finally
 * releases its work and tensors).
 */
export async function runStepsAsync<P, R>(it: Generator<P, R, void>, what: string, hooks: { onStep?: (p: P) => void; signal?: AbortSignal }): Promise<R> {
  try {
    for (;;) {
      if (hooks.signal?.aborted) throw new CancelledError(what);
      const r = it.next();
      if (r.done) return r.value;
      hooks.onStep?.(r.value);
      await new Promise((res) => setImmediate(res));
    }
  } finally {
    it.return(undefined as never);
  }
}
