/** `atelier design`: new items for one shopper (docs/method.md §5) → images, the paper's figure, scores.json. */
import { Option, type Command } from 'commander';
import { z } from 'zod';
import { designToFolder } from '../app/designs.js';
import { parseConfig } from '../config/parse.js';
import { BadInputError } from '../core/errors.js';
import { loadGanRun } from '../store/gan-run.js';
import { loadRun } from '../store/run.js';
import { designRequestSchema } from '../config/design.js';
import { out, deviceOptions, takeDevice } from './flags.js';
import { addSettingsFlags, hideInHelp, layeredOptions } from './settings.js';

// required unless --print-config (which needs none of them)
const where = z.object({
  run: z.string({ error: '--run <run> is required' }),
  gan: z.string({ error: '--gan <gan> is required' }),
  user: z.string().optional(),
  segment: z.string().optional(),
  category: z.string({ error: '--category <c> is required' }),
  out: z.string({ error: '--out <dir> is required' }),
  json: z.boolean().default(false),
});

export function registerDesign(program: Command): void {
  const cmd = deviceOptions(program.command('design'))
    .description("new items for one shopper: preference maximisation in the GAN's latent space (docs/method.md §5)")
    .option('--run <run>', 'DVBPR run folder')
    .option('--gan <gan>', 'GAN run folder')
    .option('--user <id>', 'shopper id')
    .option('--segment <s>', 'design for a segment of shoppers (`atelier segments`) instead of one shopper')
    .option('--category <c>', 'category')
    .addOption(
      new Option(
        '--preset <name>',
        "search settings: 'default' (chosen on validation shoppers under the judges, bench/results/design.md) or 'paper' (the authors' released code)",
      )
        .choices(['default', 'paper'])
        .default('default'),
    )
    .option('--n <n>', 'designs (random starts)', '8')
    .option('--seed <n>', 'seed of the starts', '1')
    .option('--steps <n>', "Adam steps on the latent codes (default: the preset's)")
    .option('--lr <x>', 'Adam learning rate')
    .option('--eta <x>', 'weight η of the realism term (D(G) − 1)²')
    .option(
      '--bound <b>',
      "latent codes: 'box' z = tanh(w) (the paper); 'shell' ‖z‖ = √d where the GAN's N(0, I) codes lie; 'free' z unbounded (the released code)",
    )
    .option('--init-scale <s>', 'random starts z ~ N(0, s²) (the released code: 0.5)')
    .option('--candidates <n>', 'start from the n best of this many random codes (0: n random starts)')
    .option('--anchor <gamma>', 'leash γ‖z − z0‖² keeping each design near its random start (0 = none)')
    .option(
      '--guard <q>',
      "realism guard: each design is its best step that stays as close to real items (in Φ) as the share q of the GAN's own samples (0 = off)",
    )
    .option('--smooth <sigma>', "randomised smoothing: Φ's term averaged over noisy copies of the image, σ in [−1, 1] units (0 = off)")
    .option('--smooth-copies <n>', 'noisy copies for --smooth')
    .option('--taste <t>', "'own': maximise θ_uᵀΦ (the paper); 'distinctive': (θ_u − θ̄)ᵀΦ, what sets this shopper apart")
    .option('--out <dir>', 'output folder: design-XX.png, figure.png, scores.json')
    .option('--json', 'print the summary as JSON');
  addSettingsFlags(cmd);
  // what a shop decides in --help; the search's knobs through --config (or as flags)
  hideInHelp(cmd, [
    '--device',
    '--json',
    '--lr',
    '--eta',
    '--bound',
    '--init-scale',
    '--candidates',
    '--anchor',
    '--guard',
    '--smooth',
    '--smooth-copies',
    '--taste',
  ]);
  cmd.action(async (opts: Record<string, unknown>) => {
    const { run, gan, user, segment, category, out: dir, json, ...flags } = takeDevice(opts);
    const { config } = flags;
    // the settings file's values, then the flags given on the line (not commander's defaults)
    const { options: raw, print: printConfig } = layeredOptions(cmd, flags);
    const settings = parseConfig(designRequestSchema, raw, typeof config === 'string' ? `setting (${config} or a flag)` : 'option');
    if (printConfig) {
      process.stdout.write(JSON.stringify(settings, null, 2) + '\n');
      return;
    }
    const w = parseConfig(where, { run, gan, user, segment, category, out: dir, json });
    if ((w.user === undefined) === (w.segment === undefined)) throw new BadInputError('--user <id> or --segment <s>: give one');
    const s = await designToFolder(
      loadRun(w.run),
      loadGanRun(w.gan),
      { userId: w.user ?? `segment ${w.segment}`, ...(w.segment !== undefined ? { segment: w.segment } : {}), category: w.category, ...settings },
      w.out,
    );
    out(
      w.json,
      s,
      () =>
        `designs for ${s.userId} (${s.category}) → ${w.out}: best design ${Math.max(...s.designs.map((d) => d.score)).toFixed(3)} vs best real item ${s.bestReal[0]?.score.toFixed(3)}`,
    );
  });
}
