/** `atelier ingest hm|folder|fashion-mnist|paper`: source → prepared dataset folder. */
import { resolve } from 'node:path';
import { ingestSchema, type IngestConfig } from '../config/data.js';
import { parseConfig } from '../config/parse.js';
import { checkDatasetOutput, prepareDataset, type Manifest, type RawDataset, type StagedSource } from '../data/dataset.js';
import { Problems } from '../data/problems.js';
import { readFashionMnist, FASHION_MNIST_DEFAULT } from '../data/read-fashion-mnist.js';
import { readFolder } from '../data/read-folder.js';
import { hmSource } from '../data/read-hm.js';
import { paperSource } from '../data/read-paper.js';
import type { Progress } from './progress.js';

export type SourceKind = 'hm' | 'folder' | 'fashion-mnist' | 'paper';

export async function runIngest(kind: SourceKind, folder: string | undefined, raw: Record<string, unknown>, progress: Progress): Promise<Manifest> {
  const cfg: IngestConfig = parseConfig(ingestSchema, raw);
  // refused before the (long) read: --out must be a dataset folder of ours, or new
  checkDatasetOutput(resolve(cfg.out), folder ?? FASHION_MNIST_DEFAULT);
  const problems = new Problems(cfg.onBad);
  let source: RawDataset | StagedSource;
  let read: ReturnType<Progress['stage']> | null = null;
  if (kind === 'paper') {
    // the authors' .npy: their split kept, photos decoded as the file is read (progress in per mille of the file)
    read = progress.stage('read', 1000);
    source = paperSource(folder ?? '', {
      imageSize: cfg.imageSize,
      fit: cfg.fit,
      problems,
      onProgress: (_stage, done, total) => read?.update(Math.floor((done / Math.max(total, 1)) * 1000)),
    });
  } else if (kind === 'hm') {
    // the photos are decoded while the transactions are read
    source = hmSource(folder ?? '', {
      imageSize: cfg.imageSize,
      fit: cfg.fit,
      categoryColumn: cfg.categoryColumn ?? 'product_group_name',
      problems,
      onProgress: (stage, done) => progress.event('read', { stage, rows: done }),
    });
  } else if (kind === 'folder') {
    source = await readFolder(folder ?? '', { categoryColumn: cfg.categoryColumn ?? 'category', problems });
  } else {
    source = readFashionMnist(folder ?? FASHION_MNIST_DEFAULT, {
      items: cfg.items,
      seed: cfg.seed,
      shoppers: { users: cfg.simulateShoppers, dims: cfg.tasteDims, sharpness: cfg.tasteSharpness, minItems: cfg.minUserItems, extraItems: cfg.extraItems },
    });
  }
  // made at the first photo, when its total is known (a staged source learns it as it reads)
  let bar: ReturnType<Progress['stage']> | null = null;
  const manifest = await prepareDataset(source, cfg.out, {
    imageSize: cfg.imageSize,
    fit: cfg.fit,
    split: cfg.split,
    minUserItems: cfg.minUserItems,
    kCore: cfg.kCore,
    minCategoryCount: cfg.minCategoryCount,
    seed: cfg.seed,
    problems,
    onProgress: (_stage, done, total) => (bar ??= progress.stage('images', total)).update(done),
  });
  read?.done({ items: manifest.counts.items });
  (bar ?? progress.stage('images', 0)).done({ decoded: manifest.images.decoded, reused: manifest.images.reused });
  return manifest;
}
