/**
 * `npm run bench -- gan` and `npm run bench -- design`.
 *  gan:    trains the conditional GAN on Fashion-MNIST (10 classes, 32 px) and on H&M (its main
 *          product groups, 64 px); writes bench/results/gan.md (with sample grids) and gan.json.
 *  design: the design study (≥ 50 shopper–category pairs) on both, using DVBPR runs trained here
 *          (or by `bench recommend` for H&M: HM_DVBPR, and `bench recommend --simulated` for
 *          Fashion-MNIST: FM_DVBPR); writes bench/results/design.md and design.json.
 * Work folders under BENCH_WORK (default /tmp/atelier-bench-gan); every stage resumes.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runIngest } from '../src/app/ingest.js';
import { imagesTensor, trainDvbprJob } from '../src/app/train-recommender.js';
import { trainGanJob } from '../src/app/train-gan.js';
import { designStudy } from '../src/app/design-study.js';
import { createProgress } from '../src/app/progress.js';
import { trainCallbacks } from '../src/app/progress.js';
import { dvbprPreset } from '../src/config/dvbpr.js';
import { ganPreset } from '../src/config/gan.js';
import { writeFileAtomic, writeJsonAtomic } from '../src/core/fs.js';
import { loadDataset } from '../src/data/dataset.js';
import { FASHION_MNIST_DEFAULT } from '../src/data/read-fashion-mnist.js';
import { loadGanRun, type GanManifest } from '../src/store/gan-run.js';
import { loadRun, readManifest, thetaOf } from '../src/store/run.js';
import { categoryEmbeddings, designModels } from '../src/app/designs.js';
import { GuardRangeCache, maximisePreference, type DesignGuard, type LatentBound } from '../src/design/maximise.js';

const work = process.env.BENCH_WORK ?? '/tmp/atelier-bench-gan';
const progress = createProgress({ json: true });

interface Target {
  name: string;
  data: string;
  ingest: () => Promise<unknown>;
  ganEpochs: number;
  dvbprRun: string;
  /** epochs of the metrics' category classifier (default: the DVBPR preset's) */
  classifierEpochs?: number;
  /** a sentence for the report */
  note?: string;
  /** the design variants studied (default: all of DESIGN_VARIANTS) */
  designVariants?: string[];
  /** snapshots over the run (default: one per epoch up to 6) */
  ganSnapshots?: number;
  /** where the GAN run lives (default: beside the data, `gan`) */
  ganDir?: string;
  /** the discriminator's projection term (`--projection`) */
  projection?: boolean;
  /** the discriminator's mismatch term, its weight (`--mismatch w`) */
  mismatch?: number;
  /** a sentence for the design report */
  designNote?: string;
}

const ganDirOf = (t: Target) => t.ganDir ?? join(t.data, '..', 'gan');

const targets: Target[] = [
  {
    name: 'Fashion-MNIST',
    data: join(work, 'fm', 'data'),
    ingest: () => runIngest('fashion-mnist', FASHION_MNIST_DEFAULT, { out: join(work, 'fm', 'data'), imageSize: 32, minCategoryCount: 1 }, progress),
    ganEpochs: Number(process.env.GAN_EPOCHS_FM ?? 15),
    // gan-mm1: the default preset with the discriminator's mismatch term (fm/gan-v2 is the same without it)
    ganDir: join(work, 'fm', 'gan-mm1'),
    mismatch: 1,
    designNote:
      "The GAN: the default preset with the discriminator's mismatch term (`--mismatch 1`: real images under a wrong category count as fake), 15 epochs on the demo's 6,000 images. " +
      "The same GAN without it (the previous run of this bench, the same judge classifier): paper objective uplift 100%, median rank 13.31%, 17.3% of designs in the samples' range; with the realism guard 0.95, 36.0%, 9.21%, 74.3%.",
    // FM_DVBPR: e.g. the best DVBPR run of `bench recommend --simulated` (the same data)
    dvbprRun: process.env.FM_DVBPR ?? join(work, 'fm', 'dvbpr'),
  },
  {
    name: 'H&M',
    data: join(work, 'hm', 'data'),
    ingest: () => runIngest('hm', process.env.HM_DATA ?? '../shared/data/hm', { out: join(work, 'hm', 'data'), imageSize: 64 }, progress),
    ganEpochs: Number(process.env.GAN_EPOCHS_HM ?? 30),
    ganSnapshots: Number(process.env.GAN_EPOCHS_HM ?? 30),
    mismatch: 1,
    // the GAN of `bench gan` (the paper's 30 epochs, generator average, category draw, the mismatch
    // term; hm/gan-40-v2 is the previous one: 40 epochs without the term)
    ganDir: join(work, 'hm', `gan-mm1-${process.env.GAN_EPOCHS_HM ?? 30}`),
    dvbprRun: process.env.HM_DVBPR ?? join(work, 'hm', 'dvbpr'),
    designNote:
      "The GAN: the default preset with the discriminator's mismatch term (`--mismatch 1`), the paper's 30 epochs (the GAN bench's). With the previous GAN (40 epochs without the term; the previous run of this bench, the same judge): paper objective uplift 92.6%, median rank 1.64%, Fréchet 67.4 against 42.2 for samples, 71.5% of designs in the samples' range; realism guard 0.95: 85.2%, 2.05%, 84.3%; guard from the best 8 of 256 starts: 96.3%, 1.43%, 79.2%. This GAN's samples are more recognisable (agreement 85.9% against 80.8%), but its designs are farther from real items (nearest real 8.64 against 7.81 with the paper's objective), so fewer fall in its samples' range.",
    // at 64 px a variant takes about 5 minutes: the paper's objective, the distinctive taste, one leash and the guard
    designVariants: [
      'paper: θ_u, η = 1',
      'distinctive θ_u − θ̄, η = 1',
      'θ_u, η = 1, leash γ = 0.3, best 8 of 256 starts',
      'θ_u, η = 1, realism guard 0.95',
      'θ_u, η = 1, realism guard 0.95, best 8 of 256 starts',
    ],
  },
];

/**
 * The GAN bench's Fashion-MNIST: 20,000 images rather than the demo's 6,000, because the quality
 * metrics are only as good as their classifier: trained on 6,000 images it is 85% accurate on
 * held-out ones, on 20,000 (10 epochs) 89.8%. The design bench keeps the demo's data (so that it can
 * use the DVBPR of `bench recommend --simulated`) and its GAN.
 */
const ganTargets: Target[] = [
  {
    name: 'Fashion-MNIST',
    data: join(work, 'fm20k', 'data'),
    ingest: () =>
      runIngest('fashion-mnist', FASHION_MNIST_DEFAULT, { out: join(work, 'fm20k', 'data'), imageSize: 32, items: 20000, minCategoryCount: 1 }, progress),
    ganEpochs: Number(process.env.GAN_EPOCHS_FM ?? 30),
    ganSnapshots: Math.max(1, Math.round(Number(process.env.GAN_EPOCHS_FM ?? 30) / 2)),
    dvbprRun: '',
    classifierEpochs: 10,
    projection: true,
    mismatch: 1,
    ganDir: join(work, 'fm20k', `gan-proj-mm1-${process.env.GAN_EPOCHS_FM ?? 30}`),
    note:
      "Trained on 20,000 of Fashion-MNIST's images (the demo's 6,000 leave the metrics' classifier at 85% held-out accuracy); the classifier trains 10 epochs. " +
      "With the discriminator's projection term (`--projection`) and its mismatch term (`--mismatch 1`: real images under a wrong category count as fake), the paper's 30 epochs, trained as 12 and resumed to 24 and 30 (`--epochs N --snapshots N/2 --resume`, the same schedule). " +
      'The best snapshot (epoch 26) measured 89.1% during training, on other codes: 200 images a category move the figure by about a point. At 24 epochs the final figures were 89.9% and Fréchet 9.18. Without the mismatch term (projection only; the previous run of this bench) 87.2% and 10.7 after 24 epochs; with neither 86.4% and 12.5 (after 12 epochs 85.9%, 17.8). ' +
      'With 1,000 images a category and two seeds (a script over the saved runs, not part of the bench): 90.2% and 90.1% for this GAN, 89.6% and 89.9% at 24 epochs, 87.1% and 87.1% for the projection alone at 24. ' +
      "The classifier's own balanced recall on real held-out images is 89.5% (shirts: 58% of real ones recognised): this generator's images are as recognisable to it as real ones, a little more, which the mismatch term rewards.",
  },
  {
    // the design bench uses the same GAN
    ...targets[1]!,
    note:
      "With the discriminator's mismatch term (`--mismatch 1`: real images under a wrong category count as fake), the paper's 30 epochs, a snapshot every epoch (trained as a 10-epoch run, then resumed to 30 with `--epochs 30 --snapshots 30 --resume`: the same schedule). The design bench uses this GAN. " +
      "The previous GAN of this bench, the same preset without the term, the same judge classifier (byte-identical file): 63.6% and Fréchet 24.2 after 30 epochs, 70.7% and 19.0 after 40; at every epoch from 2 to 30 the term's snapshot had the higher agreement (by 4.3 to 11.8 points) and, at all but epochs 1, 7 and 14, the lower Fréchet distance (by up to 14.5).",
  },
];

function finishedGan(dir: string): GanManifest | null {
  try {
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as GanManifest;
    return m.finishedAt ? m : null;
  } catch {
    return null;
  }
}

async function ensureGan(t: Target): Promise<GanManifest> {
  if (!existsSync(join(t.data, 'manifest.json'))) await t.ingest();
  const dir = ganDirOf(t);
  const done = finishedGan(dir);
  if (done) return done;
  const ds = loadDataset(t.data);
  const images = imagesTensor(ds);
  const cfg = {
    ...ganPreset('default', ds.imageSize),
    epochs: t.ganEpochs,
    snapshots: t.ganSnapshots ?? Math.min(6, Math.max(2, Math.round(t.ganEpochs))),
    ...(t.projection ? { projection: true } : {}),
    ...(t.mismatch ? { mismatch: t.mismatch } : {}),
  };
  const m = await trainGanJob(ds, images, cfg, {
    out: dir,
    resume: true,
    progress,
    qualitySamples: 200,
    ...(t.classifierEpochs ? { classifierEpochs: t.classifierEpochs } : {}),
  });
  images.dispose();
  return m;
}

export async function ganBench(): Promise<void> {
  const rows = [];
  const md: string[] = [
    '# Conditional GAN quality',
    '',
    'Quality in the feature space of a category classifier trained on the real images (the default DVBPR encoder shape with a linear head; its held-out accuracy is given). Fréchet distance: mean over categories of the distance between real and generated classifier features (200 generated images per category); category agreement: share of generated images the classifier assigns to the intended category; Inception-style score: exp(E KL(p(y|x) ‖ p(y))) over all generated images, at most the number of categories.',
    '',
  ];
  for (const t of ganTargets) {
    const m = await ensureGan(t);
    type Quality = {
      frechet: number;
      categoryAgreement: number;
      inceptionScore: number;
      perCategory: { category: string; frechet: number; agreement: number }[];
    };
    const f: Quality = m.metrics.final!;
    const b: Quality = m.metrics.finalBounded!;
    const snaps = m.metrics.snapshots;
    const realRecall = (category: string) => m.classifier.heldOutPerClass?.[m.classifier.classes.indexOf(category)];
    const pct = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '–' : `${(100 * x).toFixed(1)}%`);
    // the reference for the agreement, which weighs every category alike: the classifier's recall on
    // real held-out images averaged over the categories (its accuracy weighs them by their items)
    const recalls = m.categories.map(realRecall).filter((x): x is number => x !== undefined && !Number.isNaN(x));
    const realBalanced = recalls.length === m.categories.length ? recalls.reduce((a, b) => a + b, 0) / recalls.length : undefined;
    const slug = t.name.replace(/[^A-Za-z]+/g, '').toLowerCase();
    const gridPng = join('bench', 'results', `gan-${slug}.png`);
    copyFileSync(join(ganDirOf(t), 'snapshots', `snapshot-${String(m.metrics.bestSnapshot).padStart(2, '0')}.png`), gridPng);
    rows.push({
      name: t.name,
      categoryAgreement: f.categoryAgreement,
      frechet: f.frechet,
      inceptionScore: f.inceptionScore,
      bounded: { categoryAgreement: b.categoryAgreement, frechet: b.frechet, inceptionScore: b.inceptionScore, perCategory: b.perCategory },
      categories: m.categories,
      perCategory: f.perCategory.map((p) => ({ ...p, realHeldOutRecall: realRecall(p.category) ?? null })),
      bestSnapshot: m.metrics.bestSnapshot,
      snapshots: snaps.map((s) => ({
        snapshot: s.snapshot,
        epoch: s.epoch,
        frechet: s.metrics.frechet,
        categoryAgreement: s.metrics.categoryAgreement,
        boundedFrechet: s.metrics.boundedFrechet,
        boundedAgreement: s.metrics.boundedAgreement,
      })),
      leftOut: m.leftOut,
      classifierHeldOutAccuracy: m.classifier.heldOutAccuracy,
      classifierRealRecallBalanced: realBalanced ?? null,
      config: m.config,
    });
    md.push(
      `## ${t.name} (${m.config.imageSize} px, ${m.categories.length} categories, ${m.config.epochs} epochs)`,
      '',
      `Best snapshot ${m.metrics.bestSnapshot} (generator weights averaged over ${m.config.emaSteps ?? 0} steps; categories drawn ∝ items^${m.config.categoryPower ?? 1}${m.config.projection ? '; the discriminator with a projection term' : ''}${m.config.mismatch ? `; its mismatch term, weight ${m.config.mismatch}` : ''}); the classifier's held-out accuracy ${pct(m.classifier.heldOutAccuracy)}, its recall on real held-out images averaged over the categories (as the agreement weighs them) ${pct(realBalanced)}:`,
      '',
      `- codes as in training, z ~ N(0, I): category agreement **${pct(f.categoryAgreement)}**, Fréchet **${f.frechet.toFixed(2)}**, Inception-style score **${f.inceptionScore.toFixed(2)}**;`,
      `- the design's codes, z = tanh(w), w ~ N(0, I) (bounded to (−1, 1) as the paper bounds z; what the design starts from): category agreement **${pct(b.categoryAgreement)}**, Fréchet **${b.frechet.toFixed(2)}**, Inception-style score **${b.inceptionScore.toFixed(2)}**.`,
      '',
      m.leftOut.length ? `Left out: ${m.leftOut.map((l) => `${l.category} (${l.items})`).join(', ')}.` : '',
      t.note ?? '',
      '',
      '| snapshot | epoch | Fréchet | agreement | Fréchet, z = tanh(w) | agreement, z = tanh(w) |',
      '|---:|---:|---:|---:|---:|---:|',
      ...snaps.map(
        (s) =>
          `| ${s.snapshot} | ${s.epoch.toFixed(1)} | ${s.metrics.frechet!.toFixed(2)} | ${pct(s.metrics.categoryAgreement)} | ${s.metrics.boundedFrechet?.toFixed(2) ?? '–'} | ${pct(s.metrics.boundedAgreement)} |`,
      ),
      '',
      "Per category (best snapshot); 'real' is the classifier's held-out recall on real images of the category, the reference for the agreement:",
      '',
      '| category | Fréchet | agreement | Fréchet, z = tanh(w) | agreement, z = tanh(w) | real |',
      '|---|---:|---:|---:|---:|---:|',
      ...f.perCategory.map(
        (p, i) =>
          `| ${p.category} | ${p.frechet.toFixed(2)} | ${pct(p.agreement)} | ${b.perCategory[i]!.frechet.toFixed(2)} | ${pct(b.perCategory[i]!.agreement)} | ${pct(realRecall(p.category))} |`,
      ),
      '',
      `![${t.name} samples, a row per category](${gridPng.replace('bench/results/', '')})`,
      '',
    );
    writeJsonAtomic(join('bench', 'results', 'gan.json'), { datasets: rows, command: 'npm run bench -- gan' });
    writeFileAtomic(join('bench', 'results', 'gan.md'), md.join('\n') + '\nCommand: `npm run bench -- gan`.\n');
  }
}

/** The paper's objective first (its figures are the headline), then the trade-offs around it. */
export const DESIGN_VARIANTS: {
  name: string;
  eta: number;
  taste: 'own' | 'distinctive';
  anchor?: number;
  candidates?: number;
  guard?: number;
  bound?: LatentBound;
}[] = [
  { name: 'paper: θ_u, η = 1', eta: 1, taste: 'own' },
  { name: 'θ_u, η = 3', eta: 3, taste: 'own' },
  { name: 'θ_u, η = 10', eta: 10, taste: 'own' },
  { name: 'distinctive θ_u − θ̄, η = 1', eta: 1, taste: 'distinctive' },
  { name: 'distinctive θ_u − θ̄, η = 3', eta: 3, taste: 'distinctive' },
  { name: 'θ_u, η = 1, leash γ = 0.3, best 8 of 256 starts', eta: 1, taste: 'own', anchor: 0.3, candidates: 256 },
  { name: 'θ_u, η = 1, leash γ = 1, best 8 of 256 starts', eta: 1, taste: 'own', anchor: 1, candidates: 256 },
  { name: 'θ_u, η = 1, leash γ = 1', eta: 1, taste: 'own', anchor: 1 },
  { name: 'θ_u, η = 1, realism guard 0.95', eta: 1, taste: 'own', guard: 0.95 },
  { name: 'θ_u, η = 1, realism guard 0.95, best 8 of 256 starts', eta: 1, taste: 'own', guard: 0.95, candidates: 256 },
  // the shell bound ‖z‖ = √d (the GAN's N(0, I) codes) in place of the box: its samples are the GAN's own
  { name: 'θ_u, η = 1, shell bound', eta: 1, taste: 'own', bound: 'shell' },
  { name: 'θ_u, η = 1, shell bound, realism guard 0.95', eta: 1, taste: 'own', guard: 0.95, bound: 'shell' },
  { name: 'θ_u, η = 1, shell bound, realism guard 0.95, best 8 of 256 starts', eta: 1, taste: 'own', guard: 0.95, candidates: 256, bound: 'shell' },
];

interface DesignRow {
  name: string;
  note?: string;
  pairs: number;
  users?: number;
  categories?: number;
  speed: {
    imageSize: number;
    seconds: number;
    guard?: { category: string; realItems: number; seconds: number; /** with its range already drawn (a server's later requests) */ cachedSeconds?: number };
  };
  variants: { variant: string; uplift: number; medianUserRankPct: number; realism: Record<string, number>; hiddenTaste?: { designBeatsBestReal: number } }[];
}

function designSection(name: string, row: DesignRow): string[] {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const f = (x: number | undefined, d: number) => (x === undefined ? '–' : x.toFixed(d));
  return [
    `## ${name}`,
    '',
    `${row.pairs} pairs${row.users ? ` (${row.users} shoppers × ${row.categories} categories)` : ''} per variant; speed: 8 designs × 50 steps at ${row.speed.imageSize} px in ${row.speed.seconds.toFixed(2)} s (median of 3)${row.speed.guard ? `; with the realism guard 0.95 (category ${row.speed.guard.category}, ${row.speed.guard.realItems} real items) ${row.speed.guard.seconds.toFixed(2)} s${row.speed.guard.cachedSeconds !== undefined ? `, ${row.speed.guard.cachedSeconds.toFixed(2)} s with its range drawn by an earlier request (as the server keeps it)` : ''}` : ''}.`,
    '',
    ...(row.note ? [row.note, ''] : []),
    "| variant | uplift | median rank | D designs / samples | Fréchet designs / samples | category agreement designs / samples | nearest real designs / samples | in the samples' range designs / samples | hidden taste: design beats best real |",
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...row.variants.map((v) => {
      const r = v.realism;
      return `| ${v.variant} | ${pct(v.uplift)} | ${v.medianUserRankPct.toFixed(2)}% | ${f(r.designD, 3)} / ${f(r.samplesD, 3)} | ${f(r.designFrechet, 2)} / ${f(r.samplesFrechet, 2)} | ${pct(r.designAgreement!)} / ${pct(r.samplesAgreement!)} | ${f(r.designNearestReal, 2)} / ${f(r.samplesNearestReal, 2)} | ${r.designInSampleRange === undefined ? '–' : pct(r.designInSampleRange)}${r.samplesInSampleRange === undefined ? '' : ` / ${pct(r.samplesInSampleRange)}`} | ${v.hiddenTaste ? pct(v.hiddenTaste.designBeatsBestReal) : '–'} |`;
    }),
    '',
  ];
}

export async function designBench(): Promise<void> {
  const rows: DesignRow[] = [];
  const md = [
    '# Design for a shopper',
    '',
    'Over (shopper, category) pairs: 8 random starts × 50 Adam steps (lr 0.05) on z = tanh(w), objective θᵀΦ(G(z, c)) − η(D(G(z, c), c) − 1)². ' +
      "uplift: share of pairs whose best design outscores the shopper's best real item of that category (the shopper's own score θ_uᵀΦ in every variant); " +
      "personalisation: median rank of the shopper's own score among all shoppers' scores of the same best design (0% = top); " +
      "realism, designs / the GAN's unoptimised samples from the same random codes (the designs' own starts, except with best-of-N starts): mean D(G(z), c); Fréchet distance to 300 real items of the category in the category classifier's feature space (a set measure: designs for a few shoppers are also less diverse than samples); " +
      'the share the classifier assigns to the intended category; the mean distance to the nearest real item of the category (same features); ' +
      "designs in the samples' range: the share of designs, image by image, whose nearest real item is no farther than the samples' 95th percentile and whose D is no lower than the samples' 5th percentile (the samples' own share, about 90% by construction, beside it); " +
      "hidden taste (simulated shoppers): how often the best design beats the DVBPR-chosen best real item under the shopper's true taste.",
    '',
    "Variants: the paper's objective (η = 1, θ_u), stronger realism (η = 3, 10), 'distinctive' taste θ_u − θ̄ (what sets the shopper apart from the average shopper; `taste: 'distinctive'` in the library), " +
      'and a leash γ‖z − z0‖² keeping each design near its own starting code (`--anchor γ`), alone or from the best 8 of 256 random codes by the objective (`--candidates 256`); ' +
      "and the realism guard (`--guard 0.95`): each design is its best step that stays, in Φ's space (the stored embeddings of the category's real items) and by D, as close to real items as 95% of 256 unoptimised samples; the classifier that judges realism here is never seen by it; " +
      "and the shell bound (`--bound shell`): z = √d · w/‖w‖, on the sphere where the GAN's N(0, I) training codes lie, in place of the paper's box z = tanh(w) (whose starts are shorter codes, ‖z‖ ≈ 0.63√d, with less varied images); the same draws w, so a shell row's samples are the GAN's own samples and differ from the box rows'. Realism bought with uplift: the trade-off in numbers.",
    '',
  ];
  // DESIGN_ONLY=<dataset name>: study that dataset only; the others keep their rows from the last design.json
  const only = process.env.DESIGN_ONLY;
  const flush = () => {
    writeJsonAtomic(join('bench', 'results', 'design.json'), { datasets: rows, command: 'npm run bench -- design' });
    writeFileAtomic(join('bench', 'results', 'design.md'), md.join('\n') + '\nCommand: `npm run bench -- design`.\n');
  };
  const previous =
    only && existsSync(join('bench', 'results', 'design.json'))
      ? (JSON.parse(readFileSync(join('bench', 'results', 'design.json'), 'utf8')) as { datasets: DesignRow[] }).datasets
      : [];
  for (const t of targets) {
    if (only && t.name !== only) {
      const old = previous.find((r) => r.name === t.name);
      if (old) {
        rows.push(old);
        md.push(...designSection(t.name, old));
        flush();
      }
      continue;
    }
    await ensureGan(t);
    const ds = loadDataset(t.data);
    if (!existsSync(join(t.dvbprRun, 'manifest.json'))) {
      const images = imagesTensor(ds);
      await trainDvbprJob(ds, images, {
        out: t.dvbprRun,
        config: { ...dvbprPreset('default', ds.imageSize), epochs: 10 },
        resume: true,
        callbacks: trainCallbacks(progress, 'dvbpr'),
      });
      images.dispose();
    }
    const run = loadRun(t.dvbprRun);
    if (run.manifest.dataset.dataHash !== ds.manifest.dataHash) {
      throw new Error(`${t.dvbprRun} was trained on other data (${run.manifest.dataset.dataHash}) than ${t.data} (${ds.manifest.dataHash})`);
    }
    const g = loadGanRun(ganDirOf(t));
    const users = Math.ceil(50 / g.manifest.categories.length);
    const studies = DESIGN_VARIANTS.filter((v) => !t.designVariants || t.designVariants.includes(v.name)).map((v) => ({
      variant: v.name,
      ...designStudy(t.name, ds, run, g, {
        users,
        n: 8,
        steps: 50,
        eta: v.eta,
        taste: v.taste,
        anchor: v.anchor,
        candidates: v.candidates,
        guard: v.guard,
        bound: v.bound,
        seed: 1,
        onPair: (d, n) => progress.event('design', { dataset: t.name, variant: v.name, pair: d, of: n }),
      }),
    }));
    const s = studies[0]!;
    // speed: 8 designs × 50 steps (median of 3), at the GAN's size; then with the realism guard
    // (its reference pass and the distances to the category's real items)
    const theta = thetaOf(run, ds.userIds[0]!);
    const median3 = (extra: { guard?: DesignGuard }, seedOf = (r: number) => r) => {
      const times: number[] = [];
      for (let r = 0; r < 3; r++) {
        const t0 = performance.now();
        maximisePreference(designModels(run, g), { theta, category: 0, n: 8, steps: 50, lr: 0.05, eta: 1, seed: seedOf(r), ...extra });
        times.push((performance.now() - t0) / 1000);
      }
      return times.sort((a, b) => a - b)[1]!;
    };
    const guardCategory = g.manifest.categories[0]!;
    const real = categoryEmbeddings(run, guardCategory);
    const speed: DesignRow['speed'] & { designs: number; steps: number } = {
      designs: 8,
      steps: 50,
      imageSize: g.manifest.config.imageSize,
      seconds: median3({}),
      guard: { category: guardCategory, realItems: real.length / run.dvbpr!.encoderConfig.k, seconds: median3({ guard: { real, quantile: 0.95 } }) },
    };
    // as a server runs it: the guard's range drawn by an earlier request (same category and seed)
    const cache = new GuardRangeCache();
    maximisePreference(designModels(run, g), { theta, category: 0, n: 8, steps: 1, lr: 0.05, eta: 1, seed: 0, guard: { real, quantile: 0.95, cache } });
    speed.guard!.cachedSeconds = median3({ guard: { real, quantile: 0.95, cache } }, () => 0);
    const row = {
      ...s,
      ...(t.designNote ? { note: t.designNote } : {}),
      speed,
      users,
      categories: g.manifest.categories.length,
      dvbprRun: readManifest(t.dvbprRun).name,
      variants: studies,
    };
    rows.push(row);
    md.push(...designSection(t.name, row));
    flush();
  }
}

mkdirSync(work, { recursive: true });
