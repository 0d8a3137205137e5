/**
 * `npm run bench -- checkpoint`: what a DVBPR checkpoint of the default preset costs to write at
 * 1%, 10% and 100% of the Kaggle H&M download's shoppers (13,720, 137,198 and 1,371,980), and what
 * that costs the loop that writes one every ten minutes between epochs' ends (src/train/loop.ts).
 * The checkpoint holds what the loop writes for that run: the model (θ and Φ), Adam's moments of Φ,
 * lazy Adam's two moments of θ, the best and the averaged copies of the model (the default preset
 * averages). The step time of full-size.json gives the epoch a checkpoint at epochs' ends only
 * would put at risk. Writes bench/results/checkpoint.json and .md.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { dvbprPreset } from '../src/config/dvbpr.js';
import { writeJsonAtomic } from '../src/core/fs.js';
import { Dvbpr } from '../src/models/dvbpr.js';
import { Adam, noGrad, RowAdam, type Tensor } from '../src/torch/index.js';
import { copyState } from '../src/train/averaging.js';
import { saveCheckpoint } from '../src/train/checkpoint.js';
import { checkpointSeconds } from '../src/train/loop.js';

const USERS = [13_720, 137_198, 1_371_980];
const PURCHASES = 31_788_324; // the full download's; a tenth and a hundredth at the smaller sizes
const SAVES = 3;

export async function checkpointBench(): Promise<void> {
  const load = loadavg()[0]!;
  const cfg = dvbprPreset('default', 64);
  const every = checkpointSeconds();
  const full = existsSync('bench/results/full-size.json')
    ? (JSON.parse(readFileSync('bench/results/full-size.json', 'utf8')) as { sizes: { fraction: number; stages: { steps?: { secondsPerStep: number } } }[] })
    : null;
  const stepSeconds = (fraction: number) => full?.sizes.find((s) => s.fraction === fraction)?.stages.steps?.secondsPerStep;
  const rows = [];
  for (const [x, users] of USERS.entries()) {
    const fraction = [0.01, 0.1, 1][x]!;
    const model = new Dvbpr(cfg.encoder, users, cfg.seed);
    const theta = model.theta;
    const adam = new Adam(
      model.trainableParameters().filter((p) => p !== theta),
      { lr: cfg.lr },
    );
    const rowAdam = new RowAdam(theta, cfg.lr);
    const tensors = new Map<string, Tensor>();
    const state = model.stateDict();
    for (const [k, v] of state) tensors.set(`model.${k}`, v);
    for (const [k, v] of adam.stateDict().tensors) tensors.set(`adam.${k}`, v);
    for (const [k, v] of rowAdam.stateDict().tensors) tensors.set(`rowadam.${k}`, v);
    const best = copyState(state);
    const avg = copyState(state);
    for (const [k, v] of best) tensors.set(`best.${k}`, v);
    for (const [k, v] of avg) tensors.set(`avg.${k}`, v);
    const dir = mkdtempSync(join(tmpdir(), 'atelier-ckpt-bench-'));
    const seconds: number[] = [];
    for (let r = 0; r < SAVES; r++) {
      const t0 = performance.now();
      noGrad(() => saveCheckpoint(dir, { step: r }, tensors));
      seconds.push((performance.now() - t0) / 1000);
    }
    const bytes = statSync(join(dir, 'checkpoint.safetensors')).size;
    rmSync(dir, { recursive: true, force: true });
    for (const m of [best, avg]) for (const t of m.values()) t.dispose();
    adam.dispose();
    rowAdam.dispose();
    model.dispose();
    const step = stepSeconds(fraction);
    const stepsPerEpoch = Math.round((PURCHASES * fraction) / cfg.batch);
    const worst = Math.max(...seconds);
    rows.push({
      fraction,
      users,
      k: cfg.encoder.k,
      gb: bytes / 1e9,
      seconds,
      overheadAtInterval: every > 0 ? worst / every : null,
      stepsPerEpoch,
      ...(step ? { secondsPerStep: step, epochHours: (stepsPerEpoch * step) / 3600 } : {}),
    });
    console.log(JSON.stringify(rows.at(-1)));
  }
  const out = { when: new Date().toISOString(), load, intervalSeconds: every, saves: SAVES, command: 'npm run bench -- checkpoint', rows };
  writeJsonAtomic('bench/results/checkpoint.json', out);
  const f = (v: number, d = 2) => v.toFixed(d);
  const md = [
    '# A DVBPR checkpoint at a real shop’s sizes',
    '',
    `\`npm run bench -- checkpoint\` (bench/checkpoint.ts), ${out.when}, one-minute load ${f(load)} when it started. The default preset (K = ${cfg.encoder.k}, 64 px): the model, Adam’s moments of Φ, lazy Adam’s two moments of θ, the best and the averaged copies, as the loop writes them; ${SAVES} saves each (the first to a new file, the others over it). The epoch’s length is the purchases at that size over the batch (${cfg.batch}) and full-size.json’s measured step.`,
    '',
    `| shoppers | checkpoint | seconds to write (${SAVES} saves) | share of a ${every / 60}-minute interval (slowest save) | steps an epoch | an epoch |`,
    '|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.users.toLocaleString('en')} | ${f(r.gb)} GB | ${r.seconds.map((s) => f(s)).join(', ')} | ${r.overheadAtInterval === null ? '–' : `${f(100 * r.overheadAtInterval)}%`} | ${r.stepsPerEpoch.toLocaleString('en')} | ${r.epochHours === undefined ? '–' : `${f(r.epochHours, 1)} h`} |`,
    ),
    '',
    'Checkpoints written only at an epoch’s end put that epoch at risk of a kill; between them the loop now writes one every interval (`ATELIER_CHECKPOINT_SECONDS`, default 600 s), so a kill loses at most the interval.',
    '',
  ].join('\n');
  writeFileSync('bench/results/checkpoint.md', md);
}
