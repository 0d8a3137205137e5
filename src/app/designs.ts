/**
 * The design service, from saved runs: `designForShopper` (new items in a category) and
 * `improveForShopper` (an existing item moved towards the shopper's taste), each also as a plan
 * (validated at once: unknown shopper, category or item) and its run, so that the server checks a
 * request before it starts streaming and runs the search asynchronously. `designToFolder` and
 * `improveToFolder` write what `atelier design|improve` leave: images, the paper's figure, scores.
 * Real item images come from the run's dataset folder (its images.u8) or the run's uploads.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../core/fs.js';
import { DESIGN_PRESETS, designPreset, IMPROVE_DEFAULTS, type DesignRequestSettings, type DesignSettings } from '../config/design.js';
import { BadInputError, NotFoundError } from '../core/errors.js';
import { ImageCache } from '../data/images.js';
import { improveItem, improveItemAsync, type ImproveOptions, type ImproveProgress, type ImproveResult } from '../design/improve.js';
import {
  maximisePreference,
  maximisePreferenceAsync,
  type DesignModels,
  type DesignGuard,
  type DesignOptions,
  type DesignProgress,
  type DesignResult,
  type GuardRangeCache,
} from '../design/maximise.js';
import { interpolate, noGrad, tensor, tidy } from '../torch/index.js';
import { DvbprScorer, embedPixels } from '../models/dvbpr.js';
import { toInput, toUint8 } from '../models/encoder.js';
import { ganCategoryIndex, type LoadedGan } from '../store/gan-run.js';
import { recommend, topKWhere } from '../store/recommend.js';
import { meanTasteOf, segmentScaleOf, segmentThetaOf } from './segments.js';
import { categoryIndexOf, dvbprOf, thetaOf, userIndexOf, type LoadedRun } from '../store/run.js';
import { assertNotArtifactFolder } from '../store/run-commit.js';
import { grid, writePng } from './figures.js';

export interface ShopperDesign {
  userId: string;
  /** the segment the design is for (its taste θ_S; the best real items are the segment's) */
  segment?: string;
  category: string;
  design: DesignResult;
  /** the shopper's best real items of the category: ids, scores, uint8 images [k, S, S, 3] at the dataset's size */
  bestReal: { itemId: string; score: number }[];
  realImages: Uint8Array;
  /** dataset image size; designs are resized to it for side-by-side figures */
  imageSize: number;
  designImagesAtDatasetSize: Uint8Array;
}

let imageCache: ImageCache | null = null;

/** The image cache of the run's dataset, [N₀, S, S, 3], read by rows; items added later are not in it. */
export function catalogueImages(run: LoadedRun): { images: ImageCache; size: number } {
  const path = join(run.manifest.dataset.path, 'images.u8');
  if (!existsSync(path))
    throw new BadInputError(`the run's dataset images are not at ${path} (the dataset folder moved?)`, { file: join(run.dir, 'manifest.json') });
  if (!imageCache || imageCache.path !== path) imageCache = ImageCache.open(path, run.manifest.dataset.items, run.manifest.dataset.imageSize);
  return { images: imageCache, size: run.manifest.dataset.imageSize };
}

const greyCache = new WeakMap<LoadedRun, { items: number; grey: boolean }>();

/** Whether every photo of the run's catalogue is grey (R = G = B in every pixel), uploads included. */
export function catalogueIsGrey(run: LoadedRun): boolean {
  const items = run.catalogue.itemIds.length;
  const known = greyCache.get(run);
  if (known && known.items === items) return known.grey;
  let grey = true;
  for (let i = 0; i < items && grey; i++) {
    const px = itemPixels(run, i);
    for (let p = 0; p < px.length; p += 3) {
      if (px[p] !== px[p + 1] || px[p] !== px[p + 2]) {
        grey = false;
        break;
      }
    }
  }
  greyCache.set(run, { items, grey });
  return grey;
}

/** G, D and Φ for designing in this run's catalogue (grey designs for a grey catalogue). */
export function designModels(run: LoadedRun, g: LoadedGan): DesignModels {
  return { gan: g.gan, encoder: dvbprOf(run).encoder, grey: catalogueIsGrey(run) };
}

/** One catalogue item's image, uint8 [S, S, 3] at the dataset's size: from the dataset, or the upload's fitted pixels. */
export function itemPixels(run: LoadedRun, i: number): Uint8Array {
  const added = run.catalogue.addedPixels.get(i);
  if (added) return added;
  return catalogueImages(run).images.row(i);
}

/** Φ of uint8 images [n, S, S, 3] of any size S (e.g. the GAN's), resized to Φ's input in the graph: [n, K]. */
export function embedWithRun(run: LoadedRun, u8: Uint8Array, n: number, size: number): Float32Array {
  return embedPixels(dvbprOf(run).encoder, u8, n, size);
}

/** Resize uint8 images [n, s, s, 3] to [n, t, t, 3] (bilinear). */
export function resizeU8(u8: Uint8Array, n: number, from: number, to: number): Uint8Array {
  if (from === to) return u8;
  return noGrad(() => tidy(() => toUint8(interpolate(toInput(tensor(u8, [n, from, from, 3])), [to, to], 'bilinear')).data<'uint8'>()));
}

function pickRows(run: LoadedRun, items: number[]): Uint8Array {
  const per = run.manifest.dataset.imageSize ** 2 * 3;
  const out = new Uint8Array(items.length * per);
  items.forEach((i, r) => out.set(itemPixels(run, i), r * per));
  return out;
}

/**
 * A design request: who and which category, and the search's settings as config/design.ts
 * resolves them (a preset, any setting overriding it). `realItems`: how many real items to show beside.
 */
export type DesignRequest = DesignRequestSettings & {
  userId: string;
  category: string;
  realItems?: number;
  /** design for this segment's taste (app/segments.ts) instead of the shopper's; `userId` is then only a label */
  segment?: string;
};

/** A request from a preset, with any settings overridden (library callers: the demo, the study, tests). */
export function designRequest(userId: string, category: string, settings: Partial<DesignRequestSettings> = {}, realItems?: number): DesignRequest {
  const base = designPreset(settings.preset ?? 'default', settings.n ?? 8, settings.seed ?? 1);
  return { ...base, ...settings, userId, category, ...(realItems !== undefined ? { realItems } : {}) };
}

/** The k items of a category a taste θ scores highest (θᵀΦ(x_i), the run's embeddings), best first. */
export function bestRealFor(run: LoadedRun, theta: Float32Array, category: string, k: number): { itemId: string; score: number }[] {
  const ci = categoryIndexOf(run.catalogue, category);
  const scorer = run.recommender;
  if (!(scorer instanceof DvbprScorer))
    throw new BadInputError(`run kind '${run.manifest.kind}' stores no item embeddings`, { file: join(run.dir, 'manifest.json') });
  const rows = Int32Array.from([...run.catalogue.itemCategory.keys()].filter((i) => run.catalogue.itemCategory[i] === ci));
  const e = scorer.embeddingsOf(rows);
  const K = theta.length;
  const scores = Float64Array.from(rows, (_, r) => e.subarray(r * K, (r + 1) * K).reduce((acc, v, q) => acc + v * theta[q]!, 0));
  return topKWhere(scores, k, () => true).map((r) => ({ itemId: run.catalogue.itemIds[rows[r]!]!, score: scores[r]! }));
}

/** Φ [M, K] of the catalogue's items of one category, from the run's stored embeddings. */
export function categoryEmbeddings(run: LoadedRun, category: string): Float32Array {
  const ci = categoryIndexOf(run.catalogue, category);
  const scorer = run.recommender;
  if (!(scorer instanceof DvbprScorer))
    throw new BadInputError(`run kind '${run.manifest.kind}' stores no item embeddings`, { file: join(run.dir, 'manifest.json') });
  const rows = Int32Array.from([...run.catalogue.itemCategory.keys()].filter((i) => run.catalogue.itemCategory[i] === ci));
  return scorer.embeddingsOf(rows);
}

/**
 * The search's options from design settings (config/design.ts, the one design spec: a request's
 * resolved settings, or a study method's, the default preset's values where it gives none): lr, η,
 * smoothing, and random starts (with the guard, when given).
 */
export function searchOf(given: Partial<DesignSettings>, guard?: DesignGuard): Pick<DesignOptions, 'lr' | 'eta' | 'smooth' | 'start'> {
  const s = { ...DESIGN_PRESETS.default, ...given };
  return {
    lr: s.lr,
    eta: s.eta,
    ...(s.smooth ? { smooth: { sigma: s.smooth, copies: s.smoothCopies } } : {}),
    start: {
      kind: 'random',
      bound: s.bound,
      ...(s.initScale !== 1 ? { initScale: s.initScale } : {}),
      ...(s.anchor ? { anchor: s.anchor } : {}),
      ...(s.candidates ? { candidates: s.candidates } : {}),
      ...(guard ? { guard } : {}),
    },
  };
}

/** The maximisation's options for a request: GAN category index c, the objective's θ. */
export function designOptionsOf(run: LoadedRun, r: DesignRequest, c: number, theta: Float32Array, guardCache?: GuardRangeCache): DesignOptions {
  const guard = r.guard ? { real: categoryEmbeddings(run, r.category), quantile: r.guard, ...(guardCache ? { cache: guardCache } : {}) } : undefined;
  return { theta, category: c, n: r.n, steps: r.steps, seed: r.seed, ...searchOf(r, guard) };
}

export function scoresOf(run: LoadedRun, theta: Float32Array, u8: Uint8Array, n: number, size: number): number[] {
  const e = embedWithRun(run, u8, n, size);
  const k = theta.length;
  return Array.from({ length: n }, (_, a) => e.subarray(a * k, (a + 1) * k).reduce((acc, v, q) => acc + v * theta[q]!, 0));
}

/** θ_u − θ̄ (θ̄ the mean over every shopper) [K]. */
export function distinctiveThetaOf(run: LoadedRun, userId: string): Float32Array {
  const own = thetaOf(run, userId);
  const all = dvbprOf(run).theta.data(); // [U, K]
  const k = own.length;
  const u = all.length / k;
  const out = Float32Array.from(own);
  for (let v = 0; v < u; v++) for (let q = 0; q < k; q++) out[q]! -= all[v * k + q]! / u;
  return out;
}

/** A design request checked against the run and the GAN, ready to run. */
export interface DesignPlan {
  request: DesignRequest;
  /** the shopper's own θ_u, and the θ the search maximises (θ_u, or θ_u − θ̄; for a segment, scaled by `scale`) */
  theta: Float32Array;
  objectiveTheta: Float32Array;
  /** a segment's objective is its taste times this (segmentScaleOf); the scores reported are divided back */
  scale: number;
  models: DesignModels;
  options: DesignOptions;
}

/** Checks the request (shopper, category, the GAN's category) and builds the search's options. */
export function planDesign(run: LoadedRun, g: LoadedGan, r: DesignRequest, guardCache?: GuardRangeCache): DesignPlan {
  const theta = r.segment !== undefined ? segmentThetaOf(run, r.segment) : thetaOf(run, r.userId);
  categoryIndexOf(run.catalogue, r.category);
  const c = ganCategoryIndex(g, r.category);
  const distinctive = () => {
    if (r.segment === undefined) return distinctiveThetaOf(run, r.userId);
    const mean = meanTasteOf(run);
    return Float32Array.from(theta, (v, a) => v - mean[a]!);
  };
  const unscaled = r.taste === 'distinctive' ? distinctive() : theta;
  // a segment's taste weighed against realism as a typical member's is (app/segments.ts segmentScaleOf)
  const scale = r.segment !== undefined ? segmentScaleOf(run, r.segment) : 1;
  const objectiveTheta = scale === 1 ? unscaled : Float32Array.from(unscaled, (v) => v * scale);
  return { request: r, theta, objectiveTheta, scale, models: designModels(run, g), options: designOptionsOf(run, r, c, objectiveTheta, guardCache) };
}

/** The designs beside the shopper's best real items of the category, each with the shopper's own score. */
function withBestReal(run: LoadedRun, p: DesignPlan, design: DesignResult): ShopperDesign {
  const r = p.request;
  // the shopper's own scores θ_uᵀΦ of the final designs (the per-step `scores` stay the objective's, unscaled)
  if (p.objectiveTheta !== p.theta) design.finalScores = scoresOf(run, p.theta, design.images, r.n, design.imageSize);
  if (p.scale !== 1) design.scores = design.scores.map((step) => step.map((s) => s / p.scale));
  const best = r.segment !== undefined ? bestRealFor(run, p.theta, r.category, r.realItems ?? r.n) : null;
  const [rec] = best ? [null] : recommend(run.recommender, run.catalogue, [r.userId], { k: r.realItems ?? r.n, category: r.category });
  const bestReal = best ?? rec!.items.map((it) => ({ itemId: it.itemId, score: it.score }));
  const size = run.manifest.dataset.imageSize;
  const idx = bestReal.map((it) => run.catalogue.itemIndex.get(it.itemId)!);
  return {
    userId: r.userId,
    ...(r.segment !== undefined ? { segment: r.segment } : {}),
    category: r.category,
    design,
    bestReal,
    realImages: pickRows(run, idx),
    imageSize: size,
    designImagesAtDatasetSize: resizeU8(design.images, r.n, design.imageSize, size),
  };
}

export function designForShopper(run: LoadedRun, g: LoadedGan, r: DesignRequest): ShopperDesign {
  const p = planDesign(run, g, r);
  return withBestReal(run, p, maximisePreference(p.models, p.options));
}

/** A planned design run asynchronously: it yields between steps, reports each, and stops on `signal`. */
export async function runDesignPlan(
  run: LoadedRun,
  p: DesignPlan,
  o: { signal?: AbortSignal; onStep?: (p: DesignProgress) => void } = {},
): Promise<ShopperDesign> {
  // progress in the unscaled objective's scores (a score is linear in θ)
  const onStep = o.onStep && p.scale !== 1 ? (s: DesignProgress) => o.onStep!({ ...s, scores: s.scores.map((x) => x / p.scale) }) : o.onStep;
  return withBestReal(run, p, await maximisePreferenceAsync(p.models, p.options, { ...o, ...(onStep ? { onStep } : {}) }));
}

export interface ImproveRequest {
  userId: string;
  itemId: string;
  steps: number;
  projectSteps?: number;
  seed?: number;
  gamma?: number;
}

export interface ShopperImprovement {
  userId: string;
  itemId: string;
  category: string;
  result: ImproveResult;
  /** uint8 [3, S, S, 3] at the GAN's size: original, reconstruction, improved */
  triptych: Uint8Array;
  imageSize: number;
  scores: { original: number; reconstruction: number; improved: number };
}

/** An improvement request checked against the run and the GAN (shopper, item, the item's GAN category). */
export interface ImprovePlan {
  request: ImproveRequest;
  theta: Float32Array;
  itemIndex: number;
  category: string;
  ganCategory: number;
}

export function planImprovement(run: LoadedRun, g: LoadedGan, r: ImproveRequest): ImprovePlan {
  const theta = thetaOf(run, r.userId);
  const i = run.catalogue.itemIndex.get(r.itemId);
  if (i === undefined) throw new NotFoundError('item', r.itemId);
  const category = run.catalogue.categories[run.catalogue.itemCategory[i]!]!;
  return { request: r, theta, itemIndex: i, category, ganCategory: ganCategoryIndex(g, category) };
}

export function improveForShopper(run: LoadedRun, g: LoadedGan, r: ImproveRequest): ShopperImprovement {
  return runImprovePlan(run, g, planImprovement(run, g, r));
}

/** What `improve` does to an item (its image at the GAN's size) for a shopper θ: the request's steps, the rest the defaults. */
export function improveOptions(
  image: Uint8Array,
  ganCategory: number,
  theta: Float32Array,
  r: Pick<ImproveRequest, 'steps' | 'projectSteps' | 'seed' | 'gamma'>,
): ImproveOptions {
  const d = IMPROVE_DEFAULTS;
  return {
    image,
    category: ganCategory,
    starts: d.starts,
    steps: r.projectSteps ?? d.projectSteps,
    lr: d.projectLr,
    alpha: d.alpha,
    seed: r.seed ?? d.seed,
    theta,
    improveSteps: r.steps,
    improveLr: d.lr,
    eta: d.eta,
    gamma: r.gamma ?? d.gamma,
  };
}

export function runImprovePlan(run: LoadedRun, g: LoadedGan, p: ImprovePlan): ShopperImprovement {
  const { original, gs } = improveStart(run, g, p);
  return improvement(run, p, original, gs, improveItem(designModels(run, g), improveOptions(original, p.ganCategory, p.theta, p.request)));
}

/** runImprovePlan with the event loop let through between steps, each step reported, stopped when `signal` aborts. */
export async function runImprovePlanAsync(
  run: LoadedRun,
  g: LoadedGan,
  p: ImprovePlan,
  hooks: { onStep?: (s: ImproveProgress) => void; signal?: AbortSignal } = {},
): Promise<ShopperImprovement> {
  const { original, gs } = improveStart(run, g, p);
  return improvement(run, p, original, gs, await improveItemAsync(designModels(run, g), improveOptions(original, p.ganCategory, p.theta, p.request), hooks));
}

/** The item's image at the GAN's size. */
function improveStart(run: LoadedRun, g: LoadedGan, p: ImprovePlan): { original: Uint8Array; gs: number } {
  const gs = g.manifest.config.imageSize;
  return { original: resizeU8(itemPixels(run, p.itemIndex), 1, run.manifest.dataset.imageSize, gs), gs };
}

function improvement(run: LoadedRun, p: ImprovePlan, original: Uint8Array, gs: number, result: ImproveResult): ShopperImprovement {
  const { request: r, theta, itemIndex: i, category } = p;
  const triptych = new Uint8Array(3 * gs * gs * 3);
  triptych.set(original, 0);
  triptych.set(result.projection.reconstruction, gs * gs * 3);
  triptych.set(result.design.images, 2 * gs * gs * 3);
  return {
    userId: r.userId,
    itemId: r.itemId,
    category,
    result,
    triptych,
    imageSize: gs,
    scores: {
      original: run.recommender.scoreUsers(Int32Array.of(userIndexOf(run.catalogue, r.userId)))[i]!,
      reconstruction: scoresOf(run, theta, result.projection.reconstruction, 1, gs)[0]!,
      improved: result.design.finalScores[0]!,
    },
  };
}

/** The paper's figure: best real items (left) | designs (right), each labelled with its score. */
export async function writeFigure(path: string, d: ShopperDesign): Promise<void> {
  const k = d.bestReal.length;
  const n = d.design.finalScores.length;
  const tiles = new Uint8Array((k + n) * d.imageSize * d.imageSize * 3);
  tiles.set(d.realImages, 0);
  tiles.set(d.designImagesAtDatasetSize, k * d.imageSize * d.imageSize * 3);
  const labels = [...d.bestReal.map((r) => r.score.toFixed(2)), ...d.design.finalScores.map((s) => s.toFixed(2))];
  await writePng(path, grid(tiles, k + n, { size: d.imageSize, cols: k + n, zoom: d.imageSize < 48 ? 3 : 2, labels, splitAfter: k }));
}

/** One image as a PNG tile of its own (no padding), zoomed for a person to see. */
export async function writeTile(path: string, u8: Uint8Array, size: number, zoom: number): Promise<void> {
  await writePng(path, grid(u8, 1, { size, cols: 1, zoom, pad: 0 }));
}

/** A request's search settings, as scores.json records them. */
export function designSettingsOf(r: DesignRequestSettings) {
  const { preset, steps, lr, eta, bound, initScale, candidates, anchor, guard, smooth, smoothCopies, taste } = r;
  return { preset, steps, lr, eta, bound, initScale, candidates, anchor, guard, smooth, smoothCopies, taste };
}

/** `atelier design`: design-XX.png, figure.png and scores.json in `out`; returns the summary. */
export async function designToFolder(run: LoadedRun, g: LoadedGan, r: DesignRequest, out: string) {
  assertNotArtifactFolder(out, 'design'); // before the search, not after it
  const d = designForShopper(run, g, r);
  mkdirSync(out, { recursive: true });
  const gs = d.design.imageSize;
  for (let i = 0; i < r.n; i++)
    await writeTile(join(out, `design-${String(i).padStart(2, '0')}.png`), d.design.images.subarray(i * gs * gs * 3, (i + 1) * gs * gs * 3), gs, 4);
  await writeFigure(join(out, 'figure.png'), d);
  const summary = {
    userId: d.userId,
    ...(d.segment !== undefined ? { segment: d.segment, members: run.catalogue.segments.get(d.segment)!.length } : {}),
    category: d.category,
    steps: r.steps,
    settings: designSettingsOf(r),
    designs: d.design.finalScores.map((s, i) => ({
      image: `design-${String(i).padStart(2, '0')}.png`,
      score: s,
      realism: d.design.realism[i],
      ...(d.design.guard ? { step: d.design.guard.chosenStep[i], distance: d.design.guard.distance[i] } : {}),
    })),
    ...(d.design.guard ? { guardRange: { maxDistance: d.design.guard.maxDistance, minRealism: d.design.guard.minRealism } } : {}),
    bestReal: d.bestReal,
    trajectory: { scores: d.design.scores, objective: d.design.objective },
    uplift: Math.max(...d.design.finalScores) - (d.bestReal[0]?.score ?? NaN),
  };
  writeJsonAtomic(join(out, 'scores.json'), summary);
  return summary;
}

/** `atelier improve`: original/reconstruction/improved.png, figure.png and trajectory.json in `out`. */
export async function improveToFolder(run: LoadedRun, g: LoadedGan, r: ImproveRequest, out: string) {
  assertNotArtifactFolder(out, 'improve');
  const imp = improveForShopper(run, g, r);
  mkdirSync(out, { recursive: true });
  const gs = imp.imageSize;
  const per = gs * gs * 3;
  const names = ['original', 'reconstruction', 'improved'] as const;
  for (let k = 0; k < 3; k++) await writeTile(join(out, `${names[k]}.png`), imp.triptych.subarray(k * per, (k + 1) * per), gs, 4);
  await writePng(
    join(out, 'figure.png'),
    grid(imp.triptych, 3, {
      size: gs,
      cols: 3,
      zoom: gs < 48 ? 3 : 2,
      labels: [imp.scores.original, imp.scores.reconstruction, imp.scores.improved].map((s) => s.toFixed(2)),
    }),
  );
  const summary = {
    userId: imp.userId,
    itemId: imp.itemId,
    category: imp.category,
    scores: imp.scores,
    reconstructionL1: imp.result.projection.l1.at(-1),
    randomCodeL1: imp.result.projection.randomL1,
    trajectory: {
      projectionL1: imp.result.projection.l1,
      scores: imp.result.design.scores.map((s) => s[0]),
      objective: imp.result.design.objective.map((s) => s[0]),
    },
  };
  writeJsonAtomic(join(out, 'trajectory.json'), summary);
  return summary;
}
