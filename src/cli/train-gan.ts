/** `atelier train gan`: flags → a validated GAN config → src/app/train-gan.ts. */
import { Option, type Command } from 'commander';
import { z } from 'zod';
import { trainGanFromData } from '../app/train-gan.js';
import { ganPreset, ganSchema, type GanConfig } from '../config/gan.js';
import { decimal, parseConfig } from '../config/parse.js';
import { out, deviceOptions, takeDevice } from './flags.js';
import { createProgress } from '../app/progress.js';
import { addSettingsFlags } from './settings.js';
import { readSettingsFile } from '../config/file.js';
import { readDatasetManifest } from '../data/dataset.js';
import { interruptible } from './interrupt.js';

const ganFlags = z
  .object({
    data: z.string(),
    out: z.string(),
    preset: z.enum(['tiny', 'default', 'paper']).default('default'),
    epochs: decimal(z.number().positive()).optional(),
    batch: decimal(z.number().int().positive()).optional(),
    lr: decimal(z.number().positive()).optional(),
    lrD: decimal(z.number().positive()).optional(),
    emaSteps: decimal(z.number().min(0)).optional(),
    categoryPower: decimal(z.number().min(0).max(1)).optional(),
    projection: z.boolean().optional(),
    mismatch: decimal(z.number().min(0)).optional(),
    minCategoryItems: decimal(z.number().int().min(1)).optional(),
    snapshots: decimal(z.number().int().min(1)).optional(),
    seed: decimal(z.number().int().min(0)).optional(),
    resume: z.boolean().default(false),
    classifierEpochs: decimal(z.number().positive()).optional(),
    qualitySamples: decimal(z.number().int().min(10)).default(200),
    json: z.boolean().default(false),
  })
  .strict();

type GanFlags = z.infer<typeof ganFlags>;
const CONFIG_KEYS = ['epochs', 'batch', 'lr', 'lrD', 'emaSteps', 'categoryPower', 'projection', 'mismatch', 'minCategoryItems', 'snapshots', 'seed'] as const;

/**
 * The preset for the dataset's image size, a settings file's values over it (any key of the GAN's
 * config; the image size stays the dataset's), every configuration flag given over both, validated.
 */
export function ganConfigFrom(f: GanFlags, imageSize: number, file?: Record<string, unknown>): GanConfig {
  const given = Object.fromEntries(CONFIG_KEYS.filter((k) => f[k] !== undefined).map((k) => [k, f[k]]));
  return parseConfig(ganSchema, { ...ganPreset(f.preset, imageSize), ...file, preset: f.preset, imageSize, ...given }, file ? 'setting' : 'config');
}

export function registerTrainGan(train: Command): void {
  addSettingsFlags(deviceOptions(train.command('gan'), { precision: true }))
    .description("conditional LSGAN over the dataset's categories (docs/method.md §4), with quality per snapshot")
    .requiredOption('--data <data>', 'prepared dataset folder')
    .requiredOption('--out <gan>', 'GAN run folder to write')
    .addOption(new Option('--preset <name>', 'network and schedule').choices(['tiny', 'default', 'paper']).default('default'))
    .option('--epochs <n>', 'epochs over the labelled items')
    .option('--batch <n>', 'batch size')
    .option('--lr <x>', 'Adam learning rate (β1 0.5, β2 0.99)')
    .option('--lr-d <x>', "the discriminator's learning rate, when it should differ from the generator's")
    .option('--ema-steps <n>', "time constant, in steps, of the generator's weight average (0: none; default preset 100)")
    .option('--category-power <p>', 'draw a category ∝ its item count^p, then an item (1: items uniformly, as the paper; 0: categories equally)')
    .option('--projection', "the discriminator adds a projection term ⟨φ(x), E c⟩ to its output (not the paper's; stronger category conditioning)")
    .option(
      '--mismatch <w>',
      "D also learns that a real image under a wrong category is fake, weight w (not the paper's; the matching-aware discriminator; 0: off)",
    )
    .option('--min-category-items <n>', 'categories with fewer images are left out (default preset 50)')
    .option('--snapshots <n>', 'snapshots (grid, metrics, checkpoint)')
    .option('--classifier-epochs <n>', "epochs of the metrics' category classifier")
    .option('--quality-samples <n>', 'generated images per category for the metrics', '200')
    .option('--seed <n>', 'seed')
    .option('--resume', 'continue from the last checkpoint (at each snapshot, every ten minutes, and on Ctrl-C)')
    .option('--json', 'print the GAN manifest as JSON')
    .action(async function (this: Command, opts: Record<string, unknown>) {
      const { config, printConfig, ...flags } = takeDevice(opts);
      const f = parseConfig(ganFlags, flags);
      const file = typeof config === 'string' ? readSettingsFile(config) : undefined;
      // the file's preset unless --preset was given
      if (file?.preset !== undefined && this.getOptionValueSource('preset') === 'default')
        f.preset = parseConfig(ganFlags.shape.preset, file.preset, 'setting');
      if (printConfig) {
        process.stdout.write(JSON.stringify(ganConfigFrom(f, readDatasetManifest(f.data).imageSize, file), null, 2) + '\n');
        return;
      }
      const m = await interruptible((signal) =>
        trainGanFromData(f.data, (size) => ganConfigFrom(f, size, file), {
          out: f.out,
          resume: f.resume,
          progress: createProgress({ json: f.json }),
          classifierEpochs: f.classifierEpochs,
          qualitySamples: f.qualitySamples,
          ...(signal ? { signal } : {}),
        }),
      );
      const q = m.metrics.final!;
      const b = m.metrics.finalBounded;
      const bounded = b ? `; with z = tanh(w) (the design's codes): Fréchet ${b.frechet.toFixed(2)}, agreement ${(100 * b.categoryAgreement).toFixed(1)}%` : '';
      out(
        f.json,
        m,
        () =>
          `gan → ${f.out}: best snapshot ${m.metrics.bestSnapshot}, Fréchet ${q.frechet.toFixed(2)}, category agreement ${(100 * q.categoryAgreement).toFixed(1)}%, IS ${q.inceptionScore.toFixed(2)}` +
          bounded,
      );
    });
}
