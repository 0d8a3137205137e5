/** `atelier design`: new items for one shopper (docs/method.md §5) → images, the paper's figure, scores.json. */
import { Option, type Command } from 'commander';
import { z } from 'zod';
import { designToFolder } from '../app/designs.js';
import { parseConfig } from '../config/parse.js';
import { loadGanRun } from '../store/gan-run.js';
import { loadRun } from '../store/run.js';
import { designRequestSchema } from '../config/design.js';
import { out, deviceOptions, takeDevice } from './flags.js';

const where = z.object({ run: z.string(), gan: z.string(), user: z.string(), category: z.string(), out: z.string(), json: z.boolean().default(false) });

export function registerDesign(program: Command): void {
  deviceOptions(program.command('design'))
    .description("new items for one shopper: preference maximisation in the GAN's latent space (docs/method.md §5)")
    .requiredOption('--run <run>', 'DVBPR run folder')
    .requiredOption('--gan <gan>', 'GAN run folder')
    .requiredOption('--user <id>', 'shopper id')
    .requiredOption('--category <c>', 'category')
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
    .requiredOption('--out <dir>', 'output folder: design-XX.png, figure.png, scores.json')
    .option('--json', 'print the summary as JSON')
    .action(async (opts: Record<string, unknown>) => {
      const { run, gan, user, category, out: dir, json, ...rest } = takeDevice(opts);
      const w = parseConfig(where, { run, gan, user, category, out: dir, json });
      const settings = parseConfig(designRequestSchema, rest);
      const s = await designToFolder(loadRun(w.run), loadGanRun(w.gan), { userId: w.user, category: w.category, ...settings }, w.out);
      out(
        w.json,
        s,
        () =>
          `designs for ${s.userId} (${s.category}) → ${w.out}: best design ${Math.max(...s.designs.map((d) => d.score)).toFixed(3)} vs best real item ${s.bestReal[0]?.score.toFixed(3)}`,
      );
    });
}
