/**
 * Data-parallel DVBPR over libtorch's c10d with Gloo (src/torch/dist.ts, src/train/bpr.ts): two
 * processes on this machine train the weights one process does on the same global batch; a resumed
 * two-process run equals an uninterrupted one; a killed rank ends the other with an error, not a hang.
 * Every worker is the real CLI, started with torchrun's variables or by `--nproc`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runIngest } from '../../src/app/ingest.js';
import { createProgress } from '../../src/app/progress.js';
import { withoutNproc } from '../../src/cli/launch.js';
import { freePort } from '../../src/core/port.js';
import { distributedAvailable, loadSafetensors, rendezvousFromEnv } from '../../src/torch/index.js';
import { makeShop, tempDir } from '../helpers/fixtures.js';

const root = tempDir('atelier-dist-');
const data = join(root, 'data');
const ready = (async () => {
  const shop = await makeShop(24, 16, 8);
  await runIngest('folder', shop.dir, { out: data, imageSize: 16, minCategoryCount: 1 }, createProgress({ quiet: true }));
})();

// 16 shoppers × 6 training purchases = 96 pairs, batch 32: 3 steps an epoch; 7 epochs ≈ 20 steps
const TRAIN = ['--preset', 'tiny', '--dropout', '0', '--batch', '32', '--lr', '0.01'];

interface Exit {
  code: number | null;
  err: string;
  ms: number;
}

function cli(
  args: string[],
  env: Record<string, string> = {},
  onErr?: (text: string) => void,
): { done: Promise<Exit>; kill: (s: NodeJS.Signals) => void; pid: number } {
  const t0 = Date.now();
  const child = spawn(process.execPath, ['--single-threaded-gc', '--import', 'tsx', 'src/cli/main.ts', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ATELIER_THREADS: '1', ...env },
  });
  let err = '';
  child.stderr.on('data', (c) => {
    err += String(c);
    onErr?.(err);
  });
  return {
    done: new Promise((resolve) => child.on('exit', (code) => resolve({ code, err, ms: Date.now() - t0 }))),
    kill: (s) => child.kill(s),
    pid: child.pid!,
  };
}

/** Two workers with torchrun's variables; rank 0's exit. */
async function twoRanks(args: string[]): Promise<[Exit, Exit]> {
  const port = String(await freePort());
  const env = (rank: number) => ({ MASTER_ADDR: '127.0.0.1', MASTER_PORT: port, WORLD_SIZE: '2', RANK: String(rank), LOCAL_RANK: String(rank) });
  const a = cli(args, env(0));
  const b = cli(args, env(1));
  return Promise.all([a.done, b.done]);
}

function weights(run: string): Map<string, Float32Array> {
  return new Map([...loadSafetensors(join(run, 'weights.safetensors')).tensors].map(([k, t]) => [k, t.data<'float32'>()]));
}

function assertClose(a: Map<string, Float32Array>, b: Map<string, Float32Array>, rel: number): number {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  let worst = 0;
  for (const [k, x] of a) {
    const y = b.get(k)!;
    let diff = 0;
    let norm = 0;
    for (let i = 0; i < x.length; i++) ((diff = Math.max(diff, Math.abs(x[i]! - y[i]!))), (norm = Math.max(norm, Math.abs(x[i]!))));
    worst = Math.max(worst, diff / Math.max(norm, 1e-12));
    assert.ok(diff <= rel * Math.max(norm, 1e-12), `${k}: max |Δ| ${diff} against max |w| ${norm}`);
  }
  return worst;
}

const skip = distributedAvailable() ? false : 'the addon was built without c10d/Gloo';

test('torchrun variables are read and checked', () => {
  assert.equal(rendezvousFromEnv({}), null);
  assert.deepEqual(rendezvousFromEnv({ WORLD_SIZE: '2', RANK: '1', MASTER_PORT: '1234' }), { rank: 1, size: 2, addr: '127.0.0.1', port: 1234, localRank: 1 });
  assert.throws(() => rendezvousFromEnv({ WORLD_SIZE: '2', RANK: '2' }), /RANK=2 is not below WORLD_SIZE=2/);
  assert.throws(() => rendezvousFromEnv({ WORLD_SIZE: 'two' }), /WORLD_SIZE=two: expected an integer ≥ 1/);
  assert.deepEqual(withoutNproc(['train', 'dvbpr', '--nproc', '2', '--out', 'r', '--nproc=3']), ['train', 'dvbpr', '--out', 'r']);
});

test('two Gloo processes train the weights of one process on the same global batch (21 steps), by torchrun variables and by --nproc', { skip }, async () => {
  await ready;
  // the one process goes through each batch in the same two halves (--micro-batches 2), so that it
  // adds the very numbers the two ranks add: without it, the rounding of a differently ordered sum
  // is enough for Adam to move a weight whose exact gradient is zero (the encoder's output bias
  // cancels in Φ(i) − Φ(j)) by ±lr, and the runs part at the first step
  const one = join(root, 'one');
  const r1 = await cli(['train', 'dvbpr', '--data', data, '--out', one, ...TRAIN, '--epochs', '7', '--micro-batches', '2']).done;
  assert.equal(r1.code, 0, r1.err);
  const m1 = JSON.parse(readFileSync(join(one, 'manifest.json'), 'utf8'));
  assert.equal(m1.history.length, 7);

  const two = join(root, 'two');
  const [a, b] = await twoRanks(['train', 'dvbpr', '--data', data, '--out', two, ...TRAIN, '--epochs', '7']);
  assert.equal(a.code, 0, a.err);
  assert.equal(b.code, 0, b.err);
  const m2 = JSON.parse(readFileSync(join(two, 'manifest.json'), 'utf8'));
  assert.equal(m2.training.ranks, 2);
  assertClose(weights(one), weights(two), 1e-5);
  // the losses summed over the ranks are the one process's, and so are the validations
  m2.history.forEach((h: { loss: number }, e: number) => assert.ok(Math.abs(h.loss - m1.history[e].loss) <= 1e-6 * Math.abs(m1.history[e].loss)));
  assert.deepEqual(
    m2.history.map((h: { metrics: { auc: number } }) => h.metrics.auc),
    m1.history.map((h: { metrics: { auc: number } }) => h.metrics.auc),
  );

  const launched = join(root, 'nproc');
  const r3 = await cli(['train', 'dvbpr', '--data', data, '--out', launched, ...TRAIN, '--epochs', '7', '--nproc', '2']).done;
  assert.equal(r3.code, 0, r3.err);
  assertClose(weights(one), weights(launched), 1e-5);

  // micro-batches are the same step as the whole batch, up to the order of a sum
  const whole = join(root, 'whole');
  const r4 = await cli(['train', 'dvbpr', '--data', data, '--out', whole, ...TRAIN, '--epochs', '1']).done;
  assert.equal(r4.code, 0, r4.err);
  const m4 = JSON.parse(readFileSync(join(whole, 'manifest.json'), 'utf8'));
  assert.ok(Math.abs(m4.history[0].loss - m1.history[0].loss) < 1e-4 * m1.history[0].loss);
});

test('a resumed two-process run equals an uninterrupted one', { skip }, async () => {
  await ready;
  const straight = join(root, 'straight');
  const [a] = await twoRanks(['train', 'dvbpr', '--data', data, '--out', straight, ...TRAIN, '--epochs', '4']);
  assert.equal(a.code, 0, a.err);
  const cut = join(root, 'cut');
  const [b] = await twoRanks(['train', 'dvbpr', '--data', data, '--out', cut, ...TRAIN, '--epochs', '2']);
  assert.equal(b.code, 0, b.err);
  const [c] = await twoRanks(['train', 'dvbpr', '--data', data, '--out', cut, ...TRAIN, '--epochs', '4', '--resume']);
  assert.equal(c.code, 0, c.err);
  const wa = weights(straight);
  const wc = weights(cut);
  for (const [k, x] of wa) assert.deepEqual(Buffer.from(wc.get(k)!.buffer), Buffer.from(x.buffer), k);
});

test(
  'Ctrl-C to an --nproc 2 run: the ranks stop at one step, rank 0 checkpoints it, exit 130; --resume ends where the uninterrupted run does',
  { skip },
  async () => {
    await ready;
    const args = (out: string) => ['train', 'dvbpr', '--data', data, '--out', out, ...TRAIN, '--epochs', '30', '--nproc', '2'];
    const straight = join(root, 'nproc-straight');
    const s = await cli(args(straight)).done;
    assert.equal(s.code, 0, s.err);
    const cut = join(root, 'nproc-cut');
    let sent = false;
    const run = cli(args(cut), {}, (text) => {
      if (!sent && text.includes('"event":"epoch"')) {
        sent = true;
        run.kill('SIGINT'); // as a terminal's Ctrl-C reaches the launcher
      }
    });
    const r = await run.done;
    assert.equal(r.code, 130, r.err.slice(-2000));
    assert.match(r.err, /train dvbpr --nproc 2 \(stopped at one step by every rank, rank 0's checkpoint of it written; --resume continues\) cancelled/);
    const state = JSON.parse(readFileSync(join(cut, 'checkpoint.json'), 'utf8')) as { step: number };
    assert.ok(state.step >= 3 && state.step < 90, `stopped at step ${state.step}`);
    const resumed = await cli([...args(cut), '--resume']).done;
    assert.equal(resumed.code, 0, resumed.err.slice(-2000));
    const wa = weights(straight);
    const wb = weights(cut);
    for (const [k, x] of wa) assert.deepEqual(Buffer.from(wb.get(k)!.buffer), Buffer.from(x.buffer), k);
  },
);

test('a killed rank makes the other exit non-zero within the timeout, naming the collective', { skip }, async () => {
  await ready;
  const port = String(await freePort());
  const env = (rank: number) => ({ MASTER_ADDR: '127.0.0.1', MASTER_PORT: port, WORLD_SIZE: '2', RANK: String(rank), LOCAL_RANK: String(rank) });
  const args = ['train', 'dvbpr', '--data', data, '--out', join(root, 'killed'), ...TRAIN, '--epochs', '100000'];
  const lead = cli(args, env(0));
  let killed = false;
  const follower = cli(args, env(1), (text) => {
    // once it is training (its progress goes to stderr), kill it
    if (!killed && text.includes('"event":"progress"')) {
      killed = true;
      follower.kill('SIGKILL');
    }
  });
  const [r0] = await Promise.all([lead.done, follower.done]);
  assert.ok(killed, 'the follower reached training');
  assert.notEqual(r0.code, 0);
  assert.equal(r0.code, 1);
  assert.match(r0.err, /rank 0 of 2: (all-reduce|broadcast|barrier) failed \(another rank stopped\?\)/);
  assert.ok(r0.ms < 60_000, `rank 0 took ${r0.ms} ms to stop`);
});

/** The pid of the worker of `launcher` (a `--nproc` run) with RANK=`rank`, or undefined. */
function workerPid(launcher: number, rank: number): number | undefined {
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== launcher) continue;
      if (readFileSync(`/proc/${name}/environ`, 'utf8').split('\0').includes(`RANK=${rank}`)) return Number(name);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

test(
  '--nproc 2 with one rank stopped (SIGSTOP), not dead: the job ends non-zero within the collective timeout, naming the stopped rank (issue 34.6)',
  { skip },
  async () => {
    await ready;
    let stoppedPid: number | undefined;
    const run = cli(
      ['train', 'dvbpr', '--data', data, '--out', join(root, 'stopped'), ...TRAIN, '--epochs', '100000', '--nproc', '2'],
      { ATELIER_DIST_TIMEOUT_MS: '3000' },
      (text) => {
        if (stoppedPid === undefined && text.includes('"event":"progress"')) {
          stoppedPid = workerPid(run.pid, 1);
          if (stoppedPid !== undefined) process.kill(stoppedPid, 'SIGSTOP');
        }
      },
    );
    const watchdog = setTimeout(() => {
      if (stoppedPid !== undefined) process.kill(stoppedPid, 'SIGKILL');
      run.kill('SIGKILL');
    }, 90_000);
    const r = await run.done;
    clearTimeout(watchdog);
    assert.ok(stoppedPid !== undefined, 'rank 1 was found and stopped');
    assert.notEqual(r.code, 0, r.err.slice(-2000));
    assert.match(r.err, /rank 1 of 2 was stopped \(not running\) when rank 0 gave up waiting for it/);
    assert.ok(r.ms < 45_000, `the job took ${r.ms} ms to end`);
    let gone = false;
    try {
      process.kill(stoppedPid!, 0);
    } catch {
      gone = true;
    }
    assert.ok(gone, 'the stopped rank was ended, not left behind');
  },
);
