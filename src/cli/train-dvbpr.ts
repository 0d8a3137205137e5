/** `atelier train dvbpr`: flags → a validated DVBPR config → src/app/train-recommender.ts. */
import { Option, type Command } from 'commander';
import { z } from 'zod';
import { join } from 'node:path';
import { trainDvbprFromData, type LikeRun } from '../app/train-recommender.js';
import { AtelierError, BadInputError, CancelledError, InvalidArgumentError } from '../core/errors.js';
import { rendezvousFromEnv } from '../torch/index.js';
import { commandLine } from './argv.js';
import { launchWorkers } from './launch.js';
import { readManifest, runPolicy, type DvbprRunManifest } from '../store/run.js';
import { dvbprPreset, dvbprSchema, MAX_K, type DvbprConfig } from '../config/dvbpr.js';
import { decimal, parseConfig } from '../config/parse.js';
import { out, deviceOptions, takeDevice } from './flags.js';
import { addSettingsFlags, hideInHelp } from './settings.js';
import { readSettingsFile } from '../config/file.js';
import { readDatasetManifest } from '../data/dataset.js';
import { createProgress } from '../app/progress.js';
import { interruptible } from './interrupt.js';

const dvbprFlags = z
  .object({
    data: z.string(),
    out: z.string(),
    preset: z.enum(['tiny', 'default', 'paper']).default('default'),
    epochs: decimal(z.number().int().positive()).optional(),
    lr: decimal(z.number().positive()).optional(),
    batch: decimal(z.number().int().positive()).optional(),
    k: decimal(z.number().int().positive().max(MAX_K)).optional(),
    dropout: decimal(z.number().min(0).max(0.95)).optional(),
    lambdaPhi: decimal(z.number().min(0)).optional(),
    lambdaTheta: decimal(z.number().min(0)).optional(),
    init: z.enum(['scratch', 'classifier']).optional(),
    classifierEpochs: decimal(z.number().int().positive()).optional(),
    earlyStopping: decimal(z.number().int().min(0)).optional(),
    averageEpochs: decimal(z.number().min(0)).optional(),
    microBatches: decimal(z.number().int().min(1)).optional(),
    augmentShift: decimal(z.number().int().min(0)).optional(),
    augmentFlip: z.boolean().optional(),
    augmentScale: decimal(z.number().min(0).lt(0.5)).optional(),
    augmentNoise: decimal(z.number().min(0).max(1)).optional(),
    conservative: z.string().min(1).optional(),
    conservativeWeight: decimal(z.number().positive()).optional(),
    conservativeSteps: decimal(z.number().int().min(1).max(100)).optional(),
    classifierAttributes: z.enum(['all', 'category']).optional(),
    split: z.enum(['dataset', 'none']).default('dataset'),
    like: z.string().optional(),
    nproc: decimal(z.number().int().min(1).max(64)).optional(),
    seed: decimal(z.number().int().min(0)).optional(),
    resume: z.boolean().default(false),
    json: z.boolean().default(false),
    config: z.string().optional(),
    printConfig: z.boolean().default(false),
  })
  .strict();

type DvbprFlags = z.infer<typeof dvbprFlags>;

/**
 * The preset for the dataset's image size (or, with --like, the config of the run named and its
 * best epoch as the epoch count), with every flag given laid over it, validated.
 */
export function dvbprConfigFrom(
  flags: Omit<DvbprFlags, 'json' | 'split' | 'printConfig'> & { json?: boolean },
  imageSize: number,
  like?: DvbprRunManifest,
  file?: Record<string, unknown>,
): DvbprConfig {
  if (!flags.conservative && (flags.conservativeWeight !== undefined || flags.conservativeSteps !== undefined))
    throw new BadInputError('--conservative-weight and --conservative-steps need --conservative <gan-run>');
  const start = like
    ? { ...like.config, epochs: like.metrics.bestEpoch!, earlyStopping: 0 }
    : dvbprPreset((file?.preset as DvbprConfig['preset']) ?? flags.preset, imageSize);
  // a settings file over the preset (its encoder and conservative settings merged key by key), the flags over both
  const nested = (k: 'encoder' | 'conservative') => (file?.[k] && typeof file[k] === 'object' ? (file[k] as Record<string, unknown>) : undefined);
  const base = {
    ...start,
    ...(file ?? {}),
    encoder: { ...start.encoder, ...nested('encoder') },
    ...(nested('conservative') ? { conservative: { ...(start.conservative ?? {}), ...nested('conservative') } } : {}),
  } as DvbprConfig;
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
    ...set('microBatches', flags.microBatches),
    ...set('augmentShift', flags.augmentShift),
    ...set('augmentFlip', flags.augmentFlip),
    ...set('augmentScale', flags.augmentScale),
    ...set('augmentNoise', flags.augmentNoise),
    ...(flags.conservative
      ? { conservative: { gan: flags.conservative, ...set('weight', flags.conservativeWeight), ...set('steps', flags.conservativeSteps) } }
      : {}),
    ...set('classifierAttributes', flags.classifierAttributes),
    ...set('seed', flags.seed),
  };
  return parseConfig(dvbprSchema, cfg, flags.config ? `setting (${flags.config} or a flag)` : 'config');
}

/** --like: an evaluated DVBPR run folder (its manifest read and checked). */
function likeRun(dir: string): { manifest: DvbprRunManifest; record: LikeRun } {
  const m = readManifest(dir);
  const path = join(dir, 'manifest.json');
  if (m.kind !== 'dvbpr') throw new BadInputError(`--like needs a DVBPR run; kind is "${m.kind}"`, { file: path });
  if (!m.metrics.valid || !m.metrics.bestEpoch)
    throw new BadInputError('--like needs a run evaluated on held-out purchases (its best epoch chosen on them); metrics.valid is absent', { file: path });
  const ranking = runPolicy(m);
  return {
    manifest: m,
    record: {
      run: dir,
      name: m.name,
      dataHash: m.dataset.dataHash,
      bestEpoch: m.metrics.bestEpoch,
      ranking: { ...ranking },
    },
  };
}

export function registerTrainDvbpr(train: Command): void {
  const cmd = deviceOptions(train.command('dvbpr'), { precision: true })
    .description('DVBPR: a CNN trained from pixels jointly with the shoppers (docs/method.md §1)')
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
    .option('--micro-batches <m>', "each batch's forward and backward in m parts, gradients accumulated (the same step, less memory)")
    .option('--augment-shift <px>', 'shift each training image by a random 0..px pixels per axis, edges repeated (0 = off)')
    .option('--augment-flip', 'mirror training images left to right at random')
    .option('--augment-scale <s>', 'zoom training images by a random factor in [1 − s, 1 + s] (0 = off)')
    .option(
      '--conservative <gan-run>',
      "conservative training (COMs-style): designs this GAN run reaches by a few ascent steps on a shopper's score are trained as negatives beside the shopper's purchases",
    )
    .option('--conservative-weight <w>', 'weight of the conservative term (default 1)')
    .option('--conservative-steps <n>', 'ascent steps of each design the term trains against (default 5)')
    .option('--augment-noise <sd>', 'add Gaussian pixel noise of this σ (input units, [−1, 1]) to training images: a smoother Φ for design (0 = off)')
    .addOption(
      new Option('--classifier-attributes <which>', 'what the classifier start learns: every item attribute of the dataset, or the category').choices([
        'all',
        'category',
      ]),
    )
    .addOption(
      new Option('--split <which>', "dataset: the dataset's train split, validated; none: every purchase trains (a serving model), nothing is held out")
        .choices(['dataset', 'none'])
        .default('dataset'),
    )
    .option('--nproc <n>', 'data-parallel over n local processes (c10d with Gloo; torchrun-style variables start one worker each instead)')
    .option('--like <run>', 'take the config and the best epoch (as --epochs) of this evaluated run folder; flags given still apply')
    .option('--seed <n>', 'seed')
    .option('--resume', "continue from the run folder's last checkpoint (Ctrl-C writes one and stops)")
    .option('--json', 'print the run manifest as JSON');
  addSettingsFlags(cmd);
  // everyday flags in --help; the rest (the network, the schedule, the studies' knobs) through --config or as flags
  hideInHelp(cmd, [
    '--precision',
    '--lr',
    '--batch',
    '--k',
    '--dropout',
    '--lambda-phi',
    '--lambda-theta',
    '--init',
    '--classifier-epochs',
    '--classifier-attributes',
    '--early-stopping',
    '--average-epochs',
    '--micro-batches',
    '--augment-shift',
    '--augment-flip',
    '--augment-scale',
    '--augment-noise',
    '--conservative',
    '--conservative-weight',
    '--conservative-steps',
    '--nproc',
  ]);
  cmd.action(async (opts: Record<string, unknown>) => {
    const f = parseConfig(dvbprFlags, takeDevice(opts));
    const file = f.config ? readSettingsFile(f.config) : undefined;
    // the file's preset unless --preset was given
    if (file?.preset !== undefined && cmd.getOptionValueSource('preset') === 'default') f.preset = file.preset as DvbprFlags['preset'];
    if (f.printConfig) {
      const like = f.like ? likeRun(f.like) : undefined;
      process.stdout.write(JSON.stringify(dvbprConfigFrom(f, readDatasetManifest(f.data).imageSize, like?.manifest, file), null, 2) + '\n');
      return;
    }
    if (f.nproc && f.nproc > 1) {
      if (rendezvousFromEnv()) throw new InvalidArgumentError('--nproc starts its own workers: not inside a launcher that set WORLD_SIZE');
      const { code, interrupted } = await launchWorkers(f.nproc, commandLine());
      if (interrupted)
        throw new CancelledError(
          `train dvbpr --nproc ${f.nproc} (stopped at one step by every rank, rank 0's checkpoint of it written; --resume continues)`,
          interrupted,
        );
      if (code !== 0) throw new AtelierError('DISTRIBUTED', `train dvbpr --nproc ${f.nproc}: a worker failed (exit ${code})`);
      return;
    }
    const follower = (rendezvousFromEnv()?.rank ?? 0) !== 0;
    const like = f.like ? likeRun(f.like) : undefined;
    const m = await interruptible((signal) =>
      trainDvbprFromData(
        f.data,
        (size) => dvbprConfigFrom(f, size, like?.manifest, file),
        { out: f.out, resume: f.resume, split: f.split, ...(like ? { like: like.record } : {}), ...(signal ? { signal } : {}) },
        createProgress({ json: f.json }),
      ),
    );
    if (follower) return; // rank 0 reports
    const t = m.metrics.test;
    out(f.json, m, () =>
      t
        ? `dvbpr → ${f.out}: test AUC ${t.auc.toFixed(4)}, cold AUC ${t.coldAuc.toFixed(4)} (best epoch ${String(m.metrics.bestEpoch)})`
        : `dvbpr → ${f.out}: trained on all ${m.kind === 'dvbpr' ? m.training?.pairs : '?'} purchases for ${String(m.metrics.bestEpoch)} epochs, nothing held out${like ? ` (settings of ${f.like})` : ''}`,
    );
  });
}
