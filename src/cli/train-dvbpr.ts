/** `atelier train dvbpr`: flags → a validated DVBPR config → src/app/train-recommender.ts. */
import { Option, type Command } from 'commander';
import { z } from 'zod';
import { trainDvbprFromData } from '../app/train-recommender.js';
import { dvbprPreset, dvbprSchema, type DvbprConfig } from '../config/dvbpr.js';
import { parseConfig } from '../config/parse.js';
import { out } from './flags.js';
import { createProgress } from '../app/progress.js';

const dvbprFlags = z
  .object({
    data: z.string(),
    out: z.string(),
    preset: z.enum(['tiny', 'default', 'paper']).default('default'),
    epochs: z.coerce.number().positive().optional(),
    lr: z.coerce.number().positive().optional(),
    batch: z.coerce.number().int().positive().optional(),
    k: z.coerce.number().int().positive().optional(),
    dropout: z.coerce.number().min(0).max(0.95).optional(),
    lambdaPhi: z.coerce.number().min(0).optional(),
    lambdaTheta: z.coerce.number().min(0).optional(),
    init: z.enum(['scratch', 'classifier']).optional(),
    classifierEpochs: z.coerce.number().positive().optional(),
    earlyStopping: z.coerce.number().int().min(0).optional(),
    averageEpochs: z.coerce.number().min(0).optional(),
    augmentShift: z.coerce.number().int().min(0).optional(),
    seed: z.coerce.number().int().min(0).optional(),
    resume: z.boolean().default(false),
    json: z.boolean().default(false),
  })
  .strict();

type DvbprFlags = z.infer<typeof dvbprFlags>;

/** The preset for the dataset's image size, with every flag given laid over it, validated. */
export function dvbprConfigFrom(flags: Omit<DvbprFlags, 'json'> & { json?: boolean }, imageSize: number): DvbprConfig {
  const base = dvbprPreset(flags.preset, imageSize);
  const set = <K extends string, V>(key: K, v: V | undefined) => (v !== undefined ? { [key]: v } : {});
  const cfg = {
    ...base,
    encoder: { ...base.encoder, ...(flags.k ? { k: flags.k } : {}), ...set('dropout', flags.dropout) },
    ...set('epochs', flags.epochs),
    ...set('lr', flags.lr),
    ...set('batch', flags.batch),
    ...set('lambdaPhi', flags.lambdaPhi),
    ...set('lambdaTheta', flags.lambdaTheta),
    ...set('init', flags.init),
    ...set('classifierEpochs', flags.classifierEpochs),
    ...set('earlyStopping', flags.earlyStopping),
    ...set('averageEpochs', flags.averageEpochs),
    ...set('augmentShift', flags.augmentShift),
    ...set('seed', flags.seed),
  };
  return parseConfig(dvbprSchema, cfg, 'config');
}

export function registerTrainDvbpr(train: Command): void {
  train
    .command('dvbpr')
    .description('DVBPR: a CNN trained from pixels jointly with the shoppers (method.md §1)')
    .requiredOption('--data <data>', 'prepared dataset folder')
    .requiredOption('--out <run>', 'run folder to write')
    .addOption(new Option('--preset <name>', 'network and schedule').choices(['tiny', 'default', 'paper']).default('default'))
    .option('--epochs <n>', 'epochs (#train interactions / batch steps each)')
    .option('--lr <x>', 'Adam learning rate')
    .option('--batch <n>', 'triplets per step')
    .option('--k <n>', 'embedding dimensions K')
    .option('--dropout <p>', 'dropout rate of the encoder (the paper and the presets: 0.5)')
    .option('--lambda-phi <x>', 'L2 on CNN weights')
    .option('--lambda-theta <x>', 'L2 on user vectors')
    .addOption(new Option('--init <how>', 'encoder start').choices(['scratch', 'classifier']))
    .option('--classifier-epochs <n>', 'epochs of the category classifier (--init classifier)')
    .option('--early-stopping <n>', 'stop after n evaluations without validation gain (0 = off)')
    .option('--average-epochs <n>', 'validate and keep an exponential moving average of the weights with this time constant in epochs (0 = off)')
    .option('--augment-shift <px>', 'shift each training image by a random 0..px pixels per axis, edges repeated (0 = off, the default)')
    .option('--seed <n>', 'seed')
    .option('--resume', "continue from the run folder's last checkpoint")
    .option('--json', 'print the run manifest as JSON')
    .action(async (opts: Record<string, unknown>) => {
      const f = parseConfig(dvbprFlags, opts);
      const m = await trainDvbprFromData(f.data, (size) => dvbprConfigFrom(f, size), { out: f.out, resume: f.resume }, createProgress({ json: f.json }));
      const t = m.metrics.test!;
      out(f.json, m, () => `dvbpr → ${f.out}: test AUC ${t.auc.toFixed(4)}, cold AUC ${t.coldAuc.toFixed(4)} (best epoch ${String(m.metrics.bestEpoch)})`);
    });
}
