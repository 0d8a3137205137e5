/** `atelier recommend`: top-K items for shoppers, exact inner product over the whole catalogue, cold items included. */
import type { Command } from 'commander';
import { z } from 'zod';
import { recommendFor } from '../app/evaluate.js';
import { isDecimal, parseConfig } from '../config/parse.js';
import { addPriorFlags, priorKey, priorsFromFlags } from './priors.js';
import { addSettingsFlags, layeredOptions } from './settings.js';
import { BadInputError } from '../core/errors.js';
import { readUserFile } from '../core/fs.js';
import { COLD_THRESHOLD } from '../core/auc.js';
import { out } from './flags.js';

const kFlag = z.unknown().transform((v, ctx) => {
  if (v === 'all') return Infinity;
  const k = typeof v === 'number' ? v : isDecimal(v) ? Number(v) : NaN;
  if (Number.isInteger(k) && k >= 1) return k;
  ctx.addIssue({ code: 'custom', message: `--k must be a positive integer or 'all', got '${String(v)}'` });
  return z.NEVER;
});

const recommendFlags = z
  .object({
    run: z.string(),
    user: z.string().min(1).optional(),
    users: z.string().optional(),
    k: kFlag,
    category: z.string().optional(),
    coldOnly: z.boolean().default(false),
    excludeBought: z.boolean().default(false),
    json: z.boolean().default(false),
  })
  .strict()
  .refine((f) => f.user !== undefined || f.users !== undefined, { message: '--user <id> or --users <file>: give one' });

function idsFrom(file: string): string[] {
  let text: string;
  try {
    text = readUserFile(file).toString('utf8');
  } catch (e) {
    if (e instanceof BadInputError) throw e;
    throw new BadInputError(`cannot read: ${(e as Error).message}`, { file });
  }
  const ids = text
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter(Boolean);
  if (ids.length === 0) throw new BadInputError('no user ids (one per line)', { file });
  return ids;
}

export function registerRecommend(program: Command): void {
  const cmd = program
    .command('recommend')
    .description('top-K items for a shopper: exact inner product over the whole catalogue, cold items included')
    .requiredOption('--run <run>', 'run folder')
    .option('--user <id>', 'shopper id')
    .option('--users <file>', 'file with one shopper id per line (one load, many answers)')
    .option('--k <n>', "how many, or 'all'", '10')
    .option('--category <c>', 'only this category')
    .option('--cold-only', `only items with fewer than ${COLD_THRESHOLD} training purchases`)
    .option('--exclude-bought', "leave out the shopper's known purchases")
    .option('--json', 'one JSON line per shopper: {"userId", "items": [{"itemId", "score", "cold"}]}');
  addPriorFlags(addSettingsFlags(cmd)).action(async function (this: Command, opts: Record<string, unknown>) {
    const { options, print } = layeredOptions(this, opts);
    const { priors, usePolicy, rest } = priorsFromFlags(options);
    const f = parseConfig(recommendFlags, rest, typeof opts.config === 'string' ? `setting (${opts.config} or a flag)` : 'option');
    if (print) {
      // as a settings file: the flags' keys, k 'all' by name, each prior weight given by its key
      const weights = Object.fromEntries(Object.entries(priors).map(([name, w]) => [priorKey(name), w]));
      process.stdout.write(JSON.stringify({ ...f, k: Number.isFinite(f.k) ? f.k : 'all', priors: usePolicy, ...weights }, null, 2) + '\n');
      return;
    }
    const ids = f.users ? idsFrom(f.users) : [f.user!];
    for (const r of recommendFor(f.run, ids, {
      k: f.k,
      category: f.category,
      coldOnly: f.coldOnly,
      excludeBought: f.excludeBought,
      priors,
      usePolicy,
    })) {
      out(f.json, { userId: r.userId, items: r.items.map(({ itemId, score, cold }) => ({ itemId, score, cold })) }, () =>
        [
          `shopper ${r.userId}:`,
          ...r.items.map((it, n) => `${String(n + 1).padStart(3)}. ${it.itemId}  ${it.score.toFixed(4)}  ${it.category}${it.cold ? '  (cold)' : ''}`),
        ].join('\n'),
      );
    }
  });
}
