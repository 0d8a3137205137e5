/** `atelier design` and `atelier improve`: outputs images, the paper's figure and the trajectories. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BadInputError } from '../core/errors.js';
import { writeJsonAtomic } from '../core/fs.js';
import { grid, writePng } from '../data/png.js';
import { designForShopper, improveForShopper, type ShopperDesign } from '../store/designs.js';
import { loadGanRun } from '../store/gan-run.js';
import { loadRun } from '../store/run.js';

const num = (v: unknown, name: string, min: number, max: number): number => {
  const x = Number(v);
  if (!Number.isInteger(x) || x < min || x > max) throw new BadInputError(`--${name} must be an integer in ${min}..${max}, got '${String(v)}'`);
  return x;
};

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

const positive = (v: unknown, name: string): number => {
  const x = Number(v);
  if (!Number.isFinite(x) || x < 0) throw new BadInputError(`--${name} must be a number ≥ 0, got '${String(v)}'`);
  return x;
};

const tasteOf = (v: string | undefined): 'own' | 'distinctive' => {
  if (v === undefined || v === 'own' || v === 'distinctive') return v ?? 'own';
  throw new BadInputError(`--taste must be own or distinctive, got '${v}'`);
};

export async function runDesign(o: { run: string; gan: string; user: string; category: string; n: string; steps: string; out: string; seed?: string; eta?: string; taste?: string; anchor?: string; candidates?: string; guard?: string; bound?: string }) {
  const n = num(o.n, 'n', 1, 64);
  const steps = num(o.steps, 'steps', 0, 10000);
  const eta = positive(o.eta ?? '1', 'eta');
  const taste = tasteOf(o.taste);
  const anchor = positive(o.anchor ?? '0', 'anchor');
  const candidates = o.candidates === undefined ? n : num(o.candidates, 'candidates', n, 65536);
  const guard = Number(o.guard ?? '0');
  if (!(guard >= 0 && guard <= 1)) throw new BadInputError(`--guard must be a share in [0, 1] (0 = off), got '${o.guard}'`);
  const bound = o.bound ?? 'box';
  if (bound !== 'box' && bound !== 'shell') throw new BadInputError(`--bound must be box or shell, got '${o.bound}'`);
  const run = loadRun(o.run);
  const g = loadGanRun(o.gan);
  const d = designForShopper(run, g, { userId: o.user, category: o.category, n, steps, eta, taste, anchor, candidates, guard, bound, seed: o.seed ? Number(o.seed) : 1 });
  mkdirSync(o.out, { recursive: true });
  const gs = d.design.imageSize;
  for (let i = 0; i < n; i++) {
    await writePng(join(o.out, `design-${String(i).padStart(2, '0')}.png`), grid(d.design.images.subarray(i * gs * gs * 3, (i + 1) * gs * gs * 3), 1, { size: gs, cols: 1, zoom: 4, pad: 0 }));
  }
  await writeFigure(join(o.out, 'figure.png'), d);
  const summary = {
    userId: d.userId,
    category: d.category,
    steps,
    settings: { eta, taste, anchor, candidates, guard, bound },
    designs: d.design.finalScores.map((s, i) => ({ image: `design-${String(i).padStart(2, '0')}.png`, score: s, realism: d.design.realism[i], ...(d.design.guard ? { step: d.design.guard.chosenStep[i], distance: d.design.guard.distance[i] } : {}) })),
    ...(d.design.guard ? { guardRange: { maxDistance: d.design.guard.maxDistance, minRealism: d.design.guard.minRealism } } : {}),
    bestReal: d.bestReal,
    trajectory: { scores: d.design.scores, objective: d.design.objective },
    uplift: Math.max(...d.design.finalScores) - (d.bestReal[0]?.score ?? NaN),
  };
  writeJsonAtomic(join(o.out, 'scores.json'), summary);
  return summary;
}

export async function runImprove(o: { run: string; gan: string; user: string; item: string; steps: string; out: string; seed?: string }) {
  const steps = num(o.steps, 'steps', 0, 10000);
  const run = loadRun(o.run);
  const g = loadGanRun(o.gan);
  const r = improveForShopper(run, g, { userId: o.user, itemId: o.item, steps, seed: o.seed ? Number(o.seed) : 1 });
  mkdirSync(o.out, { recursive: true });
  const gs = r.imageSize;
  const per = gs * gs * 3;
  const names = ['original', 'reconstruction', 'improved'] as const;
  for (let k = 0; k < 3; k++) await writePng(join(o.out, `${names[k]}.png`), grid(r.triptych.subarray(k * per, (k + 1) * per), 1, { size: gs, cols: 1, zoom: 4, pad: 0 }));
  await writePng(
    join(o.out, 'figure.png'),
    grid(r.triptych, 3, { size: gs, cols: 3, zoom: gs < 48 ? 3 : 2, labels: [r.scores.original, r.scores.reconstruction, r.scores.improved].map((s) => s.toFixed(2)) }),
  );
  const summary = {
    userId: r.userId,
    itemId: r.itemId,
    category: r.category,
    scores: r.scores,
    reconstructionL1: r.result.projection.l1.at(-1),
    randomCodeL1: r.result.projection.randomL1,
    trajectory: { projectionL1: r.result.projection.l1, scores: r.result.design.scores.map((s) => s[0]), objective: r.result.design.objective.map((s) => s[0]) },
  };
  writeJsonAtomic(join(o.out, 'trajectory.json'), summary);
  return summary;
}
