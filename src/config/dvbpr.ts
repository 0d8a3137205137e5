/**
 * DVBPR and encoder configuration (method.md §1), with named presets.
 *  - paper:   CNN-F shape at 224 px, K = 50 (the released code used K = 100: --k 100)
 *  - default: the same shape scaled for CPUs: four strided convs → dense K = 100 (64 px; also runs at 32 px),
 *             with the schedule chosen on H&M's validation shoppers (DEFAULT_SCHEDULE)
 *  - tiny:    for tests
 */
import { z } from 'zod';

export const convSpec = z
  .object({ out: z.number().int().positive(), kernel: z.number().int().positive(), stride: z.number().int().positive(), pool: z.boolean().default(false) })
  .strict();

/** The largest weight of a ranking prior (α, β, γ, δ), wherever it is read: a flag, a query, a manifest. */
export const MAX_PRIOR_WEIGHT = 100;

/** A ranking prior's weight. */
export const priorWeight = z.number().min(0).max(MAX_PRIOR_WEIGHT);

/** The largest embedding a run may have (`--k`): the paper's K is 50. */
export const MAX_K = 4096;

export const encoderSchema = z
  .object({
    inputSize: z.number().int().min(8),
    convs: z.array(convSpec).min(1),
    /** hidden dense layers (fc6, fc7 of CNN-F), each with dropout */
    hidden: z.array(z.number().int().positive()),
    dropout: z.number().min(0).max(0.95),
    /** at most 4,096: the paper's K is 50 (its code 100); a larger K only costs memory */
    k: z.number().int().positive().max(MAX_K),
  })
  .strict();

export type EncoderConfig = z.infer<typeof encoderSchema>;

export const dvbprSchema = z
  .object({
    preset: z.enum(['tiny', 'default', 'paper']),
    encoder: encoderSchema,
    lambdaPhi: z.number().min(0),
    lambdaTheta: z.number().min(0),
    lr: z.number().positive(),
    batch: z.number().int().positive(),
    epochs: z.number().int().positive(),
    /** 'scratch' (the paper) or 'classifier' (encoder first trained on the catalogue's categories) */
    init: z.enum(['scratch', 'classifier']),
    classifierEpochs: z.number().int().positive(),
    /** --init classifier: learn every item attribute the dataset has (one head each), or the category alone */
    classifierAttributes: z.enum(['all', 'category']).default('all'),
    earlyStopping: z.number().int().min(0),
    evalEvery: z.number().positive(),
    /** weight averaging time constant in epochs (0 = off; see src/train/bpr.ts) */
    averageEpochs: z.number().min(0).default(0),
    /** each batch's forward and backward in this many parts, gradients accumulated: the same step in less memory */
    microBatches: z.number().int().min(1).default(1),
    /** training images shifted by up to this many pixels per axis (0 = off; src/train/augment.ts) */
    augmentShift: z.number().int().min(0).default(0),
    /** training images mirrored left to right at random (src/train/augment.ts) */
    augmentFlip: z.boolean().default(false),
    /** training images zoomed by a factor in [1 − s, 1 + s] (0 = off) */
    augmentScale: z.number().min(0).lt(0.5).default(0),
    /** Gaussian pixel noise (σ in [−1, 1] input units) on training images (0 = off; src/train/augment.ts) */
    augmentNoise: z.number().min(0).max(1).default(0),
    /**
     * conservative training (src/train/losses.ts conservativeLoss): designs the GAN run at `gan`
     * reaches by `steps` ascent steps count as negatives, weighted; off when absent
     */
    conservative: z
      .object({
        gan: z.string().min(1),
        weight: z.number().positive().default(1),
        steps: z.number().int().min(1).max(100).default(5),
        perBatch: z.number().int().min(1).default(32),
        lr: z.number().positive().default(0.05),
      })
      .strict()
      .optional(),
    seed: z.number().int().min(0),
  })
  .strict();

export type DvbprConfig = z.infer<typeof dvbprSchema>;

export function encoderPreset(preset: 'tiny' | 'default' | 'paper', inputSize: number): EncoderConfig {
  if (preset === 'paper') {
    return {
      inputSize: 224,
      convs: [
        { out: 64, kernel: 11, stride: 4, pool: true },
        { out: 256, kernel: 5, stride: 1, pool: true },
        { out: 256, kernel: 3, stride: 1, pool: false },
        { out: 256, kernel: 3, stride: 1, pool: false },
        { out: 256, kernel: 3, stride: 1, pool: true },
      ],
      hidden: [4096, 4096],
      dropout: 0.5,
      k: 50,
    };
  }
  if (preset === 'tiny') {
    return {
      inputSize,
      convs: [
        { out: 8, kernel: 3, stride: 2, pool: false },
        { out: 16, kernel: 3, stride: 2, pool: false },
      ],
      hidden: [],
      dropout: 0,
      k: 8,
    };
  }
  return {
    inputSize,
    convs: [
      { out: 32, kernel: 5, stride: 2, pool: false },
      { out: 64, kernel: 3, stride: 2, pool: false },
      { out: 128, kernel: 3, stride: 2, pool: false },
      { out: 256, kernel: 3, stride: 2, pool: false },
    ],
    hidden: [],
    dropout: 0.5,
    k: 100,
  };
}

export function dvbprPreset(preset: 'tiny' | 'default' | 'paper', inputSize: number): DvbprConfig {
  const base: DvbprConfig = {
    preset,
    encoder: encoderPreset(preset, inputSize),
    lambdaPhi: 1e-3,
    lambdaTheta: 1.0,
    lr: preset === 'tiny' ? 1e-2 : 1e-4,
    batch: preset === 'tiny' ? 32 : 128,
    epochs: preset === 'tiny' ? 3 : 20,
    init: 'scratch',
    classifierEpochs: preset === 'tiny' ? 2 : 5,
    classifierAttributes: 'all',
    earlyStopping: 0,
    evalEvery: 1,
    averageEpochs: 0,
    microBatches: 1,
    augmentShift: 0,
    augmentFlip: false,
    augmentScale: 0,
    augmentNoise: 0,
    seed: 1,
  };
  if (preset !== 'default') return base;
  // the default: the best validation AUC of bench/results/recommend.md's grid on H&M (paper split):
  // the multi-attribute classifier start, lr 3e-4, weight averaging over 2 epochs, validated every
  // 2 epochs and stopped after 3 validations without gain, no augmentation (flips and shifts cost
  // 0.016 validation AUC there)
  return { ...base, ...DEFAULT_SCHEDULE };
}

/** What the default preset sets beyond the shapes (chosen on H&M's validation shoppers: bench/results/recommend.md). */
export const DEFAULT_SCHEDULE = {
  lr: 3e-4,
  epochs: 20,
  init: 'classifier',
  classifierAttributes: 'all',
  averageEpochs: 2,
  evalEvery: 2,
  earlyStopping: 3,
} as const satisfies Partial<DvbprConfig>;

/**
 * The schedule the Fashion-MNIST figures with simulated shoppers were measured with (the demo, the
 * design study's judges, bench/results/recommend-simulated.md's starting point): the default preset
 * before it was chosen on H&M. Kept for them so that their figures stay comparable.
 */
export const SIMULATED_SCHEDULE = {
  lr: 1e-4,
  epochs: 20,
  init: 'scratch',
  classifierAttributes: 'category',
  averageEpochs: 0,
  evalEvery: 1,
  earlyStopping: 0,
} as const satisfies Partial<DvbprConfig>;
