/**
 * `npm run bench -- design-datasets --dataset hm|fashion-mnist [...]`: the design study on each
 * dataset under a judge the search never runs, for single shoppers and for segments (issue 38).
 *
 *  - hm: the H&M sample; the proxy (what the search maximises: the product's default DVBPR), the
 *    judge (a DVBPR from scratch, seed 2, its own user vectors) and the GAN are run folders given
 *    by flags (`--data --proxy --judge --gan`), made as bench/results/design-hm.md ran it (32 px:
 *    the default GAN at 64 px takes about 2 hours here, at 32 px 10 minutes; ATELIER_HM: your copy):
 *      atelier ingest hm $ATELIER_HM --out out/hm/data32 --image-size 32
 *      atelier train dvbpr --data out/hm/data32 --out out/hm/proxy32
 *      echo '{"init":"scratch","seed":2}' > judge.json
 *      atelier train dvbpr --data out/hm/data32 --out out/hm/judge32 --config judge.json
 *      atelier train gan --data out/hm/data32 --out out/hm/gan32
 *    The shop's range is what was bought in the training
 *    purchases; the ~7,700 articles nobody bought are the unsold real articles of the ceiling. The
 *    single-shopper study runs the default preset and a few methods of the Fashion-MNIST study.
 *  - fashion-mnist: the demo's runs and the judge of `bench -- design-judged` (out/judged); the
 *    single-shopper figures are that study's (design.json), and the segments are measured here
 *    with the same proxy, judge and GAN; the unsold real items are Fashion-MNIST's garments the
 *    shop does not sell.
 *
 * Segments: k-means on the proxy's standardised tastes (`atelier segments`, dissolving those under
 * `--min-members`), written into a copy of the proxy run. A (segment, category) pair designs with
 * the segment's taste (the mean of its members' standardised θ) under the default preset; the
 * judge reads it with the mean of the same members' standardised judge θ, against the shop's best
 * item for the segment by the judge; and, on purchases neither model trained on, whether the design
 * is nearer (judge features, cosine) to the members' held-out purchases of the category than that
 * best item is. Writes the dataset's entry of bench/results/design.json (`datasets[]`) and
 * bench/results/design-datasets.md.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { judgedDesignStudy, methodOfSettings, type JudgedMethod, type JudgedStudy, type StudyPair } from '../src/app/design-judged.js';
import { grid, writePng } from '../src/app/figures.js';
import { ensureRun, writeCurves } from './design-judged.js';
import { createProgress } from '../src/app/progress.js';
import { makeSegments, segmentScaleOf, standardisedTastesOf } from '../src/app/segments.js';
import { designPreset } from '../src/config/design.js';
import { writeFileAtomic, writeJsonAtomic } from '../src/core/fs.js';
import { Rng } from '../src/core/rng.js';
import { loadDataset, type Dataset } from '../src/data/dataset.js';
import { garmentImages, garmentSet } from '../src/data/garments.js';
import { segmentTaste } from '../src/models/segments.js';
import { loadGanRun } from '../src/store/gan-run.js';
import { dvbprOf, loadRun, type LoadedRun } from '../src/store/run.js';
import { bestRealFor, designForShopper, designRequest, scoresOf } from '../src/app/designs.js';

const progress = createProgress({ json: true });
const RESULTS = join('bench', 'results', 'design.json');

function argOf(args: string[], name: string, fallback: string): string {
  return args.includes(name) ? args[args.indexOf(name) + 1]! : fallback;
}

/** The default preset as a study method, and the methods of the Fashion-MNIST study run on H&M beside it. */
const DEFAULT_METHOD = methodOfSettings('default', 'the default preset: z = tanh(w), Adam lr 0.05, 8 steps', designPreset('default', 8));
const HM_METHODS: JudgedMethod[] = [
  { name: 'samples', describe: 'the GAN’s own samples, z ~ N(0, I), no search', steps: 0, options: { bound: 'free' } },
  { name: 'best-of-256', describe: 'the 8 best of 256 samples by the objective, forward passes only', steps: 0, options: { bound: 'free', candidates: 256 } },
  DEFAULT_METHOD,
  {
    name: 'paper',
    describe: 'the released code: z ~ N(0, 0.5²) unbounded, Adam lr 0.05, η = 1, 10 steps',
    steps: 10,
    options: { bound: 'free', initScale: 0.5 },
  },
  { name: 'box', describe: 'z = tanh(w), lr 0.05, up to 30 steps, the budget chosen on validation', steps: 30, options: { bound: 'box' } },
  { name: 'shell', describe: 'z on the shell ‖z‖ = √d (PULSE), lr 0.05, up to 30 steps', steps: 30, options: { bound: 'shell' } },
];

/** For segments beside the default: the box searched longer, its figures at every step (where the judge uplift goes, and the realism with it). */
const SEGMENT_CURVE: JudgedMethod = { name: 'box, 30 steps', describe: 'z = tanh(w), lr 0.05, 30 steps', steps: 30, budget: 30, options: { bound: 'box' } };

/** One dataset's entry of design.json (the issue's schema, with the studies behind it). */
export interface DatasetEntry {
  name: string;
  describe: string;
  pairs: number;
  default: { method: string; steps: number; judgeUplift: number; judgeMedianRankPct: number; inRange: number; samplesInRange: number };
  ceiling: { judgeUplift: number; proxyUplift: number; judgeFavouriteUplift: number | null; describe: string };
  segments: {
    default: {
      judgeUplift: number;
      heldOutUplift: number | null;
      heldOutPairs: number;
      judgeMedianRankPct: number;
      inRange: number;
      samplesInRange: number;
      segments: number;
      minMembers: number;
      sizes: number[];
      pairs: number;
    };
    ceiling: { judgeUplift: number; proxyUplift: number; judgeFavouriteUplift: number };
    /** the box searched for 30 steps on the same segment pairs: each step's figures */
    curve: { step: number; judgeUplift: number; heldOutUplift: number | null; inRange: number; proxyUplift: number }[];
  };
  study?: JudgedStudy;
  when: string;
  load: number;
  command: string;
}

const scaled = (t: Float32Array, by: number) => Float32Array.from(t, (v) => v * by);

/** The members of each segment as dataset shoppers, and each segment's tastes under the proxy and the judge. */
function segmentTastes(ds: Dataset, proxy: LoadedRun, judge: LoadedRun) {
  const dsUser = new Map(ds.userIds.map((id, u) => [id, u]));
  const proxyT = standardisedTastesOf(proxy);
  const judgeT = standardisedTastesOf(judge);
  const k = dvbprOf(proxy).encoderConfig.k;
  const kj = dvbprOf(judge).encoderConfig.k;
  const heldOutOf = new Map<number, number[]>();
  for (const part of [ds.valid, ds.test])
    for (let x = 0; x < part.user.length; x++) (heldOutOf.get(part.user[x]!) ?? heldOutOf.set(part.user[x]!, []).get(part.user[x]!)!).push(part.item[x]!);
  return [...proxy.catalogue.segments].map(([name, members]) => {
    const ids = Array.from(members, (u) => proxy.catalogue.userIds[u]!);
    const inJudge = ids.map((id) => judge.catalogue.userIndex.get(id)).filter((u): u is number => u !== undefined);
    return {
      name,
      members: ids.length,
      // what `design --segment` maximises: θ_S scaled as a typical member's taste (segmentScaleOf)
      proxy: scaled(segmentTaste(proxyT, members, k), segmentScaleOf(proxy, name)),
      judge: segmentTaste(judgeT, inJudge, kj),
      heldOut: ids.flatMap((id) => heldOutOf.get(dsUser.get(id) ?? -1) ?? []),
    };
  });
}

function segmentPairs(segs: ReturnType<typeof segmentTastes>, judge: LoadedRun, categories: string[]): StudyPair[] {
  const kj = dvbprOf(judge).encoderConfig.k;
  return segs.flatMap((s, x) => {
    const others = new Float32Array((segs.length - 1) * kj);
    segs.filter((_, y) => y !== x).forEach((o, r) => others.set(o.judge, r * kj));
    return categories.map((category) => ({
      user: -1,
      userId: `segment ${s.name}`,
      category,
      taste: { proxy: s.proxy, judge: s.judge, judgeOthers: others, heldOut: s.heldOut },
    }));
  });
}

const pct = (x: number | null | undefined) => (x === null || x === undefined ? '–' : `${(100 * x).toFixed(1)}%`);

/** A figure: for a shopper and for a segment, the proxy's 4 best real articles of the category, then 4 designs, each under its proxy | judge scores. */
async function paperFigure(
  path: string,
  proxy: LoadedRun,
  judge: LoadedRun,
  g: ReturnType<typeof loadGanRun>,
  rows: { who: string; category: string; segment?: string; judgeTheta: Float32Array }[],
): Promise<string[]> {
  const tiles: Uint8Array[] = [];
  const labels: string[] = [];
  const captions: string[] = [];
  let size = 0;
  for (const r of rows) {
    const request = { ...designRequest(r.who, r.category, { ...designPreset('default', 4), seed: 3 }, 4), ...(r.segment ? { segment: r.segment } : {}) };
    const d = designForShopper(proxy, g, request);
    size = d.imageSize;
    const per = size * size * 3;
    const realU8 = d.realImages.subarray(0, 4 * per);
    const judgeReal = scoresOf(judge, r.judgeTheta, realU8, 4, size);
    const judgeDesign = scoresOf(judge, r.judgeTheta, d.designImagesAtDatasetSize, 4, size);
    tiles.push(realU8, d.designImagesAtDatasetSize);
    d.bestReal.slice(0, 4).forEach((b, a) => labels.push(`${b.score.toFixed(1)}/${judgeReal[a]!.toFixed(1)}`));
    d.design.finalScores.slice(0, 4).forEach((s, a) => labels.push(`${s.toFixed(1)}/${judgeDesign[a]!.toFixed(1)}`));
    const bestJudge = bestRealFor(judge, r.judgeTheta, r.category, 1)[0]!;
    captions.push(
      `${r.segment ? `segment ${r.segment}` : `shopper ${r.who}`}, ${r.category}: the judge's best article of the category scores ${bestJudge.score.toFixed(1)}; its designs ${judgeDesign.map((x) => x.toFixed(1)).join(', ')}`,
    );
  }
  const all = new Uint8Array(tiles.reduce((s, t) => s + t.length, 0));
  let off = 0;
  for (const t of tiles) (all.set(t, off), (off += t.length));
  await writePng(path, grid(all, labels.length, { size, cols: 8, zoom: size < 48 ? 4 : 2, labels, splitAfter: 4 }));
  return captions;
}

export async function designDatasetsBench(args: string[]): Promise<void> {
  const which = argOf(args, '--dataset', 'hm');
  const k = Number(argOf(args, '--k', '8'));
  const minMembers = Number(argOf(args, '--min-members', '50'));
  const seed = 11;
  const fm = which === 'fashion-mnist';
  const demo = argOf(args, '--demo', 'out/demo');
  const dataDir = fm ? join(demo, 'data') : argOf(args, '--data', 'out/hm/data');
  const proxyDir = fm ? join(demo, 'runs', 'dvbpr-classifier') : argOf(args, '--proxy', 'out/hm/proxy');
  const judgeDir = fm ? join(argOf(args, '--judged', 'out/judged'), 'dvbpr-judge') : argOf(args, '--judge', 'out/hm/judge');
  const ganDir = fm ? join(demo, 'gan') : argOf(args, '--gan', 'out/hm/gan');
  // Fashion-MNIST: the design-judged study's judge, trained as that bench trains it when it is not there yet
  if (fm && !existsSync(join(judgeDir, 'manifest.json')) && existsSync(join(dataDir, 'manifest.json'))) {
    await ensureRun(loadDataset(dataDir), 'dvbpr-judge', 'scratch', 2);
  }
  for (const dir of [proxyDir, judgeDir, ganDir])
    if (!existsSync(join(dir, 'manifest.json')))
      throw new Error(
        `no run in ${dir}: ${fm ? 'run `npm run demo` and `npm run bench -- design-judged` first' : 'train the H&M proxy, judge and GAN first (see the header of bench/design-datasets.ts)'}`,
      );
  const ds = loadDataset(dataDir);
  const judge = loadRun(judgeDir);
  const g = loadGanRun(ganDir);
  // segments are written into a copy of the proxy: the run stays as it was
  const work = mkdtempSync(join(tmpdir(), 'atelier-design-datasets-'));
  const segDir = join(work, 'proxy');
  cpSync(proxyDir, segDir, { recursive: true });
  const made = await makeSegments(segDir, { k, seed: 1, minMembers });
  const proxy = loadRun(segDir);
  const categories = g.manifest.categories.filter((c) => proxy.catalogue.categories.includes(c));
  // the shop's range and the unsold real articles
  let shopItems: ((i: number) => boolean) | undefined;
  let unsold: (c: string) => { u8: Uint8Array; n: number };
  let unsoldWhat: string;
  if (fm) {
    const set = garmentSet(ds);
    unsold = (c) => {
      const index = set.category.flatMap((cc, j) => (cc === c && set.inShop[j] === 0 ? [j] : []));
      return { u8: garmentImages(ds, set, index), n: index.length };
    };
    unsoldWhat = 'the Fashion-MNIST garments of the category the shop does not sell';
  } else {
    const sold = new Uint8Array(ds.itemIds.length);
    for (const part of [ds.train, ds.valid, ds.test]) for (const i of part.item) sold[i] = 1;
    const trained = new Uint8Array(ds.itemIds.length);
    for (const i of ds.train.item) trained[i] = 1;
    shopItems = (i) => trained[i] === 1;
    const per = ds.imageSize * ds.imageSize * 3;
    unsold = (c) => {
      const ci = proxy.catalogue.categories.indexOf(c);
      const index = [...proxy.catalogue.itemCategory.keys()].filter((i) => proxy.catalogue.itemCategory[i] === ci && sold[i] === 0);
      const u8 = new Uint8Array(index.length * per);
      index.forEach((i, r) => u8.set(ds.images.row(i), r * per));
      return { u8, n: index.length };
    };
    unsoldWhat = 'the articles of the category nobody in the sample bought, in any split (the shop’s range: what was bought in training)';
  }
  const onPair = (method: string, done: number, total: number) => progress.event('pair', { method, done, total });
  // single shoppers (H&M: measured here; Fashion-MNIST: the design-judged study's figures)
  const last = existsSync(RESULTS) ? (JSON.parse(readFileSync(RESULTS, 'utf8')) as { datasets?: DatasetEntry[] }) : {};
  let study: JudgedStudy | undefined;
  let single: DatasetEntry['default'];
  let ceiling: DatasetEntry['ceiling'];
  let pairs: number;
  // --segments-only: the single-shopper figures of the last run on this dataset are kept (H&M), only the segments are measured again
  const keepSingle = fm || args.includes('--segments-only');
  if (keepSingle) {
    // Fashion-MNIST: the design-judged study's entry, its default and its garment ceiling summarised (design-judged writes both)
    const prev = last.datasets?.find((d) => d.name === (fm ? 'Fashion-MNIST' : 'H&M'));
    if (!prev)
      throw new Error(
        `no ${fm ? 'Fashion-MNIST' : 'H&M'} study in bench/results/design.json: run ${fm ? '`npm run bench -- design-judged`' : 'this bench without --segments-only'} first`,
      );
    single = prev.default;
    pairs = prev.pairs;
    ceiling = { ...prev.ceiling, describe: unsoldWhat };
    study = fm ? undefined : prev.study;
  } else {
    study = judgedDesignStudy('H&M', ds, proxy, judge, g, {
      n: 8,
      validPairs: Number(argOf(args, '--valid-pairs', '20')),
      testPairs: Number(argOf(args, '--pairs', '60')),
      seed,
      methods: HM_METHODS,
      shopItems,
      unsold,
      onPair,
    });
    const d = study.methods.find((m) => m.name === DEFAULT_METHOD.name)!;
    single = {
      method: d.name,
      steps: d.budget,
      judgeUplift: d.atBudget.judgeUplift,
      judgeMedianRankPct: d.atBudget.judgeMedianRankPct,
      inRange: d.atBudget.inRange,
      samplesInRange: study.samples.inRange,
    };
    ceiling = {
      judgeUplift: study.ceiling!.proxyFavourite.judgeUplift,
      proxyUplift: study.ceiling!.proxyFavourite.proxyUplift,
      judgeFavouriteUplift: study.ceiling!.judgeFavourite.judgeUplift,
      describe: unsoldWhat,
    };
    pairs = study.pairs.test;
  }
  // segments: every (segment, category) pair, the default preset
  const segs = segmentTastes(ds, proxy, judge);
  const segPairs = segmentPairs(segs, judge, categories);
  const segStudy = judgedDesignStudy(`${fm ? 'Fashion-MNIST' : 'H&M'}, segments`, ds, proxy, judge, g, {
    n: 8,
    validPairs: 0,
    testPairs: 0,
    seed,
    methods: [DEFAULT_METHOD, SEGMENT_CURVE],
    pairs: { valid: [], test: segPairs },
    ...(shopItems ? { shopItems } : {}),
    unsold,
    onPair,
  });
  const sd = segStudy.methods[0]!.atBudget;
  // the (segment, category) pairs whose members bought something of the category after training (what the held-out share is over)
  const categoryOf = (i: number) => proxy.catalogue.categories[proxy.catalogue.itemCategory[i]!];
  const heldOutPairs = segPairs.filter((p) => p.taste!.heldOut.some((i) => categoryOf(i) === p.category)).length;
  const name = fm ? 'Fashion-MNIST' : 'H&M';
  // the paper's figure: a shopper and a segment, real articles beside designs, both models' scores
  const figure = join('bench', 'results', `design-${fm ? 'fashion-mnist' : 'hm'}-figure.png`);
  const rng = new Rng(5);
  const shopper = proxy.catalogue.userIds[rng.int(proxy.catalogue.userIds.length)]!;
  const seg = made.segments[0]!.name; // the largest
  const segTaste = segs.find((s) => s.name === seg)!;
  const category = categories.includes('Garment Upper body') ? 'Garment Upper body' : categories[0]!;
  const { thetaOf } = await import('../src/store/run.js');
  const captions = await paperFigure(figure, proxy, judge, g, [
    { who: shopper, category, judgeTheta: thetaOf(judge, shopper) },
    { who: `segment ${seg}`, category, segment: seg, judgeTheta: segTaste.judge },
  ]);
  const entry: DatasetEntry = {
    name,
    describe: fm
      ? 'Fashion-MNIST with the demo’s simulated shoppers; proxy: the demo’s DVBPR (classifier start); judge: DVBPR from scratch, seed 2 (out/judged)'
      : `the H&M sample (${ds.userIds.length} shoppers, ${ds.itemIds.length} articles, ${dataDir}); proxy: the default DVBPR (${proxy.manifest.name}); judge: DVBPR from scratch, seed 2; GAN: ${g.manifest.config.preset} preset at ${g.manifest.config.imageSize} px, ${g.manifest.config.epochs} epochs`,
    pairs,
    default: single,
    ceiling,
    segments: {
      default: {
        judgeUplift: sd.judgeUplift,
        heldOutUplift: sd.heldOutUplift ?? null,
        heldOutPairs,
        judgeMedianRankPct: sd.judgeMedianRankPct,
        inRange: sd.inRange,
        samplesInRange: segStudy.samples.inRange,
        segments: made.k,
        minMembers: Math.min(...made.segments.map((s) => s.members)),
        sizes: made.segments.map((s) => s.members),
        pairs: segStudy.pairs.test,
      },
      curve: segStudy.methods[1]!.test.map((f) => ({
        step: f.step,
        judgeUplift: f.judgeUplift,
        heldOutUplift: f.heldOutUplift ?? null,
        inRange: f.inRange,
        proxyUplift: f.proxyUplift,
      })),
      ceiling: {
        judgeUplift: segStudy.ceiling!.proxyFavourite.judgeUplift,
        proxyUplift: segStudy.ceiling!.proxyFavourite.proxyUplift,
        judgeFavouriteUplift: segStudy.ceiling!.judgeFavourite.judgeUplift,
      },
    },
    ...(study ? { study } : {}),
    when: new Date().toISOString(),
    load: loadavg()[0] ?? NaN,
    command: `npm run bench -- design-datasets ${args.join(' ')}`,
  };
  rmSync(work, { recursive: true, force: true });
  // the curves along the search (test pairs), as design.md draws them for Fashion-MNIST
  const curvesPng = join('bench', 'results', 'design-hm-curves.png');
  if (study) await writeCurves(study, curvesPng, 'H&M: along the search (test shoppers, shares of pairs / of designs)');
  // merge into design.json: the other datasets' entries kept
  const json = existsSync(RESULTS) ? (JSON.parse(readFileSync(RESULTS, 'utf8')) as { datasets: DatasetEntry[] }) : { datasets: [] };
  const kept = json.datasets.filter((d) => d.name !== name);
  const prev = json.datasets.find((d) => d.name === name);
  json.datasets = [
    ...kept,
    { ...(fm ? prev : {}), ...entry, ...(keepSingle && prev ? { command: `${prev.command.split('; ')[0]!}; ${entry.command}` } : {}) } as DatasetEntry,
  ].sort((a, b) => a.name.localeCompare(b.name));
  writeJsonAtomic(RESULTS, json);
  writeFileAtomic(join('bench', 'results', `design-${fm ? 'fashion-mnist' : 'hm'}.md`), markdown(entry, captions, figure).join('\n'));
  console.log(JSON.stringify({ default: entry.default, ceiling: entry.ceiling, segments: entry.segments }, null, 1));
}

function markdown(e: DatasetEntry, captions: string[], figure: string): string[] {
  const s = e.segments.default;
  const lines = [
    `# Designs on ${e.name}, judged: single shoppers and segments`,
    '',
    `\`${e.command}\` (bench/design-datasets.ts), ${e.when}, load ${e.load.toFixed(2)}. ${e.describe}.`,
    '',
    'The design shown for a pair is the best of its 8 by the proxy; **judge uplift**: the judge prefers it to the shop’s best item of the category for that shopper or segment (by the judge); **in range**: the share of the designs inside the GAN’s own samples’ realism range (the samples’ share beside it); **judge median rank**: where the pair’s judge score of the design ranks among every other shopper’s (for segments: among the other segments’ judge tastes; 0% = top). The **ceiling**: the proxy’s favourite real article the shop’s range does not hold — ' +
      e.ceiling.describe +
      ' — read by the judge as a design is: what a perfect generator would give a search that maximises the proxy.',
    '',
    '| for | pairs | judge uplift | judge median rank | in range | the samples in range | ceiling: the proxy’s favourite unsold article, judge uplift | the judge’s own favourite unsold article | held-out purchases: nearer than the best item |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    `| single shoppers (${e.default.method}, ${e.default.steps} steps) | ${e.pairs} | ${pct(e.default.judgeUplift)} | ${e.default.judgeMedianRankPct.toFixed(1)}% | ${pct(e.default.inRange)} | ${pct(e.default.samplesInRange)} | ${pct(e.ceiling.judgeUplift)} | ${pct(e.ceiling.judgeFavouriteUplift)} | – |`,
    `| segments (k = ${s.segments}: ${s.sizes.join(' / ')} members) | ${s.pairs} | ${pct(s.judgeUplift)} | ${s.judgeMedianRankPct.toFixed(1)}% | ${pct(s.inRange)} | ${pct(s.samplesInRange)} | ${pct(e.segments.ceiling.judgeUplift)} | ${pct(e.segments.ceiling.judgeFavouriteUplift)} | ${pct(s.heldOutUplift)} (of ${s.heldOutPairs} pairs) |`,
    '',
  ];
  const at = (step: number) => s && e.segments.curve.find((f) => f.step === step);
  lines.push(
    `Segments along a longer search (the box, 30 steps, the same ${s.pairs} pairs): ` +
      [4, 8, 15, 22, 30]
        .map((step) => at(step))
        .filter((f) => f !== undefined)
        .map((f) => `step ${f.step}: judge uplift ${pct(f.judgeUplift)}, held-out ${pct(f.heldOutUplift)}, in range ${pct(f.inRange)}`)
        .join('; ') +
      '.',
    '',
  );
  if (e.study) {
    lines.push(
      '## Single shoppers: the methods',
      '',
      `${e.study.pairs.valid} validation and ${e.study.pairs.test} test (shopper, category) pairs; the budget of the methods that search (box, shell) chosen on validation by the rule of design.md; the others at their fixed steps.`,
      '',
      '| method | steps | proxy uplift | judge uplift | judge median rank | in range | Fréchet | seconds |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      ...e.study.methods.map(
        (m) =>
          `| ${m.name} | ${m.budget} | ${pct(m.atBudget.proxyUplift)} | ${pct(m.atBudget.judgeUplift)} | ${m.atBudget.judgeMedianRankPct.toFixed(1)}% | ${pct(m.atBudget.inRange)} | ${m.atBudget.frechet.toFixed(2)} | ${m.seconds.toFixed(0)} |`,
      ),
      `| the GAN’s samples | – | – | – | – | ${pct(e.study.samples.inRange)} | ${e.study.samples.frechet.toFixed(2)} | – |`,
      '',
      '![curves along the search](design-hm-curves.png)',
      '',
    );
  }
  lines.push(
    '## What a person sees',
    '',
    `For a shopper and for a segment: the proxy’s four best real articles of the category (left of the gap), then four designs of the default preset; under each, the proxy’s score / the judge’s score (each model in its own units; a segment’s scores are its members’ mean standardised score).`,
    '',
    `![designs beside the best real articles](${figure.split('/').at(-1)})`,
    '',
    ...captions.map((c) => `- ${c}`),
    '',
  );
  return lines;
}
