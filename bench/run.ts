/**
 * Benchmarks, run on demand (never in the test suite): `npm run bench -- <name>`.
 *   engine     Atelier vs PyTorch on the same three workloads (+ per-op overhead);
 *              writes bench/results/engine.json
 *   recommend  every recommender on H&M, grid on validation → recommend.md / .json;
 *              with --simulated, on the demo's simulated shoppers → recommend-simulated.md / .json
 *   gan        the conditional GAN on Fashion-MNIST and H&M → gan.md / .json
 *   design-judged  designs judged by models the optimiser never saw (the demo's data) → design.md / .json
 *   topk       top-10 for one shopper over 20,000 items → topk.json
 *   garment-knn  1-NN class accuracy in the simulated utility's garment space → garment-knn.json
 *   paper      `ingest paper` on a generated 1 GB file in the authors' layout: peak RSS → paper-ingest.json
 *   scale      DVBPR steps/s in one and two c10d/Gloo processes, the all-reduce's share → scale.json / .md
 * Each case runs in its own process (peak RSS is the case's own), Atelier and PyTorch
 * alternating round by round so that drift on a shared machine hits both alike.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../src/core/fs.js';

const PY = '/usr/bin/python3';

function ensurePytorch(): void {
  const ok = spawnSync(PY, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
  if (ok) return;
  console.error('installing Debian python3-torch for the comparison (needs root)…');
  execFileSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'python3-torch'], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

interface CaseResult {
  values: number[];
  unit: string;
  rssMb: number;
  opsPerStep: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function runCase(side: 'atelier' | 'pytorch', name: string, threads: number, reps: number, extraEnv: Record<string, string> = {}): CaseResult {
  // Atelier runs with V8's --single-threaded-gc (as `npm run` does): V8's GC helper threads otherwise
  // compete with libtorch's two threads on a 2-core machine (measured: some runs slow, with peaks of
  // up to 2 GB). PyTorch at its best setting: the same fixed malloc thresholds the addon sets for Atelier
  // (without them both run at about half speed on this allocator).
  const env = {
    ...process.env,
    ATELIER_THREADS: String(threads),
    OPENBLAS_NUM_THREADS: '1',
    BENCH_REPS: String(reps),
    // one malloc arena for every thread, for both (glibc fixes the arena limit once threads exist,
    // so it must come from the environment, before the process starts)
    MALLOC_ARENA_MAX: '1',
    ...(side === 'pytorch' ? { MALLOC_MMAP_THRESHOLD_: String(32 * 1024 * 1024), MALLOC_TRIM_THRESHOLD_: String(512 * 1024 * 1024) } : {}),
    ...extraEnv,
  };
  const [cmd, args] =
    side === 'atelier'
      ? [process.execPath, ['--single-threaded-gc', '--import', 'tsx', join('bench', 'engine-cases.ts'), name]]
      : [PY, [join('bench', 'engine_pytorch.py'), name]];
  const r = spawnSync(cmd, args as string[], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${side} ${name} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as CaseResult;
}

async function engine(): Promise<void> {
  ensurePytorch();
  const threads = Number(process.env.ATELIER_THREADS ?? cpus().length);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const reps = Number(process.env.BENCH_REPS ?? 5);
  const loadBefore = loadavg();
  const names: [string, string][] = [
    ['dvbpr-step', 'DVBPR step, 64×64×3, 64 triplets (128 images fwd+bwd), Adam'],
    ['encoder-inference', 'encoder inference, embeddings of 256 images at 64×64'],
    ['dcgan-step', 'conditional DCGAN step at 64×64, batch 64, z 128 (default preset): one D step + one G step'],
    ['dcgan-paper-step', 'conditional DCGAN step at 64×64, batch 16, z 256 (paper preset): one D step + one G step'],
    ['op-overhead', 'one tiny op (add a scalar to 4 floats), per call'],
  ];
  const cases = [];
  for (const [name, description] of names) {
    const a: CaseResult[] = [];
    const p: CaseResult[] = [];
    // the GAN cases also run Atelier with the textbook D step (one backward through both halves,
    // as the PyTorch script does), so the split D step's memory saving is shown, not hidden
    const joint: CaseResult[] = [];
    for (let r = 0; r < rounds; r++) {
      a.push(runCase('atelier', name, threads, reps));
      p.push(runCase('pytorch', name, threads, reps));
      if (name.startsWith('dcgan')) joint.push(runCase('atelier', name, threads, reps, { BENCH_D_STEP: 'joint' }));
      process.stderr.write(
        `${name} round ${r + 1}/${rounds}: atelier ${median(a.at(-1)!.values).toFixed(1)} pytorch ${median(p.at(-1)!.values).toFixed(1)} ${a[0]!.unit}\n`,
      );
    }
    const atelier = median(a.flatMap((x) => x.values));
    const pytorch = median(p.flatMap((x) => x.values));
    cases.push({
      name,
      description,
      unit: a[0]!.unit,
      atelier,
      pytorch,
      ratio: atelier / pytorch,
      atelierRssMb: Math.max(...a.map((x) => x.rssMb)),
      opsPerStep: a[0]!.opsPerStep,
      pytorchRssMb: Math.max(...p.map((x) => x.rssMb)),
      samples: { atelier: a.flatMap((x) => x.values), pytorch: p.flatMap((x) => x.values) },
      atelierRssMbEach: a.map((x) => x.rssMb),
      pytorchRssMbEach: p.map((x) => x.rssMb),
      ...(joint.length
        ? {
            jointDStep: {
              atelier: median(joint.flatMap((x) => x.values)),
              rssMb: Math.max(...joint.map((x) => x.rssMb)),
              rssMbEach: joint.map((x) => x.rssMb),
            },
          }
        : {}),
    });
  }
  const overhead = cases.find((c) => c.name === 'op-overhead')!;
  const perOpUs = 1e6 / overhead.atelier;
  for (const c of cases) {
    if (c.name === 'op-overhead' || !c.opsPerStep) continue;
    const stepSeconds = c.unit === 'steps/s' ? 1 / c.atelier : (c.name === 'dvbpr-step' ? 128 : 256) / c.atelier;
    Object.assign(c, { bindingOverheadPerStepMs: (c.opsPerStep * perOpUs) / 1000, bindingOverheadShare: (c.opsPerStep * perOpUs) / 1e6 / stepSeconds });
  }
  const out = {
    cases,
    threads,
    openblasThreads: 1,
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, loadBefore, loadAfter: loadavg() },
    perOpOverheadUs: { atelier: 1e6 / overhead.atelier, pytorch: 1e6 / overhead.pytorch },
    protocol: `${rounds} rounds × ${reps} measurements per side, alternating processes; medians; warm-up steps excluded`,
    measuredAt: new Date().toISOString(),
  };
  const path = join('bench', 'results', 'engine.json');
  writeJsonAtomic(path, out);
  for (const c of cases)
    console.log(
      `${c.name.padEnd(18)} atelier ${c.atelier.toFixed(1)} / pytorch ${c.pytorch.toFixed(1)} ${c.unit} = ${c.ratio.toFixed(3)}×   RSS ${c.atelierRssMb.toFixed(0)} / ${c.pytorchRssMb.toFixed(0)} MB`,
    );
  console.log(`written ${path}`);
}

const which = process.argv[2];
const benches: Record<string, () => Promise<void>> = {
  engine,
  recommend: async () => (await import('./recommend.js')).recommendBench(process.argv.slice(3)),
  gan: async () => (await import('./gan-design.js')).ganBench(),
  topk: async () => (await import('./topk.js')).topkBench(),
  serve: async () => (await import('./serve.js')).serveBench(process.argv.slice(3)),
  'design-judged': async () => (await import('./design-judged.js')).designJudgedBench(),
  'garment-knn': async () => (await import('./garment-knn.js')).garmentKnnBench(),
  paper: async () => (await import('./paper-ingest.js')).paperIngestBench(process.argv.slice(3)),
  scale: async () => (await import('./scale.js')).scaleBench(),
};
if (!which || !benches[which]) {
  console.error(`usage: npm run bench -- <${Object.keys(benches).join('|')}>`);
  process.exit(2);
}
if (!existsSync('bench')) {
  console.error('run from the repository root');
  process.exit(2);
}
await benches[which]!();
