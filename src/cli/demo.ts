/** `atelier demo` (README's main command, `npm run demo`): the whole pipeline into report.html. */
import { Option, type Command } from 'commander';
import { demoOptions, runDemo } from '../app/demo.js';
import { addSettingsFlags, settingsFor } from './settings.js';
import { createProgress } from '../app/progress.js';
import { interruptible } from './interrupt.js';

export function registerDemo(program: Command): void {
  addSettingsFlags(program.command('demo'))
    .description('ingest → train (baselines, DVBPR, GAN) → design → report.html, on the embedded default or a shop folder')
    .option('--data <folder>', 'a shop in the H&M (Kaggle) layout; default: Fashion-MNIST with simulated shoppers')
    .option('--out <dir>', 'output folder', 'out/demo')
    .addOption(new Option('--preset <name>', 'sizes and schedule').choices(['tiny', 'default']).default('default'))
    .option('--fresh', 'start over instead of resuming completed stages')
    .option('--seed <n>', 'seed', '1')
    .option('--json', 'progress as JSON lines')
    .action(async function (this: Command, opts: Record<string, unknown>) {
      const { json, ...rest } = opts;
      const o = settingsFor(this, demoOptions, rest);
      if (!o) return;
      const report = await interruptible(
        (signal) => runDemo(o, createProgress({ json: Boolean(json) }), signal),
        'stopping after the training step under way (with a checkpoint) or before the next stage; running the demo again resumes',
      );
      process.stdout.write(`report: ${report}\n`);
    });
}
