/** `atelier index`: an approximate top-K index (LanceDB IVF-PQ) over a DVBPR run's item embeddings. */
import type { Command } from 'commander';
import { z } from 'zod';
import { parseConfig } from '../config/parse.js';
import { indexRun } from '../store/lance-index.js';
import { loadRun } from '../store/run.js';
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
      const run = loadRun(o.run);
      const items = run.catalogue.itemIds.length;
      const bar = createProgress().stage('index', items);
      const r = await indexRun(run, {
        partitions: o.partitions,
        subVectors: o.subVectors,
        onProgress: (stage, done) => {
          if (stage === 'rows') bar.update(done, { writing: 'rows' });
          else if (stage === 'train') bar.update(items, { training: 'IVF-PQ' });
          else bar.done();
        },
      });
      process.stdout.write(JSON.stringify({ index: `${o.run}/lance`, ...r }) + '\n');
    });
}
