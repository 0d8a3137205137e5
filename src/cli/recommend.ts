/** `atelier recommend`: top-K items for shoppers, exact inner product over the whole catalogue, cold items included. */
import type { Command } from 'commander';
import { z } from 'zod';
import { priorWeight } from '../config/dvbpr.js';
import { recommendFor } from '../app/evaluate.js';
import { decimal, isDecimal, parseConfig } from '../config/parse.js';
import { BadInputError } from '../core/errors.js';
import { readUserFile } from '../core/fs.js';
import { COLD_THRESHOLD } from '../core/auc.js';
import { out } from './flags.js';

const kFlag = z.unknown().transform((v, ctx) => {
  if (v === 'all') return Infinity;
  const k = isDecimal(v) ? Number(v) : NaN;
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
    popularityPrior: decimal(priorWeight).optional(),
    recencyPrior: decimal(priorWeight).optional(),
    categoryPrior: decimal(priorWeight).optional(),
    productPrior: decimal(priorWeight).optional(),
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
  program
    .command('recommend')
    .description('top-K items for a shopper: exact inner product over the whole catalogue, cold items included')
    .requiredOption('--run <run>', 'run folder')
    .option('--user <id>', 'shopper id')
    .option('--users <file>', 'file with one shopper id per line (one load, many answers)')
    .option('--k <n>', "how many, or 'all'", '10')
    .option('--category <c>', 'only this category')
    .option('--cold-only', `only items with fewer than ${COLD_THRESHOLD} training purchases`)
    .option('--exclude-bought', "leave out the shopper's known purchases")
    .option(
      '--popularity-prior <alpha>',
      "rank by the shopper's standardised scores + α·log(1 + the item's purchases) (default: the α the run chose on validation; 0: the model alone)",
    )
    .option(
      '--recency-prior <beta>',
      "plus β·cosine between the item's embedding and the shopper's latest purchase's (default: the β the run chose on validation; 0: off)",
    )
    .option(
      '--category-prior <gamma>',
      "plus γ·log of the shopper's share of purchases in the item's category (default: the γ the run chose on validation; 0: off)",
    )
    .option(
      '--product-prior <delta>',
      "plus δ·log(1 + the shopper's purchases of the item's product: the same garment in another colour) (default: the δ the run chose on validation; 0: off)",
    )
    .option('--json', 'one JSON line per shopper: {"userId", "items": [{"itemId", "score", "cold"}]}')
    .action(async (opts: Record<string, unknown>) => {
      const f = parseConfig(recommendFlags, opts);
      const ids = f.users ? idsFrom(f.users) : [f.user!];
      for (const r of recommendFor(f.run, ids, {
        k: f.k,
        category: f.category,
        coldOnly: f.coldOnly,
        excludeBought: f.excludeBought,
        ...(f.popularityPrior !== undefined ? { prior: f.popularityPrior } : {}),
        ...(f.recencyPrior !== undefined ? { recency: f.recencyPrior } : {}),
        ...(f.categoryPrior !== undefined ? { affinity: f.categoryPrior } : {}),
        ...(f.productPrior !== undefined ? { product: f.productPrior } : {}),
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
