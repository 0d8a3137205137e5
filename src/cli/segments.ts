/** `atelier segments`: groups of shoppers who buy alike, stored with the run, for `design --segment` and `POST /segments/:id/designs`. */
import type { Command } from 'commander';
import { addSettingsFlags, settingsFor } from './settings.js';
import { z } from 'zod';
import { makeSegments, segmentsByColumn } from '../app/segments.js';
import { BadInputError } from '../core/errors.js';
import { decimal } from '../config/parse.js';
import { out } from './flags.js';

const segmentFlags = z
  .object({
    run: z.string(),
    k: decimal(z.number().int().min(2).max(10_000)).optional(),
    by: z.string().min(1).optional(),
    customers: z.string().min(1).optional(),
    bands: decimal(z.number().int().min(1)).optional(),
    seed: decimal(z.number().int().min(0)).default(1),
    minMembers: decimal(z.number().int().min(1)).default(1),
    json: z.boolean().default(false),
  })
  .strict();

export function registerSegments(program: Command): void {
  addSettingsFlags(program.command('segments'))
    .description('groups of shoppers who buy alike (k-means on their standardised tastes, docs/method.md §5), stored with the run for design --segment')
    .requiredOption('--run <run>', 'DVBPR run folder (not while it is served: one writer)')
    .option('--k <n>', "how many segments (k-means on the shoppers' tastes)")
    .option('--by <column>', 'instead: one segment per value of this column of --customers (a number in --bands)')
    .option('--customers <table>', 'customers table (CSV or Parquet) whose first id column is customer_id or user_id, e.g. the H&M customers.csv')
    .option('--bands <width>', 'put a numeric --by column in bands of this width (age: 10)')
    .option('--seed <n>', 'seed of the k-means starts', '1')
    .option('--min-members <n>', 'dissolve smaller segments into the nearest others (fewer segments may result)', '1')
    .option('--json', 'print the segments as JSON')
    .action(async function (this: Command, opts: Record<string, unknown>) {
      const f = settingsFor(this, segmentFlags, opts);
      if (!f) return;
      if ((f.k === undefined) === (f.by === undefined)) throw new BadInputError('give --k <n> (k-means) or --by <column> --customers <table>, one of them');
      if (f.by !== undefined && f.customers === undefined) throw new BadInputError(`--by ${f.by} reads the column from --customers <table>: give it`);
      const made =
        f.by !== undefined
          ? await segmentsByColumn(f.run, { table: f.customers!, column: f.by, minMembers: f.minMembers, ...(f.bands ? { bands: f.bands } : {}) })
          : await makeSegments(f.run, { k: f.k!, seed: f.seed, minMembers: f.minMembers });
      out(f.json, made, () => `${made.k} segments of ${f.run}: ${made.segments.map((s) => `${s.name} (${s.members})`).join(', ')}`);
    });
}
