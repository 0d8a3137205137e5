/** `atelier evaluate`: AUC (full, sampled-100), cold AUC, Recall/NDCG@10 of saved runs; the paper-shaped table. */
import type { Command } from 'commander';
import { addSettingsFlags, settingsFor } from './settings.js';
import { z } from 'zod';
import { evaluateRuns } from '../app/evaluate.js';
import { decimal } from '../config/parse.js';
import { writeFileAtomic } from '../core/fs.js';
import { markdownTable } from '../eval/table.js';
import { out } from './flags.js';

const evaluateFlags = z
  .object({
    data: z.string(),
    runs: z.array(z.string()).min(1),
    sampleUsers: decimal(z.number().int().min(1)).optional(),
    markdown: z.string().optional(),
    json: z.boolean().default(false),
  })
  .strict();

export function registerEvaluate(program: Command): void {
  addSettingsFlags(program.command('evaluate'))
    .description('AUC (full, sampled-100), cold AUC, Recall/NDCG@10 on the test split; the paper-shaped table')
    .requiredOption('--data <data>', 'prepared dataset folder')
    .requiredOption('--runs <run...>', 'run folders')
    .option('--sample-users <n>', 'a quick figure on n test shoppers spread over the split, labelled a sample')
    .option('--markdown <file>', 'write the table as Markdown')
    .option('--json', 'print {"rows": [...]} as JSON')
    .action(async function (this: Command, opts: Record<string, unknown>) {
      const f = settingsFor(this, evaluateFlags, opts);
      if (!f) return;
      const r = evaluateRuns(f.data, f.runs, f.sampleUsers !== undefined ? { sampleUsers: f.sampleUsers } : {});
      const table = markdownTable(r.rows, r.oracle, r.sample);
      if (f.markdown) writeFileAtomic(f.markdown, table);
      out(
        f.json,
        { rows: r.rows.map(({ run: _run, ...row }) => row), ...(r.oracle ? { oracle: r.oracle } : {}), ...(r.sample ? { sample: r.sample } : {}) },
        () => table.trimEnd(),
      );
    });
}
