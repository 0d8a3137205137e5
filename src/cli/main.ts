#!/usr/bin/env node
/**
 * The command line. Thin: parse, validate, call the library. Errors map to exit codes in one
 * place: 2 for bad input (the message names the file, field or value), 1 for anything else.
 */
import { Command, Option } from 'commander';
import { AtelierError } from '../core/errors.js';
import { exitCodeOf } from './exit-codes.js';
import { createProgress } from './progress.js';

/** A fresh command tree per call (commander keeps parsed values on its objects). */
function buildProgram(): Command {
const program = new Command();
program.exitOverride();
program.name('atelier').description('Visually-aware fashion recommendation and design').showHelpAfterError();

function out(json: boolean, value: unknown, text: () => string): void {
  process.stdout.write(json ? JSON.stringify(value) + '\n' : text() + '\n');
}

const ingest = program.command('ingest').description('prepare a dataset: images, split, categories, manifest');
const ingestOptions = (c: Command) =>
  c
    .requiredOption('--out <data>', 'prepared dataset folder to write')
    .option('--image-size <px>', 'square image size', '64')
    .addOption(new Option('--fit <mode>', 'letterbox on white, or centre crop').choices(['letterbox', 'crop']).default('letterbox'))
    .addOption(new Option('--split <kind>', 'paper (random leave-one-out) or temporal').choices(['paper', 'temporal']).default('paper'))
    .option('--min-user-items <n>', 'drop users with fewer distinct items', '5')
    .option('--k-core <k>', 'k-core filtering before the split')
    .option('--min-category-count <n>', 'categories with fewer items fold into "other"', '50')
    .option('--category-column <name>', 'column holding the category')
    .option('--seed <n>', 'seed of the split (and simulation)', '1')
    .addOption(new Option('--on-bad <mode>', 'fail at the first bad row, or skip and report').choices(['fail', 'skip']).default('fail'))
    .option('--json', 'print the manifest as JSON');

const runIngestCmd = (kind: 'hm' | 'folder' | 'fashion-mnist') => async (folder: string | undefined, opts: Record<string, unknown>) => {
  const { runIngest } = await import('./ingest.js');
  const { json, ...rest } = opts;
  const m = await runIngest(kind, folder, rest, createProgress({ json: Boolean(json) }));
  out(Boolean(json), m, () =>
    [
      `prepared ${m.counts.items} items, ${m.counts.users} users (${m.counts.train} train / ${m.counts.valid} valid / ${m.counts.test} test) → ${opts.out}`,
      `cold test items: ${m.split.coldTestItems}; categories: ${m.categories.map((c) => `${c.name} (${c.items})`).join(', ')}`,
      m.oracle ? `oracle AUC (hidden taste): ${m.oracle.testAuc.toFixed(4)} all, ${m.oracle.coldTestAuc.toFixed(4)} cold` : '',
      m.problems.total ? `skipped: ${Object.entries(m.problems.byReason).map(([k, v]) => `${k}: ${v}`).join('; ')}` : '',
    ]
      .filter(Boolean)
      .join('\n'),
  );
};

ingestOptions(ingest.command('hm <folder>').description('the Kaggle H&M layout')).action(runIngestCmd('hm'));
ingestOptions(ingest.command('folder <folder>').description('items.csv (item_id,image[,category]) + interactions.csv (user_id,item_id[,timestamp])')).action(
  runIngestCmd('folder'),
);
ingestOptions(ingest.command('fashion-mnist [folder]').description('Fashion-MNIST idx files with simulated shoppers'))
  .option('--simulate-shoppers <n>', 'number of simulated shoppers', '1000')
  .option('--items <n>', 'catalogue size (seeded subset of the 70,000 images)', '6000')
  .option('--taste-dims <d>', 'dimensions of the hidden visual taste', '6')
  .option('--taste-sharpness <beta>', 'norm of each taste vector', '2')
  .option('--extra-items <lambda>', 'mean purchases beyond --min-user-items (Poisson)', '6')
  .action(runIngestCmd('fashion-mnist'));

const train = program.command('train').description('train a recommender (or the GAN)');
train
  .command('dvbpr')
  .description('DVBPR: a CNN trained from pixels jointly with the shoppers (method.md §1)')
  .requiredOption('--data <data>', 'prepared dataset folder')
  .requiredOption('--out <run>', 'run folder to write')
  .addOption(new Option('--preset <name>', 'network and schedule').choices(['tiny', 'default', 'paper']).default('default'))
  .option('--epochs <n>', 'epochs (#train interactions / batch steps each)')
  .option('--lr <x>', 'Adam learning rate')
  .option('--batch <n>', 'triplets per step')
  .option('--k <n>', 'embedding dimensions K')
  .option('--dropout <p>', 'dropout rate of the encoder (the paper and the presets: 0.5)')
  .option('--lambda-phi <x>', 'L2 on CNN weights')
  .option('--lambda-theta <x>', 'L2 on user vectors')
  .addOption(new Option('--init <how>', 'encoder start').choices(['scratch', 'classifier']))
  .option('--classifier-epochs <n>', 'epochs of the category classifier (--init classifier)')
  .option('--early-stopping <n>', 'stop after n evaluations without validation gain (0 = off)')
  .option('--average-epochs <n>', 'validate and keep an exponential moving average of the weights with this time constant in epochs (0 = off)')
  .option('--augment-shift <px>', 'shift each training image by a random 0..px pixels per axis, edges repeated (0 = off, the default)')
  .option('--seed <n>', 'seed')
  .option('--resume', 'continue from the run folder\'s last checkpoint')
  .option('--json', 'print the run manifest as JSON')
  .action(async (opts: Record<string, unknown>) => {
    const { runTrainDvbpr } = await import('./train.js');
    const { json, ...rest } = opts;
    const m = await runTrainDvbpr(rest, createProgress({ json: Boolean(json) }));
    const t = m.metrics.test as { auc: number; coldAuc: number };
    out(Boolean(json), m, () => `dvbpr → ${String(opts.out)}: test AUC ${t.auc.toFixed(4)}, cold AUC ${t.coldAuc.toFixed(4)} (best epoch ${String(m.metrics.bestEpoch)})`);
  });
train
  .command('baselines')
  .description('random, popularity, BPR-MF and VBPR, one run folder each under --out')
  .requiredOption('--data <data>', 'prepared dataset folder')
  .requiredOption('--out <dir>', 'folder for the runs')
  .addOption(new Option('--preset <name>', 'classifier network for VBPR features').choices(['tiny', 'default', 'paper']).default('default'))
  .option('--epochs <n>', 'epochs of BPR-MF and VBPR', '20')
  .option('--factors <n>', 'latent factors (and visual factors)', '20')
  .option('--lambda <x>', 'L2 on the factors', '0.01')
  .option('--lr <x>', 'Adam learning rate', '0.001')
  .option('--only <list>', 'comma-separated subset')
  .option('--seed <n>', 'seed', '1')
  .option('--resume', 'continue BPR-MF/VBPR from their checkpoints')
  .option('--json', 'print the manifests as JSON lines')
  .action(async (opts: Record<string, unknown>) => {
    const { runTrainBaselines } = await import('./train.js');
    const { json, ...rest } = opts;
    const ms = await runTrainBaselines(rest, createProgress({ json: Boolean(json) }));
    for (const m of ms) {
      const t = m.metrics.test as { auc: number; coldAuc: number };
      out(Boolean(json), m, () => `${m.kind}: test AUC ${t.auc.toFixed(4)}, cold AUC ${t.coldAuc.toFixed(4)}`);
    }
  });

train
  .command('gan')
  .description('conditional LSGAN over the dataset\'s categories (method.md §4), with quality per snapshot')
  .requiredOption('--data <data>', 'prepared dataset folder')
  .requiredOption('--out <gan>', 'GAN run folder to write')
  .addOption(new Option('--preset <name>', 'network and schedule').choices(['tiny', 'default', 'paper']).default('default'))
  .option('--epochs <n>', 'epochs over the labelled items')
  .option('--batch <n>', 'batch size')
  .option('--lr <x>', 'Adam learning rate (β1 0.5, β2 0.99)')
  .option('--lr-d <x>', 'the discriminator\'s learning rate, when it should differ from the generator\'s')
  .option('--ema-steps <n>', 'time constant, in steps, of the generator\'s weight average (0: none; default preset 100)')
  .option('--category-power <p>', 'draw a category ∝ its item count^p, then an item (1: items uniformly, as the paper; 0: categories equally)')
  .option('--projection', 'the discriminator adds a projection term ⟨φ(x), E c⟩ to its output (not the paper\'s; stronger category conditioning)')
  .option('--mismatch <w>', 'D also learns that a real image under a wrong category is fake, weight w (not the paper\'s; the matching-aware discriminator; 0: off)')
  .option('--min-category-items <n>', 'categories with fewer images are left out (default preset 50)')
  .option('--snapshots <n>', 'snapshots (grid, metrics, checkpoint)')
  .option('--classifier-epochs <n>', 'epochs of the metrics\' category classifier')
  .option('--quality-samples <n>', 'generated images per category for the metrics', '200')
  .option('--seed <n>', 'seed')
  .option('--resume', 'continue from the last snapshot\'s checkpoint')
  .option('--json', 'print the GAN manifest as JSON')
  .action(async (opts: Record<string, unknown>) => {
    const { runTrainGan } = await import('./gan.js');
    const { json, ...rest } = opts;
    const m = await runTrainGan(rest, createProgress({ json: Boolean(json) }));
    const f = m.metrics.final as { frechet: number; categoryAgreement: number; inceptionScore: number };
    const b = m.metrics.finalBounded as { frechet: number; categoryAgreement: number } | undefined;
    out(Boolean(json), m, () => `gan → ${String(opts.out)}: best snapshot ${m.metrics.bestSnapshot}, Fréchet ${f.frechet.toFixed(2)}, category agreement ${(100 * f.categoryAgreement).toFixed(1)}%, IS ${f.inceptionScore.toFixed(2)}` + (b ? `; with z = tanh(w) (the design's codes): Fréchet ${b.frechet.toFixed(2)}, agreement ${(100 * b.categoryAgreement).toFixed(1)}%` : ''));
  });

program
  .command('sample')
  .description('a grid of generated items of one category')
  .requiredOption('--gan <gan>', 'GAN run folder')
  .requiredOption('--category <c>', 'category')
  .option('--n <n>', 'how many', '16')
  .option('--seed <n>', 'seed of the latent codes', '1')
  .requiredOption('--out <png>', 'PNG to write')
  .action(async (opts: { gan: string; category: string; n: string; out: string; seed: string }) => {
    const { runSample } = await import('./gan.js');
    process.stdout.write(`${await runSample(opts)}\n`);
  });

program
  .command('design')
  .description("new items for one shopper: preference maximisation in the GAN's latent space (method.md §5)")
  .requiredOption('--run <run>', 'DVBPR run folder')
  .requiredOption('--gan <gan>', 'GAN run folder')
  .requiredOption('--user <id>', 'shopper id')
  .requiredOption('--category <c>', 'category')
  .option('--n <n>', 'designs (random starts)', '8')
  .option('--steps <n>', 'Adam steps on the latent codes', '50')
  .option('--seed <n>', 'seed of the starts', '1')
  .option('--eta <x>', 'weight η of the realism term (D(G) − 1)²', '1')
  .option('--taste <t>', "'own': maximise θ_uᵀΦ (the paper); 'distinctive': (θ_u − θ̄)ᵀΦ, what sets this shopper apart", 'own')
  .option('--anchor <gamma>', 'leash γ‖z − z0‖² keeping each design near its random start (0 = none, the paper)', '0')
  .option('--candidates <n>', 'start from the n best of this many random codes (default: n random starts)')
  .option('--guard <q>', "realism guard: each design is its best step that stays as close to real items (in Φ) as the share q of the GAN's own samples, e.g. 0.95 (0 = off, the paper)", '0')
  .option('--bound <b>', "latent bound: 'box', z = tanh(w) (the paper); 'shell', z on the sphere ‖z‖ = √d where the GAN's N(0, I) training codes lie", 'box')
  .requiredOption('--out <dir>', 'output folder: design-XX.png, figure.png, scores.json')
  .option('--json', 'print the summary as JSON')
  .action(async (opts: Record<string, string>) => {
    const { runDesign } = await import('./design.js');
    const s = await runDesign(opts as never);
    out(Boolean(opts.json), s, () => `designs for ${s.userId} (${s.category}) → ${opts.out}: best design ${Math.max(...s.designs.map((d) => d.score)).toFixed(3)} vs best real item ${s.bestReal[0]?.score.toFixed(3)}`);
  });

program
  .command('improve')
  .description("move an existing item towards one shopper's taste")
  .requiredOption('--run <run>', 'DVBPR run folder')
  .requiredOption('--gan <gan>', 'GAN run folder')
  .requiredOption('--user <id>', 'shopper id')
  .requiredOption('--item <id>', 'item id')
  .option('--steps <n>', 'Adam steps of the maximisation', '50')
  .option('--seed <n>', 'seed', '1')
  .requiredOption('--out <dir>', 'output folder: original/reconstruction/improved.png, figure.png, trajectory.json')
  .option('--json', 'print the summary as JSON')
  .action(async (opts: Record<string, string>) => {
    const { runImprove } = await import('./design.js');
    const s = await runImprove(opts as never);
    out(Boolean(opts.json), s, () => `improved ${s.itemId} for ${s.userId} → ${opts.out}: score ${s.scores.original.toFixed(3)} (original) → ${s.scores.improved.toFixed(3)} (improved)`);
  });

program
  .command('demo')
  .description('ingest → train (baselines, DVBPR, GAN) → design → report.html, on the embedded default or a shop folder')
  .option('--data <folder>', 'a shop in the H&M (Kaggle) layout; default: Fashion-MNIST with simulated shoppers')
  .option('--out <dir>', 'output folder', 'out/demo')
  .addOption(new Option('--preset <name>', 'sizes and schedule').choices(['tiny', 'default']).default('default'))
  .option('--fresh', 'start over instead of resuming completed stages')
  .option('--seed <n>', 'seed', '1')
  .option('--json', 'progress as JSON lines')
  .action(async (opts: Record<string, unknown>) => {
    const { runDemo } = await import('./demo.js');
    const { json, ...rest } = opts;
    const report = await runDemo(rest, createProgress({ json: Boolean(json) }));
    process.stdout.write(`report: ${report}\n`);
  });

program
  .command('score-item')
  .description('a new item from its photo alone: which shoppers would like it most')
  .requiredOption('--run <run>', 'DVBPR run folder')
  .requiredOption('--image <photo>', 'JPEG/PNG/WebP photo of the item')
  .option('--k <n>', 'how many shoppers', '10')
  .option('--json', 'JSON: {"shoppers": [{"userId", "score"}], "embedding": [...]}')
  .action(async (opts: { run: string; image: string; k: string; json?: boolean }) => {
    const { readFileSync } = await import('node:fs');
    const { loadRun } = await import('../store/run.js');
    const { scoreNewItem, topShoppers } = await import('../store/new-item.js');
    const { BadInputError } = await import('../core/errors.js');
    let photo: Buffer;
    try {
      photo = readFileSync(opts.image);
    } catch (e) {
      throw new BadInputError(`cannot read: ${(e as Error).message}`, { file: opts.image });
    }
    const run = loadRun(opts.run);
    const r = await scoreNewItem(run, photo, opts.image);
    const shoppers = topShoppers(run, r.scores, Number(opts.k));
    out(Boolean(opts.json), { shoppers, embedding: Array.from(r.embedding) }, () => shoppers.map((s, n) => `${String(n + 1).padStart(3)}. ${s.userId}  ${s.score.toFixed(4)}`).join('\n'));
  });

program
  .command('serve')
  .description('HTTP API and web page over a saved run (and GAN)')
  .requiredOption('--run <run>', 'DVBPR run folder')
  .option('--gan <gan>', 'GAN run folder (enables designs)')
  .option('--port <n>', 'port', '8080')
  .option('--host <addr>', 'address to listen on', '127.0.0.1')
  .option('--designs <dir>', 'where generated images are kept')
  .option('--index <kind>', "top-K by 'exact' inner product, or through the run's 'lance' index (atelier index)", 'exact')
  .action(async (opts: { run: string; gan?: string; port: string; host: string; designs?: string; index?: string }) => {
    const { runServe } = await import('./serve.js');
    const url = await runServe(opts);
    process.stderr.write(`atelier serving on ${url}\n`);
    await new Promise(() => {}); // until killed
  });

program
  .command('index')
  .description("an approximate top-K index (LanceDB, IVF-PQ, inner product) over a DVBPR run's item embeddings, for large catalogues")
  .requiredOption('--run <run>', 'DVBPR run folder')
  .option('--partitions <n>', 'IVF partitions (default √items)')
  .option('--sub-vectors <n>', 'PQ sub-vectors (default K/4)')
  .action(async (opts: { run: string; partitions?: string; subVectors?: string }) => {
    const { loadRun } = await import('../store/run.js');
    const { indexRun } = await import('../store/lance-index.js');
    const { parseConfig } = await import('../config/parse.js');
    const { z } = await import('zod');
    const o = parseConfig(z.object({ run: z.string(), partitions: z.coerce.number().int().min(1).optional(), subVectors: z.coerce.number().int().min(1).optional() }).strict(), opts);
    const { createProgress } = await import('./progress.js');
    const progress = createProgress();
    const run = loadRun(o.run);
    const bar = progress.stage('index', run.catalogue.itemIds.length);
    const r = await indexRun(run, {
      partitions: o.partitions,
      subVectors: o.subVectors,
      onProgress: (stage, done) => {
        if (stage === 'rows') bar.update(done, { writing: 'rows' });
        else if (stage === 'train') bar.update(run.catalogue.itemIds.length, { training: 'IVF-PQ' });
        else bar.done();
      },
    });
    process.stdout.write(JSON.stringify({ index: `${opts.run}/lance`, ...r }) + '\n');
  });

program
  .command('evaluate')
  .description('AUC (full, sampled-100), cold AUC, Recall/NDCG@10 on the test split; the paper-shaped table')
  .requiredOption('--data <data>', 'prepared dataset folder')
  .requiredOption('--runs <run...>', 'run folders')
  .option('--markdown <file>', 'write the table as Markdown')
  .option('--json', 'print {"rows": [...]} as JSON')
  .action(async (opts: { data: string; runs: string[]; markdown?: string; json?: boolean }) => {
    const { evaluateRuns, markdownTable, writeMarkdown } = await import('./evaluate.js');
    const r = evaluateRuns(opts.data, opts.runs);
    const table = markdownTable(r.rows, r.oracle);
    if (opts.markdown) writeMarkdown(opts.markdown, table);
    out(Boolean(opts.json), { rows: r.rows.map(({ run: _run, ...row }) => row), ...(r.oracle ? { oracle: r.oracle } : {}) }, () => table.trimEnd());
  });

program
  .command('recommend')
  .description('top-K items for a shopper: exact inner product over the whole catalogue, cold items included')
  .requiredOption('--run <run>', 'run folder')
  .option('--user <id>', 'shopper id')
  .option('--users <file>', 'file with one shopper id per line (one load, many answers)')
  .option('--k <n>', "how many, or 'all'", '10')
  .option('--category <c>', 'only this category')
  .option('--cold-only', 'only items with fewer than 5 training purchases')
  .option('--exclude-bought', "leave out the shopper's known purchases")
  .option('--json', 'one JSON line per shopper: {"userId", "items": [{"itemId", "score", "cold"}]}')
  .action(async (opts: Record<string, unknown>) => {
    const { runRecommend } = await import('./evaluate.js');
    const recs = runRecommend(opts as never);
    for (const r of recs) {
      out(Boolean(opts.json), { userId: r.userId, items: r.items.map(({ itemId, score, cold }) => ({ itemId, score, cold })) }, () =>
        [`shopper ${r.userId}:`, ...r.items.map((it, n) => `${String(n + 1).padStart(3)}. ${it.itemId}  ${it.score.toFixed(4)}  ${it.category}${it.cold ? '  (cold)' : ''}`)].join('\n'),
      );
    }
  });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    // commander's own exits (--help, --version, a usage error it already printed)
    const ce = err as { code?: string; exitCode?: number };
    if (typeof ce.code === 'string' && ce.code.startsWith('commander.')) {
      return ce.code === 'commander.helpDisplayed' || ce.code === 'commander.version' || ce.code === 'commander.help' ? 0 : 2;
    }
    const code = exitCodeOf(err);
    const msg = err instanceof AtelierError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`atelier: ${msg}\n`);
    return code;
  }
}


if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv);
}
