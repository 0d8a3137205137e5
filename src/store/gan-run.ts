/**
 * A GAN run folder: manifest.json (config, categories, metrics per snapshot, best snapshot),
 * weights.safetensors (best snapshot's G and D), classifier.safetensors (the classifier of the
 * quality metrics, also used to judge designs), snapshots/*.png, checkpoint.*.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BadInputError, NotFoundError } from '../core/errors.js';
import type { GanConfig } from '../config/gan.js';
import type { EncoderConfig } from '../config/dvbpr.js';
import { loadClassifier, type Classifier } from '../models/classifier.js';
import { ConditionalGan } from '../models/gan.js';
import { loadSafetensors } from '../torch/index.js';
import { loadGanState } from '../train/gan.js';

export interface GanManifest {
  format: number;
  kind: 'gan';
  createdAt: string;
  finishedAt?: string;
  seed: number;
  config: GanConfig;
  categories: string[];
  leftOut: { category: string; items: number }[];
  classifier: { encoder: EncoderConfig; classes: string[]; heldOutAccuracy: number; heldOutPerClass?: number[] };
  dataset: { path: string; dataHash: string; imageSize: number };
  versions: Record<string, string>;
  metrics: { bestSnapshot: number; bestFrechet: number; snapshots: unknown[]; final?: Record<string, unknown>; /** quality with z = tanh(w), w ~ N(0, I): the codes the design starts from */ finalBounded?: Record<string, unknown> };
}

export interface LoadedGan {
  dir: string;
  manifest: GanManifest;
  gan: ConditionalGan;
  classifier: Classifier;
}

export function loadGanRun(dir: string): LoadedGan {
  const mpath = join(dir, 'manifest.json');
  if (!existsSync(mpath)) throw new BadInputError('missing file (is this a GAN run folder? run `atelier train gan`)', { file: mpath });
  const manifest = JSON.parse(readFileSync(mpath, 'utf8')) as GanManifest;
  if (manifest.kind !== 'gan') throw new BadInputError(`not a GAN run (kind '${manifest.kind}')`, { file: mpath });
  const gan = new ConditionalGan(manifest.config, manifest.categories, manifest.seed);
  loadGanState(gan, loadSafetensors(join(dir, 'weights.safetensors')).tensors, join(dir, 'weights.safetensors'));
  gan.generator.eval();
  gan.discriminator.eval();
  const classifier = loadClassifier(join(dir, 'classifier.safetensors'), manifest.classifier.encoder, manifest.classifier.classes.length);
  return { dir, manifest, gan, classifier };
}

export function ganCategoryIndex(g: LoadedGan, category: string): number {
  const c = g.manifest.categories.indexOf(category);
  if (c < 0) {
    const left = g.manifest.leftOut.find((l) => l.category === category);
    throw new NotFoundError(
      left ? `GAN category (left out of training: ${left.items} items; trained on ${g.manifest.categories.join(', ')})` : `GAN category (trained on ${g.manifest.categories.join(', ')})`,
      category,
    );
  }
  return c;
}
