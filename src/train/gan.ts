/**
 * The GAN training loop: batches of real items with their categories, one D step then one G step
 * (method.md §4), `snapshots` evenly spaced over the run. At each snapshot the `snapshot`
 * callback (wired by src/app/train-gan.ts: sample grid and quality metrics) runs, a checkpoint is written, and
 * the snapshot with the lowest mean Fréchet distance is kept as the best.
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
import { Rng, type RngState } from '../core/rng.js';
import type { GanConfig } from '../config/gan.js';
import { BadInputError, InvalidArgumentError } from '../core/errors.js';
import { ganState, loadGanState, oneHot, type ConditionalGan } from '../models/gan.js';
import { Adam, Generator, randn, tensor, tidy, type Tensor, type PixelRows } from '../torch/index.js';
import { averageInto, copyState, decayFor, disposeAll, snapshot as snapshotOf, withWeightsAsync } from './averaging.js';
import { z } from 'zod';
import { countSchema, resumeCheckpoint, rngStateSchema, saveCheckpoint } from './checkpoint.js';
import type { TrainCallbacks } from './events.js';
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
  /** quality of the current generator; must return a mean `frechet` (lower is better) */
  snapshot: (index: number, epoch: number) => Promise<Record<string, number> & { frechet: number }>;
}

interface GanState {
  step: number;
  snapshot: number;
  rng: RngState;
  dLoss: number;
  gLoss: number;
  bestFrechet: number;
  bestSnapshot: number;
  history: { snapshot: number; step: number; epoch: number; dLoss: number; gLoss: number; metrics: Record<string, number> }[];
}

/** What a checkpoint's GAN state must be to be resumed. */
const ganStateSchema = z.object({
  step: countSchema,
  snapshot: countSchema,
  rng: rngStateSchema,
  dLoss: z
    .number()
    .nullable()
    .transform((v) => v ?? NaN),
  gLoss: z
    .number()
    .nullable()
    .transform((v) => v ?? NaN),
  bestFrechet: z
    .number()
    .min(0)
    .nullable()
    .transform((v) => v ?? Infinity), // JSON writes Infinity as null
  bestSnapshot: countSchema,
  history: z.array(
    z.object({
      snapshot: countSchema,
      step: countSchema,
      epoch: z.number().min(0),
      dLoss: z.number().nullable(),
      gLoss: z.number().nullable(),
      metrics: z.record(z.string(), z.number().nullable()),
    }),
  ),
}) as z.ZodType<GanState>;

export interface GanResult {
  bestSnapshot: number;
  bestFrechet: number;
  history: GanState['history'];
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

export async function trainGan(o: GanLoopOptions): Promise<GanResult> {
  const { gan, config: c } = o;
  const nc = gan.categories.length;
  const averaging = (c.emaSteps ?? 0) > 0;
  const decay = averaging ? decayFor(c.emaSteps!) : 0;
  let ema = averaging ? snapshotOf(gan.generator) : new Map<string, Tensor>();
  const optD = new Adam(gan.discriminator.trainableParameters(), { lr: c.lrD ?? c.lr, beta1: c.beta1, beta2: c.beta2 });
  const optG = new Adam(gan.generator.trainableParameters(), { lr: c.lr, beta1: c.beta1, beta2: c.beta2 });
  const zGen = new Generator(c.seed + 17);
  const rng = new Rng(c.seed + 31);
  const mismatch = c.mismatch ?? 0;
  const drawer = itemDrawer(o.itemCategory, nc, rng, c.categoryPower);
  const stepsPerEpoch = Math.max(1, Math.floor(drawer.eligible / c.batch));
  const total = Math.max(1, Math.round(c.epochs * stepsPerEpoch));
  const snapAt = Array.from({ length: c.snapshots }, (_, k) => Math.round(((k + 1) * total) / c.snapshots));
  let st: GanState = { step: 0, snapshot: 0, rng: rng.getState(), dLoss: NaN, gLoss: NaN, bestFrechet: Infinity, bestSnapshot: 0, history: [] };
  let best = new Map<string, Tensor>();
  const ck = o.resume ? resumeCheckpoint(o.dir, ganStateSchema, o.callbacks.onMessage) : null;
  if (ck) {
    st = ck.state;
    const pick = (p: string) => new Map([...ck.tensors].filter(([k]) => k.startsWith(p)).map(([k, v]) => [k.slice(p.length), v]));
    loadGanState(gan, pick('model.'), `${o.dir}/checkpoint.safetensors`);
    optD.loadStateDict({ step: st.step, tensors: pick('adamD.') });
    optG.loadStateDict({ step: st.step, tensors: pick('adamG.') });
    zGen.setState(ck.tensors.get('zgen')!);
    best = pick('best.');
    if (averaging) {
      const saved = pick('ema.');
      if (saved.size === 0)
        throw new BadInputError(
          `${o.dir}/checkpoint.safetensors has no averaged generator: it was trained without a generator average: resume it with --ema-steps 0 (config emaSteps 0)`,
        );
      disposeAll(ema);
      ema = saved;
    }
    rng.setState(st.rng);
    // a resumed run may go on to more epochs, if its snapshots so far sit where the new schedule puts them
    const taken = st.history.map((h) => h.step);
    if (taken.some((step, k) => snapAt[k] !== step) || st.step > total) {
      throw new BadInputError(
        `${o.dir}: the checkpoint's snapshots were taken at steps [${taken.join(', ')}] (step ${st.step}); these epochs and snapshots put them at [${snapAt.join(', ')}] (${total} steps): resume with the same snapshots per epoch and at least as many epochs`,
      );
    }
    o.callbacks.onMessage?.(`resumed at step ${st.step} of ${total} (snapshot ${st.snapshot})`);
  }
  const t0 = performance.now();
  const startStep = st.step;
  while (st.step < total) {
    const items = Int32Array.from({ length: c.batch }, drawer.draw);
    const cats = Int32Array.from(items, (i) => o.itemCategory[i]!);
    const wrong = mismatch > 0 ? wrongCategories(cats, nc, rng) : null;
    tidy(() => {
      const cond = oneHot(cats, nc);
      const real = o.images.indexSelect(0, tensor(items, [items.length], 'int64'));
      st.dLoss = discriminatorStep(
        gan,
        optD,
        real,
        cond,
        randn([c.batch, gan.config.zDim], zGen),
        wrong ? { cond: oneHot(wrong, nc), weight: mismatch } : undefined,
      );
      st.gLoss = generatorStep(gan, optG, cond, randn([c.batch, gan.config.zDim], zGen));
    });
    if (averaging) averageInto(ema, gan.generator, decay);
    st.step++;
    const secs = (performance.now() - t0) / 1000;
    o.callbacks.onStep?.({
      epoch: Math.floor((st.step - 1) / stepsPerEpoch) + 1,
      step: st.step,
      stepsPerEpoch: total,
      totalSteps: total,
      globalStep: st.step,
      loss: st.dLoss + st.gLoss,
      rate: ((st.step - startStep) * c.batch) / Math.max(secs, 1e-9),
      rateUnit: 'images/s',
    });
    if (st.step % 4 === 0) await new Promise((r) => setImmediate(r));
    if (snapAt[st.snapshot] === st.step) {
      st.snapshot++;
      const epoch = st.step / stepsPerEpoch;
      gan.generator.eval();
      const index = st.snapshot;
      const metrics = averaging ? await withWeightsAsync(gan.generator, ema, () => o.snapshot(index, epoch)) : await o.snapshot(index, epoch);
      gan.generator.train();
      const isBest = metrics.frechet < st.bestFrechet;
      if (isBest) {
        disposeAll(best);
        best = copyState(ganState(gan, averaging ? ema : undefined));
        st.bestFrechet = metrics.frechet;
        st.bestSnapshot = st.snapshot;
      }
      st.history.push({ snapshot: st.snapshot, step: st.step, epoch, dLoss: st.dLoss, gLoss: st.gLoss, metrics });
      st.rng = rng.getState();
      o.callbacks.onEpoch?.({
        epoch: st.snapshot,
        epochs: c.snapshots,
        loss: st.dLoss + st.gLoss,
        metrics: { dLoss: st.dLoss, gLoss: st.gLoss, ...metrics },
        best: isBest,
        seconds: (performance.now() - t0) / 1000,
      });
      tidy(() => {
        const tensors = new Map<string, Tensor>();
        for (const [k, v] of ganState(gan)) tensors.set(`model.${k}`, v);
        for (const [k, v] of optD.stateDict().tensors) tensors.set(`adamD.${k}`, v);
        for (const [k, v] of optG.stateDict().tensors) tensors.set(`adamG.${k}`, v);
        tensors.set('zgen', zGen.getState());
        for (const [k, v] of best) tensors.set(`best.${k}`, v);
        for (const [k, v] of ema) tensors.set(`ema.${k}`, v);
        saveCheckpoint(o.dir, st, tensors);
      });
    }
  }
  disposeAll(ema);
  optD.dispose();
  optG.dispose();
  return { bestSnapshot: st.bestSnapshot, bestFrechet: st.bestFrechet, history: st.history, best };
}
