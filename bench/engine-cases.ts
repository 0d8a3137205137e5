/**
 * The engine benchmark's Atelier side: one case per process (so peak RSS is the case's own).
 * Usage: tsx bench/engine-cases.ts <case> → prints one JSON line {case, values: [...], unit, rssMb}.
 * The same networks, batches and thread counts as bench/engine_pytorch.py.
 */
import { dvbprPreset } from '../src/config/dvbpr.js';
import { ganPreset } from '../src/config/gan.js';
import { TripletSampler } from '../src/data/sampler.js';
import { Dvbpr, embedImages } from '../src/models/dvbpr.js';
import { ConditionalGan, oneHot } from '../src/models/gan.js';
import { bprStep } from '../src/train/bpr.js';
import { dvbprLoss } from '../src/train/losses.js';
import { discriminatorStep, discriminatorStepJoint, generatorStep } from '../src/train/gan-steps.js';
import {
  Adam,
  Generator,
  keep,
  randint,
  randn,
  tidy,
  tensor,
  getNumThreads,
  createdTensors,
  currentDevice,
  parseDevice,
  synchronize,
  useDevice,
  usePrecision,
} from '../src/torch/index.js';

const which = process.argv[2];
const reps = Number(process.env.BENCH_REPS ?? 7);
// BENCH_DEVICE=cuda (bench/gpu.sh): every tensor on the GPU, timings after the device is done
if (process.env.BENCH_DEVICE) useDevice(parseDevice(process.env.BENCH_DEVICE, 'BENCH_DEVICE'));
if (process.env.BENCH_PRECISION === 'bf16') usePrecision('bf16');
const N_ITEMS = 1000;
const N_USERS = 1000;
// the paper preset's CNN-F reads 224-px photos; everything else 64 px
const S = which === 'dvbpr-paper-step' ? 224 : 64;
const gen = new Generator(0);
const catalogue = tidy(() => keep(randint(0, 256, [N_ITEMS, S, S, 3], gen).to('uint8')));

function measure(fn: () => void, perRun: number, warm: number, steps: number): number[] {
  for (let i = 0; i < warm; i++) fn();
  synchronize();
  const out: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) fn();
    synchronize();
    out.push((perRun * steps) / ((performance.now() - t0) / 1000));
  }
  return out;
}

let values: number[];
let unit: string;
let opsPerStep = 0;
if (which === 'dvbpr-step' || which === 'dvbpr-paper-step') {
  // default: 64 triplets at 64 px; paper: the preset's CNN-F at 224 px (K 50, two 4096 fc layers), 64 triplets
  const cfg = dvbprPreset(which === 'dvbpr-step' ? 'default' : 'paper', S);
  const model = new Dvbpr(cfg.encoder, N_USERS, 1);
  const train = { user: Int32Array.from({ length: 20000 }, (_, x) => x % N_USERS), item: Int32Array.from({ length: 20000 }, (_, x) => (x * 7919) % N_ITEMS) };
  const sampler = new TripletSampler(train, N_USERS, N_ITEMS, 1);
  const opt = new Adam(model.trainableParameters(), { lr: 1e-4 });
  const loss = dvbprLoss(model, catalogue, 1e-3, 1.0);
  const bm = { module: model, loss, generators: [] };
  values = measure(() => bprStep(bm, opt, sampler.sample(64)), 128, 5, 10); // 64 triplets = 128 images
  const c0 = createdTensors();
  bprStep(bm, opt, sampler.sample(64));
  opsPerStep = createdTensors() - c0;
  unit = 'images/s';
} else if (which === 'encoder-inference') {
  const cfg = dvbprPreset('default', S);
  const model = new Dvbpr(cfg.encoder, N_USERS, 1);
  const batch = keep(catalogue.narrow(0, 0, 256).contiguous());
  values = measure(() => void embedImages(model.encoder, batch, 256), 256, 3, 10);
  unit = 'images/s';
} else if (which === 'dcgan-step' || which === 'dcgan-paper-step') {
  // default preset: z 128, batch 64; paper preset: z 256, batch 16 (method.md §4)
  const cfg = ganPreset(which === 'dcgan-step' ? 'default' : 'paper', S);
  const gan = new ConditionalGan(
    cfg,
    Array.from({ length: 10 }, (_, i) => `c${i}`),
    1,
  );
  const optD = new Adam(gan.discriminator.trainableParameters(), { lr: cfg.lr, beta1: cfg.beta1, beta2: cfg.beta2 });
  const optG = new Adam(gan.generator.trainableParameters(), { lr: cfg.lr, beta1: cfg.beta1, beta2: cfg.beta2 });
  const B = cfg.batch;
  // BENCH_D_STEP=joint: the textbook D step (one backward through both halves), as the PyTorch script does
  const dStep = process.env.BENCH_D_STEP === 'joint' ? discriminatorStepJoint : discriminatorStep;
  const step = () =>
    tidy(() => {
      const idx = randint(0, N_ITEMS, [B], gen);
      const cats = Int32Array.from({ length: B }, (_, b) => b % 10);
      const c = oneHot(cats, 10);
      dStep(gan, optD, catalogue.indexSelect(0, idx), c, randn([B, cfg.zDim], gen));
      generatorStep(gan, optG, c, randn([B, cfg.zDim], gen));
    });
  values = measure(step, 1, B === 64 ? 2 : 3, B === 64 ? 3 : 8);
  const c0 = createdTensors();
  step();
  opsPerStep = createdTensors() - c0;
  unit = 'steps/s';
} else if (which === 'op-overhead') {
  // per-op cost of the binding on a tiny tensor: what the N-API layer adds to every call
  const t = keep(tensor(Float32Array.from([1, 2, 3, 4])));
  values = measure(() => tidy(() => void t.add(1)), 1, 1000, 20000);
  unit = 'ops/s';
  opsPerStep = 1;
} else {
  throw new Error(`unknown case ${which}`);
}
const rssMb = process.resourceUsage().maxRSS / 1024;
process.stdout.write(JSON.stringify({ case: which, values, unit, rssMb, threads: getNumThreads(), opsPerStep, device: currentDevice() }) + '\n');
