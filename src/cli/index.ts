/** `atelier index`: an approximate top-K index (LanceDB IVF-FLAT, IVF-HNSW-SQ or IVF-PQ) over a DVBPR run's item embeddings. */
import { Option, type Command } from 'commander';
import { z } from 'zod';
import { decimal } from '../config/parse.js';
import { addSettingsFlags, settingsFor } from './settings.js';
import { indexRunFolder } from '../app/index-run.js';
import { createProgress } from '../app/progress.js';
import { LANCE_INDEX_KINDS, type LanceIndexKind } from '../store/lance-index.js';

const indexFlags = z
  .object({
    run: z.string(),
    kind: z.enum(LANCE_INDEX_KINDS as [LanceIndexKind, ...LanceIndexKind[]]).default('ivf-flat'),
    partitions: decimal(z.number().int().min(1)).optional(),
    subVectors: decimal(z.number().int().min(1)).optional(),
    m: decimal(z.number().int().min(2).max(256)).optional(),
    efConstruction: decimal(z.number().int().min(10)).optional(),
  })
  .strict();

export function registerIndex(program: Command): void {
  addSettingsFlags(program.command('index'))
    .description("an approximate top-K index (LanceDB, inner product) over a DVBPR run's item embeddings, for large catalogues")
    .requiredOption('--run <run>', 'DVBPR run folder')
    .addOption(
      new Option(
        '--kind <kind>',
        'ivf-flat: partitions scanned exactly (recall@10 0.99 at p99 8 ms over 1,000,000 items); hnsw-sq: a graph per partition; ivf-pq: the least memory',
      )
        .choices(LANCE_INDEX_KINDS)
        .default('ivf-flat'),
    )
    .option('--partitions <n>', 'IVF partitions (default √items; hnsw-sq: one graph per 100,000 items)')
    .option('--sub-vectors <n>', 'ivf-pq: PQ sub-vectors (default K/4)')
    .option('--m <n>', 'hnsw-sq: neighbours per node (default 20)')
    .option('--ef-construction <n>', 'hnsw-sq: candidates while building (default 300)')
    .action(async function (this: Command, opts: Record<string, unknown>) {
      const o = settingsFor(this, indexFlags, opts);
      if (!o) return;
      const r = await indexRunFolder(o.run, o, createProgress());
      process.stdout.write(JSON.stringify({ index: `${o.run}/lance`, ...r }) + '\n');
    });
}
