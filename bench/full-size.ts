/**
 * `npm run bench -- full-size [--fraction 0.01,0.1,1]`: the main job on a shop of the Kaggle H&M
 * download's size (bench/full-size-shop.ts writes one at each fraction of 1,371,980 customers,
 * 105,542 articles and 31,788,324 purchases), every stage with its wall time and peak RSS:
 *   ingest      `atelier ingest hm --image-size 64` (the bin, as a user runs it)
 *   load        the dataset opened for training (splits, ids; the image cache by rows)
 *   steps       STEPS DVBPR steps of the default preset from scratch (an epoch at full size is
 *               250,000 steps: a GPU's job), seconds a step
 *   embed       Φ of every article
 *   evaluate    the test AUC and Recall of every evaluated shopper, full ranking
 *   catalogue   the run committed: catalogue.sqlite with every purchase, weights, embeddings
 *   serve       `atelier serve` start-up, then 200 recommendation requests: p50 / p99
 *   recommend   `atelier recommend --users` for 10,000 shoppers, one process
 * and writes bench/results/full-size.json and .md with how each grows with size. The shops, the
 * datasets and the runs go under /tmp/atelier-full-size (ATELIER_FULL_SIZE_DIR). Run it with
 * nothing else busy: the figures are wall-clock on this machine's 2 cores.
 * `--report` writes the Markdown again from the JSON. `--only-ingest` measures generate and ingest alone (keeping the other stages' figures in the
 * results file), `--reuse-shop` keeps a shop written by an earlier run.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic, writeJsonAtomic } from '../src/core/fs.js';
import { imagesTensor, rankingOn } from '../src/app/train-recommender.js';
import { dvbprPreset, type DvbprConfig } from '../src/config/dvbpr.js';
import { loadDataset, type Dataset } from '../src/data/dataset.js';
import { TripletSampler } from '../src/data/sampler.js';
import { Dvbpr, DvbprScorer, embedImages, embedPixels } from '../src/models/dvbpr.js';
import { EMBEDDINGS_FILE } from '../src/store/catalogue-db.js';
import { commitRun } from '../src/store/run-commit.js';
import { RUN_FORMAT, type DvbprRunManifest } from '../src/store/run.js';
import { versions } from '../src/store/versions.js';
import { batchRows, bprStep } from '../src/train/bpr.js';
import { dvbprLoss } from '../src/train/losses.js';
import { Adam, RowAdam, Tensor, type PixelRows } from '../src/torch/index.js';
import { sizesAt, writeFullSizeShop, type ShopSizes } from './full-size-shop.js';

const STEPS = Number(process.env.FULL_SIZE_STEPS ?? 20);
const DENSE_STEPS = Math.max(3, Math.round(STEPS / 4));
const REQUESTS = 200;
const RECOMMEND_USERS = 10_000;
/** shoppers evaluated at most; a larger shop's evaluation is timed on an even sample and scaled */
const EVAL_USERS = Number(process.env.FULL_SIZE_EVAL_USERS ?? 150_000);

interface Stage {
  seconds: number;
  peakRssMb?: number;
  [k: string]: unknown;
}

/** Runs a command under GNU time: its exit code, stderr, wall seconds and peak RSS (MB). */
export function timed(cmd: string[], env: Record<string, string> = {}): Promise<{ code: number; err: string; seconds: number; peakRssMb: number }> {
  return new Promise((done, fail) => {
    const child = spawn('/usr/bin/time', ['-f', 'TIMED %e %M', ...cmd], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let err = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => (err = (err + c).slice(-200_000)));
    child.on('error', fail);
    child.on('close', (code) => {
      const m = /TIMED ([\d.]+) (\d+)\s*$/.exec(err);
      done({ code: code ?? 1, err, seconds: m ? Number(m[1]) : NaN, peakRssMb: m ? Number(m[2]) / 1024 : NaN });
    });
  });
}

const bin = resolve('bin/atelier.js');
const tsx = import.meta.resolve('tsx');
const self = fileURLToPath(import.meta.url);

/**
 * DVBPR's training step as `train dvbpr` takes it, from scratch: dense Adam for Φ, lazy Adam for
 * the batch's rows of θ (`lazyStep` returns the batch's loss); `bpr` and `sampler` for other steps.
 */
export function dvbprStepper(model: Dvbpr, ds: Dataset, images: PixelRows, cfg: DvbprConfig) {
  const bpr = {
    module: model,
    loss: dvbprLoss(model, images, cfg.lambdaPhi, cfg.lambdaTheta),
    rows: model.rowTable(),
    generators: model.encoder.dropoutGen ? [model.encoder.dropoutGen] : [],
  };
  const sampler = new TripletSampler(ds.train, ds.userIds.length, ds.itemIds.length, cfg.seed);
  const opt = new Adam(
    model.trainableParameters().filter((p) => p !== model.theta),
    { lr: cfg.lr },
  );
  const rowOpt = new RowAdam(model.theta, cfg.lr);
  const lazyStep = () => {
    const b = sampler.sample(cfg.batch);
    return bprStep(bpr, opt, b, undefined, 1, { opt: rowOpt, rows: batchRows(b) });
  };
  return { bpr, sampler, lazyStep };
}

/** The worker: the training-side stages in one process, each timed; writes worker-<fraction>.json beside the run. */
async function worker(data: string, run: string): Promise<void> {
  const stages: Record<string, Stage> = {};
  const rss = () => process.resourceUsage().maxRSS / 1024;
  let t = performance.now();
  const lap = (name: string, extra: Record<string, unknown> = {}) => {
    const now = performance.now();
    stages[name] = { seconds: (now - t) / 1000, peakRssMb: rss(), ...extra };
    console.error(`  worker ${name}: ${JSON.stringify(stages[name])}`);
    t = now;
  };
  const ds = loadDataset(data);
  const images = imagesTensor(ds);
  lap('load', { imagesResident: images instanceof Tensor });
  const cfg = { ...dvbprPreset('default', ds.imageSize), init: 'scratch' as const, epochs: 1 };
  const model = new Dvbpr(cfg.encoder, ds.userIds.length, cfg.seed);
  const { bpr, sampler, lazyStep } = dvbprStepper(model, ds, images, cfg);
  // dense Adam over every parameter (θ's every row each step), a few steps for comparison
  const dense = new Adam(model.trainableParameters(), { lr: cfg.lr });
  bprStep(bpr, dense, sampler.sample(cfg.batch)); // warm-up
  t = performance.now();
  for (let s = 0; s < DENSE_STEPS; s++) bprStep(bpr, dense, sampler.sample(cfg.batch));
  const denseSecondsPerStep = (performance.now() - t) / 1000 / DENSE_STEPS;
  dense.dispose();
  lazyStep(); // warm-up
  t = performance.now();
  for (let s = 0; s < STEPS; s++) lazyStep();
  lap('steps', { steps: STEPS, batch: cfg.batch, secondsPerStep: (performance.now() - t) / 1000 / STEPS, denseSecondsPerStep, denseSteps: DENSE_STEPS });
  model.eval();
  const e = embedImages(model.encoder, images);
  lap('embed', { items: ds.itemIds.length });
  const scorer = new DvbprScorer(model.theta.data(), e, cfg.encoder.k);
  // every evaluated shopper up to EVAL_USERS; past it an even sample, the time scaled to all of them (said so in the table)
  const every = Math.max(1, Math.ceil(ds.test.user.length / EVAL_USERS));
  const rows = Int32Array.from({ length: Math.ceil(ds.test.user.length / every) }, (_, k) => k * every);
  const sampled = every > 1 ? { ...ds, test: { user: rows.map((x) => ds.test.user[x]!), item: rows.map((x) => ds.test.item[x]!) } } : ds;
  const t0 = performance.now();
  const test = rankingOn(sampled, scorer, 'test');
  const measured = (performance.now() - t0) / 1000;
  scorer.dispose();
  lap('evaluate', { users: test.users, of: ds.test.user.length, auc: test.auc, measuredSeconds: measured });
  if (every > 1) stages.evaluate!.seconds = (measured * ds.test.user.length) / test.users;
  const manifest: DvbprRunManifest = {
    format: RUN_FORMAT,
    name: 'dvbpr-full-size-bench',
    createdAt: new Date().toISOString(),
    seed: cfg.seed,
    dataset: { path: ds.dir, dataHash: ds.manifest.dataHash, imageSize: ds.imageSize, items: ds.itemIds.length, users: ds.userIds.length },
    versions: versions(),
    metrics: { test },
    history: [],
    kind: 'dvbpr',
    config: cfg,
    embeddings: { file: EMBEDDINGS_FILE, count: ds.itemIds.length, k: cfg.encoder.k },
    training: { split: 'dataset', pairs: ds.train.user.length, users: new Set(ds.train.user).size },
  };
  rmSync(run, { recursive: true, force: true });
  mkdirSync(run, { recursive: true });
  commitRun(run, {
    manifest,
    dataset: ds,
    weights: { tensors: model.stateDict(), metadata: { kind: 'dvbpr' } },
    embeddings: { e, k: cfg.encoder.k, embed: (u8, n, size) => embedPixels(model.encoder, u8, n, size) },
  });
  lap('catalogue', { purchases: ds.train.user.length + ds.valid.user.length + ds.test.user.length });
  const f = run.slice(run.lastIndexOf('run-') + 4);
  writeFileSync(join(run, '..', `worker-${f}.json`), JSON.stringify({ stages, users: ds.userIds.length, items: ds.itemIds.length }));
}

/** `atelier serve` on the run: seconds until it serves, then REQUESTS recommendation requests one after another. */
async function serveStage(run: string, users: string[]): Promise<Stage> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [bin, 'serve', '--run', run, '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const url = await new Promise<string>((done, fail) => {
    let seen = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => {
      seen += c;
      const m = /serving on (\S+)/.exec(seen);
      if (m) done(m[1]!);
    });
    child.on('exit', (code) => fail(new Error(`serve exited ${code}: ${seen.slice(-2000)}`)));
  });
  const startup = (performance.now() - t0) / 1000;
  const ms: number[] = [];
  for (let r = 0; r < REQUESTS; r++) {
    const u = users[(r * 7919) % users.length]!;
    const a = performance.now();
    const res = await fetch(`${url.replace(/\/$/, '')}/users/${encodeURIComponent(u)}/recommendations?k=12`);
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`GET recommendations: ${res.status}`);
    ms.push(performance.now() - a);
  }
  // the server is the bin's child process: the largest peak among the bin and its children
  const pids = [child.pid!, ...readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)];
  const hwm = Math.max(...pids.map((p) => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? NaN) / 1024));
  child.kill('SIGTERM');
  ms.sort((a, b) => a - b);
  return { seconds: startup, peakRssMb: hwm, p50Ms: ms[Math.floor(ms.length * 0.5)], p99Ms: ms[Math.floor(ms.length * 0.99)], requests: REQUESTS };
}

interface SizeResult {
  fraction: number;
  sizes: ShopSizes;
  users: number;
  items: number;
  stages: Record<string, Stage>;
  /** when generate and ingest were measured alone (--only-ingest), the later stages kept from an earlier run */
  ingestMeasured?: string;
}

export async function fullSizeBench(args: string[]): Promise<void> {
  const at = args.indexOf('--fraction');
  const fractions = (at >= 0 ? args[at + 1]! : '0.01,0.1,1').split(',').map(Number);
  if (fractions.some((f) => !(f > 0 && f <= 1))) throw new Error(`--fraction takes numbers in (0, 1], got ${args[at + 1]}`);
  const sample = resolve(process.env.ATELIER_HM ?? '../shared/data/hm');
  const root = process.env.ATELIER_FULL_SIZE_DIR ?? '/tmp/atelier-full-size';
  mkdirSync(root, { recursive: true });
  const outJson = 'bench/results/full-size.json';
  const results: SizeResult[] = existsSync(outJson) ? (JSON.parse(readFileSync(outJson, 'utf8')) as { sizes: SizeResult[] }).sizes : [];
  // --report: the Markdown written again from the results file, nothing run
  if (args.includes('--report')) {
    const saved = JSON.parse(readFileSync(outJson, 'utf8')) as { when: string; load: number };
    return report(results, saved);
  }
  for (const f of fractions) {
    const shop = join(root, `shop-${f}`);
    const data = join(root, `data-${f}`);
    const run = join(root, `run-${f}`);
    const saved = join(root, `stages-${f}.json`);
    // --reuse: the shop, dataset and run of an earlier invocation at this fraction, and the figures it saved, are kept;
    // the stages after them (serve, recommend) run again
    if (args.includes('--reuse') && existsSync(saved) && existsSync(join(run, 'manifest.json'))) {
      const before = JSON.parse(readFileSync(saved, 'utf8')) as { sizes: ShopSizes; users: number; items: number; stages: Record<string, Stage> };
      await laterStages(f, before.sizes, before.users, before.items, { ...before.stages, reused: { seconds: 0, from: saved } }, data, run, root, results);
      continue;
    }
    const stages: Record<string, Stage> = {};
    let t = performance.now();
    // --reuse-data: the shop and dataset of an earlier invocation kept (their figures too); the worker's stages and the later ones run again
    const reuseData = args.includes('--reuse-data') && existsSync(saved) && existsSync(join(data, 'manifest.json'));
    const before = reuseData ? (JSON.parse(readFileSync(saved, 'utf8')) as { sizes: ShopSizes; stages: Record<string, Stage> }) : null;
    // --only-ingest: generate (or, with --reuse-shop, keep an earlier shop) and ingest; the other stages' figures are kept from the results file
    const onlyIngest = args.includes('--only-ingest');
    const reuseShop = args.includes('--reuse-shop') && existsSync(join(shop, 'transactions_train.csv'));
    const sizes = before ? before.sizes : reuseShop ? sizesAt(f) : writeFullSizeShop(sample, shop, f);
    if (before) {
      stages.generate = before.stages.generate!;
      stages.ingest = { ...before.stages.ingest!, reused: saved };
    } else {
      if (reuseShop) {
        stages.generate = results.find((r) => r.fraction === f)?.stages.generate ?? { seconds: NaN };
        console.error(`full-size ${f}: the shop of an earlier run kept (${shop})`);
      } else {
        stages.generate = { seconds: (performance.now() - t) / 1000 };
        console.error(`full-size ${f}: ${JSON.stringify(sizes)}, generated in ${stages.generate.seconds.toFixed(1)} s`);
      }
      rmSync(data, { recursive: true, force: true });
      const ingest = await timed([process.execPath, bin, 'ingest', 'hm', shop, '--out', data, '--image-size', '64']);
      if (ingest.code !== 0) {
        stages.ingest = { seconds: ingest.seconds, peakRssMb: ingest.peakRssMb, failed: ingest.err.slice(-1500) };
        results.push({ fraction: f, sizes, users: 0, items: 0, stages });
        report(results);
        console.error(`ingest failed:\n${ingest.err.slice(-1500)}`);
        continue;
      }
      stages.ingest = { seconds: ingest.seconds, peakRssMb: ingest.peakRssMb };
      console.error(`  ingest ${ingest.seconds} s, ${ingest.peakRssMb.toFixed(0)} MB`);
      if (onlyIngest) {
        const earlier = results.find((r) => r.fraction === f);
        const rest = earlier ? Object.fromEntries(Object.entries(earlier.stages).filter(([k]) => k !== 'generate' && k !== 'ingest')) : {};
        const kept = results.filter((r) => r.fraction !== f);
        results.length = 0;
        results.push(...kept, {
          ...(earlier ?? { fraction: f, sizes, users: 0, items: 0 }),
          stages: { ...stages, ...rest },
          ingestMeasured: new Date().toISOString(),
        });
        report(results);
        continue;
      }
    }
    t = performance.now();
    const w = await timed(['env', 'MALLOC_ARENA_MAX=1', process.execPath, '--single-threaded-gc', '--import', tsx, self, 'worker', data, run]);
    if (w.code !== 0) throw new Error(`worker exited ${w.code}: ${w.err.slice(-3000)}`);
    const worked = JSON.parse(readFileSync(join(run, '..', `worker-${f}.json`), 'utf8').trim() || '{}') as {
      stages: Record<string, Stage>;
      users: number;
      items: number;
    };
    Object.assign(stages, worked.stages);
    console.error(`  worker ${w.seconds} s, ${w.peakRssMb.toFixed(0)} MB: ${JSON.stringify(worked.stages)}`);
    writeJsonAtomic(saved, { sizes, users: worked.users, items: worked.items, stages });
    await laterStages(f, sizes, worked.users, worked.items, stages, data, run, root, results);
  }
}

/** serve and recommend on the run made at fraction f; the fraction's row of the results replaced. */
async function laterStages(
  f: number,
  sizes: ShopSizes,
  users: number,
  items: number,
  stages: Record<string, Stage>,
  data: string,
  run: string,
  root: string,
  results: SizeResult[],
): Promise<void> {
  {
    const ids = (JSON.parse(readFileSync(join(data, 'users.json'), 'utf8')) as { ids: string[] }).ids;
    stages.serve = await serveStage(run, ids);
    console.error(`  serve ${JSON.stringify(stages.serve)}`);
    const list = join(root, `users-${f}.txt`);
    writeFileSync(
      list,
      ids
        .filter((_, i) => i % Math.max(1, Math.floor(ids.length / RECOMMEND_USERS)) === 0)
        .slice(0, RECOMMEND_USERS)
        .join('\n') + '\n',
    );
    const rec = await timed([process.execPath, bin, 'recommend', '--run', run, '--users', list, '--k', '12', '--json']);
    if (rec.code !== 0) throw new Error(`recommend exited ${rec.code}: ${rec.err.slice(-2000)}`);
    stages.recommend = { seconds: rec.seconds, peakRssMb: rec.peakRssMb, users: Math.min(RECOMMEND_USERS, ids.length) };
    console.error(`  recommend ${rec.seconds} s`);
    const kept = results.filter((r) => r.fraction !== f);
    results.length = 0;
    results.push(...kept, { fraction: f, sizes, users, items, stages });
    report(results);
  }
}

/** The issue's targets at full size, each met or not with its figure; the measured reasons are in docs/results.md. */
function targets(results: SizeResult[]): string {
  const full = results.find((r) => r.fraction === 1)?.stages;
  const small = results.find((r) => r.fraction === 0.01)?.stages;
  if (!full) return '';
  const n = (v: unknown) => (typeof v === 'number' ? v : NaN);
  const rows: [string, boolean, string][] = [
    ['ingest at most 5 minutes', n(full.ingest?.seconds) <= 300, `${n(full.ingest?.seconds).toFixed(0)} s`],
    ['ingest at most 4 GB peak', n(full.ingest?.peakRssMb) <= 4096, `${(n(full.ingest?.peakRssMb) / 1024).toFixed(2)} GB`],
    [
      'a DVBPR step within 10% of its cost at 1%',
      n(full.steps?.secondsPerStep) <= 1.1 * n(small?.steps?.secondsPerStep),
      `${(1000 * n(full.steps?.secondsPerStep)).toFixed(0)} ms against ${(1000 * n(small?.steps?.secondsPerStep)).toFixed(0)} ms`,
    ],
    ['evaluation of every shopper at most 10 minutes', n(full.evaluate?.seconds) <= 600, `${n(full.evaluate?.seconds).toFixed(0)} s`],
    ['serve start-up at most 60 s', n(full.serve?.seconds) <= 60, `${n(full.serve?.seconds).toFixed(1)} s`],
    ['recommendation p99 at most 20 ms', n(full.serve?.p99Ms) <= 20, `${n(full.serve?.p99Ms).toFixed(1)} ms`],
  ];
  return `
Targets at full size (the reasons where one is not met, measured: docs/results.md, "At a real shop's full size"):

| target | met | figure |
|---|---|---:|
${rows.map(([t, ok, f]) => `| ${t} | ${ok ? 'yes' : 'no'} | ${f} |`).join('\n')}
`;
}

/** Writes the results; `at`: when they were measured and the load then (--report rewrites the Markdown of earlier figures). */
function report(results: SizeResult[], at?: { when: string; load: number }): void {
  results.sort((a, b) => a.fraction - b.fraction);
  const when = at?.when ?? new Date().toISOString();
  const load = at?.load ?? loadavg()[0]!;
  writeJsonAtomic('bench/results/full-size.json', { when, load, stepsMeasured: STEPS, sizes: results });
  const names = ['generate', 'ingest', 'load', 'steps', 'embed', 'evaluate', 'catalogue', 'serve', 'recommend'];
  const cell = (s: Stage | undefined) =>
    !s
      ? '–'
      : `${s.seconds.toFixed(1)} s${s.peakRssMb !== undefined && Number.isFinite(s.peakRssMb) ? `, ${(s.peakRssMb / 1024).toFixed(2)} GB` : ''}${s.failed ? ' (failed)' : ''}`;
  const rows = names.map((n) => `| ${n} | ${results.map((r) => cell(r.stages[n])).join(' | ')} |`);
  const extra = results.map((r) => {
    const s = r.stages;
    return `- ${(100 * r.fraction).toFixed(0)}% (${r.sizes.customers.toLocaleString('en')} customers, ${r.sizes.articles.toLocaleString('en')} articles, ${r.sizes.purchases.toLocaleString('en')} purchases): ${s.steps ? `a DVBPR step ${((s.steps.secondsPerStep as number) * 1000).toFixed(0)} ms${s.steps.denseSecondsPerStep ? ` (lazy Adam for θ; dense Adam over every row of θ: ${((s.steps.denseSecondsPerStep as number) * 1000).toFixed(0)} ms)` : ''}; ` : ''}${s.serve ? `recommendations p50 ${(s.serve.p50Ms as number).toFixed(1)} ms, p99 ${(s.serve.p99Ms as number).toFixed(1)} ms; ` : ''}${s.evaluate ? (s.evaluate.of === undefined || s.evaluate.users === s.evaluate.of ? `every one of ${s.evaluate.users} evaluated shoppers` : `evaluation timed on ${s.evaluate.users} of ${s.evaluate.of} evaluated shoppers (every ${Math.round((s.evaluate.of as number) / (s.evaluate.users as number))}th) and scaled to all`) : ''}${r.ingestMeasured ? `; generate and ingest measured ${r.ingestMeasured} (\`--only-ingest\`), the later stages in an earlier run` : ''}${s.ingest?.failed ? `; ingest failed: ${String(s.ingest.failed).split('\n').filter(Boolean).slice(-2).join(' ')}` : ''}`;
  });
  // how each stage grows: the ratio of its time from one fraction to the next (×10 the shop each step, when run at 1%, 10%, 100%)
  const growth = names.map((n) => {
    const ratios = results.slice(1).map((r, k) => {
      const a = results[k]!.stages[n]?.seconds;
      const b = r.stages[n]?.seconds;
      return a && b ? `×${(b / a).toFixed(1)}` : '–';
    });
    return `| ${n} | ${ratios.join(' | ')} |`;
  });
  const steps = results
    .slice(1)
    .map((r, k) => `${(100 * results[k]!.fraction).toFixed(0)}% → ${(100 * r.fraction).toFixed(0)}% (×${(r.fraction / results[k]!.fraction).toFixed(0)})`);
  const md = `# The main job at the Kaggle H&M download's size

\`npm run bench -- full-size --fraction ${results.map((r) => r.fraction).join(',')}\` (bench/full-size.ts) on shops generated in
the H&M layout (bench/full-size-shop.ts: the shared sample's articles under new ids, photos hard-linked,
purchases skewed), ${when}, load ${load.toFixed(2)} when written. Wall time and peak RSS of each
stage (ingest, serve and recommend are the bin's processes; load … catalogue one worker process, its
peak so far at each stage's end; serve: seconds to start, the server's peak RSS after ${REQUESTS} requests).

| stage | ${results.map((r) => `${(100 * r.fraction).toFixed(0)}%`).join(' | ')} |
|---|${results.map(() => '---:').join('|')}|
${rows.join('\n')}

${extra.join('\n')}

How each stage's time grows with the shop (customers, articles and purchases all scaled together):

| stage | ${steps.join(' | ')} |
|---|${steps.map(() => '---:').join('|')}|
${growth.join('\n')}
${targets(results)}`;
  writeFileAtomic('bench/results/full-size.md', md);
}

// this file run as the worker (not imported by another bench)
if (process.argv[1] && resolve(process.argv[1]) === self && process.argv[2] === 'worker') {
  const [data, run] = process.argv.slice(3) as [string, string];
  await worker(data, run);
}
