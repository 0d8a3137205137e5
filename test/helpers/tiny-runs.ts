/** A tiny shop on disk (16 px; tops, shoes and a lone 'hats' item), a DVBPR run and a GAN run. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runIngest } from '../../src/app/ingest.js';
import { createProgress } from '../../src/app/progress.js';
import { imagesTensor, trainDvbprJob } from '../../src/app/train-recommender.js';
import { trainGanJob } from '../../src/app/train-gan.js';
import { dvbprPreset } from '../../src/config/dvbpr.js';
import { ganPreset } from '../../src/config/gan.js';
import { loadDataset, type Dataset } from '../../src/data/dataset.js';
import { makeShop, tempDir } from './fixtures.js';

export interface TinyRuns {
  root: string;
  run: string;
  gan: string;
  ds: Dataset;
}

export async function tinyRuns(): Promise<TinyRuns> {
  const quiet = createProgress({ quiet: true });
  const shop = await makeShop(16, 8, 6);
  const items = readFileSync(join(shop.dir, 'items.csv'), 'utf8').split('\n');
  items[1] = items[1]!.replace(/,shoes$/, ',hats');
  writeFileSync(join(shop.dir, 'items.csv'), items.join('\n'));
  const root = tempDir('atelier-tiny-');
  const data = join(root, 'data');
  // the paper's random split, as these fixtures were made (a dated shop now defaults to the temporal split)
  await runIngest('folder', shop.dir, { out: data, imageSize: 16, minCategoryCount: 1, split: 'paper' }, quiet);
  const ds = loadDataset(data);
  const images = imagesTensor(ds);
  const run = join(root, 'run');
  await trainDvbprJob(ds, images, { out: run, config: { ...dvbprPreset('tiny', 16), epochs: 2 }, resume: false, callbacks: {} });
  const gan = join(root, 'gan');
  await trainGanJob(
    ds,
    images,
    { ...ganPreset('tiny', 16), epochs: 2, snapshots: 1, minCategoryItems: 2 },
    { out: gan, resume: false, progress: quiet, classifierEpochs: 1, qualitySamples: 10 },
  );
  images.dispose();
  return { root, run, gan, ds };
}
