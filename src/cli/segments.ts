/** `atelier segments`: groups of shoppers who buy alike, stored with the run, for `design --segment` and `POST /segments/:id/designs`. */
import type { Command } from 'commander';
import { addSettingsFlags, settingsFor } from './settings.js';
import { z } from 'zod';
import { makeSegments } from '../app/segments.js';
import { decimal } from '../config/parse.js';
import { out } from './flags.js';

const segmentFlags = z
  .object({
    run: z.string(),
    k: decimal(z.number().int().min(2).max(10_000)),
    seed: decimal(z.number().int().min(0)).default(1),
    minMembers: decimal(z.number().int().min(1)).default(1),
    json: z.boolean().default(false),
  })
  .strict();

export function registerSegments(program: Command): void {
  addSettingsFlags(program.command('segments'))
    .description('groups of shoppers who buy alike (k-means on their standardised tastes, docs/method.md §5), stored with the run for design --segment')
    .requiredOption('--run <run>', 'DVBPR run folder (not while it is served: one writer)')
    .requiredOption('--k <n>', 'how many segments')
    .option('--seed <n>', 'seed of the k-means starts', '1')
    .option('--min-members <n>', 'dissolve smaller segments into the nearest others (fewer segments may result)', '1')
    .option('--json', 'print the segments as JSON')
    .action(async function (this: Command, opts: Record<string, unknown>) {
      const f = settingsFor(this, segmentFlags, opts);
      if (!f) return;
      const made = await makeSegments(f.run, { k: f.k, seed: f.seed, minMembers: f.minMembers });
      out(f.json, made, () => `${made.k} segments of ${f.run}: ${made.segments.map((s) => `${s.name} (${s.members})`).join(', ')}`);
    });
}
