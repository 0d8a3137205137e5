/**
 * The engine benchmark: Atelier (bench/engine-cases.ts) against PyTorch (bench/engine_pytorch.py)
 * on the same networks, batches and threads, each case in its own process, the two sides
 * alternating round by round. On a GPU (`device: 'cuda'`, BENCH_DEVICE for both sides) it adds the
 * paper preset's CNN-F step and writes engine-cuda.json.
 */
import { medianOf } from '../src/core/quantile.js';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { writeJsonAtomic } from '../src/core/fs.js';

// the Python with torch: Debian's here; on a GPU machine the one bench/gpu.sh found (BENCH_PYTHON)
const PY = process.env.BENCH_PYTHON ?? '/usr/bin/python3';

function ensurePytorch(): void {
  const ok = spawnSync(PY, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
  if (ok) return;
  if (process.env.BENCH_PYTHON) throw new Error(`BENCH_PYTHON=${PY} cannot import torch`);
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

const median = medianOf;

function runCase(side: 'atelier' | 'pytorch', name: string, threads: number, reps: number, extraEnv: Record<string, string> = {}): CaseResult {
  if (device) extraEnv = { BENCH_DEVICE: device, ...extraEnv };
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
      ? [
          process.execPath,
          // bundled (bench/gpu.sh: no node_modules there) or through tsx
          process.env.BENCH_CASES_JS
            ? ['--single-threaded-gc', process.env.BENCH_CASES_JS, name]
            : ['--single-threaded-gc', '--import', 'tsx', join('bench', 'engine-cases.ts'), name],
        ]
      : [PY, [join('bench', 'engine_pytorch.py'), name]];
  const r = spawnSync(cmd, args as string[], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${side} ${name} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as CaseResult;
}

let device: 'cuda' | undefined;

export async function engineBench(o: { device?: 'cuda' }): Promise<void> {
  device = o.device;
  ensurePytorch();
  const threads = Number(process.env.ATELIER_THREADS ?? cpus().length);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const reps = Number(process.env.BENCH_REPS ?? 5);
  const loadBefore = loadavg();
  const names: [string, string][] = [
    ['dvbpr-step', 'DVBPR step, 64×64×3, 64 triplets (128 images fwd+bwd), Adam'],
    ...(device ? [['dvbpr-paper-step', "DVBPR step, the paper preset's CNN-F at 224×224×3 (K 50, fc 4096 × 2), 64 triplets, Adam"] as [string, string]] : []),
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
    const stepSeconds = c.unit === 'steps/s' ? 1 / c.atelier : (c.name.startsWith('dvbpr') ? 128 : 256) / c.atelier;
    Object.assign(c, { bindingOverheadPerStepMs: (c.opsPerStep * perOpUs) / 1000, bindingOverheadShare: (c.opsPerStep * perOpUs) / 1e6 / stepSeconds });
  }
  const gpu = device
    ? spawnSync(PY, ['-c', 'import torch; print(torch.__version__, "|", torch.cuda.get_device_name(0))'], { encoding: 'utf8' }).stdout.trim()
    : undefined;
  const out = {
    cases,
    device: device ?? 'cpu',
    ...(gpu ? { gpu: gpu.split(' | ')[1], pytorchVersion: gpu.split(' | ')[0] } : {}),
    threads,
    openblasThreads: 1,
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, loadBefore, loadAfter: loadavg() },
    perOpOverheadUs: { atelier: 1e6 / overhead.atelier, pytorch: 1e6 / overhead.pytorch },
    protocol: `${rounds} rounds × ${reps} measurements per side, alternating processes; medians; warm-up steps excluded`,
    measuredAt: new Date().toISOString(),
  };
  const path = join('bench', 'results', device ? 'engine-cuda.json' : 'engine.json');
  writeJsonAtomic(path, out);
  for (const c of cases)
    console.log(
      `${c.name.padEnd(18)} atelier ${c.atelier.toFixed(1)} / pytorch ${c.pytorch.toFixed(1)} ${c.unit} = ${c.ratio.toFixed(3)}×   RSS ${c.atelierRssMb.toFixed(0)} / ${c.pytorchRssMb.toFixed(0)} MB`,
    );
  console.log(`written ${path}`);
}
