/** `atelier sample`: a grid of generated items of one category. */
import { generate } from '../eval/gan-quality.js';
import { ganCategoryIndex, loadGanRun } from '../store/gan-run.js';
import { Generator, randn, tidy } from '../torch/index.js';
import { grid, writePng } from './figures.js';

export async function sampleGrid(o: { gan: string; category: string; n: number; out: string; seed: number }): Promise<string> {
  const n = o.n;
  const g = loadGanRun(o.gan);
  const c = ganCategoryIndex(g, o.category);
  const imgs = tidy(() => generate(g.gan, c, randn([n, g.manifest.config.zDim], new Generator(o.seed))).data<'uint8'>());
  const size = g.manifest.config.imageSize;
  await writePng(o.out, grid(imgs, n, { size, cols: Math.min(8, n), zoom: size < 48 ? 2 : 1 }));
  return o.out;
}
