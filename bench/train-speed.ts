/**
 * How long the default preset takes to its best validation epoch on H&M's paper split, the
 * classifier start included: `atelier train dvbpr` with no flags, run as a user runs it (the bin,
 * a fresh run folder), each JSON line on its stderr timestamped as it arrives. Writes
 * bench/results/train-speed.json and .md. Needs ../shared/data/hm (or ATELIER_HM); the dataset is
 * ingested into /tmp/atelier-bench-speed (the photos reused from there after the first time).
 * Run it with nothing else busy: the figure is wall-clock.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../src/core/fs.js';

interface Line {
  t: number;
  event: string;
  [k: string]: unknown;
}

/** Runs the bin with these arguments; every JSON line of its stderr with the seconds since the start. */
function runBin(args: string[]): Promise<{ lines: Line[]; seconds: number; code: number }> {
  const t0 = Date.now();
  const lines: Line[] = [];
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [resolve('bin/atelier.js'), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let rest = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop()!;
      for (const p of parts) {
        try {
          lines.push({ t: (Date.now() - t0) / 1000, ...(JSON.parse(p) as { event: string }) });
        } catch {
          process.stderr.write(p + '\n');
        }
      }
    });
    child.on('error', fail);
    child.on('close', (code) => done({ lines, seconds: (Date.now() - t0) / 1000, code: code ?? 1 }));
  });
}

export async function trainSpeedBench(): Promise<void> {
  const src = resolve(process.env.ATELIER_HM ?? '../shared/data/hm');
  if (!existsSync(src)) throw new Error(`no H&M data at ${src} (set ATELIER_HM)`);
  const work = '/tmp/atelier-bench-speed';
  mkdirSync(work, { recursive: true });
  const data = join(work, 'data');
  const load = loadavg()[0]!;
  const ingest = await runBin(['ingest', 'hm', src, '--out', data, '--image-size', '64']);
  if (ingest.code !== 0) throw new Error(`ingest exited ${ingest.code}`);
  const run = join(work, 'run');
  rmSync(run, { recursive: true, force: true }); // the bench's own folder: a fresh run, never resumed
  const train = await runBin(['train', 'dvbpr', '--data', data, '--out', run]);
  if (train.code !== 0) throw new Error(`train dvbpr exited ${train.code}`);
  const manifest = JSON.parse(readFileSync(join(run, 'manifest.json'), 'utf8')) as {
    metrics: { bestEpoch: number; valid: { auc: number }; test: { auc: number; coldAuc: number } };
    history: unknown[];
    config: Record<string, unknown>;
    versions: Record<string, string>;
    dataset: { dataHash: string };
  };
  // the classifier start reports its epochs under the same run label: DVBPR's are the last ones, one per history entry
  const all = train.lines.filter((l) => l.event === 'epoch');
  const classifierEpochs = all.slice(0, all.length - manifest.history.length);
  const epochs = all.slice(classifierEpochs.length);
  const best = manifest.metrics.bestEpoch;
  const atBest = epochs.find((l) => l.epoch === best);
  const firstEpochStart = epochs.length ? epochs[0]!.t - Number(epochs[0]!.seconds ?? 0) : NaN;
  const result = {
    command: 'atelier train dvbpr --data <H&M, paper split, 64 px> --out <fresh folder>',
    cores: cpus().length,
    loadBefore: load,
    ingestSeconds: ingest.seconds,
    // the classifier start and the images' tensor: everything before the first epoch
    beforeFirstEpochSeconds: firstEpochStart,
    classifierEpochSeconds: classifierEpochs.map((l) => Number(l.seconds)),
    epochSeconds: epochs.map((l) => Number(l.seconds)),
    bestEpoch: best,
    toBestEpochSeconds: atBest?.t ?? NaN,
    totalSeconds: train.seconds,
    validAuc: manifest.metrics.valid.auc,
    testAuc: manifest.metrics.test.auc,
    coldAuc: manifest.metrics.test.coldAuc,
    config: manifest.config,
    versions: manifest.versions,
    dataHash: manifest.dataset.dataHash,
    // every JSON line of the run with its time (seconds since the start), progress bars left out
    timeline: train.lines.filter((l) => l.event !== 'progress'),
  };
  writeJsonAtomic('bench/results/train-speed.json', result);
  const min = (s: number) => (s / 60).toFixed(1);
  writeFileAtomic(
    'bench/results/train-speed.md',
    [
      '# The default preset on H&M: time to its best validation epoch',
      '',
      `\`${result.command}\`, no other flags, a fresh run folder, ${result.cores} cores (one-minute load average ${load.toFixed(2)} as it started; nothing else ran during it).`,
      '',
      '| | minutes |',
      '|---|---:|',
      `| before the first epoch (the multi-attribute classifier start) | ${min(result.beforeFirstEpochSeconds)} |`,
      `| to the end of the best validation epoch (${best}), classifier included | ${min(result.toBestEpochSeconds)} |`,
      `| the whole run (early stopping after it, the priors, the test figures, the catalogue) | ${min(result.totalSeconds)} |`,
      '',
      `Classifier epochs: ${result.classifierEpochSeconds.map((s) => s.toFixed(0)).join(', ')} s; DVBPR epochs: ${result.epochSeconds.map((s) => s.toFixed(0)).join(', ')} s. Validation AUC ${result.validAuc.toFixed(4)}, test AUC ${result.testAuc.toFixed(4)} / cold ${result.coldAuc.toFixed(4)} (the model alone). The ingest before it: ${result.ingestSeconds.toFixed(0)} s.`,
      '',
      'Command: `npm run bench -- train-speed`.',
      '',
    ].join('\n'),
  );
  console.log(JSON.stringify({ toBestEpochMinutes: result.toBestEpochSeconds / 60, totalMinutes: result.totalSeconds / 60 }));
}
