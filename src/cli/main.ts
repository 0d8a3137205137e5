#!/usr/bin/env node
/**
 * The command line: commander wiring, one file per command (each parses and validates its flags
 * with zod and calls src/app/), and errors mapped to exit codes in one place (exit-codes.ts): 2 for
 * bad input (the message names the file, field or value), 1 for anything else.
 */
import { setCommandLine } from './argv.js';
import { Command } from 'commander';
import { registerDemo } from './demo.js';
import { registerDesign } from './design.js';
import { registerEvaluate } from './evaluate.js';
import { exitCodeOf, messageOf } from './exit-codes.js';
import { registerImprove } from './improve.js';
import { registerIndex } from './index.js';
import { registerIngest } from './ingest.js';
import { registerRecommend } from './recommend.js';
import { registerSample } from './sample.js';
import { registerScoreItem } from './score-item.js';
import { registerSegments } from './segments.js';
import { registerServe } from './serve.js';
import { registerTrainBaselines } from './train-baselines.js';
import { registerTrainDvbpr } from './train-dvbpr.js';
import { registerTrainGan } from './train-gan.js';

/** A fresh command tree per call (commander keeps parsed values on its objects). */
function buildProgram(): Command {
  const program = new Command();
  program.exitOverride();
  program.name('atelier').description('Visually-aware fashion recommendation and design').showHelpAfterError();
  registerIngest(program);
  const train = program.command('train').description('train a recommender (or the GAN)');
  registerTrainDvbpr(train);
  registerTrainBaselines(train);
  registerTrainGan(train);
  registerSample(program);
  registerSegments(program);
  registerDesign(program);
  registerImprove(program);
  registerDemo(program);
  registerScoreItem(program);
  registerServe(program);
  registerIndex(program);
  registerEvaluate(program);
  registerRecommend(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  setCommandLine(argv);
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
    process.stderr.write(`atelier: ${messageOf(err)}\n`);
    return exitCodeOf(err);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv);
}
