/** `atelier sample`: a grid of generated items of one category. */
import type { Command } from 'commander';
import { z } from 'zod';
import { sampleGrid } from '../app/sample.js';
import { addSettingsFlags, settingsFor } from './settings.js';
import { intIn } from './flags.js';

const sampleFlags = z.object({ gan: z.string(), category: z.string(), n: intIn('n', 1, 1024), seed: intIn('seed', 0, 2 ** 31 - 1), out: z.string() }).strict();

export function registerSample(program: Command): void {
  addSettingsFlags(program.command('sample'))
    .description('a grid of generated items of one category')
    .requiredOption('--gan <gan>', 'GAN run folder')
    .requiredOption('--category <c>', 'category')
    .option('--n <n>', 'how many', '16')
    .option('--seed <n>', 'seed of the latent codes', '1')
    .requiredOption('--out <png>', 'PNG to write')
    .action(async function (this: Command, opts: Record<string, unknown>) {
      const f = settingsFor(this, sampleFlags, opts);
      if (f) process.stdout.write(`${await sampleGrid(f)}\n`);
    });
}
