/**
 * The one training loop (src/train/loop.ts) on a toy task whose every number is known: the marks,
 * the period losses, the kept weights, early stopping, cancellation with a checkpoint of the step
 * it stopped at, exact resume from it, and checkpoints of earlier loops refused by name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BadInputError, CancelledError, InvalidArgumentError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { tensor, type Tensor } from '../../src/torch/index.js';
import { epochSchedule, runTraining, type HistoryEntry, type Keep, type LoopOptions, type TrainingTask } from '../../src/train/loop.js';

/**
 * A task whose "weights" are one number w: each step draws u from its Rng and adds it to w; the
 * step's loss is u·lossPer (a sum over lossPer examples); a mark's metric is `metric(mark)`.
 */
function toy(metric: (mark: number) => number, keep: Keep, lossPer = 1) {
  const rng = new Rng(3);
  const state = { w: 0, steps: [] as number[] };
  const task: TrainingTask<number> = {
    draw: (step) => {
      state.steps.push(step);
      return rng.next();
    },
    update: (u) => {
      state.w += u;
      return u * lossPer;
    },
    lossPer,
    examplesPerStep: 1,
    rateUnit: 'items/s',
    evaluate: (mark) => ({ metric: metric(mark), w: state.w }),
    keep,
    weights: () => new Map([['w', tensor(Float64Array.from([state.w]), [1], 'float64')]]),
    save: () => new Map([['w', tensor(Float64Array.from([state.w]), [1], 'float64')]]),
    load: (t: Map<string, Tensor>) => {
      state.w = t.get('w')!.data<'float64'>()[0]!;
    },
    rngs: [rng],
    generators: [],
  };
  return { task, state };
}

const opts = (o: Partial<LoopOptions> = {}): LoopOptions => ({ resume: false, schedule: epochSchedule(3, 4), callbacks: {}, ...o });
const draws = (n: number) => {
  const r = new Rng(3);
  return Array.from({ length: n }, () => r.next());
};

test('the loop: a mark after each epoch, the period loss its mean per example, the best weights by the metric, every step drawn once in order', async () => {
  const { task, state } = toy((m) => [5, 2, 4][m - 1]!, { metric: 'metric', higher: false }, 8);
  const events: number[] = [];
  const r = await runTraining(task, opts({ callbacks: { onEpoch: (e) => events.push(e.epoch) } }));
  const u = draws(12);
  assert.deepEqual(state.steps, [...Array(12).keys()]);
  assert.deepEqual(events, [1, 2, 3]);
  assert.deepEqual(
    r.history.map((h) => [h.mark, h.step, h.epoch]),
    [
      [1, 4, 1],
      [2, 8, 2],
      [3, 12, 3],
    ],
  );
  // the mean per example of each epoch's losses (each step's loss is u·8 over 8 examples)
  r.history.forEach((h, k) => {
    const want = u.slice(4 * k, 4 * k + 4).reduce((a, b) => a + b * 8, 0) / (4 * 8);
    assert.equal(h.loss, want);
  });
  assert.equal(r.bestMark, 2);
  assert.equal(r.bestValue, 2);
  // the kept weights are those of mark 2 (the sum of the first 8 draws), not the last
  const w8 = u.slice(0, 8).reduce((a, b) => a + b, 0);
  assert.equal(r.best.get('w')!.data<'float64'>()[0], w8);
  assert.equal(r.steps, 12);
});

test('the loop: higher is better, NaN is never the best, and patience stops after that many marks without a gain', async () => {
  const { task } = toy((m) => [NaN, 0.5, 0.7, 0.6, 0.6, 0.9][m - 1]!, { metric: 'metric', higher: true });
  const messages: string[] = [];
  const r = await runTraining(task, opts({ schedule: epochSchedule(6, 2), patience: 2, callbacks: { onMessage: (m) => messages.push(m) } }));
  assert.equal(r.bestMark, 3);
  assert.equal(r.bestValue, 0.7);
  assert.equal(r.history.length, 5, 'stopped after marks 4 and 5 gained nothing');
  assert.ok(
    messages.some((m) => m.startsWith('early stop')),
    messages.join('\n'),
  );
  // only the evaluated marks count: evaluating every other one leaves mark 3 the best, and no stop
  const other = toy((m) => [NaN, 0.5, 0.7, 0.6, 0.6, 0.9][m - 1]!, { metric: 'metric', higher: true });
  other.task.evaluatesAt = (m) => m % 2 === 1;
  const r2 = await runTraining(other.task, opts({ schedule: epochSchedule(6, 2), patience: 2 }));
  assert.equal(r2.history.length, 6);
  assert.deepEqual(
    r2.history.map((h) => Object.keys(h.metrics).length > 0),
    [true, false, true, false, true, false],
  );
  assert.equal(r2.bestMark, 3);
});

test("the loop: 'latest' keeps every mark's weights, 'none' keeps nothing; marks out of order are a caller's error", async () => {
  const latest = await runTraining(toy(() => 0, 'latest').task, opts());
  assert.equal(latest.bestMark, 3);
  assert.equal(
    latest.best.get('w')!.data<'float64'>()[0],
    draws(12).reduce((a, b) => a + b, 0),
  );
  const none = await runTraining(toy(() => 0, 'none').task, opts());
  assert.equal(none.best.size, 0);
  for (const marks of [[], [4, 4, 12], [0, 12], [4, 13]])
    await assert.rejects(
      runTraining(toy(() => 0, 'none').task, opts({ schedule: { totalSteps: 12, stepsPerEpoch: 4, marks } })),
      InvalidArgumentError,
      JSON.stringify(marks),
    );
});

test('the loop: a cancel mid-epoch writes a checkpoint of the step it stopped at, and --resume from it ends exactly where the uninterrupted run does', async () => {
  const metric = (m: number) => [3, 1, 2][m - 1]!;
  const keep = { metric: 'metric', higher: false } as const;
  const straightDir = mkdtempSync(join(tmpdir(), 'atelier-loop-'));
  const straight = await runTraining(toy(metric, keep).task, opts({ dir: straightDir }));
  const dir = mkdtempSync(join(tmpdir(), 'atelier-loop-'));
  const abort = new AbortController();
  const cut = toy(metric, keep);
  await assert.rejects(
    runTraining(
      cut.task,
      opts({
        dir,
        signal: abort.signal,
        what: 'toy training',
        callbacks: { onStep: (e) => e.globalStep === 6 && abort.abort() },
      }),
    ),
    (e: Error) => e instanceof CancelledError && /toy training \(stopped at step 6 of 12; --resume continues/.test(e.message),
  );
  const state = JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')) as { step: number; marks: number; period: { loss: number } };
  assert.equal(state.step, 6);
  assert.equal(state.marks, 1);
  const u = draws(6);
  assert.equal(state.period.loss, u[4]! + u[5]!, "the checkpoint carries the unfinished epoch's loss");
  const messages: string[] = [];
  const resumed = toy(metric, keep);
  const r = await runTraining(resumed.task, opts({ dir, resume: true, callbacks: { onMessage: (m) => messages.push(m) } }));
  assert.ok(
    messages.some((m) => m.startsWith('resumed at step 6 of 12 (best metric 3.0000 at epoch 1)')),
    messages.join('\n'),
  );
  assert.deepEqual(resumed.state.steps, [6, 7, 8, 9, 10, 11], 'the resumed run draws from step 6 on');
  const strip = (h: HistoryEntry[]) => h.map(({ seconds: _s, ...rest }) => rest);
  assert.deepEqual(strip(r.history), strip(straight.history));
  assert.equal(r.bestMark, straight.bestMark);
  assert.equal(r.best.get('w')!.data<'float64'>()[0], straight.best.get('w')!.data<'float64'>()[0]);
  assert.equal(
    resumed.state.w,
    draws(12).reduce((a, b) => a + b, 0),
  );
});

test("the loop: a checkpoint of an earlier Atelier's loop is refused by name; a resumed schedule must keep the marks taken", async () => {
  const twoEpochs = () => {
    const dir = mkdtempSync(join(tmpdir(), 'atelier-loop-'));
    return runTraining(toy(() => 0, 'latest').task, opts({ dir, schedule: epochSchedule(2, 4) })).then(() => dir);
  };
  // the marks taken at steps 4 and 8 fit 3 epochs of 4 steps, not 4 epochs of 3
  const longer = await runTraining(toy(() => 0, 'latest').task, opts({ dir: await twoEpochs(), resume: true, schedule: epochSchedule(3, 4) }));
  assert.equal(longer.history.length, 3);
  const dir = await twoEpochs();
  const path = join(dir, 'checkpoint.json');
  const good = readFileSync(path, 'utf8');
  await assert.rejects(
    runTraining(toy(() => 0, 'latest').task, opts({ dir, resume: true, schedule: epochSchedule(4, 3) })),
    (e: Error) => e instanceof BadInputError && /evaluated at steps \[4, 8\]/.test(e.message),
  );
  const { marks: _m, ...old } = JSON.parse(good) as Record<string, unknown>;
  writeFileSync(path, JSON.stringify({ ...old, epoch: 2, adamStep: 8 }));
  await assert.rejects(
    runTraining(toy(() => 0, 'latest').task, opts({ dir, resume: true })),
    (e: Error) => e instanceof BadInputError && e.message.includes(path) && /earlier Atelier's training loop/.test(e.message),
  );
});

test('the loop: a long epoch is checkpointed between marks as time passes, so a crash mid-epoch resumes from its last such step to the uninterrupted result', async () => {
  const keep = { metric: 'metric', higher: false } as const;
  const metric = (m: number) => [3, 1, 2][m - 1]!;
  const straight = await runTraining(toy(metric, keep).task, opts({ dir: mkdtempSync(join(tmpdir(), 'atelier-loop-')), checkpointSeconds: 0 }));
  const dir = mkdtempSync(join(tmpdir(), 'atelier-loop-'));
  // a checkpoint after every step (any time has passed); the process "dies" in step 7's report
  await assert.rejects(
    runTraining(
      toy(metric, keep).task,
      opts({
        dir,
        checkpointSeconds: 1e-9,
        callbacks: {
          onStep: (e) => {
            if (e.globalStep === 7) throw new Error('killed');
          },
        },
      }),
    ),
    /killed/,
  );
  const state = JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')) as { step: number; marks: number };
  assert.deepEqual([state.step, state.marks], [6, 1], 'the last checkpoint is of step 6, inside epoch 2');
  const resumed = toy(metric, keep);
  const r = await runTraining(resumed.task, opts({ dir, resume: true }));
  assert.deepEqual(resumed.state.steps, [6, 7, 8, 9, 10, 11]);
  const strip = (h: HistoryEntry[]) => h.map(({ seconds: _s, ...rest }) => rest);
  assert.deepEqual(strip(r.history), strip(straight.history));
  assert.equal(
    resumed.state.w,
    draws(12).reduce((a, b) => a + b, 0),
  );
  // at marks only (0), nothing is written between them
  const marksOnly = mkdtempSync(join(tmpdir(), 'atelier-loop-'));
  await assert.rejects(
    runTraining(toy(metric, keep).task, opts({ dir: marksOnly, checkpointSeconds: 0, callbacks: { onStep: (e) => assert.ok(e.globalStep < 7, 'killed') } })),
  );
  assert.equal((JSON.parse(readFileSync(join(marksOnly, 'checkpoint.json'), 'utf8')) as { step: number }).step, 4);
  // the interval from the environment: a bad value is named
  process.env.ATELIER_CHECKPOINT_SECONDS = 'ten';
  try {
    await assert.rejects(
      runTraining(toy(metric, keep).task, opts()),
      (e: Error) => e instanceof BadInputError && /ATELIER_CHECKPOINT_SECONDS .* got 'ten'/.test(e.message),
    );
  } finally {
    delete process.env.ATELIER_CHECKPOINT_SECONDS;
  }
});
