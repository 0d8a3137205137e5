/** `atelier design`: new items for one shopper (method.md §5) → images, the paper's figure, scores.json. */
import type { Command } from 'commander';
import { z } from 'zod';
import { designToFolder } from '../app/designs.js';
import { parseConfig } from '../config/parse.js';
import { loadGanRun } from '../store/gan-run.js';
import { loadRun } from '../store/run.js';
import { intIn, nonNegative, oneOf, out, share } from './flags.js';

const designFlags = z
  .object({
    run: z.string(),
    gan: z.string(),
    user: z.string(),
    category: z.string(),
    n: intIn('n', 1, 64),
    steps: intIn('steps', 0, 10000),
    seed: intIn('seed', 0, 2 ** 31 - 1),
    eta: nonNegative('eta'),
    taste: oneOf('taste', ['own', 'distinctive']),
    anchor: nonNegative('anchor'),
    candidates: z.unknown().optional(),
    guard: share('guard', ' (0 = off)'),
    bound: oneOf('bound', ['box', 'shell']),
    out: z.string(),
    json: z.boolean().default(false),
  })
  .strict()
  // best-of-N starts choose n among at least n codes
  .transform((f, ctx) => {
    const candidates = f.candidates === undefined ? f.n : intIn('candidates', f.n, 65536).safeParse(f.candidates);
    if (typeof candidates === 'number') return { ...f, candidates };
    if (candidates.success) return { ...f, candidates: candidates.data };
    ctx.addIssue({ code: 'custom', message: candidates.error.issues[0]!.message, path: ['candidates'] });
    return z.NEVER;
  });

export function registerDesign(program: Command): void {
  program
    .command('design')
    .description("new items for one shopper: preference maximisation in the GAN's latent space (method.md §5)")
    .requiredOption('--run <run>', 'DVBPR run folder')
    .requiredOption('--gan <gan>', 'GAN run folder')
    .requiredOption('--user <id>', 'shopper id')
    .requiredOption('--category <c>', 'category')
    .option('--n <n>', 'designs (random starts)', '8')
    .option('--steps <n>', 'Adam steps on the latent codes', '50')
    .option('--seed <n>', 'seed of the starts', '1')
    .option('--eta <x>', 'weight η of the realism term (D(G) − 1)²', '1')
    .option('--taste <t>', "'own': maximise θ_uᵀΦ (the paper); 'distinctive': (θ_u − θ̄)ᵀΦ, what sets this shopper apart", 'own')
    .option('--anchor <gamma>', 'leash γ‖z − z0‖² keeping each design near its random start (0 = none, the paper)', '0')
    .option('--candidates <n>', 'start from the n best of this many random codes (default: n random starts)')
    .option(
      '--guard <q>',
      "realism guard: each design is its best step that stays as close to real items (in Φ) as the share q of the GAN's own samples, e.g. 0.95 (0 = off, the paper)",
      '0',
    )
    .option('--bound <b>', "latent bound: 'box', z = tanh(w) (the paper); 'shell', z on the sphere ‖z‖ = √d where the GAN's N(0, I) training codes lie", 'box')
    .requiredOption('--out <dir>', 'output folder: design-XX.png, figure.png, scores.json')
    .option('--json', 'print the summary as JSON')
    .action(async (opts: Record<string, unknown>) => {
      const { run, gan, user, out: dir, json, ...r } = parseConfig(designFlags, opts);
      const s = await designToFolder(loadRun(run), loadGanRun(gan), { userId: user, ...r }, dir);
      out(
        json,
        s,
        () =>
          `designs for ${s.userId} (${s.category}) → ${dir}: best design ${Math.max(...s.designs.map((d) => d.score)).toFixed(3)} vs best real item ${s.bestReal[0]?.score.toFixed(3)}`,
      );
    });
}
