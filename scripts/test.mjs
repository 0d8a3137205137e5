// Runs every test/**/*.test.ts with node's own test runner (through tsx). Node 20's --test does not
// expand globs itself, so the files are listed here. Extra arguments filter files by substring.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.test.ts') ? [p] : [];
  });
}

// --unit: the inner loop's tier, the files that train nothing larger than a hand-made batch and
// start no process (about 20 seconds here); `npm test` runs every file (about 3.3 minutes)
const UNIT = [
  'test/eval/',
  'test/models/ranking.test.ts',
  'test/data/sampler.test.ts',
  'test/data/pickle.test.ts',
  'test/data/csv.test.ts',
  'test/data/images.test.ts',
  'test/torch/gradients.test.ts',
  'test/torch/engine.test.ts',
  'test/torch/safetensors.test.ts',
  'test/train/lazy-rows.test.ts',
  'test/train/averaging.test.ts',
  'test/train/augment.test.ts',
  'test/train/loop.test.ts',
  'test/store/lock.test.ts',
  'test/store/manifests.test.ts',
  'test/cli/flags.test.ts',
  'test/cli/priors.test.ts',
];
const args = process.argv.slice(2);
const filters = args.includes('--unit') ? UNIT : args;
// the longest files start first, so that the two at a time end together
const FIRST = ['test/cli/distributed.test.ts', 'test/train/device-train.test.ts', 'test/cli/demo.test.ts', 'test/web/page.test.ts'];
const rank = (f) => (FIRST.includes(f) ? FIRST.indexOf(f) : FIRST.length);
const files = walk('test')
  .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
// Every temporary folder the tests make goes under one scratch folder, removed afterwards
// (kept, and named, when ATELIER_KEEP_TEST_TMP is set, for looking into a failure).
const scratch = mkdtempSync(join(tmpdir(), 'atelier-tests-'));
// Two files at a time, each with one libtorch thread (ATELIER_TEST_CONCURRENCY=1 runs them one by
// one with every core): much of a file's time is its process starting and its own I/O, and two
// processes of two threads each on two cores would slow each other several times over.
const concurrency = Math.max(1, Number(process.env.ATELIER_TEST_CONCURRENCY ?? 2) || 1);
const threads = concurrency > 1 ? { ATELIER_THREADS: process.env.ATELIER_THREADS ?? '1' } : {};
const r = spawnSync(
  process.execPath,
  ['--single-threaded-gc', '--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  {
    stdio: 'inherit',
    env: { ...process.env, ...threads, TMPDIR: scratch },
  },
);
if (process.env.ATELIER_KEEP_TEST_TMP) console.error(`test scratch folder kept: ${scratch}`);
else rmSync(scratch, { recursive: true, force: true });
process.exit(r.status ?? 1);
