/**
 * `npm run bench -- gan` (the design study is bench/design-judged.ts; the proxy-only study this file
 * ran before the judges is kept as bench/results/design-proxy.md, from commit 382ee4f).
 *  gan:    trains the conditional GAN on Fashion-MNIST (10 classes, 32 px) and on H&M (its main
 *          product groups, 64 px); writes bench/results/gan.md (with sample grids) and gan.json.
 * Work folders under BENCH_WORK (default /tmp/atelier-bench-gan); every stage resumes.
 */
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runIngest } from '../src/app/ingest.js';
import { imagesTensor } from '../src/app/train-recommender.js';
import { trainGanJob } from '../src/app/train-gan.js';
import { createProgress } from '../src/app/progress.js';
import { ganPreset } from '../src/config/gan.js';
import { writeFileAtomic, writeJsonAtomic } from '../src/core/fs.js';
import { loadDataset } from '../src/data/dataset.js';
import { FASHION_MNIST_DEFAULT } from '../src/data/read-fashion-mnist.js';
import { type GanManifest } from '../src/store/gan-run.js';

const work = process.env.BENCH_WORK ?? '/tmp/atelier-bench-gan';
const progress = createProgress({ json: true });

interface Target {
  name: string;
  data: string;
  ingest: () => Promise<unknown>;
  ganEpochs: number;
  /** epochs of the metrics' category classifier (default: the DVBPR preset's) */
  classifierEpochs?: number;
  /** a sentence for the report */
  note?: string;
  /** snapshots over the run (default: one per epoch up to 6) */
  ganSnapshots?: number;
  /** where the GAN run lives (default: beside the data, `gan`) */
  ganDir?: string;
  /** the discriminator's projection term (`--projection`) */
  projection?: boolean;
  /** the discriminator's mismatch term, its weight (`--mismatch w`) */
  mismatch?: number;
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
  },
  {
    name: 'H&M',
    data: join(work, 'hm', 'data'),
    ingest: () =>
      runIngest('hm', process.env.HM_DATA ?? process.env.ATELIER_HM ?? '../shared/data/hm', { out: join(work, 'hm', 'data'), imageSize: 64 }, progress),
    ganEpochs: Number(process.env.GAN_EPOCHS_HM ?? 30),
    ganSnapshots: Number(process.env.GAN_EPOCHS_HM ?? 30),
    mismatch: 1,
    // the GAN of `bench gan` (the paper's 30 epochs, generator average, category draw, the mismatch
    // term; hm/gan-40-v2 is the previous one: 40 epochs without the term)
    ganDir: join(work, 'hm', `gan-mm1-${process.env.GAN_EPOCHS_HM ?? 30}`),
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
