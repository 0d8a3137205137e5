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

  /** float [B, 3, S, S] in [−1, 1] (e.g. generated images) → logits [B, C] */
  logitsFloat(x: Tensor): Tensor {
    return this.head.forward(this.encoder.forward(x).relu());
  }

  /** the feature space of the Fréchet distance: Φ's K-dim embedding [B, K] */
  featuresFloat(x: Tensor): Tensor {
    return this.encoder.forward(x);
  }
}

/** A classifier saved with its state dict as safetensors (a GAN run's, a bench's), in eval mode. */
export function loadClassifier(path: string, encoderConfig: EncoderConfig, numClasses: number): Classifier {
  const classifier = new Classifier(encoderConfig, numClasses, 0); // the seed is irrelevant: every weight is loaded
  classifier.loadStateDict(loadSafetensors(path).tensors, path);
  classifier.eval();
  return classifier;
}
