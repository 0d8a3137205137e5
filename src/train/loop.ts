/**
 * The one training loop. DVBPR, BPR-MF and VBPR (train/bpr.ts), the GAN (train/gan.ts) and the
 * classifiers (train/classifier.ts) are each a `TrainingTask`: how a batch is drawn, one optimiser
 * step on it, how it is evaluated, and the tensors it must checkpoint. The loop owns the rest, once:
 *
 *  - the schedule: steps, epochs, and the marks (the steps after which it evaluates: each epoch's
 *    end for BPR and the classifier, the GAN's evenly spaced snapshots);
 *  - progress: a step event after every step, a mark event after every mark;
 *  - weight averaging (Polyak, train/averaging.ts), the lazily trained row table included: the
 *    evaluation and the kept weights are the averaged ones, training goes on from the raw ones;
 *  - the best weights by a metric (or the latest), and early stopping after `patience` marks
 *    without a gain;
 *  - a checkpoint after every mark, and exact resume from it: weights, optimiser moments, random
 *    generators, the average, the best and the history (train/checkpoint.ts writes the pair);
 *  - cancellation: when `signal` aborts, the loop stops after the step under way, writes a
 *    checkpoint of that step (so `--resume` continues exactly where it stopped, mid-epoch
 *    included) and throws a CancelledError; in a data-parallel run the ranks agree on the step
 *    (a one-number all-reduce after each step);
 *  - data parallelism: with a c10d group, every rank runs the same schedule; rank 0 evaluates
 *    (the others take its metric) and writes the checkpoints.
 */
import { z } from 'zod';
import { BadInputError, CancelledError, InvalidArgumentError } from '../core/errors.js';
import type { RngState } from '../core/rng.js';
import { tensor, tidy, type Generator, type Module, type ProcessGroup, type Tensor } from '../torch/index.js';
import { averageInto, copyState, disposeAll, LazyRowAverage, snapshot, withWeightsAsync } from './averaging.js';
import { countSchema, CHECKPOINT_STATE, putUnder, resumeCheckpoint, rngStateSchema, saveCheckpoint, tensorsUnder, type CheckpointFiles } from './checkpoint.js';
import type { TrainCallbacks } from './events.js';

export interface Schedule {
  totalSteps: number;
  stepsPerEpoch: number;
  /** the steps, ascending, after which the loop evaluates, keeps the best and checkpoints */
  marks: readonly number[];
}

/** A schedule of whole epochs with a mark at each epoch's end. */
export function epochSchedule(epochs: number, stepsPerEpoch: number): Schedule {
  return { totalSteps: epochs * stepsPerEpoch, stepsPerEpoch, marks: Array.from({ length: epochs }, (_, e) => (e + 1) * stepsPerEpoch) };
}

/** What the loop keeps as the model: the weights with the best `metric`, the latest, or nothing (the final weights). */
export type Keep = { metric: string; higher: boolean } | 'latest' | 'none';

export interface TrainingTask<B> {
  /** the batch for step `step` (0-based over the whole run); it advances the task's random generators */
  draw(step: number): B;
  /** one optimiser step on the batch; returns its loss (summed over `lossPer` examples) */
  update(batch: B): number;
  /** the rows of the averaged lazy table (`LoopOptions.average.lazy`) this batch's step changes */
  rows?(batch: B): Int32Array;
  /** a step's loss is divided by this in every report (BPR: the batch, its loss being a sum); default 1 */
  lossPer?: number;
  /** examples per step and their unit, for the rate shown */
  examplesPerStep: number;
  rateUnit: string;
  /** whether mark m (1-based) is evaluated (default: every mark) */
  evaluatesAt?(mark: number): boolean;
  /** the metrics of the current weights (the averaged ones when averaging) */
  evaluate?(mark: number): Record<string, number> | Promise<Record<string, number>>;
  keep: Keep;
  /** the weights to keep as the best (copied by the loop): the module's, or `avg` when averaging */
  weights?(avg: Map<string, Tensor> | undefined): Map<string, Tensor>;
  /** the tensors a checkpoint holds besides the loop's own (best, average, generators): weights, optimiser moments */
  save(): Map<string, Tensor>;
  /** restores what `save` wrote; `step` is the optimiser steps taken */
  load(tensors: Map<string, Tensor>, step: number, file: string): void;
  /** the task's own random generators, saved with the checkpoint's state */
  rngs: readonly { getState(): RngState; setState(s: RngState): void }[];
  /** torch generators (dropout, augmentation, latent codes), saved as tensors */
  generators: readonly Generator[];
  /**
   * reads a checkpoint of this task's loop before the one loop (its own state fields and tensor
   * names) as this loop's; null when the state is not one it knows
   */
  upgrade?(state: Record<string, unknown>, tensors: Map<string, Tensor>): { state: unknown; tensors: Map<string, Tensor> } | null;
}

export interface LoopOptions {
  /** where checkpoints go; absent: none are written, and there is nothing to resume */
  dir?: string;
  resume: boolean;
  schedule: Schedule;
  /** averaging of a module's weights: decay per step; `lazy`, a row table of it trained by lazy updates */
  average?: { module: Module; decay: number; lazy?: { key: string; param: Tensor } };
  /** stop after this many evaluated marks without a gain (0 or absent: never) */
  patience?: number;
  group?: ProcessGroup;
  /**
   * cancels at the next step: a checkpoint of that step, then a CancelledError. With a group,
   * every rank passes one (or none: the ranks' steps must match) and all stop at the step any
   * rank's signal was seen.
   */
  signal?: AbortSignal;
  /**
   * also checkpoint between marks once this many seconds have passed since the last checkpoint
   * (default checkpointSeconds(); 0: at marks only): an epoch of a full-size shop runs for hours
   */
  checkpointSeconds?: number;
  /** what the CancelledError names */
  what?: string;
  callbacks: TrainCallbacks;
}

export interface HistoryEntry {
  /** 1-based index of the mark */
  mark: number;
  step: number;
  /** step / stepsPerEpoch */
  epoch: number;
  /** mean loss per example over the steps since the previous mark */
  loss: number;
  seconds: number;
  metrics: Record<string, number>;
}

/** What checkpoint.json holds (besides the pairing with its tensors file). */
export interface LoopState {
  step: number;
  marks: number;
  rngs: RngState[];
  /** the best metric so far (null: nothing evaluated) */
  best: number | null;
  bestMark: number;
  sinceBest: number;
  /** the loss summed and the seconds spent since the last mark (non-zero only in a checkpoint written on cancel) */
  period: { loss: number; seconds: number };
  history: HistoryEntry[];
}

const loopStateSchema = z.object({
  step: countSchema,
  marks: countSchema,
  rngs: z.array(rngStateSchema),
  best: z.number().nullable(),
  bestMark: countSchema,
  sinceBest: countSchema,
  period: z.object({ loss: z.number(), seconds: z.number().min(0) }),
  history: z.array(
    z.object({
      mark: countSchema,
      step: countSchema,
      epoch: z.number().min(0),
      loss: z
        .number()
        .nullable()
        .transform((v) => v ?? NaN), // JSON writes NaN (a diverged loss) as null
      seconds: z.number().min(0),
      metrics: z.record(z.string(), z.number().nullable()),
    }),
  ),
}) as z.ZodType<LoopState>;

export interface LoopResult {
  /** the kept weights ('none': empty) */
  best: Map<string, Tensor>;
  /** the best metric (NaN: never evaluated) and its mark (0: none) */
  bestValue: number;
  bestMark: number;
  history: HistoryEntry[];
  steps: number;
}

/** Tensor keys the loop writes beside the task's: the best, the average, the generators, the lazy average's steps. */
const BEST = 'best.';
const AVG = 'avg.';
const GEN = 'gen.';
const LAZY_STEPS = 'lazyAverageSteps';

/** How often a long period is checkpointed between marks: ten minutes, or ATELIER_CHECKPOINT_SECONDS. */
export function checkpointSeconds(): number {
  const v = process.env.ATELIER_CHECKPOINT_SECONDS;
  if (v === undefined || v === '') return 600;
  const n = Number(v);
  if (!(n >= 0)) throw new BadInputError(`ATELIER_CHECKPOINT_SECONDS must be a number of seconds ≥ 0, got '${v}'`);
  return n;
}

/** Rank 0's metric on every rank (the others' metrics are that one value alone). */
function shared(group: ProcessGroup, metrics: Record<string, number>, metric: string): Record<string, number> {
  const t = tensor(Float64Array.from([group.rank === 0 ? metrics[metric]! : 0]), [1], 'float64');
  group.broadcast([t], 0);
  const value = t.item();
  t.dispose();
  return group.rank === 0 ? metrics : { [metric]: value };
}

export async function runTraining<B>(task: TrainingTask<B>, o: LoopOptions): Promise<LoopResult> {
  const { schedule: sch, group } = o;
  if (sch.marks.length === 0 || sch.marks.some((m, k) => m < 1 || m > sch.totalSteps || (k > 0 && m <= sch.marks[k - 1]!)))
    throw new InvalidArgumentError(`runTraining: marks [${sch.marks.join(', ')}] must ascend within 1..${sch.totalSteps}`);
  if (o.resume && !o.dir) throw new InvalidArgumentError('runTraining: resume needs a checkpoint folder');
  const lead = !group || group.rank === 0; // evaluates and writes the checkpoints
  const lossPer = task.lossPer ?? 1;
  const av = o.average;
  let avg = av ? snapshot(av.module) : new Map<string, Tensor>();
  let best = new Map<string, Tensor>();
  let st: LoopState = {
    step: 0,
    marks: 0,
    rngs: task.rngs.map((r) => r.getState()),
    best: null,
    bestMark: 0,
    sinceBest: 0,
    period: { loss: 0, seconds: 0 },
    history: [],
  };
  let lazySteps: Float64Array | undefined;

  const upgrade = (c: CheckpointFiles<unknown>, file: string): CheckpointFiles<unknown> => {
    const s = c.state;
    if (s === null || typeof s !== 'object' || 'marks' in s) return c; // this loop's (the schema checks the rest)
    const up = task.upgrade?.(s as Record<string, unknown>, c.tensors);
    if (!up)
      throw new BadInputError(
        `${file} was written by an earlier Atelier's training loop (no 'marks' field) in a layout this one cannot read: train the run again without --resume`,
      );
    o.callbacks.onMessage?.(`${file}: a checkpoint of Atelier's earlier training loop, read into this one's layout`);
    return { ...c, state: up.state, tensors: up.tensors };
  };
  const ck = o.resume ? resumeCheckpoint(o.dir!, loopStateSchema, o.callbacks.onMessage, upgrade) : null;
  if (ck) {
    st = ck.state;
    const file = `${o.dir}/checkpoint.safetensors`;
    const own = new Map([...ck.tensors].filter(([k]) => !k.startsWith(BEST) && !k.startsWith(AVG) && !k.startsWith(GEN) && k !== LAZY_STEPS));
    task.load(own, st.step, file);
    task.generators.forEach((g, i) => {
      const s = ck.tensors.get(`${GEN}${i}`);
      if (!s) throw new BadInputError(`${file} has no state for generator ${i}: it was written by a run with other settings; resume with the run's own`);
      g.setState(s);
    });
    if (st.rngs.length !== task.rngs.length)
      throw new BadInputError(`${o.dir}/${CHECKPOINT_STATE} holds ${st.rngs.length} generator states; this run has ${task.rngs.length}`);
    task.rngs.forEach((r, i) => r.setState(st.rngs[i]!));
    best = tensorsUnder(ck.tensors, BEST);
    if (av) {
      const saved = tensorsUnder(ck.tensors, AVG);
      if (saved.size === 0) throw new BadInputError(`${file} has no averaged weights: it was trained without weight averaging; resume it with averaging off`);
      disposeAll(avg);
      avg = saved;
      lazySteps = ck.tensors.get(LAZY_STEPS)?.data<'float64'>();
    }
    // a resumed run may go on to more steps, if its marks so far sit where the new schedule puts them
    const taken = st.history.map((h) => h.step);
    if (taken.some((s, k) => sch.marks[k] !== s) || st.step > sch.totalSteps)
      throw new BadInputError(
        `${o.dir}: the checkpoint evaluated at steps [${taken.join(', ')}] (step ${st.step}); these settings put the marks at [${sch.marks.join(', ')}] (${sch.totalSteps} steps): resume with the same schedule and at least as many epochs`,
      );
    const where = (step: number) => (step % sch.stepsPerEpoch === 0 ? `epoch ${step / sch.stepsPerEpoch}` : `step ${step} of ${sch.totalSteps}`);
    const bestAt = st.history[st.bestMark - 1];
    o.callbacks.onMessage?.(
      `resumed at ${where(st.step)}` + (bestAt && st.best !== null ? ` (best ${metricName(task.keep)} ${st.best.toFixed(4)} at ${where(bestAt.step)})` : ''),
    );
  }
  const lazy = av?.lazy ? new LazyRowAverage(avg.get(av.lazy.key)!, av.lazy.param, av.decay, st.step, lazySteps) : null;

  const every = (o.checkpointSeconds ?? checkpointSeconds()) * 1000;
  let lastSave = performance.now();
  const checkpoint = () => {
    lastSave = performance.now();
    if (!lead || !o.dir) return;
    st.rngs = task.rngs.map((r) => r.getState());
    tidy(() => {
      const tensors = task.save();
      task.generators.forEach((g, i) => tensors.set(`${GEN}${i}`, g.getState()));
      putUnder(tensors, BEST, best);
      putUnder(tensors, AVG, avg);
      if (lazy) tensors.set(LAZY_STEPS, lazy.steps());
      saveCheckpoint(o.dir!, st, tensors);
    });
  };

  /** Whether to stop now: the signal, or in a data-parallel run any rank's (one all-reduce a step, so that every rank stops at the same step). */
  const stopAsked = (): boolean => {
    if (!o.signal) return false;
    if (!group) return o.signal.aborted;
    const t = tensor(Float32Array.from([o.signal.aborted ? 1 : 0]), [1]);
    group.allReduce([t], 'sum');
    const any = t.item() > 0;
    t.dispose();
    return any;
  };

  let t0 = performance.now() - st.period.seconds * 1000;
  let periodStart = st.step; // steps since the period began, for the rate (this process's)
  let tRate = performance.now();
  try {
    while (st.step < sch.totalSteps) {
      const batch = task.draw(st.step);
      const rows = lazy ? task.rows!(batch) : undefined;
      lazy?.beforeStep(rows!, st.step + 1);
      const loss = task.update(batch);
      if (av) averageInto(avg, av.module, av.decay, av.lazy?.key);
      lazy?.afterStep(rows!, st.step + 1);
      st.step++;
      st.period.loss += loss;
      const inEpoch = ((st.step - 1) % sch.stepsPerEpoch) + 1;
      const secs = (performance.now() - tRate) / 1000;
      o.callbacks.onStep?.({
        epoch: Math.floor((st.step - 1) / sch.stepsPerEpoch) + 1,
        step: inEpoch,
        stepsPerEpoch: sch.stepsPerEpoch,
        totalSteps: sch.totalSteps,
        globalStep: st.step,
        loss: loss / lossPer,
        rate: ((st.step - periodStart) * task.examplesPerStep) / Math.max(secs, 1e-9),
        rateUnit: task.rateUnit,
      });
      if (st.step % 4 === 0) await new Promise((r) => setImmediate(r)); // let signals and I/O through
      if (sch.marks[st.marks] === st.step) {
        if (await mark()) break;
        periodStart = st.step;
        tRate = performance.now();
      } else if (stopAsked()) {
        st.period.seconds = (performance.now() - t0) / 1000;
        checkpoint();
        throw new CancelledError(`${o.what ?? 'training'} (stopped at step ${st.step} of ${sch.totalSteps}${o.dir ? '; --resume continues from there' : ''})`);
      } else if (every > 0 && performance.now() - lastSave >= every) {
        // a long period: a checkpoint of this step, so that a kill loses at most `every` of work
        st.period.seconds = (performance.now() - t0) / 1000;
        checkpoint();
      }
    }
  } catch (e) {
    disposeAll(avg);
    throw e;
  }

  /** Evaluates, keeps the best, writes the checkpoint; true when training should stop (early stop). */
  async function mark(): Promise<boolean> {
    lazy?.flush(st.step);
    st.marks++;
    const m = st.marks;
    const steps = st.step - (st.history.at(-1)?.step ?? 0);
    const seconds = (performance.now() - t0) / 1000;
    const evaluates = task.evaluate !== undefined && (task.evaluatesAt?.(m) ?? true);
    let metrics: Record<string, number> = {};
    if (evaluates && lead) metrics = av ? await withWeightsAsync(av.module, avg, async () => task.evaluate!(m)) : await task.evaluate!(m);
    const keep = task.keep;
    if (evaluates && group && typeof keep === 'object') metrics = shared(group, metrics, keep.metric);
    let isBest = false;
    if (keep === 'latest') isBest = true;
    else if (typeof keep === 'object' && evaluates) {
      const v = metrics[keep.metric]!;
      isBest = keep.higher ? v > (st.best ?? -Infinity) : v < (st.best ?? Infinity); // NaN is never the best
      if (isBest) st.best = v;
      else st.sinceBest++;
    }
    if (isBest) {
      disposeAll(best);
      best = copyState(task.weights!(av ? avg : undefined));
      st.bestMark = m;
      st.sinceBest = 0;
    }
    const loss = st.period.loss / (steps * lossPer); // a mark follows at least one step
    st.history.push({ mark: m, step: st.step, epoch: st.step / sch.stepsPerEpoch, loss, seconds, metrics });
    st.period = { loss: 0, seconds: 0 };
    o.callbacks.onEpoch?.({ epoch: m, epochs: sch.marks.length, loss, metrics, best: isBest, seconds });
    checkpoint();
    t0 = performance.now();
    if ((o.patience ?? 0) > 0 && st.sinceBest >= o.patience!) {
      o.callbacks.onMessage?.(`early stop: no validation gain for ${st.sinceBest} evaluations`);
      return true;
    }
    if (st.step < sch.totalSteps && stopAsked())
      throw new CancelledError(`${o.what ?? 'training'} (stopped after mark ${m}${o.dir ? '; --resume continues from there' : ''})`);
    return false;
  }

  group?.barrier(); // the last checkpoint is written before any rank moves on
  disposeAll(avg);
  return { best, bestValue: st.best ?? NaN, bestMark: st.bestMark, history: st.history, steps: st.step };
}

const metricName = (k: Keep) => (typeof k === 'object' ? k.metric : 'metric');
