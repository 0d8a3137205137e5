/**
 * The generic BPR training loop shared by DVBPR, BPR-MF and VBPR: triplets from the sampler,
 * one `bprStep` per batch, validation and a checkpoint per epoch, the best-validation weights
 * kept, optional early stopping, and exact resume (weights, Adam moments, sampler RNG, dropout
 * generator, history).
 *
 * Optional weight averaging (`averageEpochs` > 0): an exponential moving average of the weights
 * after every step, with a time constant of that many epochs (decay 1 − 1/(averageEpochs ·
 * steps per epoch)), starting from the initial weights. Validation, the best snapshot and the
 * final model are the averaged weights; training goes on from the raw ones. Averaging smooths the
 * epoch-to-epoch swings of a small-data run (Polyak averaging).
 *
 * Data-parallel (`group`, a c10d process group of W ranks: src/torch/dist.ts): every rank draws the
 * same global batch from the same seeded sampler and trains on its W-th of it; after backward the
 * gradients (and the batch loss) are summed over the ranks in one all-reduce, and the per-parameter
 * regularisation is weighted 1/W on each rank, so the step is the one-process step on the whole
 * batch and every rank's Adam takes it alike. Parameters are broadcast from rank 0 at the start.
 * Rank 0 validates (the others take its AUC) and writes the checkpoints; every rank resumes from
 * them (one machine, or a shared folder), so the sampler, Adam and generators agree on resume.
 */
import { BadInputError } from '../core/errors.js';
import type { RngState } from '../core/rng.js';
import type { Triplets } from '../data/sampler.js';
import { TripletSampler } from '../data/sampler.js';
import { Adam, noGrad, RowAdam, tensor, tidy, type Generator, type Module, type ProcessGroup, type Tensor } from '../torch/index.js';
import { averageInto, copyState, decayFor, disposeAll, LazyRowAverage, snapshot, withWeights } from './averaging.js';
import { z } from 'zod';
import { countSchema, resumeCheckpoint, rngStateSchema, saveCheckpoint } from './checkpoint.js';
import type { TrainCallbacks } from './events.js';

export interface BprModel {
  module: Module;
  /**
   * the BPR objective of method.md for one batch: Σ softplus(−x_uij) + regularisation, the terms
   * over the model's parameters (not the batch's rows) weighted by `paramShare` (1/W on each of W ranks)
   */
  loss(t: Triplets, paramShare?: number): { total: Tensor; bpr: Tensor };
  /** generators whose state must survive a resume (dropout) */
  generators: Generator[];
  /**
   * a table of per-user rows (DVBPR's θ) trained by lazy row updates (RowAdam): each step reads,
   * differentiates and updates only its batch's rows, so a step costs the same at a thousand
   * shoppers or a million. Absent: every parameter takes dense Adam.
   */
  rows?: { param: Tensor; bind(leaf: Tensor | null, rows: Int32Array | null): void };
}

/** The distinct users of a batch, ascending: the rows a lazy step touches (the same on every rank, from the global batch). */
export function batchRows(t: Triplets): Int32Array {
  const u = Int32Array.from(t.user).sort();
  let m = 0;
  for (let k = 0; k < u.length; k++) if (k === 0 || u[k] !== u[k - 1]) u[m++] = u[k]!;
  return u.slice(0, m);
}

export interface BprLoopOptions {
  dir: string;
  epochs: number;
  batch: number;
  lr: number;
  seed: number;
  train: { user: Int32Array; item: Int32Array };
  numUsers: number;
  numItems: number;
  /**
   * validation AUC (higher is better) of the current weights; absent for a run with nothing held
   * out (`--split none`): every epoch's weights are then the latest and the kept ones
   */
  validate?: () => Record<string, number> & { auc: number };
  evalEvery: number;
  earlyStopping: number;
  /** weight averaging time constant in epochs (0 or absent: off) */
  averageEpochs?: number;
  resume: boolean;
  /** images per triplet for the rate display (2 for DVBPR: i and j) */
  examplesPerTriplet: number;
  rateUnit: string;
  callbacks: TrainCallbacks;
  /** data-parallel training over these ranks (absent: one process) */
  group?: ProcessGroup;
  /** forward and backward of each (rank's) batch in this many parts, gradients accumulated (default 1) */
  microBatches?: number;
}

interface LoopState {
  epoch: number;
  adamStep: number;
  sampler: RngState;
  bestAuc: number;
  bestEpoch: number;
  sinceBest: number;
  history: { epoch: number; loss: number; seconds: number; metrics: Record<string, number> }[];
}

/** What a checkpoint's loop state must be to be resumed (a file read passes the bounds its writer kept). */
const loopStateSchema = z.object({
  epoch: countSchema,
  adamStep: countSchema,
  sampler: rngStateSchema,
  bestAuc: z
    .number()
    .min(0)
    .max(1)
    .nullable()
    .transform((v) => v ?? -Infinity), // JSON writes −Infinity (nothing evaluated yet) as null
  bestEpoch: countSchema,
  sinceBest: countSchema,
  history: z.array(
    z.object({ epoch: countSchema, loss: z.number().nullable(), seconds: z.number().min(0), metrics: z.record(z.string(), z.number().nullable()) }),
  ),
}) as z.ZodType<LoopState>;

export interface BprResult {
  bestAuc: number;
  bestEpoch: number;
  history: LoopState['history'];
  /** the best weights (by validation AUC), loaded into the module at the end */
  best: Map<string, Tensor>;
}

/** Rank 0's validation AUC on every rank (the others' metrics are its AUC alone). */
function sharedAuc(group: ProcessGroup, metrics: Record<string, number>): Record<string, number> {
  const t = tensor(Float64Array.from([group.rank === 0 ? metrics.auc! : 0]), [1], 'float64');
  group.broadcast([t], 0);
  const auc = t.item();
  t.dispose();
  return group.rank === 0 ? metrics : { auc };
}

/** Rank r's W-th of a batch (contiguous; the first ranks take one more when W does not divide it). */
export function shardOf(t: Triplets, rank: number, size: number): Triplets {
  const n = t.user.length;
  const per = Math.floor(n / size);
  const extra = n % size;
  const a = rank * per + Math.min(rank, extra);
  const b = a + per + (rank < extra ? 1 : 0);
  return { user: t.user.subarray(a, b), pos: t.pos.subarray(a, b), neg: t.neg.subarray(a, b) };
}

/**
 * One update: sample-free, so tests can call it on a hand-made batch. With a group, `t` is this
 * rank's shard of the global batch: gradients and the loss are summed over the ranks before the step.
 * With `microBatches` m > 1 the batch goes through forward and backward in m parts, the gradients
 * accumulating (the same step in less memory; with m = W it adds the very numbers W ranks add).
 */
export function bprStep(model: BprModel, opt: Adam, t: Triplets, group?: ProcessGroup, microBatches = 1, lazy?: { opt: RowAdam; rows: Int32Array }): number {
  if (!lazy) return denseStep(model, opt, t, group, microBatches);
  const bound = model.rows!;
  return tidy(() => {
    const rowsT = tensor(lazy.rows, [lazy.rows.length], 'int64');
    const leaf = noGrad(() => bound.param.indexSelect(0, rowsT)).requiresGrad_(true);
    bound.bind(leaf, lazy.rows);
    try {
      const total = denseStep(model, opt, t, group, microBatches, leaf);
      lazy.opt.step(rowsT, leaf.grad!);
      return total;
    } finally {
      bound.bind(null, null);
    }
  });
}

/** The step over the dense parameters (and, with `leaf`, the batch rows' gradient summed over the ranks beside theirs). */
function denseStep(model: BprModel, opt: Adam, t: Triplets, group: ProcessGroup | undefined, microBatches: number, leaf?: Tensor): number {
  return tidy(() => {
    opt.zeroGrad();
    // the batch's W-th share of the parameter terms on each rank, split again over the micro-batches
    const share = 1 / ((group?.size ?? 1) * microBatches);
    let total = 0;
    for (let m = 0; m < microBatches; m++) {
      const part = microBatches > 1 ? shardOf(t, m, microBatches) : t;
      const loss = model.loss(part, share).total;
      loss.backward(); // gradients accumulate over the micro-batches
      total += loss.item();
    }
    if (!group) {
      opt.step();
      return total;
    }
    const params = opt.params;
    const grads = params.map((p, k) => {
      const g = p.grad;
      if (!g) throw new Error(`data-parallel step: parameter ${k} got no gradient on rank ${group.rank}`);
      return g;
    });
    const loss = tensor(Float32Array.from([total]), [1]);
    // only the batch's rows of a lazy table travel
    group.allReduce([...grads, ...(leaf ? [leaf.grad!] : []), loss], 'sum');
    opt.step();
    return loss.item();
  });
}

export async function trainBpr(model: BprModel, o: BprLoopOptions): Promise<BprResult> {
  const lazyParam = model.rows?.param;
  // a table of rows trained lazily is not among dense Adam's parameters
  const params = model.module.trainableParameters().filter((p) => p !== lazyParam);
  const group = o.group;
  const lead = !group || group.rank === 0; // validates and writes the checkpoints
  // every rank starts from rank 0's weights (they agree already when built from one seed)
  group?.broadcast(model.module.trainableParameters(), 0);
  const opt = new Adam(params, { lr: o.lr });
  const rowOpt = lazyParam ? new RowAdam(lazyParam, o.lr) : null;
  const lazyKey = lazyParam ? [...model.module.stateDict()].find(([, t]) => t === lazyParam)?.[0] : undefined;
  const sampler = new TripletSampler(o.train, o.numUsers, o.numItems, o.seed);
  const stepsPerEpoch = Math.max(1, Math.round(o.train.user.length / o.batch));
  const fullEpochs = o.epochs;
  let st: LoopState = { epoch: 0, adamStep: 0, sampler: sampler.getState(), bestAuc: -Infinity, bestEpoch: 0, sinceBest: 0, history: [] };
  let best = new Map<string, Tensor>();
  const averaging = (o.averageEpochs ?? 0) > 0;
  const decay = averaging ? decayFor(o.averageEpochs! * stepsPerEpoch) : 0;
  let avg = averaging ? snapshot(model.module) : new Map<string, Tensor>();

  const ck = o.resume ? resumeCheckpoint(o.dir, loopStateSchema, o.callbacks.onMessage) : null;
  if (ck) {
    st = ck.state;
    const weights = new Map([...ck.tensors].filter(([k]) => k.startsWith('model.')).map(([k, v]) => [k.slice(6), v]));
    model.module.loadStateDict(weights, `${o.dir}/checkpoint.safetensors`);
    if (rowOpt && !ck.tensors.has('rowadam.exp_avg'))
      throw new BadInputError(
        `${o.dir}/checkpoint.safetensors was written by an earlier Atelier (Adam moments for every user row): it cannot be resumed by this one; train the run again without --resume`,
      );
    opt.loadStateDict({ step: st.adamStep, tensors: new Map([...ck.tensors].filter(([k]) => k.startsWith('adam.')).map(([k, v]) => [k.slice(5), v])) });
    rowOpt?.loadStateDict({ step: st.adamStep, tensors: new Map([...ck.tensors].filter(([k]) => k.startsWith('rowadam.')).map(([k, v]) => [k.slice(8), v])) });
    model.generators.forEach((g, i) => g.setState(ck.tensors.get(`gen.${i}`)!));
    best = new Map([...ck.tensors].filter(([k]) => k.startsWith('best.')).map(([k, v]) => [k.slice(5), v]));
    if (averaging) {
      const saved = new Map([...ck.tensors].filter(([k]) => k.startsWith('avg.')).map(([k, v]) => [k.slice(4), v]));
      if (saved.size === 0)
        throw new BadInputError(
          `${o.dir}/checkpoint.safetensors has no averaged weights: it was trained without weight averaging, resume it without --average-epochs`,
        );
      disposeAll(avg);
      avg = saved;
    }
    sampler.setState(st.sampler);
    o.callbacks.onMessage?.(`resumed at epoch ${st.epoch}` + (st.bestEpoch ? ` (best validation AUC ${st.bestAuc.toFixed(4)} at epoch ${st.bestEpoch})` : ''));
  }

  // the lazy table's average (the checkpoint's averages are whole: flushed at every epoch's end)
  const lazyAvg = averaging && lazyParam && lazyKey ? new LazyRowAverage(avg.get(lazyKey)!, lazyParam, decay, st.adamStep) : null;
  for (let epoch = st.epoch + 1; epoch <= fullEpochs; epoch++) {
    const steps = stepsPerEpoch;
    const t0 = performance.now();
    let lossSum = 0;
    for (let s = 1; s <= steps; s++) {
      const batch = sampler.sample(o.batch);
      const lazy = rowOpt ? { opt: rowOpt, rows: batchRows(batch) } : undefined;
      lazyAvg?.beforeStep(lazy!.rows, opt.stepCount + 1);
      const loss = bprStep(model, opt, group ? shardOf(batch, group.rank, group.size) : batch, group, o.microBatches ?? 1, lazy);
      if (averaging) averageInto(avg, model.module, decay, lazyAvg ? lazyKey : undefined);
      lazyAvg?.afterStep(lazy!.rows, opt.stepCount);
      lossSum += loss;
      const secs = (performance.now() - t0) / 1000;
      o.callbacks.onStep?.({
        epoch,
        step: s,
        stepsPerEpoch: steps,
        totalSteps: stepsPerEpoch * fullEpochs,
        globalStep: (epoch - 1) * stepsPerEpoch + s,
        loss: loss / o.batch,
        rate: (s * o.batch * o.examplesPerTriplet) / Math.max(secs, 1e-9),
        rateUnit: o.rateUnit,
      });
      if (s % 8 === 0) await new Promise((r) => setImmediate(r)); // let signals and I/O through
    }
    lazyAvg?.flush(opt.stepCount);
    const seconds = (performance.now() - t0) / 1000;
    const validate = o.validate;
    const evaluate = validate !== undefined && (epoch % o.evalEvery === 0 || epoch === fullEpochs);
    let metrics: Record<string, number> = evaluate && lead ? (averaging ? withWeights(model.module, avg, validate) : validate()) : {};
    if (evaluate && group) metrics = sharedAuc(group, metrics); // one decision of the best epoch for every rank
    const isBest = validate === undefined || (evaluate && metrics.auc! > st.bestAuc);
    if (isBest) {
      disposeAll(best);
      best = averaging ? copyState(avg) : snapshot(model.module);
      if (evaluate) st.bestAuc = metrics.auc!;
      st.bestEpoch = epoch;
      st.sinceBest = 0;
    } else if (evaluate) st.sinceBest++;
    st.epoch = epoch;
    st.adamStep = opt.stepCount;
    st.sampler = sampler.getState();
    st.history.push({ epoch, loss: lossSum / (steps * o.batch), seconds, metrics });
    o.callbacks.onEpoch?.({ epoch, epochs: fullEpochs, loss: lossSum / (steps * o.batch), metrics, best: isBest, seconds });
    if (lead)
      tidy(() => {
        const tensors = new Map<string, Tensor>();
        for (const [k, v] of model.module.stateDict()) tensors.set(`model.${k}`, v);
        for (const [k, v] of opt.stateDict().tensors) tensors.set(`adam.${k}`, v);
        if (rowOpt) for (const [k, v] of rowOpt.stateDict().tensors) tensors.set(`rowadam.${k}`, v);
        model.generators.forEach((g, i) => tensors.set(`gen.${i}`, g.getState()));
        for (const [k, v] of best) tensors.set(`best.${k}`, v);
        for (const [k, v] of avg) tensors.set(`avg.${k}`, v);
        saveCheckpoint(o.dir, st, tensors);
      });
    if (o.earlyStopping > 0 && st.sinceBest >= o.earlyStopping) {
      o.callbacks.onMessage?.(`early stop: no validation gain for ${st.sinceBest} evaluations`);
      break;
    }
  }
  group?.barrier(); // the last checkpoint is written before any rank moves on
  if (best.size) model.module.loadStateDict(best, 'best weights');
  disposeAll(avg);
  opt.dispose();
  rowOpt?.dispose();
  return { bestAuc: st.bestAuc, bestEpoch: st.bestEpoch, history: st.history, best };
}
