/** `atelier improve`: an existing item moved towards one shopper's taste → the triptych and its trajectory. */
import { IMPROVE_DEFAULTS } from '../config/design.js';
import type { Command } from 'commander';
import { addSettingsFlags, settingsFor } from './settings.js';
import { z } from 'zod';
import { improveToFolder } from '../app/designs.js';
import { loadGanRun } from '../store/gan-run.js';
import { loadRun } from '../store/run.js';
import { intIn, out, deviceOptions, takeDevice } from './flags.js';

const improveFlags = z
  .object({
    run: z.string(),
    gan: z.string(),
    user: z.string(),
    item: z.string(),
    steps: intIn('steps', 0, 10000),
    seed: intIn('seed', 0, 2 ** 31 - 1),
    out: z.string(),
    json: z.boolean().default(false),
  })
  .strict();

export function registerImprove(program: Command): void {
  addSettingsFlags(deviceOptions(program.command('improve')))
    .description("move an existing item towards one shopper's taste")
    .requiredOption('--run <run>', 'DVBPR run folder')
    .requiredOption('--gan <gan>', 'GAN run folder')
    .requiredOption('--user <id>', 'shopper id')
    .requiredOption('--item <id>', 'item id')
    .option('--steps <n>', 'Adam steps of the maximisation', String(IMPROVE_DEFAULTS.steps))
    .option('--seed <n>', 'seed', String(IMPROVE_DEFAULTS.seed))
    .requiredOption('--out <dir>', 'output folder: original/reconstruction/improved.png, figure.png, trajectory.json')
    .option('--json', 'print the summary as JSON')
    .action(async function (this: Command, opts: Record<string, unknown>) {
      const f = settingsFor(this, improveFlags, takeDevice(opts));
      if (!f) return;
      const s = await improveToFolder(loadRun(f.run), loadGanRun(f.gan), { userId: f.user, itemId: f.item, steps: f.steps, seed: f.seed }, f.out);
      out(
        f.json,
        s,
        () => `improved ${s.itemId} for ${s.userId} → ${f.out}: score ${s.scores.original.toFixed(3)} (original) → ${s.scores.improved.toFixed(3)} (improved)`,
      );
    });
}
