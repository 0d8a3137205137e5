/**
 * An image classifier over the catalogue's categories: the encoder Φ plus a linear head on its
 * K-dim output. Used to initialise DVBPR's encoder (--init classifier), as VBPR's off-the-shelf
 * features, and as the feature space of the GAN's Fréchet distance.
 */
import type { EncoderConfig } from '../config/dvbpr.js';
import { Generator, Linear, loadSafetensors, Module, type Tensor } from '../torch/index.js';
import { Encoder, toInput } from './encoder.js';

export class Classifier extends Module {
  readonly encoder: Encoder;
  readonly head: Linear;
  constructor(
    readonly encoderConfig: EncoderConfig,
    readonly numClasses: number,
    seed: number,
  ) {
    super();
    const gen = new Generator(seed);
    this.encoder = this.registerModule('encoder', new Encoder(encoderConfig, gen, new Generator(seed + 1)));
    this.head = this.registerModule('head', new Linear(encoderConfig.k, numClasses, { gen }));
  }

  /** uint8 [B, S, S, 3] → logits [B, C] */
  logits(images: Tensor): Tensor {
    return this.logitsFloat(toInput(images));
  }

  /** the one head, as a list (the trainer's view of a classifier: src/train/classifier.ts) */
  logitsAll(images: Tensor): Tensor[] {
    return [this.logits(images)];
  }

  /** float [B, 3, S, S] in [−1, 1] (e.g. generated images) → logits [B, C] */
  logitsFloat(x: Tensor): Tensor {
    return this.head.forward(this.encoder.forward(x).relu());
  }

  /** the feature space of the Fréchet distance: Φ's K-dim embedding [B, K] */
  featuresFloat(x: Tensor): Tensor {
    return this.encoder.forward(x);
  }
}

/**
 * The multi-attribute classifier: the same encoder Φ with one linear head per item attribute
 * (category, product type, colour group… src/data/attributes.ts). Its encoder starts DVBPR's Φ;
 * the single-head Classifier above stays the GAN's category judge.
 */
export class AttributeClassifier extends Module {
  readonly encoder: Encoder;
  readonly heads: Linear[];
  constructor(
    readonly encoderConfig: EncoderConfig,
    readonly numClasses: number[],
    seed: number,
  ) {
    super();
    const gen = new Generator(seed);
    this.encoder = this.registerModule('encoder', new Encoder(encoderConfig, gen, new Generator(seed + 1)));
    this.heads = numClasses.map((c, h) => this.registerModule(`heads.${h}`, new Linear(encoderConfig.k, c, { gen })));
  }

  /** uint8 [B, S, S, 3] → logits [B, C_h] of every head */
  logitsAll(images: Tensor): Tensor[] {
    const f = this.encoder.forward(toInput(images)).relu();
    return this.heads.map((h) => h.forward(f));
  }
}

/** A classifier saved with its state dict as safetensors (a GAN run's, a bench's), in eval mode. */
export function loadClassifier(path: string, encoderConfig: EncoderConfig, numClasses: number): Classifier {
  const classifier = new Classifier(encoderConfig, numClasses, 0); // the seed is irrelevant: every weight is loaded
  classifier.loadStateDict(loadSafetensors(path).tensors, path);
  classifier.eval();
  return classifier;
}
