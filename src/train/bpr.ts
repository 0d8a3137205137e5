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
 */
import { BadInputError } from '../core/errors.js';
import type { RngState } from '../core/rng.js';
import type { Triplets } from '../data/sampler.js';
import { TripletSampler } from '../data/sampler.js';
import { Adam, tidy, type Generator, type Module, type Tensor } from '../torch/index.js';
import { averageInto, copyState, decayFor, disposeAll, snapshot, withWeights } from './averaging.js';
import { hasCheckpoint, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import type { TrainCallbacks } from './events.js';

export interface BprModel {
  module: Module;
  /** the BPR objective of method.md for one batch: Σ softplus(−x_uij) + regularisation */
  loss(t: Triplets): { total: Tensor; bpr: Tensor };
  /** generators whose state must survive a resume (dropout) */
  generators: Generator[];
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

export interface BprResult {
  bestAuc: number;
  bestEpoch: number;
  history: LoopState['history'];
  /** the best weights (by validation AUC), loaded into the module at the end */
  best: Map<string, Tensor>;
}

/** One update: sample-free, so tests can call it on a hand-made batch. */
export function bprStep(model: BprModel, opt: Adam, t: Triplets): number {
  return tidy(() => {
    opt.zeroGrad();
    const { total } = model.loss(t);
    total.backward();
    opt.step();
    return total.item();
  });
}

export async function trainBpr(model: BprModel, o: BprLoopOptions): Promise<BprResult> {
  const params = model.module.trainableParameters();
  const opt = new Adam(params, { lr: o.lr });
  const sampler = new TripletSampler(o.train, o.numUsers, o.numItems, o.seed);
  const stepsPerEpoch = Math.max(1, Math.round(o.train.user.length / o.batch));
  const fullEpochs = Math.ceil(o.epochs);
  let st: LoopState = { epoch: 0, adamStep: 0, sampler: sampler.getState(), bestAuc: -Infinity, bestEpoch: 0, sinceBest: 0, history: [] };
  let best = new Map<string, Tensor>();
  const averaging = (o.averageEpochs ?? 0) > 0;
  const decay = averaging ? decayFor(o.averageEpochs! * stepsPerEpoch) : 0;
  let avg = averaging ? snapshot(model.module) : new Map<string, Tensor>();

  if (o.resume && !hasCheckpoint(o.dir)) o.callbacks.onMessage?.(`--resume: ${o.dir} has no checkpoint: training from the start`);
  if (o.resume && hasCheckpoint(o.dir)) {
    const ck = loadCheckpoint<LoopState>(o.dir);
    st = ck.state;
    st.bestAuc ??= -Infinity; // JSON writes −Infinity (nothing evaluated yet) as null
    const weights = new Map([...ck.tensors].filter(([k]) => k.startsWith('model.')).map(([k, v]) => [k.slice(6), v]));
    model.module.loadStateDict(weights, `${o.dir}/checkpoint.safetensors`);
    opt.loadStateDict({ step: st.adamStep, tensors: new Map([...ck.tensors].filter(([k]) => k.startsWith('adam.')).map(([k, v]) => [k.slice(5), v])) });
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
    if (ck.stateFrom === 'tensors')
      o.callbacks.onMessage?.(`${o.dir}: the last checkpoint was cut between its two files; its state is read from the tensors file`);
    o.callbacks.onMessage?.(`resumed at epoch ${st.epoch}` + (st.bestEpoch ? ` (best validation AUC ${st.bestAuc.toFixed(4)} at epoch ${st.bestEpoch})` : ''));
  }

  for (let epoch = st.epoch + 1; epoch <= fullEpochs; epoch++) {
    const steps = epoch === fullEpochs && o.epochs % 1 ? Math.max(1, Math.round((o.epochs % 1) * stepsPerEpoch)) : stepsPerEpoch;
    const t0 = performance.now();
    let lossSum = 0;
    for (let s = 1; s <= steps; s++) {
      const loss = bprStep(model, opt, sampler.sample(o.batch));
      if (averaging) averageInto(avg, model.module, decay);
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
    const seconds = (performance.now() - t0) / 1000;
    const validate = o.validate;
    const evaluate = validate !== undefined && (epoch % o.evalEvery === 0 || epoch === fullEpochs);
    const metrics: Record<string, number> = evaluate ? (averaging ? withWeights(model.module, avg, validate) : validate()) : {};
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
    tidy(() => {
      const tensors = new Map<string, Tensor>();
      for (const [k, v] of model.module.stateDict()) tensors.set(`model.${k}`, v);
      for (const [k, v] of opt.stateDict().tensors) tensors.set(`adam.${k}`, v);
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
  if (best.size) model.module.loadStateDict(best, 'best weights');
  disposeAll(avg);
  opt.dispose();
  return { bestAuc: st.bestAuc, bestEpoch: st.bestEpoch, history: st.history, best };
}
