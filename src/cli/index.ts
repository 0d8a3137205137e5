/** `atelier index`: an approximate top-K index (LanceDB IVF-PQ) over a DVBPR run's item embeddings. */
import type { Command } from 'commander';
import { z } from 'zod';
import { parseConfig } from '../config/parse.js';
import { indexRunFolder } from '../app/index-run.js';
import { createProgress } from '../app/progress.js';

const indexFlags = z
  .object({ run: z.string(), partitions: z.coerce.number().int().min(1).optional(), subVectors: z.coerce.number().int().min(1).optional() })
  .strict();

export function registerIndex(program: Command): void {
  program
    .command('index')
    .description("an approximate top-K index (LanceDB, IVF-PQ, inner product) over a DVBPR run's item embeddings, for large catalogues")
    .requiredOption('--run <run>', 'DVBPR run folder')
    .option('--partitions <n>', 'IVF partitions (default √items)')
    .option('--sub-vectors <n>', 'PQ sub-vectors (default K/4)')
    .action(async (opts: Record<string, unknown>) => {
      const o = parseConfig(indexFlags, opts);
      const r = await indexRunFolder(o.run, o, createProgress());
      process.stdout.write(JSON.stringify({ index: `${o.run}/lance`, ...r }) + '\n');
    });
}
