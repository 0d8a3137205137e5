/**
 * A GAN run folder: manifest.json (config, categories, metrics per snapshot, best snapshot),
 * weights.safetensors (best snapshot's G and D), classifier.safetensors (the classifier of the
 * quality metrics, also used to judge designs), snapshots/*.png, checkpoint.*.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { encoderSchema } from '../config/dvbpr.js';
import { ganSchema } from '../config/gan.js';
import { BadInputError, NotFoundError } from '../core/errors.js';
import { readJsonFile } from '../core/fs.js';
import { loadClassifier, type Classifier } from '../models/classifier.js';

import { loadSafetensors } from '../torch/index.js';
import { jsonNumber, parseManifest } from './run.js';
import { ConditionalGan, loadGanState } from '../models/gan.js';

/** The manifest's format (1: the first and only so far). */
export const GAN_FORMAT = 1;

/** eval/gan-quality.ts's GanQuality as the manifest keeps it. */
const ganQualitySchema = z.object({
  frechet: jsonNumber,
  categoryAgreement: jsonNumber,
  inceptionScore: jsonNumber,
  perCategory: z.array(z.object({ category: z.string(), frechet: jsonNumber, agreement: jsonNumber })),
});

const snapshotRecord = z.object({
  snapshot: z.number().int(),
  step: z.number().int(),
  epoch: z.number(),
  dLoss: jsonNumber,
  gLoss: jsonNumber,
  metrics: z.record(z.string(), jsonNumber),
});

export const ganManifestSchema = z.object({
  format: z.literal(GAN_FORMAT),
  kind: z.literal('gan'),
  createdAt: z.string(),
  finishedAt: z.string().optional(),
  seed: z.number().int(),
  config: ganSchema,
  categories: z.array(z.string()),
  leftOut: z.array(z.object({ category: z.string(), items: z.number().int() })),
  classifier: z.object({ encoder: encoderSchema, classes: z.array(z.string()), heldOutAccuracy: jsonNumber, heldOutPerClass: z.array(jsonNumber).optional() }),
  dataset: z.object({ path: z.string(), dataHash: z.string(), imageSize: z.number().int() }),
  versions: z.record(z.string(), z.string()),
  metrics: z.object({
    bestSnapshot: z.number().int(),
    // Infinity (nothing measured yet) is written as null
    bestFrechet: z.preprocess((v) => (v === null ? Infinity : v), z.union([z.number(), z.custom<number>((v) => v === Infinity)])),
    snapshots: z.array(snapshotRecord),
    final: ganQualitySchema.optional(),
    /** quality with z = tanh(w), w ~ N(0, I): the codes the design starts from */
    finalBounded: ganQualitySchema.optional(),
  }),
});

export type GanManifest = z.infer<typeof ganManifestSchema>;

/** Reads and checks a GAN run's manifest.json. */
export function readGanManifest(dir: string): GanManifest {
  const mpath = join(dir, 'manifest.json');
  if (!existsSync(mpath)) throw new BadInputError('missing file (is this a GAN run folder? run `atelier train gan`)', { file: mpath });
  const raw = readJsonFile<{ kind?: unknown }>(mpath, 'a GAN run folder');
  if (raw.kind !== 'gan') throw new BadInputError(`not a GAN run (kind '${String(raw.kind)}')`, { file: mpath });
  return parseManifest(ganManifestSchema, raw, mpath);
}

export interface LoadedGan {
  dir: string;
  manifest: GanManifest;
  gan: ConditionalGan;
  classifier: Classifier;
}

export function loadGanRun(dir: string): LoadedGan {
  const manifest = readGanManifest(dir);
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
      left
        ? `GAN category (left out of training: ${left.items} items; trained on ${g.manifest.categories.join(', ')})`
        : `GAN category (trained on ${g.manifest.categories.join(', ')})`,
      category,
    );
  }
  return c;
}
