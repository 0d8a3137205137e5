/**
 * Trains the category classifier (models/classifier.ts) with cross-entropy on the labelled
 * catalogue items. Short (a few epochs), so it restarts rather than resumes.
 */
import { Rng } from '../core/rng.js';
import type { Classifier } from '../models/classifier.js';
import { Adam, noGrad, tensor, tidy, type Tensor } from '../torch/index.js';
import type { TrainCallbacks } from './events.js';

export interface ClassifierData {
  /** uint8 catalogue [N, S, S, 3] */
  images: Tensor;
  /** label per item, −1 = unlabelled (left out) */
  labels: Int32Array;
}

/** One cross-entropy update on a batch of item indices. */
export function classifierStep(model: Classifier, opt: Adam, images: Tensor, items: Int32Array, labels: Int32Array): number {
  return tidy(() => {
    opt.zeroGrad();
    const x = images.indexSelect(0, tensor(items, [items.length], 'int64'));
    const y = tensor(labels, [labels.length, 1], 'int64');
    const loss = model.logits(x).logSoftmax(1).gather(1, y).mean().neg();
    loss.backward();
    opt.step();
    return loss.item();
  });
}

/** Predicted class of each of the given items. */
export function classifierPredictions(model: Classifier, images: Tensor, items: Int32Array, batch = 256): Int32Array {
  const out = new Int32Array(items.length);
  model.eval();
  noGrad(() => {
    for (let s = 0; s < items.length; s += batch) {
      tidy(() => {
        const part = items.subarray(s, s + batch);
        out.set(
          model
            .logits(images.indexSelect(0, tensor(part, [part.length], 'int64')))
            .argmax(1)
            .toInt32(),
          s,
        );
      });
    }
  });
  model.train();
  return out;
}

/** Accuracy on the given items. */
export function classifierAccuracy(model: Classifier, images: Tensor, items: Int32Array, labels: Int32Array, batch = 256): number {
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
  trainAccuracy: number;
  heldOutAccuracy: number;
  /** held-out recall of each class (the share of its real images classified as it) */
  heldOutPerClass: number[];
  history: { epoch: number; loss: number; heldOutAccuracy: number }[];
}

export function trainClassifier(
  model: Classifier,
  data: ClassifierData,
  o: { epochs: number; batch: number; lr: number; seed: number; callbacks?: TrainCallbacks },
): ClassifierResult {
  const rng = new Rng(o.seed);
  const labelled = Int32Array.from([...data.labels.keys()].filter((i) => data.labels[i]! >= 0));
  rng.shuffle(labelled);
  // 10% of the labelled items held out to report accuracy honestly
  const cut = Math.floor(labelled.length * 0.9);
  const trainItems = labelled.slice(0, cut);
  const heldOut = labelled.slice(cut);
  const heldLabels = Int32Array.from(heldOut, (i) => data.labels[i]!);
  const opt = new Adam(model.trainableParameters(), { lr: o.lr });
  const history: ClassifierResult['history'] = [];
  const steps = Math.max(1, Math.ceil(trainItems.length / o.batch));
  let heldOutPred: Int32Array = new Int32Array(0); // the last epoch's predictions on the held-out items
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    rng.shuffle(trainItems);
    let lossSum = 0;
    const t0 = performance.now();
    for (let s = 0; s < steps; s++) {
      const items = trainItems.subarray(s * o.batch, (s + 1) * o.batch);
      if (items.length === 0) continue;
      const loss = classifierStep(
        model,
        opt,
        data.images,
        items,
        Int32Array.from(items, (i) => data.labels[i]!),
      );
      lossSum += loss;
      const secs = (performance.now() - t0) / 1000;
      o.callbacks?.onStep?.({
        epoch,
        step: s + 1,
        stepsPerEpoch: steps,
        totalSteps: steps * o.epochs,
        globalStep: (epoch - 1) * steps + s + 1,
        loss,
        rate: ((s + 1) * o.batch) / Math.max(secs, 1e-9),
        rateUnit: 'images/s',
      });
    }
    heldOutPred = classifierPredictions(model, data.images, heldOut);
    const acc = accuracyOf(heldOutPred, heldLabels);
    history.push({ epoch, loss: lossSum / steps, heldOutAccuracy: acc });
    o.callbacks?.onEpoch?.({
      epoch,
      epochs: o.epochs,
      loss: lossSum / steps,
      metrics: { heldOutAccuracy: acc },
      best: false,
      seconds: (performance.now() - t0) / 1000,
    });
  }
  opt.dispose();
  return {
    heldOutPerClass: perClassRecall(heldOutPred, heldLabels, model.numClasses),
    trainAccuracy: classifierAccuracy(
      model,
      data.images,
      trainItems.slice(0, 2000),
      Int32Array.from(trainItems.slice(0, 2000), (i) => data.labels[i]!),
    ),
    heldOutAccuracy: history.at(-1)?.heldOutAccuracy ?? NaN,
    history,
  };
}
