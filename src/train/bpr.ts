/**
 * BPR training shared by DVBPR, BPR-MF and VBPR, as a task of the one training loop (train/loop.ts):
 * triplets from the sampler, one `bprStep` per batch, validation and a checkpoint per epoch, the
 * best-validation weights kept, optional early stopping, and exact resume (weights, Adam moments,
 * sampler RNG, dropout generator, history), mid-epoch too after a cancel.
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
import type { Triplets } from '../data/sampler.js';
import { TripletSampler } from '../data/sampler.js';
import { Adam, noGrad, RowAdam, tensor, tidy, type Generator, type Module, type ProcessGroup, type Tensor } from '../torch/index.js';
import { putUnder, tensorsUnder } from './checkpoint.js';
import { decayFor } from './averaging.js';
import type { TrainCallbacks } from './events.js';
import { epochSchedule, runTraining } from './loop.js';

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
  /** stops the run at the next step, a checkpoint written (one process only) */
  signal?: AbortSignal;
  /** forward and backward of each (rank's) batch in this many parts, gradients accumulated (default 1) */
  microBatches?: number;
}

export interface BprResult {
  /** the best validation AUC (NaN: nothing validated) */
  bestAuc: number;
  bestEpoch: number;
  history: { epoch: number; loss: number; seconds: number; metrics: Record<string, number> }[];
  /** the best weights (by validation AUC), loaded into the module at the end */
  best: Map<string, Tensor>;
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

type Legacy = Record<string, unknown>;
const num = (v: unknown): v is number => typeof v === 'number';

/**
 * A checkpoint of the BPR loop before the one loop (fields epoch, adamStep, sampler, bestAuc,
 * bestEpoch, sinceBest, history; written at epoch ends only) in the one loop's layout: its tensor
 * names are the same. Null for a state of another shape.
 */
export function upgradeBprCheckpoint(s: Legacy, tensors: Map<string, Tensor>): { state: unknown; tensors: Map<string, Tensor> } | null {
  if (!num(s.epoch) || !num(s.adamStep) || !Array.isArray(s.sampler) || !Array.isArray(s.history)) return null;
  const perEpoch = s.epoch > 0 ? s.adamStep / s.epoch : 0;
  const history = (s.history as Legacy[]).map((h) => ({
    mark: h.epoch,
    step: num(h.epoch) ? h.epoch * perEpoch : h.epoch,
    epoch: h.epoch,
    loss: h.loss,
    seconds: h.seconds,
    metrics: h.metrics,
  }));
  const state = {
    step: s.adamStep,
    marks: s.epoch,
    rngs: [s.sampler],
    best: s.bestAuc ?? null, // −Infinity (nothing validated) was written as null
    bestMark: s.bestEpoch,
    sinceBest: s.sinceBest,
    period: { loss: 0, seconds: 0 },
    history,
  };
  return { state, tensors };
}

/** BPR as a task of the one training loop (train/loop.ts): triplets from the sampler, one `bprStep` each. */
export async function trainBpr(model: BprModel, o: BprLoopOptions): Promise<BprResult> {
  const lazyParam = model.rows?.param;
  // a table of rows trained lazily is not among dense Adam's parameters
  const params = model.module.trainableParameters().filter((p) => p !== lazyParam);
  const group = o.group;
  // every rank starts from rank 0's weights (they agree already when built from one seed)
  group?.broadcast(model.module.trainableParameters(), 0);
  const opt = new Adam(params, { lr: o.lr });
  const rowOpt = lazyParam ? new RowAdam(lazyParam, o.lr) : null;
  const lazyKey = lazyParam ? [...model.module.stateDict()].find(([, t]) => t === lazyParam)?.[0] : undefined;
  const sampler = new TripletSampler(o.train, o.numUsers, o.numItems, o.seed);
  const stepsPerEpoch = Math.max(1, Math.round(o.train.user.length / o.batch));
  const averaging = (o.averageEpochs ?? 0) > 0;
  const validate = o.validate;
  try {
    const r = await runTraining<{ t: Triplets; rows?: Int32Array }>(
      {
        draw: () => {
          const t = sampler.sample(o.batch);
          return rowOpt ? { t, rows: batchRows(t) } : { t };
        },
        rows: (b) => b.rows!,
        update: ({ t, rows }) =>
          bprStep(model, opt, group ? shardOf(t, group.rank, group.size) : t, group, o.microBatches ?? 1, rowOpt ? { opt: rowOpt, rows: rows! } : undefined),
        lossPer: o.batch,
        examplesPerStep: o.batch * o.examplesPerTriplet,
        rateUnit: o.rateUnit,
        ...(validate ? { evaluate: () => validate(), evaluatesAt: (epoch: number) => epoch % o.evalEvery === 0 || epoch === o.epochs } : {}),
        // nothing held out: every epoch's weights are the latest and the kept ones
        keep: validate ? { metric: 'auc', higher: true } : 'latest',
        weights: (avg) => avg ?? model.module.stateDict(),
        save: () => {
          const tensors = putUnder(putUnder(new Map(), 'model.', model.module.stateDict()), 'adam.', opt.stateDict().tensors);
          return rowOpt ? putUnder(tensors, 'rowadam.', rowOpt.stateDict().tensors) : tensors;
        },
        load: (tensors, step, file) => {
          const pick = (p: string) => tensorsUnder(tensors, p);
          model.module.loadStateDict(pick('model.'), file);
          if (rowOpt && !tensors.has('rowadam.exp_avg'))
            throw new BadInputError(
              `${file} was written by an earlier Atelier (Adam moments for every user row): it cannot be resumed by this one; train the run again without --resume`,
            );
          opt.loadStateDict({ step, tensors: pick('adam.') });
          rowOpt?.loadStateDict({ step, tensors: pick('rowadam.') });
        },
        rngs: [sampler],
        generators: model.generators,
        upgrade: upgradeBprCheckpoint,
      },
      {
        dir: o.dir,
        resume: o.resume,
        schedule: epochSchedule(o.epochs, stepsPerEpoch),
        ...(averaging
          ? {
              average: {
                module: model.module,
                decay: decayFor(o.averageEpochs! * stepsPerEpoch),
                ...(lazyParam && lazyKey ? { lazy: { key: lazyKey, param: lazyParam } } : {}),
              },
            }
          : {}),
        patience: o.earlyStopping,
        ...(group ? { group } : {}),
        ...(o.signal ? { signal: o.signal } : {}),
        what: 'training',
        callbacks: o.callbacks,
      },
    );
    if (r.best.size) model.module.loadStateDict(r.best, 'best weights');
    return {
      bestAuc: r.bestValue,
      bestEpoch: r.bestMark,
      history: r.history.map((h) => ({ epoch: h.mark, loss: h.loss, seconds: h.seconds, metrics: h.metrics })),
      best: r.best,
    };
  } finally {
    opt.dispose();
    rowOpt?.dispose();
  }
}
