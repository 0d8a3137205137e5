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
// start no process (about a minute here); `npm test` runs every file
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
const files = walk('test')
  .sort()
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
// Every temporary folder the tests make goes under one scratch folder, removed afterwards
// (kept, and named, when ATELIER_KEEP_TEST_TMP is set, for looking into a failure).
const scratch = mkdtempSync(join(tmpdir(), 'atelier-tests-'));
const r = spawnSync(process.execPath, ['--single-threaded-gc', '--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
  env: { ...process.env, TMPDIR: scratch },
});
if (process.env.ATELIER_KEEP_TEST_TMP) console.error(`test scratch folder kept: ${scratch}`);
else rmSync(scratch, { recursive: true, force: true });
process.exit(r.status ?? 1);
