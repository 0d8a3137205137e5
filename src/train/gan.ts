/**
 * GAN training, a task of the one training loop (train/loop.ts): batches of real items with their
 * categories, one D step then one G step (method.md §4), `snapshots` evenly spaced over the run
 * (the loop's marks). At each snapshot the `snapshot` callback (wired by src/app/train-gan.ts:
 * sample grid and quality metrics) runs, a checkpoint is written, and the snapshot with the lowest
 * mean Fréchet distance is kept as the best.
 *
 * Two options beyond the paper (both off unless set; the default preset sets them):
 *  - `emaSteps` > 0: an exponential moving average of the generator's weights after every step,
 *    time constant emaSteps steps (decay 1 − 1/emaSteps), starting from the initial weights. The
 *    snapshots (grids, quality), the best snapshot and the saved generator are the averaged one;
 *    training goes on from the raw weights. D is never averaged.
 *  - `categoryPower` p: batches draw a category with probability ∝ n_c^p, then an item of it
 *    uniformly. p = 1 is the paper's uniform draw over items (and the code path used when p is
 *    unset); p = 0 trains every category equally often, however few its images.
 *  - `mismatch` w > 0: D's loss adds w·½D(x, c′)² over the batch's real images, each under a
 *    wrong category c′ drawn uniformly from the others (gan-steps.ts).
 */
import { Rng } from '../core/rng.js';
import type { GanConfig } from '../config/gan.js';
import { InvalidArgumentError } from '../core/errors.js';
import { ganState, loadGanState, oneHot, type ConditionalGan } from '../models/gan.js';
import { Adam, Generator, randn, tensor, tidy, type Tensor, type PixelRows } from '../torch/index.js';
import { putUnder, tensorsUnder } from './checkpoint.js';
import { decayFor } from './averaging.js';
import type { TrainCallbacks } from './events.js';
import { runTraining } from './loop.js';
import { discriminatorStep, generatorStep } from './gan-steps.js';

export interface GanLoopOptions {
  dir: string;
  gan: ConditionalGan;
  /** uint8 catalogue [N, S, S, 3] */
  images: PixelRows;
  /** GAN category per item, −1 = not used */
  itemCategory: Int32Array;
  /**
   * the parsed configuration: its schedule (epochs, batch, snapshots, seed), optimiser (lr, lrD,
   * beta1, beta2) and the options beyond the paper (emaSteps, categoryPower, mismatch) drive the loop
   */
  config: GanConfig;
  resume: boolean;
  callbacks: TrainCallbacks;
  /** stops the run at the next step, a checkpoint written */
  signal?: AbortSignal;
  /** quality of the current generator; must return a mean `frechet` (lower is better) */
  snapshot: (index: number, epoch: number) => Promise<Record<string, number> & { frechet: number }>;
}

export interface GanResult {
  bestSnapshot: number;
  bestFrechet: number;
  history: { snapshot: number; step: number; epoch: number; dLoss: number; gLoss: number; metrics: Record<string, number> }[];
  best: Map<string, Tensor>;
}

/**
 * The batch sampler over the items with a GAN category: `power` unset draws them uniformly;
 * otherwise a category with probability ∝ n_c^power, then one of its items uniformly. Returns the
 * draw and how many items it draws from.
 */
export function itemDrawer(itemCategory: Int32Array, numCategories: number, rng: Rng, power?: number): { draw: () => number; eligible: number } {
  const eligible = Int32Array.from([...itemCategory.keys()].filter((i) => itemCategory[i]! >= 0));
  if (eligible.length === 0) throw new InvalidArgumentError('no item has a GAN category');
  if (power === undefined) return { draw: () => eligible[rng.int(eligible.length)]!, eligible: eligible.length };
  const byCat = Array.from({ length: numCategories }, () => [] as number[]);
  for (const i of eligible) byCat[itemCategory[i]!]!.push(i);
  const weights = byCat.map((items) => (items.length ? items.length ** power : 0));
  const total = weights.reduce((a, b) => a + b, 0);
  const cumulative: number[] = [];
  weights.reduce((acc, w) => (cumulative.push((acc + w) / total), acc + w), 0);
  const last = weights.reduce((l, w, k) => (w > 0 ? k : l), 0);
  const draw = () => {
    const u = rng.next();
    let c = cumulative.findIndex((x) => u < x);
    if (c < 0 || weights[c] === 0) c = last; // u within round-off of 1
    const items = byCat[c]!;
    return items[rng.int(items.length)]!;
  };
  return { draw, eligible: eligible.length };
}

/** A wrong category for each one: c + 1 + uniform(0..C − 2), modulo C (uniform over the others). */
export function wrongCategories(cats: Int32Array, numCategories: number, rng: Rng): Int32Array {
  if (numCategories < 2) throw new InvalidArgumentError(`a wrong category needs at least two categories, got ${numCategories}`);
  return Int32Array.from(cats, (c) => (c + 1 + rng.int(numCategories - 1)) % numCategories);
}

/**
 * A checkpoint of the GAN loop before the one loop (fields step, snapshot, rng, dLoss, gLoss,
 * bestFrechet, bestSnapshot, history; tensors 'zgen' and 'ema.*') in the one loop's layout
 * ('gen.0', 'avg.*'). Null for a state of another shape.
 */
export function upgradeGanCheckpoint(s: Record<string, unknown>, tensors: Map<string, Tensor>): { state: unknown; tensors: Map<string, Tensor> } | null {
  if (typeof s.step !== 'number' || typeof s.snapshot !== 'number' || !Array.isArray(s.rng) || !Array.isArray(s.history)) return null;
  const history = (s.history as Record<string, unknown>[]).map((h) => {
    const d = h.dLoss as number | null;
    const g = h.gLoss as number | null;
    return {
      mark: h.snapshot,
      step: h.step,
      epoch: h.epoch,
      loss: d !== null && g !== null ? d + g : null,
      seconds: 0,
      metrics: { dLoss: d, gLoss: g, ...(h.metrics as Record<string, number | null>) },
    };
  });
  const state = {
    step: s.step,
    marks: s.snapshot,
    rngs: [s.rng],
    best: s.bestFrechet ?? null, // Infinity (nothing measured) was written as null
    bestMark: s.bestSnapshot,
    sinceBest: 0,
    period: { loss: 0, seconds: 0 },
    history,
  };
  const renamed = new Map([...tensors].map(([k, v]) => [k === 'zgen' ? 'gen.0' : k.startsWith('ema.') ? `avg.${k.slice(4)}` : k, v]));
  return { state, tensors: renamed };
}

/** The GAN as a task of the one training loop (train/loop.ts): one D step then one G step per batch. */
export async function trainGan(o: GanLoopOptions): Promise<GanResult> {
  const { gan, config: c } = o;
  const nc = gan.categories.length;
  const optD = new Adam(gan.discriminator.trainableParameters(), { lr: c.lrD ?? c.lr, beta1: c.beta1, beta2: c.beta2 });
  const optG = new Adam(gan.generator.trainableParameters(), { lr: c.lr, beta1: c.beta1, beta2: c.beta2 });
  const zGen = new Generator(c.seed + 17);
  const rng = new Rng(c.seed + 31);
  const mismatch = c.mismatch ?? 0;
  const drawer = itemDrawer(o.itemCategory, nc, rng, c.categoryPower);
  const stepsPerEpoch = Math.max(1, Math.floor(drawer.eligible / c.batch));
  const total = Math.max(1, Math.round(c.epochs * stepsPerEpoch));
  const marks = Array.from({ length: c.snapshots }, (_, k) => Math.round(((k + 1) * total) / c.snapshots));
  let dLoss = NaN;
  let gLoss = NaN;
  try {
    const r = await runTraining(
      {
        draw: () => {
          const items = Int32Array.from({ length: c.batch }, drawer.draw);
          const cats = Int32Array.from(items, (i) => o.itemCategory[i]!);
          return { items, cats, wrong: mismatch > 0 ? wrongCategories(cats, nc, rng) : null };
        },
        update: ({ items, cats, wrong }) => {
          tidy(() => {
            const cond = oneHot(cats, nc);
            const real = o.images.indexSelect(0, tensor(items, [items.length], 'int64'));
            dLoss = discriminatorStep(
              gan,
              optD,
              real,
              cond,
              randn([c.batch, gan.config.zDim], zGen),
              wrong ? { cond: oneHot(wrong, nc), weight: mismatch } : undefined,
            );
            gLoss = generatorStep(gan, optG, cond, randn([c.batch, gan.config.zDim], zGen));
          });
          return dLoss + gLoss;
        },
        examplesPerStep: c.batch,
        rateUnit: 'images/s',
        evaluate: async (index) => {
          gan.generator.eval();
          try {
            return { dLoss, gLoss, ...(await o.snapshot(index, marks[index - 1]! / stepsPerEpoch)) };
          } finally {
            gan.generator.train();
          }
        },
        keep: { metric: 'frechet', higher: false },
        weights: (avg) => ganState(gan, avg),
        save: () => {
          const tensors = putUnder(new Map(), 'model.', ganState(gan));
          return putUnder(putUnder(tensors, 'adamD.', optD.stateDict().tensors), 'adamG.', optG.stateDict().tensors);
        },
        load: (tensors, step, file) => {
          const pick = (p: string) => tensorsUnder(tensors, p);
          loadGanState(gan, pick('model.'), file);
          optD.loadStateDict({ step, tensors: pick('adamD.') });
          optG.loadStateDict({ step, tensors: pick('adamG.') });
        },
        rngs: [rng],
        generators: [zGen],
        upgrade: upgradeGanCheckpoint,
      },
      {
        dir: o.dir,
        resume: o.resume,
        schedule: { totalSteps: total, stepsPerEpoch, marks },
        // the generator's weights averaged (D never is); the snapshots and the kept weights are the average
        ...((c.emaSteps ?? 0) > 0 ? { average: { module: gan.generator, decay: decayFor(c.emaSteps!) } } : {}),
        ...(o.signal ? { signal: o.signal } : {}),
        what: 'GAN training',
        callbacks: o.callbacks,
      },
    );
    return {
      bestSnapshot: r.bestMark,
      bestFrechet: r.bestValue,
      history: r.history.map(({ metrics: { dLoss: d, gLoss: g, ...metrics }, ...h }) => ({
        snapshot: h.mark,
        step: h.step,
        epoch: h.epoch,
        dLoss: d!,
        gLoss: g!,
        metrics,
      })),
      best: r.best,
    };
  } finally {
    optD.dispose();
    optG.dispose();
  }
}
