/**
 * `npm run bench -- design-judged`: designs judged by models the optimiser never saw (issue 20),
 * on the demo's Fashion-MNIST data with simulated shoppers. Needs `npm run demo` (its data, its
 * classifier-initialised DVBPR as the optimised model, its GAN); trains, once, under
 * $JUDGED_WORK (default out/judged): the judge (from scratch, seed 2) and two more
 * classifier-initialised DVBPRs (seeds 3, 4) for the ensemble. Writes bench/results/design.md,
 * design.json and design-curves.png.
 */
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { CHOICE_RULE, chooseMethod } from '../src/eval/design-choice.js';
import { garmentCeilingStudy, judgedImproveStudy, type GarmentCeiling, type ImproveStudy } from './design-studies.js';
import { judgedDesignStudy, validationBar, type JudgedMethod, type JudgedStudy, type MethodFigures } from '../src/app/design-judged.js';
import { createProgress, trainCallbacks } from '../src/app/progress.js';
import { lineChart } from '../src/app/report.js';
import { imagesTensor, trainDvbprJob } from '../src/app/train-recommender.js';
import { dvbprPreset, SIMULATED_SCHEDULE, type DvbprConfig } from '../src/config/dvbpr.js';
import { writeFileAtomic, writeJsonAtomic } from '../src/core/fs.js';
import { loadDataset, type Dataset } from '../src/data/dataset.js';
import { GarmentUtility } from '../src/eval/utility.js';
import { loadGanRun, type LoadedGan } from '../src/store/gan-run.js';
import { loadRun, type LoadedRun } from '../src/store/run.js';
import { designForShopper, designRequest } from '../src/app/designs.js';
import { grid, writePng } from '../src/app/figures.js';
import { designPreset, IMPROVE_DEFAULTS, type DesignRequestSettings } from '../src/config/design.js';
import type { DatasetEntry } from './design-datasets.js';

const demo = process.env.DEMO_OUT ?? 'out/demo';
const work = process.env.JUDGED_WORK ?? 'out/judged';
const progress = createProgress({ json: true });

export const JUDGED_METHODS: JudgedMethod[] = [
  { name: 'samples', describe: 'the GAN’s own samples, z ~ N(0, I), no search', steps: 0, options: { bound: 'free' } },
  { name: 'best-of-256', describe: 'the 8 best of 256 samples by the objective, forward passes only', steps: 0, options: { bound: 'free', candidates: 256 } },
  { name: 'best-of-2048', describe: 'the 8 best of 2,048 samples by the objective', steps: 0, options: { bound: 'free', candidates: 2048 } },
  { name: 'best-of-8192', describe: 'the 8 best of 8,192 samples by the objective', steps: 0, options: { bound: 'free', candidates: 8192 } },
  {
    name: 'best-of-2048, ensemble-min',
    describe: 'the 8 best of 2,048 samples by the worst of the 3 standardised ensemble members',
    steps: 0,
    options: { bound: 'free', candidates: 2048 },
    ensemble: 'min',
  },
  {
    name: 'best-of-256 + shell',
    describe: 'best-of-256, then a short search on the shell ‖z‖ = √d (lr 0.02)',
    steps: 20,
    options: { bound: 'shell', candidates: 256, lr: 0.02 },
  },
  {
    name: 'paper',
    describe: 'the released code: z ~ N(0, 0.5²) unbounded, Adam lr 0.05, η = 1, 10 steps',
    steps: 10,
    options: { bound: 'free', initScale: 0.5 },
  },
  { name: 'paper, 50 steps', describe: 'the same, five times the budget', steps: 50, options: { bound: 'free', initScale: 0.5 } },
  { name: 'box', describe: 'z = tanh(w) (the paper’s bound), lr 0.05, 50 steps (the default before this study)', steps: 50, options: { bound: 'box' } },
  { name: 'box + leash', describe: 'the box with a leash 0.5‖z − z0‖² to each start (the former --anchor)', steps: 50, options: { bound: 'box', anchor: 0.5 } },
  { name: 'shell', describe: 'z on the shell ‖z‖ = √d (PULSE), lr 0.05', steps: 50, options: { bound: 'shell' } },
  {
    name: 'box + guard',
    describe: 'the box, each design its best of 50 steps inside 95% of the samples’ range in Φ’s space and D (the former --guard 0.95; one point)',
    steps: 50,
    options: { bound: 'box' },
    guard: 0.95,
  },
  {
    name: 'from the best real items',
    describe:
      'the shopper’s 8 best real items of the category by the optimised model, each projected into the GAN’s codes (60 steps), then searched with a leash 0.5‖z − z₀‖² (box)',
    steps: 30,
    options: { bound: 'box' },
    fromBestReal: { gamma: 0.5, projectSteps: 60 },
  },
  { name: 'shell + guard', describe: 'the same guard on the shell (one point)', steps: 50, options: { bound: 'shell' }, guard: 0.95 },
  {
    name: 'ensemble-min + shell',
    describe: 'the worst of 3 independently trained Φ/θ, each standardised on the category’s real items; shell',
    steps: 50,
    options: { bound: 'shell' },
    ensemble: 'min',
  },
  {
    name: 'smoothed + shell',
    describe: 'Φ’s term averaged over 4 noisy copies (σ = 0.2); shell',
    steps: 50,
    options: { bound: 'shell', smooth: 0.2, smoothCopies: 4 },
  },
];

export async function ensureRun(
  ds: Dataset,
  name: string,
  init: 'scratch' | 'classifier',
  seed: number,
  extra: { augmentNoise?: number; conservative?: DvbprConfig['conservative'] } = {},
): Promise<string> {
  const out = join(work, name);
  if (existsSync(join(out, 'weights.safetensors'))) return out;
  const images = imagesTensor(ds);
  try {
    await trainDvbprJob(ds, images, {
      out,
      config: { ...dvbprPreset('default', ds.imageSize), ...SIMULATED_SCHEDULE, init, seed, epochs: 25, ...extra },
      resume: existsSync(join(out, 'checkpoint.json')),
      callbacks: trainCallbacks(progress, name),
    });
  } finally {
    images.dispose();
  }
  return out;
}

const FM = 'Fashion-MNIST';

/** The Fashion-MNIST entry of design.json's datasets[]: the summary (bench/design-datasets.ts's DatasetEntry) and this study behind it. */
type FashionMnistEntry = Omit<DatasetEntry, 'default' | 'segments' | 'when' | 'load'> & {
  default: DatasetEntry['default'] & { utilityUplift: number | null };
  segments?: DatasetEntry['segments'];
  study: JudgedStudy;
  improve?: ImproveStudy;
  noiseProxies?: NoiseProxy[];
  conservativeProxies?: ConservativeProxy[];
  garmentCeiling?: GarmentCeiling;
  speed?: { imageSize: number; seconds: number; preset: DesignRequestSettings; load: number };
};

function lastEntry(path: string): FashionMnistEntry | undefined {
  if (!existsSync(path)) return undefined;
  return (JSON.parse(readFileSync(path, 'utf8')) as { datasets?: FashionMnistEntry[] }).datasets?.find((d) => d.name === FM);
}

/** Writes the entry into design.json's datasets[], the other datasets' entries kept. */
function writeEntry(path: string, entry: FashionMnistEntry): void {
  const all = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as { datasets?: unknown[] }) : {};
  const others = (all.datasets ?? []).filter((d) => (d as { name: string }).name !== entry.name);
  writeJsonAtomic(path, { datasets: [entry, ...others] });
}

const pct = (x: number | null) => (x === null ? '–' : `${(100 * x).toFixed(1)}%`);

function table(s: JudgedStudy): string[] {
  const rows = s.methods.map(
    (m: MethodFigures) =>
      `| ${m.name} | ${m.budget} | ${pct(m.atBudget.proxyUplift)} | ${pct(m.atBudget.judgeUplift)} | ${pct(m.atBudget.utilityUplift)} | ${m.atBudget.judgeMedianRankPct.toFixed(2)}% | ${pct(m.atBudget.inRange)} | ${m.atBudget.frechet.toFixed(2)} | ${m.atBudget.meanD.toFixed(3)} | ${pct(m.test.at(-1)!.judgeUplift)} / ${pct(m.test.at(-1)!.utilityUplift)} / ${pct(m.test.at(-1)!.inRange)} |`,
  );
  return [
    '| method | steps (chosen on validation) | proxy uplift | judge uplift | utility uplift | judge median rank | in the samples’ range | Fréchet | mean D | at its last step: judge / utility / in range |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    `| the GAN’s samples | – | – | – | – | – | ${pct(s.samples.inRange)} | ${s.samples.frechet.toFixed(2)} | ${s.samples.meanD.toFixed(3)} | – |`,
  ];
}

/** The methods rerun with a proxy trained with pixel noise. */
const NOISE_METHODS = ['best-of-2048', 'paper', 'box', 'shell', 'box + guard'];

interface NoiseProxy {
  sigma: number;
  proxy: string;
  testAuc: number;
  methods: Omit<MethodFigures, 'valid' | 'test'>[];
}

/** A proxy trained conservatively (COMs-style, train/losses.ts conservativeLoss) at this weight. */
interface ConservativeProxy {
  weight: number;
  steps: number;
  proxy: string;
  testAuc: number;
  minutes: number;
  methods: Omit<MethodFigures, 'valid' | 'test'>[];
}

/**
 * A study's methods rerun with retrained proxies: one row per method and proxy, the demo's proxy
 * first (its `column` value 0), under `title` and `intro`.
 */
function retrainedSection(
  title: string,
  intro: string,
  column: string,
  ps: { value: number; methods: Omit<MethodFigures, 'valid' | 'test'>[] }[],
  base: JudgedStudy,
): string[] {
  const row = (v: string, m: Omit<MethodFigures, 'valid' | 'test'>) =>
    `| ${m.name} | ${v} | ${m.budget} | ${pct(m.atBudget.proxyUplift)} | ${pct(m.atBudget.judgeUplift)} | ${pct(m.atBudget.utilityUplift)} | ${m.atBudget.judgeMedianRankPct.toFixed(2)}% | ${pct(m.atBudget.inRange)} |`;
  return [
    `## ${title}`,
    '',
    intro,
    '',
    `| method | ${column} | steps (chosen on validation) | proxy uplift | judge uplift | utility uplift | judge median rank | in the samples’ range |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...NOISE_METHODS.flatMap((name) => [
      ...base.methods.filter((m) => m.name === name).map((m) => row('0', m)),
      ...ps.flatMap((p) => p.methods.filter((m) => m.name === name).map((m) => row(String(p.value), m))),
    ]),
    '',
  ];
}

function conservativeSection(ps: ConservativeProxy[], base: JudgedStudy): string[] {
  return retrainedSection(
    'A proxy trained conservatively (COMs-style)',
    'The optimised model retrained as the demo’s (classifier start, seed 1, 25 epochs) with the conservative term (`train dvbpr --conservative <gan-run>`): in every batch, for 32 triplets, a design is searched against the shopper’s current score with the demo’s GAN (z = tanh(w) from w ~ N(0, I), ' +
      `${ps[0]?.steps ?? 5} normalised ascent steps of 0.05·√d) and trained as a negative beside the purchase, weight · softplus(θᵀΦ(x*) − θᵀΦ(X_i)); so Φ learns that what the generator reaches by ascent is not liked more than what was bought. The same judge, utility, shoppers and budget rule; weight 0: the demo’s proxy (the first table). ` +
      ps.map((p) => `Weight ${p.weight}: test AUC ${p.testAuc.toFixed(4)}, ${p.minutes.toFixed(0)} min to train`).join('; ') +
      '.',
    'weight',
    ps.map((p) => ({ value: p.weight, methods: p.methods })),
    base,
  );
}

function noiseSection(ps: NoiseProxy[], base: JudgedStudy): string[] {
  return retrainedSection(
    'A proxy trained with pixel noise',
    'The optimised model retrained as the demo’s (classifier start, seed 1, 25 epochs) with Gaussian pixel noise on its training images (`--augment-noise σ`, input units), so that Φ is smoother around garments; the same judge, utility, shoppers and budget rule. σ = 0: the demo’s proxy (the table above). ' +
      ps.map((p) => `Test AUC of the σ = ${p.sigma} proxy: ${p.testAuc.toFixed(4)}`).join('; ') +
      '.',
    'σ',
    ps.map((p) => ({ value: p.sigma, methods: p.methods })),
    base,
  );
}

function ceilingSection(c: GarmentCeiling): string[] {
  const label: Record<string, string> = {
    'proxy, any garment': 'the optimised model’s favourite garment of the category (any of them)',
    'proxy, unsold': 'the optimised model’s favourite garment the shop does not sell',
    'judge, unsold': 'the judge’s favourite garment the shop does not sell',
    'hidden taste, unsold': 'the truly best garment the shop does not sell (an oracle)',
  };
  return [
    '## A ceiling: real garments instead of designs',
    '',
    `For each of the ${c.pairs} test pairs, a real Fashion-MNIST garment of the category (about ${c.garmentsPerCategory} each among the 70,000; the shop sells about a tenth) stands in for the design: what a perfect generator could offer a search that maximises the model named. Each is read as a design is, against the shop’s best item of the category (by the proxy, by the judge, and by the hidden taste for the utility; a real garment’s utility is its hidden taste). ${c.seconds.toFixed(0)} s.`,
    '',
    '| the garment shown | proxy uplift | judge uplift | utility uplift |',
    '|---|---:|---:|---:|',
    ...c.rows.map((r) => `| ${label[r.pick] ?? r.pick} | ${pct(r.proxyUplift)} | ${pct(r.judgeUplift)} | ${pct(r.utilityUplift)} |`),
    '',
  ];
}

function improveSection(m: ImproveStudy): string[] {
  return [
    '## Improve, judged',
    '',
    `\`atelier improve\` with its defaults (projection: 8 starts × 100 steps; then ${m.steps} steps with the leash 0.5‖z − z₀‖²) on ${m.item}, for each of the ${m.pairs} test pairs above. ` +
      'Shares of pairs where the improved image beats the original item (and the reconstruction G(z₀), where the search starts), each under the model named; the judge and the utility read the images after the search.',
    '',
    '| | optimised model (proxy) | judge | simulated utility |',
    '|---|---:|---:|---:|',
    `| improved beats the original | ${pct(m.proxyUplift)} | ${pct(m.judgeUplift)} | ${pct(m.utilityUplift)} |`,
    `| improved beats the reconstruction | – | ${pct(m.judgeOverReconstruction)} | ${pct(m.utilityOverReconstruction)} |`,
    `| mean gain over the original | ${m.meanGain.proxy.toFixed(2)} | ${m.meanGain.judge.toFixed(2)} | ${m.meanGain.utility === null ? '–' : m.meanGain.utility.toFixed(3)} |`,
    '',
    `In the samples’ realism range: improved ${pct(m.inRange.improved)}, reconstruction ${pct(m.inRange.reconstruction)}, the GAN’s samples ${pct(m.inRange.samples)}. Mean pixel change from the original: ${(100 * m.meanPixelChange).toFixed(1)}% of the range. ${m.seconds.toFixed(0)} s.`,
    '',
    'The first 8 test pairs, two to a row, each as original | reconstruction | improved, with the judge’s score under each (the judge’s units):',
    '',
    '![improve](design-improve.png)',
    '',
  ];
}

/** Seconds for the default preset's 8 designs at the GAN's size (median of 3), as `atelier design` runs them. */
function speedOfDefault(proxy: LoadedRun, g: LoadedGan): { imageSize: number; seconds: number; preset: DesignRequestSettings } {
  const preset = designPreset('default', 8);
  const user = proxy.catalogue.userIds[0]!;
  const category = g.manifest.categories.find((c) => proxy.catalogue.categories.includes(c))!;
  designForShopper(proxy, g, designRequest(user, category, { ...preset, steps: 1 })); // warm: the grey check, the first allocations
  const times: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    designForShopper(proxy, g, designRequest(user, category, { ...preset, seed: r + 1 }));
    times.push((performance.now() - t0) / 1000);
  }
  return { imageSize: g.manifest.config.imageSize, seconds: times.sort((a, b) => a - b)[1]!, preset };
}

/** The study's curves along the search (test pairs; the utility where there is one) as a PNG. */
export async function writeCurves(study: JudgedStudy, path: string, title: string): Promise<void> {
  const curves: Record<string, unknown>[] = [];
  for (const m of study.methods) {
    if (m.test.length < 2) continue;
    for (const f of m.test) {
      curves.push({ method: m.name, step: f.step, metric: 'proxy uplift', value: f.proxyUplift });
      curves.push({ method: m.name, step: f.step, metric: 'judge uplift', value: f.judgeUplift });
      if (f.utilityUplift !== null) curves.push({ method: m.name, step: f.step, metric: 'utility uplift', value: f.utilityUplift });
      curves.push({ method: m.name, step: f.step, metric: 'in the samples’ range', value: f.inRange });
    }
  }
  const svg = await lineChart(curves, 'step', 'value', 'method', title, 'metric');
  await sharp(Buffer.from(svg)).png().toFile(path);
}

export async function designJudgedBench(): Promise<void> {
  const ds = loadDataset(join(demo, 'data'));
  const proxy = loadRun(join(demo, 'runs', 'dvbpr-classifier'));
  const g = loadGanRun(join(demo, 'gan'));
  const out = join('bench', 'results', 'design.json');
  if (process.env.JUDGED_SPEED_ONLY) {
    // only the default's speed, written into the last study's design.json
    const all = JSON.parse(readFileSync(out, 'utf8')) as { datasets: FashionMnistEntry[] };
    const entry = all.datasets.find((d) => d.name === FM)!;
    entry.speed = { ...speedOfDefault(proxy, g), load: loadavg()[0] ?? NaN };
    writeJsonAtomic(out, all);
    console.log(JSON.stringify(entry.speed));
    return;
  }
  const judgeDir = await ensureRun(ds, 'dvbpr-judge', 'scratch', 2);
  const ens = [await ensureRun(ds, 'dvbpr-ens3', 'classifier', 3), await ensureRun(ds, 'dvbpr-ens4', 'classifier', 4)];
  const judge = loadRun(judgeDir);
  const utility = new GarmentUtility(ds);
  const only = process.env.JUDGED_ONLY?.split(',');
  const methods = only ? JUDGED_METHODS.filter((m) => only.includes(m.name)) : JUDGED_METHODS;
  const options = {
    n: 8,
    validPairs: Number(process.env.JUDGED_VALID ?? 20),
    testPairs: Number(process.env.JUDGED_TEST ?? 50),
    seed: 11,
    methods,
    ensemble: ens.map((e) => loadRun(e)),
    utility,
    onPair: (method: string, done: number, total: number) => progress.event('pair', { method, done, total }),
  };
  let study: JudgedStudy;
  if (process.env.JUDGED_RERENDER) {
    // the last study's figures, the choice made again (CHOICE_RULE as it is now)
    study = lastEntry(out)!.study;
    study.samplesValidInRange = validationBar(ds, proxy, judge, g, options);
    const m = chooseMethod(study.methods, study.samplesValidInRange);
    study.chosen = m ? { method: m.name, budget: m.budget } : null;
    study.rule = CHOICE_RULE;
  } else study = judgedDesignStudy('Fashion-MNIST, simulated shoppers', ds, proxy, judge, g, options);
  // improve, judged: computed anew unless only the design part is rerendered (JUDGED_RERENDER without JUDGED_IMPROVE)
  const last: Partial<FashionMnistEntry> = lastEntry(out) ?? {};
  let improve = last.improve;
  if (!process.env.JUDGED_RERENDER || process.env.JUDGED_IMPROVE) {
    const r = judgedImproveStudy(ds, proxy, judge, g, { ...options, steps: IMPROVE_DEFAULTS.steps });
    improve = r.study;
    const e = r.examples;
    await writePng(
      join('bench', 'results', 'design-improve.png'),
      grid(e.images, e.judgeScores.length, { size: e.imageSize, cols: 6, zoom: 3, labels: e.judgeScores.map((v) => v.toFixed(1)) }),
    );
  }
  // a proxy trained with pixel noise (JUDGED_NOISE=σ,…): the same shoppers, judge and utility; some methods
  let noiseProxies = last.noiseProxies;
  if (process.env.JUDGED_NOISE) {
    noiseProxies = [];
    for (const sigma of process.env.JUDGED_NOISE.split(',').map(Number)) {
      const dir = await ensureRun(ds, `dvbpr-noise-${sigma}`, 'classifier', 1, { augmentNoise: sigma });
      const noisy = loadRun(dir);
      const methods = JUDGED_METHODS.filter((m) => NOISE_METHODS.includes(m.name));
      const s2 = judgedDesignStudy(`Fashion-MNIST, proxy trained with noise σ = ${sigma}`, ds, noisy, judge, g, { ...options, methods });
      noiseProxies.push({ sigma, proxy: dir, testAuc: noisy.manifest.metrics.test!.auc, methods: s2.methods.map(({ valid: _v, test: _t, ...m }) => m) });
      progress.event('noise-proxy', { sigma, done: true });
    }
  }
  // a proxy trained conservatively (JUDGED_CONSERVATIVE=weight,…): the same shoppers, judge, utility and methods as the noise study
  let conservativeProxies = last.conservativeProxies;
  if (process.env.JUDGED_CONSERVATIVE) {
    conservativeProxies = [];
    for (const weight of process.env.JUDGED_CONSERVATIVE.split(',').map(Number)) {
      const t0 = Date.now();
      const conservative = { gan: join(demo, 'gan'), weight, steps: 5, perBatch: 32, lr: 0.05 };
      const dir = await ensureRun(ds, `dvbpr-conservative-${weight}`, 'classifier', 1, { conservative });
      const minutes = (loadRun(dir).manifest.history ?? []).reduce((a, e) => a + e.seconds, 0) / 60 || (Date.now() - t0) / 60000;
      const c = loadRun(dir);
      const methods = JUDGED_METHODS.filter((m) => NOISE_METHODS.includes(m.name));
      const s2 = judgedDesignStudy(`Fashion-MNIST, proxy trained conservatively (weight ${weight})`, ds, c, judge, g, { ...options, methods });
      conservativeProxies.push({
        weight,
        steps: 5,
        proxy: dir,
        testAuc: c.manifest.metrics.test!.auc,
        minutes,
        methods: s2.methods.map(({ valid: _v, test: _t, ...m }) => m),
      });
      progress.event('conservative-proxy', { weight, done: true });
    }
  }
  // the ceiling of any garment-like design (JUDGED_CEILING=1, or kept from the last study)
  let ceiling = last.garmentCeiling;
  if (process.env.JUDGED_CEILING || !process.env.JUDGED_RERENDER) ceiling = garmentCeilingStudy(ds, proxy, judge, g, utility, options);
  utility.dispose();
  const chosen = study.methods.find((m) => m.name === study.chosen!.method)!;
  const unsoldRow = ceiling?.rows.find((r) => r.pick === 'proxy, unsold');
  const entry: FashionMnistEntry = {
    ...last,
    name: FM,
    describe: 'Fashion-MNIST with the demo’s simulated shoppers; proxy: the demo’s DVBPR (classifier start); judge: DVBPR from scratch, seed 2 (out/judged)',
    pairs: study.pairs.test,
    default: {
      method: chosen.name,
      steps: chosen.budget,
      judgeUplift: chosen.atBudget.judgeUplift,
      judgeMedianRankPct: chosen.atBudget.judgeMedianRankPct,
      inRange: chosen.atBudget.inRange,
      samplesInRange: study.samples.inRange,
      utilityUplift: chosen.atBudget.utilityUplift,
    },
    ceiling: unsoldRow
      ? {
          judgeUplift: unsoldRow.judgeUplift,
          proxyUplift: unsoldRow.proxyUplift,
          judgeFavouriteUplift: ceiling!.rows.find((r) => r.pick === 'judge, unsold')?.judgeUplift ?? null,
          describe: 'the Fashion-MNIST garments of the category the shop does not sell',
        }
      : last.ceiling!,
    study,
    ...(improve ? { improve } : {}),
    ...(noiseProxies ? { noiseProxies } : {}),
    ...(conservativeProxies ? { conservativeProxies } : {}),
    ...(ceiling ? { garmentCeiling: ceiling } : {}),
    speed: { ...speedOfDefault(proxy, g), load: loadavg()[0] ?? NaN },
    command: 'npm run bench -- design-judged',
  };
  writeEntry(out, entry);
  await writeCurves(study, join('bench', 'results', 'design-curves.png'), 'Along the search (test shoppers, shares of pairs / of designs)');
  const md = [
    '# Design for a shopper, judged by models the optimiser never saw',
    '',
    `Fashion-MNIST with the demo's 1,000 simulated shoppers (\`npm run demo\`), ${study.pairs.valid} validation and ${study.pairs.test} test (shopper, category) pairs (no shopper in both), ${study.n} designs per pair. ` +
      `The optimised model (the proxy): the demo's ${study.proxy} (seed 1). The judge: ${study.judge} in ${work}/dvbpr-judge, a DVBPR trained from scratch with seed 2 and its own user vectors; the optimiser never runs it. ` +
      `The ensemble members besides the proxy: ${study.ensemble.join(', ')}. The simulated utility (docs/simulated-shoppers.md): the hidden taste of the nearest of the ${study.utility?.garments} Fashion-MNIST garments in 16×16 grey block means, less ${study.utility?.penalty} per r = ${study.utility?.radius.toFixed(3)} of distance beyond r.`,
    '',
    'The design shown for a pair is the best of its n by the proxy. proxy uplift: it outscores the best real item of the category under the proxy (what the optimiser sees; a proxy, not a measurement); judge uplift: the judge prefers it to the best real item by the judge; utility uplift: its simulated utility beats the hidden taste of the shop’s truly best item of the category; judge median rank: the shopper’s rank among all shoppers by the judge’s score of the design (0% = top); in the samples’ range: the share of all n designs whose nearest real item in the GAN run’s category classifier’s features is no farther than the samples’ 95th percentile and whose D is no lower than the samples’ 5th (the samples’ own share beside it); Fréchet in the same features.',
    '',
    `Each method’s budget: ${study.rule}. Figures on the test pairs at that budget.`,
    '',
    ...table(study),
    '',
    `Chosen on validation: **${study.chosen!.method}** at ${study.chosen!.budget} steps.`,
    '',
    '![curves](design-curves.png)',
    '',
    'Methods: ' + study.methods.map((m) => `**${m.name}**: ${m.describe}`).join('; ') + '.',
    '',
    ...(improve ? improveSection(improve) : []),
    ...(noiseProxies ? noiseSection(noiseProxies, study) : []),
    ...(conservativeProxies ? conservativeSection(conservativeProxies, study) : []),
    ...(ceiling ? ceilingSection(ceiling) : []),
    'H&M, and designs for segments on both datasets: [design-hm.md](design-hm.md) and [design-fashion-mnist.md](design-fashion-mnist.md) (`npm run bench -- design-datasets`).',
    '',
    `Command: \`npm run bench -- design-judged\` (${study.seconds.toFixed(0)} s here).`,
    '',
  ];
  writeFileAtomic(join('bench', 'results', 'design.md'), md.join('\n'));
  for (const m of study.methods)
    console.log(
      `${m.name.padEnd(26)} budget ${String(m.budget).padStart(2)}  proxy ${pct(m.atBudget.proxyUplift)}  judge ${pct(m.atBudget.judgeUplift)}  utility ${pct(m.atBudget.utilityUplift)}  in range ${pct(m.atBudget.inRange)}  rank ${m.atBudget.judgeMedianRankPct.toFixed(2)}%`,
    );
  console.log(`samples in range ${pct(study.samples.inRange)}; chosen ${study.chosen!.method} @ ${study.chosen!.budget}; written bench/results/design.md`);
}
