/**
 * `npm run bench -- hm-224 [--steps 3] [--resident-mb 1024]`: the paper's 224-px input on a real
 * catalogue. The shared H&M sample ingested at 224 px (a photo cache over 2 GiB), then, in one
 * worker process, the paper preset's first DVBPR steps with the cache read by rows (a resident
 * budget below the cache's size). Writes bench/results/hm-224.json and .md: the ingest's time and
 * peak RSS, the cache's size, seconds per step and the worker's peak RSS.
 */
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic, writeJsonAtomic } from '../src/core/fs.js';
import { imagesTensor } from '../src/app/train-recommender.js';
import { dvbprPreset } from '../src/config/dvbpr.js';
import { loadDataset } from '../src/data/dataset.js';
import { Dvbpr } from '../src/models/dvbpr.js';
import { Tensor } from '../src/torch/index.js';
import { dvbprStepper, timed } from './full-size.js';

const bin = resolve('bin/atelier.js');
const tsx = import.meta.resolve('tsx');
const self = fileURLToPath(import.meta.url);

/** The worker: the paper preset's first steps on the 224-px dataset; prints one JSON line. */
async function worker(data: string, steps: number): Promise<void> {
  const t0 = performance.now();
  const ds = loadDataset(data);
  const images = imagesTensor(ds);
  const loadSeconds = (performance.now() - t0) / 1000;
  const cfg = { ...dvbprPreset('paper', ds.imageSize), init: 'scratch' as const };
  const model = new Dvbpr(cfg.encoder, ds.userIds.length, cfg.seed);
  const { lazyStep } = dvbprStepper(model, ds, images, cfg);
  const seconds: number[] = [];
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const a = performance.now();
    losses.push(lazyStep() / cfg.batch);
    seconds.push((performance.now() - a) / 1000);
  }
  // on stderr: the bench reads the worker's stderr
  process.stderr.write(
    JSON.stringify({
      loadSeconds,
      imagesResident: images instanceof Tensor,
      batch: cfg.batch,
      k: cfg.encoder.k,
      stepSeconds: seconds,
      losses,
      stepsPerEpoch: Math.round(ds.train.user.length / cfg.batch),
      peakRssMb: process.resourceUsage().maxRSS / 1024,
    }) + '\n',
  );
}

export async function hm224Bench(args: string[]): Promise<void> {
  const stepsAt = args.indexOf('--steps');
  const steps = stepsAt >= 0 ? Number(args[stepsAt + 1]) : 3;
  const residentAt = args.indexOf('--resident-mb');
  const residentMb = residentAt >= 0 ? args[residentAt + 1]! : '1024';
  const src = resolve(process.env.ATELIER_HM ?? '../shared/data/hm');
  const data = join(process.env.ATELIER_HM_224_DIR ?? '/tmp/atelier-hm-224', 'data');
  if (!args.includes('--reuse') || !existsSync(join(data, 'manifest.json'))) rmSync(data, { recursive: true, force: true });
  const ingest = existsSync(join(data, 'manifest.json'))
    ? null
    : await timed([process.execPath, bin, 'ingest', 'hm', src, '--out', data, '--image-size', '224', '--split', 'temporal']);
  if (ingest && ingest.code !== 0) throw new Error(`ingest exited ${ingest.code}: ${ingest.err.slice(-2000)}`);
  const cacheBytes = statSync(join(data, 'images.u8')).size;
  const w = await timed(
    ['env', 'MALLOC_ARENA_MAX=1', `ATELIER_RESIDENT_IMAGES_MB=${residentMb}`, process.execPath, '--import', tsx, self, 'worker', data, String(steps)],
    {},
  );
  if (w.code !== 0) throw new Error(`worker exited ${w.code}: ${w.err.slice(-3000)}`);
  const line = w.err.split('\n').find((l) => l.startsWith('{"loadSeconds"'));
  if (!line) throw new Error(`the worker printed no result: ${w.err.slice(-2000)}`);
  const r = JSON.parse(line) as {
    loadSeconds: number;
    imagesResident: boolean;
    batch: number;
    k: number;
    stepSeconds: number[];
    losses: number[];
    stepsPerEpoch: number;
    peakRssMb: number;
  };
  const result = {
    when: new Date().toISOString(),
    load: loadavg()[0] ?? NaN,
    ingest: ingest ? { seconds: ingest.seconds, peakRssMb: ingest.peakRssMb } : 'reused',
    cacheBytes,
    residentBudgetMb: Number(residentMb),
    worker: { ...r, wallSeconds: w.seconds, peakRssMb: w.peakRssMb },
    command: `npm run bench -- hm-224 --steps ${steps} --resident-mb ${residentMb}`,
  };
  writeJsonAtomic('bench/results/hm-224.json', result);
  const mean = r.stepSeconds.slice(1).reduce((a, b) => a + b, 0) / Math.max(1, r.stepSeconds.length - 1);
  writeFileAtomic(
    'bench/results/hm-224.md',
    [
      '# The paper preset at 224 px on the H&M sample',
      '',
      `\`${result.command}\` (bench/hm-224.ts), ${result.when}, load ${result.load.toFixed(2)} when written, 2 cores, no GPU.`,
      '',
      `- ingest at 224 px: ${ingest ? `${ingest.seconds.toFixed(0)} s, peak RSS ${(ingest.peakRssMb / 1024).toFixed(2)} GB` : 'reused'}; the photo cache is ${(cacheBytes / 2 ** 30).toFixed(2)} GiB (over the 2 GiB a single read could hold).`,
      `- the paper preset (CNN-F, K = ${r.k}, ${r.batch} triplets a step), from scratch, the cache read by rows for each batch (resident budget ${residentMb} MiB: ${r.imagesResident ? 'held whole' : 'not held whole'}): ${r.stepSeconds.length} steps of ${r.stepSeconds.map((s) => s.toFixed(1)).join(', ')} s (losses ${r.losses.map((l) => l.toFixed(4)).join(', ')}); the worker's peak RSS ${(w.peakRssMb / 1024).toFixed(2)} GB.`,
      `- an epoch is ${r.stepsPerEpoch} steps: about ${((mean * r.stepsPerEpoch) / 3600).toFixed(1)} hours here at ${mean.toFixed(1)} s a step (after the first); the paper's 20 epochs are a GPU's job (docs/engine.md).`,
      '',
    ].join('\n'),
  );
  console.error(readFileSync('bench/results/hm-224.md', 'utf8'));
}

// this file run as the worker
if (process.argv[1] && resolve(process.argv[1]) === self && process.argv[2] === 'worker') await worker(process.argv[3]!, Number(process.argv[4]));
