/** `atelier train baselines`: random, popularity, BPR-MF and VBPR, one run folder each. */
import { Option, type Command } from 'commander';
import { addSettingsFlags, settingsFor } from './settings.js';
import { z } from 'zod';
import { BASELINES, trainBaselines, type BaselineKind } from '../app/train-baselines.js';
import { decimal } from '../config/parse.js';
import { out, deviceOptions, takeDevice } from './flags.js';
import { createProgress } from '../app/progress.js';
import { interruptible } from './interrupt.js';

const baselineFlags = z
  .object({
    data: z.string(),
    out: z.string(),
    preset: z.enum(['tiny', 'default', 'paper']).default('default'),
    epochs: decimal(z.number().int().positive()).default(20),
    factors: decimal(z.number().int().positive()).default(20),
    lambda: decimal(z.number().min(0)).default(0.01),
    lr: decimal(z.number().positive()).default(1e-3),
    seed: decimal(z.number().int().min(0)).default(1),
    only: z
      .string()
      .transform((s) => s.split(',').map((x) => x.trim()))
      .pipe(z.array(z.enum(BASELINES as [BaselineKind, ...BaselineKind[]])))
      .optional(),
    resume: z.boolean().default(false),
    json: z.boolean().default(false),
  })
  .strict();

export function registerTrainBaselines(train: Command): void {
  addSettingsFlags(deviceOptions(train.command('baselines')))
    .description('random, popularity, BPR-MF and VBPR, one run folder each under --out')
    .requiredOption('--data <data>', 'prepared dataset folder')
    .requiredOption('--out <dir>', 'folder for the runs')
    .addOption(new Option('--preset <name>', 'classifier network for VBPR features').choices(['tiny', 'default', 'paper']).default('default'))
    .option('--epochs <n>', 'epochs of BPR-MF and VBPR', '20')
    .option('--factors <n>', 'latent factors (and visual factors)', '20')
    .option('--lambda <x>', 'L2 on the factors', '0.01')
    .option('--lr <x>', 'Adam learning rate', '0.001')
    .option('--only <list>', `comma-separated subset of ${BASELINES.join(', ')}`)
    .option('--seed <n>', 'seed', '1')
    .option('--resume', 'continue BPR-MF/VBPR from their last checkpoints (Ctrl-C writes one and stops)')
    .option('--json', 'print the manifests as JSON lines')
    .action(async function (this: Command, opts: Record<string, unknown>) {
      const resolved = settingsFor(this, baselineFlags, takeDevice(opts));
      if (!resolved) return;
      const { data, json, only, ...f } = resolved;
      const ms = await interruptible((signal) =>
        trainBaselines(data, { ...f, only: only ?? BASELINES, ...(signal ? { signal } : {}) }, createProgress({ json })),
      );
      for (const m of ms) {
        const t = m.metrics.test!;
        out(json, m, () => `${m.kind}: test AUC ${t.auc.toFixed(4)}, cold AUC ${t.coldAuc.toFixed(4)}`);
      }
    });
}
