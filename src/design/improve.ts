/**
 * Improving an existing item x of category c for shopper u (method.md §5):
 *  1. projection: z₀ = argmin_z ‖G(z, c) − x‖₁ + α ‖Φ(G(z, c)) − Φ(x)‖² over several random
 *     starts (z = tanh(w), Adam on w), the best start kept;
 *  2. maximisation from z₀ with a proximity term γ ‖z − z₀‖² keeping the design near the original.
 */
import { toInput, toUint8 } from '../models/encoder.js';
import { oneHot } from '../models/gan.js';
import { Adam, Generator as TorchGenerator, interpolate, keep, noGrad, randn, tensor, tidy, type Tensor } from '../torch/index.js';
import { designSteps, render, runStepsAsync, withFrozen, type DesignModels, type DesignResult } from './maximise.js';

export interface ProjectOptions {
  /** the item's image, uint8 [S, S, 3] at the GAN's size */
  image: Uint8Array;
  category: number;
  starts: number;
  steps: number;
  lr: number;
  /** weight α of the feature term */
  alpha: number;
  seed: number;
}

export interface Projection {
  /** z₀ [1, zDim] */
  z0: Float32Array;
  /** G(z₀, c) uint8 [S, S, 3] */
  reconstruction: Uint8Array;
  /** mean |G(z₀, c) − x| in [−1, 1] pixel units, per step of the best start */
  l1: number[];
  /** the same distance for a random latent code (what projection improves on) */
  randomL1: number;
}

/**
 * Codes for several images at once, one random start each: z_a = argmin ‖G(z_a, c) − x_a‖₁ +
 * α ‖Φ(G(z_a, c)) − Φ(x_a)‖² (z = tanh(w), Adam on w). images: uint8 [n, S, S, 3] at the GAN's size.
 * Returns the codes [n, zDim], the L1 of each image at every step, and a random code's L1.
 */
export function projectMany(
  m: DesignModels,
  images: Uint8Array,
  o: Omit<ProjectOptions, 'image' | 'starts'>,
): { z: Float32Array; l1: number[][]; randomL1: number } {
  return drain(projectSteps(m, images, o));
}

/** One step of an improvement: the projection's (its mean L1 over the images) or the maximisation's (the design's score). */
export interface ImproveProgress {
  stage: 'projection' | 'improve';
  step: number;
  steps: number;
  /** projection: mean |G(z, c) − x| of each start; improve: the design's preference score */
  values: number[];
}

/** projectMany one step at a time (a caller may yield between steps, or stop). */
export function* projectSteps(
  m: DesignModels,
  images: Uint8Array,
  o: Omit<ProjectOptions, 'image' | 'starts'>,
): Generator<ImproveProgress, { z: Float32Array; l1: number[][]; randomL1: number }, void> {
  const nc = m.gan.categories.length;
  const zDim = m.gan.config.zDim;
  const s = m.gan.config.imageSize;
  const n = images.length / (s * s * 3);
  const mods = [m.gan.generator, m.gan.discriminator, m.encoder];
  const saved = mods.map((mod) => ({ mod, training: mod.training, grads: mod.parameters().map((p) => p.requiresGrad) }));
  for (const mod of mods) mod.freeze().train(false);
  const target = keep(tidy(() => toInput(tensor(images, [n, s, s, 3])))); // x in [−1, 1]  [n, 3, S, S]
  const size = m.encoder.config.inputSize;
  const toPhi = (x: Tensor) => (x.shape[2] === size ? x : interpolate(x, [size, size], 'bilinear'));
  const phiX = keep(noGrad(() => m.encoder.forward(toPhi(target))));
  const cond = keep(oneHot(new Int32Array(n).fill(o.category), nc));
  const w = keep(randn([n, zDim], new TorchGenerator(o.seed))).requiresGrad_(true);
  const opt = new Adam([w], { lr: o.lr });
  const history: number[][] = [];
  try {
    const randomL1 = noGrad(() => tidy(() => render(m, w.tanh(), cond).sub(target).abs().mean([1, 2, 3]).mean().item()));
    for (let step = 0; step <= o.steps; step++) {
      tidy(() => {
        opt.zeroGrad();
        const g = render(m, w.tanh(), cond); // [n, 3, S, S]
        const l1 = g.sub(target).abs().mean([1, 2, 3]); // [n]
        const feat = m.encoder.forward(toPhi(g)).sub(phiX).square().sum(1); // [n]
        history.push(Array.from(l1.detach().data()));
        if (step === o.steps) return;
        l1.add(feat.mul(o.alpha)).sum().backward();
        opt.step();
      });
      yield { stage: 'projection', step, steps: o.steps, values: history.at(-1)! };
    }
    return { z: noGrad(() => tidy(() => w.tanh().data())), l1: history, randomL1 };
  } finally {
    opt.dispose();
    for (const t of [w, cond, target, phiX]) t.dispose();
    for (const sv of saved) {
      sv.mod.parameters().forEach((p, i) => (p.requiresGrad = sv.grads[i]!));
      sv.mod.train(sv.training);
    }
  }
}

/** A generator run to its end. */
function drain<R>(it: Generator<unknown, R, void>): R {
  for (;;) {
    const r = it.next();
    if (r.done) return r.value;
  }
}

/** One image's code: `starts` random starts (projectMany over copies of it), the best kept. */
export function projectToLatent(m: DesignModels, o: ProjectOptions): Projection {
  return drain(projectionSteps(m, o));
}

function* projectionSteps(m: DesignModels, o: ProjectOptions): Generator<ImproveProgress, Projection, void> {
  const nc = m.gan.categories.length;
  const zDim = m.gan.config.zDim;
  const copies = new Uint8Array(o.image.length * o.starts);
  for (let a = 0; a < o.starts; a++) copies.set(o.image, a * o.image.length);
  const p = yield* projectSteps(m, copies, o);
  const last = p.l1.at(-1)!;
  const best = last.indexOf(Math.min(...last));
  const z0 = p.z.slice(best * zDim, (best + 1) * zDim);
  const reconstruction = withFrozen([m.gan.generator], () =>
    noGrad(() => tidy(() => toUint8(render(m, tensor(z0, [1, zDim]), oneHot(Int32Array.from([o.category]), nc))).data<'uint8'>())),
  );
  return { z0, reconstruction, l1: p.l1.map((h) => h[best]!), randomL1: p.randomL1 };
}

export interface ImproveOptions extends ProjectOptions {
  theta: Float32Array;
  improveSteps: number;
  improveLr: number;
  eta: number;
  gamma: number;
}

export interface ImproveResult {
  projection: Projection;
  design: DesignResult;
}

export function improveItem(m: DesignModels, o: ImproveOptions): ImproveResult {
  return drain(improveSteps(m, o));
}

/** improveItem one step at a time: the projection's steps, then the maximisation's. */
export function* improveSteps(m: DesignModels, o: ImproveOptions): Generator<ImproveProgress, ImproveResult, void> {
  const projection = yield* projectionSteps(m, o);
  const z0 = keep(tensor(projection.z0, [1, m.gan.config.zDim]));
  try {
    const it = designSteps(m, {
      theta: o.theta,
      category: o.category,
      n: 1,
      steps: o.improveSteps,
      lr: o.improveLr,
      eta: o.eta,
      seed: o.seed,
      start: { kind: 'code', z0, gamma: o.gamma },
    });
    for (;;) {
      const r = it.next();
      if (r.done) return { projection, design: r.value };
      yield { stage: 'improve', step: r.value.step, steps: r.value.steps, values: r.value.scores };
    }
  } finally {
    z0.dispose();
  }
}

/**
 * improveItem with the event loop let through between steps (a server answers other requests
 * meanwhile), each step reported, and stopped at the next step when `signal` aborts.
 */
export async function improveItemAsync(
  m: DesignModels,
  o: ImproveOptions,
  hooks: { onStep?: (p: ImproveProgress) => void; signal?: AbortSignal } = {},
): Promise<ImproveResult> {
  return runStepsAsync(improveSteps(m, o), 'improvement', hooks);
}
