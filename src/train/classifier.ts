/**
 * Trains a classifier (models/classifier.ts: the category classifier, or the multi-attribute one
 * with a head per attribute) with cross-entropy on the labelled catalogue items. Each head's loss is
 * the mean over the batch's items labelled for it (a missing label, −1, is masked out); the heads'
 * losses add. A task of the one training loop (train/loop.ts); short (a few epochs), so it
 * restarts rather than resumes, and keeps its last weights.
 */
import { Rng } from '../core/rng.js';
import { Adam, noGrad, tensor, tidy, type Tensor, type PixelRows } from '../torch/index.js';
import type { TrainCallbacks } from './events.js';
import { epochSchedule, runTraining } from './loop.js';

/** What the trainer needs of a classifier: one logit tensor [B, C_h] per head. */
export interface ClassifierModel {
  logitsAll(images: Tensor): Tensor[];
  trainableParameters(): Tensor[];
  eval(): void;
  train(): void;
}

export interface ClassifierData {
  /** uint8 catalogue [N, S, S, 3] */
  images: PixelRows;
  /** label per item, −1 = unlabelled (left out); one array per head for several */
  labels: Int32Array | Int32Array[];
}

/**
 * Σ over heads of the mean cross-entropy over the rows labelled for that head; `labels[h][b]` is
 * row b's class under head h, −1 = none. A head with no labelled row adds nothing.
 */
export function attributeLoss(logits: Tensor[], labels: Int32Array[]): Tensor {
  let total: Tensor | null = null;
  logits.forEach((z, h) => {
    const y = labels[h]!;
    const rows = Int32Array.from([...y.keys()].filter((b) => y[b]! >= 0));
    if (rows.length === 0) return;
    const picked = rows.length === y.length ? z : z.indexSelect(0, tensor(rows, [rows.length], 'int64'));
    const target = tensor(
      Int32Array.from(rows, (b) => y[b]!),
      [rows.length, 1],
      'int64',
    );
    const ce = picked.logSoftmax(1).gather(1, target).mean().neg();
    total = total ? total.add(ce) : ce;
  });
  if (!total) throw new Error('attributeLoss: no head has a labelled row in this batch');
  return total;
}

/** One cross-entropy update on a batch of item indices; `labels[h]` aligned with `items`. */
export function classifierStep(model: ClassifierModel, opt: Adam, images: PixelRows, items: Int32Array, labels: Int32Array[]): number {
  return tidy(() => {
    opt.zeroGrad();
    const x = images.indexSelect(0, tensor(items, [items.length], 'int64'));
    const loss = attributeLoss(model.logitsAll(x), labels);
    loss.backward();
    opt.step();
    return loss.item();
  });
}

/** Predicted class of each of the given items under head `head` (the first: the category). */
export function classifierPredictions(model: ClassifierModel, images: PixelRows, items: Int32Array, batch = 256, head = 0): Int32Array {
  const out = new Int32Array(items.length);
  model.eval();
  noGrad(() => {
    for (let s = 0; s < items.length; s += batch) {
      tidy(() => {
        const part = items.subarray(s, s + batch);
        out.set(
          model
            .logitsAll(images.indexSelect(0, tensor(part, [part.length], 'int64')))
            [head]!.argmax(1)
            .toInt32(),
          s,
        );
      });
    }
  });
  model.train();
  return out;
}

/** Accuracy (of the first head) on the given items. */
export function classifierAccuracy(model: ClassifierModel, images: PixelRows, items: Int32Array, labels: Int32Array, batch = 256): number {
  return accuracyOf(classifierPredictions(model, images, items, batch), labels);
}

/** Share of predictions equal to their label (NaN for none). */
function accuracyOf(pred: Int32Array, labels: Int32Array): number {
  return pred.length ? pred.reduce((c, p, r) => c + (p === labels[r] ? 1 : 0), 0) / pred.length : NaN;
}

/** Share of each class's items predicted as that class (recall; NaN for a class with none). */
export function perClassRecall(pred: Int32Array, labels: Int32Array, numClasses: number): number[] {
  const hit = new Array<number>(numClasses).fill(0);
  const n = new Array<number>(numClasses).fill(0);
  labels.forEach((y, r) => {
    n[y]!++;
    if (pred[r] === y) hit[y]!++;
  });
  return hit.map((h, c) => (n[c] ? h / n[c]! : NaN));
}

export interface ClassifierResult {
  /** of the first head (the category), as are the next two */
  trainAccuracy: number;
  heldOutAccuracy: number;
  /** held-out recall of each class (the share of its real images classified as it) */
  heldOutPerClass: number[];
  /** every head's held-out accuracy over the held-out items labelled for it */
  heldOutByHead: number[];
  history: { epoch: number; loss: number; heldOutAccuracy: number }[];
}

/** The items labelled under a head, and their labels. */
function labelledUnder(items: Int32Array, labels: Int32Array): { items: Int32Array; labels: Int32Array } {
  const kept = items.filter((i) => labels[i]! >= 0);
  return { items: kept, labels: Int32Array.from(kept, (i) => labels[i]!) };
}

/** The classifier as a task of the one training loop (train/loop.ts): shuffled epochs of the labelled items, no checkpoints. */
export async function trainClassifier(
  model: ClassifierModel & { numClasses: number | number[] },
  data: ClassifierData,
  o: { epochs: number; batch: number; lr: number; seed: number; callbacks?: TrainCallbacks; signal?: AbortSignal },
): Promise<ClassifierResult> {
  const heads = Array.isArray(data.labels) ? data.labels : [data.labels];
  const rng = new Rng(o.seed);
  // an item labelled under any head trains (its missing labels masked)
  const labelled = Int32Array.from([...heads[0]!.keys()].filter((i) => heads.some((l) => l[i]! >= 0)));
  rng.shuffle(labelled);
  // 10% of the labelled items held out to report accuracy honestly
  const cut = Math.floor(labelled.length * 0.9);
  const trainItems = labelled.slice(0, cut);
  const heldOut = labelledUnder(labelled.slice(cut), heads[0]!).items;
  const heldLabels = Int32Array.from(heldOut, (i) => heads[0]![i]!);
  const opt = new Adam(model.trainableParameters(), { lr: o.lr });
  const steps = Math.max(1, Math.ceil(trainItems.length / o.batch));
  let heldOutPred: Int32Array = new Int32Array(0); // the last epoch's predictions on the held-out items
  let history: ClassifierResult['history'];
  try {
    const r = await runTraining(
      {
        draw: (step) => {
          const s = step % steps;
          if (s === 0) rng.shuffle(trainItems); // each epoch in a new order
          return trainItems.subarray(s * o.batch, (s + 1) * o.batch);
        },
        update: (items) =>
          items.length === 0
            ? 0
            : classifierStep(
                model,
                opt,
                data.images,
                items,
                heads.map((l) => Int32Array.from(items, (i) => l[i]!)),
              ),
        examplesPerStep: o.batch,
        rateUnit: 'images/s',
        evaluate: () => {
          heldOutPred = classifierPredictions(model, data.images, heldOut);
          return { heldOutAccuracy: accuracyOf(heldOutPred, heldLabels) };
        },
        keep: 'none', // a few epochs: the last weights are the model
        save: () => new Map(),
        load: () => {},
        rngs: [rng],
        generators: [],
      },
      {
        resume: false,
        schedule: epochSchedule(o.epochs, steps),
        ...(o.signal ? { signal: o.signal } : {}),
        what: 'classifier training',
        callbacks: o.callbacks ?? {},
      },
    );
    history = r.history.map((h) => ({ epoch: h.mark, loss: h.loss, heldOutAccuracy: h.metrics.heldOutAccuracy! }));
  } finally {
    opt.dispose();
  }
  const firstTrain = labelledUnder(trainItems.slice(0, 2000), heads[0]!);
  const allHeld = labelled.slice(cut);
  return {
    heldOutPerClass: perClassRecall(heldOutPred, heldLabels, Array.isArray(model.numClasses) ? model.numClasses[0]! : model.numClasses),
    trainAccuracy: classifierAccuracy(model, data.images, firstTrain.items, firstTrain.labels),
    heldOutAccuracy: history.at(-1)?.heldOutAccuracy ?? NaN,
    heldOutByHead: heads.map((l, h) => {
      if (h === 0) return history.at(-1)?.heldOutAccuracy ?? NaN;
      const { items, labels } = labelledUnder(allHeld, l);
      return accuracyOf(classifierPredictions(model, data.images, items, 256, h), labels);
    }),
    history,
  };
}
