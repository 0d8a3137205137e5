/** `atelier ingest hm|folder|fashion-mnist|paper`: a source → a prepared dataset folder. */
import { Option, type Command } from 'commander';
import { runIngest, type SourceKind } from '../app/ingest.js';
import type { Manifest } from '../data/dataset.js';
import { out } from './flags.js';
import { addSettingsFlags, layeredOptions } from './settings.js';
import { parseConfig } from '../config/parse.js';
import { ingestSchema } from '../config/data.js';
import { createProgress } from '../app/progress.js';

function summary(m: Manifest, dir: unknown): string {
  return [
    `prepared ${m.counts.items} items, ${m.counts.users} users (${m.counts.train} train / ${m.counts.valid} valid / ${m.counts.test} test) → ${String(dir)}`,
    `cold test items: ${m.split.coldTestItems}; categories: ${m.categories.map((c) => `${c.name} (${c.items})`).join(', ')}`,
    m.oracle ? `oracle AUC (hidden taste): ${m.oracle.testAuc.toFixed(4)} all, ${m.oracle.coldTestAuc.toFixed(4)} cold` : '',
    m.problems.total
      ? `skipped: ${Object.entries(m.problems.byReason)
          .map(([k, v]) => `${k}: ${v}`)
          .join('; ')}`
      : '',
  ]
    .filter(Boolean)
    .join('\n');
}

const common = (c: Command) =>
  addSettingsFlags(c)
    .option('--out <data>', 'prepared dataset folder to write (required)')
    .option('--image-size <px>', 'square image size', '64')
    .addOption(new Option('--fit <mode>', 'letterbox on white, or centre crop').choices(['letterbox', 'crop']).default('letterbox'))
    .addOption(
      new Option(
        '--split <kind>',
        "temporal (each shopper's latest purchases held out; the default for dated purchases) or paper (a random one; the default without dates)",
      ).choices(['paper', 'temporal']),
    )
    .option('--min-user-items <n>', 'shoppers with fewer distinct items are trained on but not evaluated (no held-out item)', '5')
    .option('--k-core <k>', 'k-core filtering before the split')
    .option('--min-category-count <n>', 'categories with fewer items fold into "other"', '50')
    .option('--category-column <name>', 'column holding the category')
    .option('--seed <n>', 'seed of the split (and simulation)', '1')
    .addOption(new Option('--on-bad <mode>', 'fail at the first bad row, or skip and report').choices(['fail', 'skip']).default('fail'))
    .option('--json', 'print the manifest as JSON');

// the flags themselves are validated by the ingest config's zod schema (config/data.ts); a
// settings file (--config) gives any of them, and --print-config prints them resolved
const action = (kind: SourceKind) =>
  async function (this: Command, folder: string | undefined, opts: Record<string, unknown>) {
    const { options, print } = layeredOptions(this, opts);
    const { json, ...rest } = options;
    if (print) {
      process.stdout.write(JSON.stringify(parseConfig(ingestSchema, rest), null, 2) + '\n');
      return;
    }
    const m = await runIngest(kind, folder, rest, createProgress({ json: Boolean(json) }));
    out(Boolean(json), m, () => summary(m, rest.out));
  };

export function registerIngest(program: Command): void {
  const ingest = program.command('ingest').description('prepare a dataset: images, split, categories, manifest');
  common(ingest.command('hm <folder>').description('the Kaggle H&M layout')).action(action('hm'));
  common(ingest.command('folder <folder>').description('items.csv (item_id,image[,category]) + interactions.csv (user_id,item_id[,timestamp])')).action(
    action('folder'),
  );
  common(ingest.command('fashion-mnist [folder]').description('Fashion-MNIST idx files with simulated shoppers'))
    .option('--simulate-shoppers <n>', 'number of simulated shoppers', '1000')
    .option('--items <n>', 'catalogue size (seeded subset of the 70,000 images)', '6000')
    .option('--taste-dims <d>', 'dimensions of the hidden visual taste', '6')
    .option('--taste-sharpness <beta>', 'norm of each taste vector', '2')
    .option('--extra-items <lambda>', 'mean purchases beyond --min-user-items (Poisson)', '6')
    .action(action('fashion-mnist'));
  addSettingsFlags(ingest.command('paper <file.npy>'))
    .description("the authors' released .npy (AmazonFashion6ImgPartitioned.npy, AmazonWomen, AmazonMen, Tradesy): their split and every item kept")
    .option('--out <data>', 'prepared dataset folder to write (required)')
    .option('--image-size <px>', 'square image size (the paper preset reads 224)', '64')
    .addOption(new Option('--fit <mode>', 'letterbox on white, or centre crop').choices(['letterbox', 'crop']).default('letterbox'))
    .addOption(new Option('--on-bad <mode>', 'fail at the first bad item or review, or skip and report').choices(['fail', 'skip']).default('fail'))
    .option('--json', 'print the manifest as JSON')
    .action(action('paper'));
}
