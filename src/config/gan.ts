/** Conditional LSGAN configuration (method.md §4), with presets. */
import { z } from 'zod';

export const ganSchema = z
  .object({
    preset: z.enum(['tiny', 'default', 'paper']),
    imageSize: z.number().int().min(8),
    zDim: z.number().int().positive(),
    /** generator: channels after the dense layer (at 4×4), halved at each ×2 upsampling */
    genBase: z.number().int().positive(),
    /** discriminator: channels of the first conv, doubled at each stride-2 conv */
    discBase: z.number().int().positive(),
    batch: z.number().int().positive(),
    epochs: z.number().positive(),
    lr: z.number().positive(),
    /** the discriminator's learning rate when it differs from the generator's (two time-scale) */
    lrD: z.number().positive().optional(),
    /** time constant, in steps, of the generator's exponential weight average (0 or absent: none) */
    emaSteps: z.number().min(0).optional(),
    /** batches draw a category ∝ (its items)^categoryPower (absent: items uniformly, as the paper) */
    categoryPower: z.number().min(0).max(1).optional(),
    /** the discriminator adds a projection term ⟨φ(x), E c⟩ (absent or false: the paper's tiled maps only) */
    projection: z.boolean().optional(),
    /** weight w of a mismatch term w·½D(x, c′)² in D's loss: real images under a wrong category count as fake (absent or 0: none) */
    mismatch: z.number().min(0).optional(),
    beta1: z.number().min(0).max(1),
    beta2: z.number().min(0).max(1),
    /** snapshots per run (grid, quality metrics, checkpoint) */
    snapshots: z.number().int().min(1),
    minCategoryItems: z.number().int().min(1),
    seed: z.number().int().min(0),
  })
  .strict();

export type GanConfig = z.infer<typeof ganSchema>;

export function ganPreset(preset: 'tiny' | 'default' | 'paper', imageSize: number): GanConfig {
  const base = { lr: 1e-4, beta1: 0.5, beta2: 0.99, seed: 1 };
  if (preset === 'paper')
    return { ...base, preset, imageSize: 64, zDim: 256, genBase: 256, discBase: 64, batch: 16, epochs: 30, snapshots: 10, minCategoryItems: 50 };
  if (preset === 'tiny')
    return { ...base, preset, imageSize, zDim: 16, genBase: 32, discBase: 8, batch: 16, epochs: 2, snapshots: 2, minCategoryItems: 2, lr: 2e-3 };
  // default: the paper's shape; a larger batch and learning rate to fit a CPU budget; the
  // generator's weights averaged over ~100 steps, and categories drawn ∝ √(their items) so that a
  // small category is not starved (bench/results/gan.md measures both)
  return {
    ...base,
    preset,
    imageSize,
    zDim: 128,
    genBase: imageSize >= 64 ? 256 : 128,
    discBase: imageSize >= 64 ? 64 : 32,
    batch: 64,
    epochs: 10,
    snapshots: 5,
    minCategoryItems: 50,
    lr: 2e-4,
    emaSteps: 100,
    categoryPower: 0.5,
  };
}
