/**
 * `npm run bench -- scale`: DVBPR step throughput (default preset, 64 px, global batch 128) in one
 * process and in two c10d/Gloo processes on this machine, and the all-reduce's share of a two-process
 * step; writes bench/results/scale.json and scale.md. The two processes share the same cores as the
 * one (each gets half of them: ATELIER_THREADS), so on one machine the second process cannot add
 * compute: what the figure shows is the cost of the collective and of smaller per-rank batches,
 * i.e. what data parallelism costs before it pays on more machines or GPUs.
 * Workers: this file with SCALE_WORKER=1 (and torchrun's variables for the two ranks).
 */
import { spawn } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../src/core/port.js';
import { dvbprPreset } from '../src/config/dvbpr.js';
import { writeFileAtomic, writeJsonAtomic } from '../src/core/fs.js';
import { Rng } from '../src/core/rng.js';
import { TripletSampler } from '../src/data/sampler.js';
import { Dvbpr } from '../src/models/dvbpr.js';
import { bprStep, shardOf } from '../src/train/bpr.js';
import { dvbprLoss } from '../src/train/losses.js';
import { Adam, engineInfo, initProcessGroup, keep, rendezvousFromEnv, tensor, tidy, zeros } from '../src/torch/index.js';

const STEPS = Number(process.env.SCALE_STEPS ?? 30);
const WARMUP = 3;
const BATCH = 128;

interface WorkerResult {
  ranks: number;
  threads: number;
  stepsPerSecond: number;
  imagesPerSecond: number;
  msPerStep: number;
  allReduceMs?: number;
  allReduceShare?: number;
  gradientMb: number;
}

/** One rank (or the only process): random catalogue and purchases, the real loss and step. */
async function worker(): Promise<void> {
  const r = rendezvousFromEnv();
  const group = r && r.size > 1 ? initProcessGroup(r) : undefined;
  const items = 2000;
  const users = 1000;
  const cfg = dvbprPreset('default', 64);
  const rng = new Rng(7);
  const images = keep(
    tensor(
      Uint8Array.from({ length: items * 64 * 64 * 3 }, () => rng.int(256)),
      [items, 64, 64, 3],
    ),
  );
  const pairs = { user: Int32Array.from({ length: 20000 }, (_, k) => k % users), item: Int32Array.from({ length: 20000 }, () => rng.int(items)) };
  const model = new Dvbpr(cfg.encoder, users, 1);
  const opt = new Adam(model.trainableParameters(), { lr: cfg.lr });
  const bpr = { module: model, loss: dvbprLoss(model, images, cfg.lambdaPhi, cfg.lambdaTheta), generators: [] };
  const sampler = new TripletSampler(pairs, users, items, 1);
  group?.broadcast(model.trainableParameters(), 0);
  const step = () => {
    const b = sampler.sample(BATCH);
    bprStep(bpr, opt, group ? shardOf(b, group.rank, group.size) : b, group);
  };
  for (let s = 0; s < WARMUP; s++) step();
  group?.barrier();
  const t0 = performance.now();
  for (let s = 0; s < STEPS; s++) step();
  group?.barrier();
  const ms = (performance.now() - t0) / STEPS;
  // the collective alone, on buffers of the gradients' sizes
  const sizes = model.trainableParameters().map((p) => p.shape);
  const numel = sizes.reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
  let allReduceMs: number | undefined;
  if (group) {
    const bufs = sizes.map((s) => keep(zeros(s)));
    group.barrier();
    const t1 = performance.now();
    for (let s = 0; s < STEPS; s++) tidy(() => group.allReduce(bufs, 'sum'));
    allReduceMs = (performance.now() - t1) / STEPS;
  }
  const out: WorkerResult = {
    ranks: group?.size ?? 1,
    threads: engineInfo().threads,
    stepsPerSecond: 1000 / ms,
    imagesPerSecond: (2 * BATCH * 1000) / ms,
    msPerStep: ms,
    ...(allReduceMs !== undefined ? { allReduceMs, allReduceShare: allReduceMs / ms } : {}),
    gradientMb: (numel * 4) / 1e6,
  };
  if (!group || group.rank === 0) process.stdout.write(JSON.stringify(out) + '\n');
  group?.destroy();
}

async function run(ranks: number): Promise<WorkerResult> {
  const self = fileURLToPath(import.meta.url);
  const port = String(await freePort());
  const threads = String(Math.max(1, Math.floor(availableParallelism() / ranks)));
  const outs = await Promise.all(
    Array.from({ length: ranks }, (_, rank) => {
      const env = {
        ...process.env,
        SCALE_WORKER: '1',
        ATELIER_THREADS: threads,
        ...(ranks > 1 ? { MASTER_ADDR: '127.0.0.1', MASTER_PORT: port, WORLD_SIZE: String(ranks), RANK: String(rank), LOCAL_RANK: String(rank) } : {}),
      };
      const child = spawn(process.execPath, ['--single-threaded-gc', '--import', 'tsx', self], { env, stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      child.stdout.on('data', (c) => (text += String(c)));
      return new Promise<string>((resolve, reject) =>
        child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`scale worker exit ${code}`)))),
      );
    }),
  );
  return JSON.parse(outs[0]!.trim()) as WorkerResult;
}

export async function scaleBench(): Promise<void> {
  const load = loadavg()[0]!;
  const one = await run(1);
  const two = await run(2);
  const result = {
    batch: BATCH,
    steps: STEPS,
    one,
    two,
    loadBefore: load,
    cores: availableParallelism(),
    engine: engineInfo(),
    command: 'npm run bench -- scale',
  };
  writeJsonAtomic(join('bench', 'results', 'scale.json'), result);
  const f = (x: number, d = 1) => x.toFixed(d);
  writeFileAtomic(
    join('bench', 'results', 'scale.md'),
    [
      '# Data-parallel DVBPR over c10d/Gloo on this machine',
      '',
      `DVBPR default preset at 64 px on random images (2,000 items, 1,000 shoppers), global batch ${BATCH} triplets (${2 * BATCH} images), ${STEPS} timed steps after ${WARMUP}; ${availableParallelism()} cores; one-minute load average ${f(load, 2)} when it started${process.env.SCALE_NOTE ? ` (${process.env.SCALE_NOTE})` : ''}.`,
      '',
      '| processes | threads each | steps/s | images/s | ms/step | all-reduce ms (share of a step) |',
      '|---:|---:|---:|---:|---:|---:|',
      `| 1 | ${one.threads} | ${f(one.stepsPerSecond, 2)} | ${f(one.imagesPerSecond, 0)} | ${f(one.msPerStep)} | – |`,
      `| 2 | ${two.threads} | ${f(two.stepsPerSecond, 2)} | ${f(two.imagesPerSecond, 0)} | ${f(two.msPerStep)} | ${f(two.allReduceMs!, 2)} (${f(100 * two.allReduceShare!)}%) |`,
      '',
      `Two processes of one thread each run at ${f(two.imagesPerSecond / one.imagesPerSecond, 2)}× one process of ${one.threads} threads on the same ${availableParallelism()} cores: they cannot add cores here, so the ratio shows what the collective and half-size batches per rank cost against how well libtorch's intra-op threads use the cores at this size; data parallelism pays across machines or GPUs. The all-reduce takes ${f(two.allReduceMs!, 2)} ms of each ${f(two.msPerStep)} ms step. The gradients are ${f(one.gradientMb)} MB a step (the encoder and the 1,000 shoppers' vectors, all-reduced densely as one buffer); the shoppers' part grows by 0.4 MB per 1,000 shoppers at K = 100, so at a million shoppers (400 MB a step) it would dominate, and only the rows of the batch's shoppers should travel (a sparse all-gather).`,
      '',
      'Command: `npm run bench -- scale`.',
      '',
    ].join('\n'),
  );
  console.log(JSON.stringify(result, null, 2));
}

if (process.env.SCALE_WORKER) await worker();
