/** The encoder's start for DVBPR: a category (or attribute) classifier trained on the catalogue's photos, and its features for VBPR. */
import type { DvbprConfig } from '../config/dvbpr.js';
import type { Dataset } from '../data/dataset.js';
import { AttributeClassifier, Classifier } from '../models/classifier.js';
import { embedImages } from '../models/dvbpr.js';
import { trainClassifier } from '../train/classifier.js';
import type { TrainCallbacks } from '../train/events.js';
import type { PixelRows } from '../torch/index.js';

/** Category labels for the classifier: −1 for 'unknown' and 'other' (no real label). */
export function categoryLabels(ds: Dataset): { labels: Int32Array; classes: string[] } {
  const category = ds.attributes[0]!; // src/data/attributes.ts: the category comes first
  return { labels: category.labels, classes: category.classes };
}

export interface ClassifierJobResult {
  classifier: Classifier;
  classes: string[];
  heldOutAccuracy: number;
  /** held-out recall per class (absent for a classifier saved before it was recorded) */
  heldOutPerClass?: number[];
}

export async function trainCategoryClassifier(
  ds: Dataset,
  images: PixelRows,
  cfg: DvbprConfig,
  cb: TrainCallbacks,
  signal?: AbortSignal,
): Promise<ClassifierJobResult> {
  const { labels, classes } = categoryLabels(ds);
  const clf = new Classifier(cfg.encoder, Math.max(classes.length, 1), cfg.seed + 100);
  const r = await trainClassifier(
    clf,
    { images, labels },
    { epochs: Math.ceil(cfg.classifierEpochs), batch: 64, lr: 1e-3, seed: cfg.seed, callbacks: cb, ...(signal ? { signal } : {}) },
  );
  return { classifier: clf, classes, heldOutAccuracy: r.heldOutAccuracy, heldOutPerClass: r.heldOutPerClass };
}

/** The multi-attribute classifier (DVBPR's --init classifier): one head per attribute of the dataset. */
export interface AttributeJobResult {
  classifier: AttributeClassifier;
  /** the category's classes and held-out accuracy (the first head) */
  classes: string[];
  heldOutAccuracy: number;
  attributes: { name: string; classes: number; heldOutAccuracy: number }[];
}

export async function trainAttributeClassifier(
  ds: Dataset,
  images: PixelRows,
  cfg: DvbprConfig,
  cb: TrainCallbacks,
  signal?: AbortSignal,
): Promise<AttributeJobResult> {
  const attrs = ds.attributes;
  const clf = new AttributeClassifier(
    cfg.encoder,
    attrs.map((a) => Math.max(a.classes.length, 1)),
    cfg.seed + 100,
  );
  const r = await trainClassifier(
    clf,
    { images, labels: attrs.map((a) => a.labels) },
    { epochs: Math.ceil(cfg.classifierEpochs), batch: 64, lr: 1e-3, seed: cfg.seed, callbacks: cb, ...(signal ? { signal } : {}) },
  );
  return {
    classifier: clf,
    classes: attrs[0]!.classes,
    heldOutAccuracy: r.heldOutAccuracy,
    attributes: attrs.map((a, h) => ({ name: a.name, classes: a.classes.length, heldOutAccuracy: r.heldOutByHead[h]! })),
  };
}

/**
 * DVBPR's classifier start: the multi-attribute classifier where the dataset has attributes beyond
 * its category and the config asks for them; otherwise (Fashion-MNIST, the paper's data) the
 * category classifier, the one the GAN and VBPR use too.
 */
export function encoderStart(
  ds: Dataset,
  images: PixelRows,
  cfg: DvbprConfig,
  cb: TrainCallbacks,
  signal?: AbortSignal,
): Promise<ClassifierJobResult | AttributeJobResult> {
  return cfg.classifierAttributes === 'all' && ds.attributes.length > 1
    ? trainAttributeClassifier(ds, images, cfg, cb, signal)
    : trainCategoryClassifier(ds, images, cfg, cb, signal);
}

/** VBPR's off-the-shelf features: the category classifier's embedding of every item. */
export function classifierFeatures(clf: Classifier, images: PixelRows): { data: Float32Array; dim: number } {
  return { data: embedImages(clf.encoder, images), dim: clf.encoderConfig.k };
}
