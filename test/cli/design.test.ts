/** The design, improve and train gan commands: outputs, and exit code 2 with a clear message on bad input. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { tinyRuns } from '../helpers/tiny-runs.js';

const ctx = tinyRuns();

test('design and improve commands: outputs, and exit code 2 with a clear message on bad input', async () => {
  const { root, run, gan, ds } = await ctx;
  const user = ds.userIds[0]!;
  const out = join(root, 'design-out');
  // the design command for this run, GAN and shopper, with more flags
  const design = (...more: string[]) => main(['node', 'atelier', 'design', '--run', run, '--gan', gan, '--user', user, ...more]);
  assert.equal(await design('--category', 'tops', '--n', '2', '--steps', '3', '--out', out), 0);
  assert.ok(existsSync(join(out, 'figure.png')) && existsSync(join(out, 'design-01.png')));
  const s = JSON.parse(readFileSync(join(out, 'scores.json'), 'utf8'));
  assert.equal(s.trajectory.scores.length, 4);
  assert.equal(s.guardRange, undefined);
  // the guard: each design says which step it is and how far it is from real items
  const guarded = join(root, 'design-guard');
  assert.equal(await design('--category', 'tops', '--n', '2', '--steps', '3', '--guard', '0.9', '--out', guarded), 0);
  const gs = JSON.parse(readFileSync(join(guarded, 'scores.json'), 'utf8'));
  assert.equal(gs.settings.guard, 0.9);
  // the settings recorded are the search's, the preset's filled in (who and what are recorded apart)
  assert.deepEqual(Object.keys(gs.settings).sort(), [
    'anchor',
    'bound',
    'candidates',
    'eta',
    'guard',
    'initScale',
    'lr',
    'preset',
    'smooth',
    'smoothCopies',
    'steps',
    'taste',
  ]);
  assert.equal(gs.settings.preset, 'default');
  assert.equal(gs.settings.steps, 3);
  assert.ok(gs.guardRange.maxDistance > 0);
  for (const d of gs.designs) assert.ok(Number.isInteger(d.step) && d.step >= 0 && d.step <= 3 && Number.isFinite(d.distance));
  const errs: string[] = [];
  const orig = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => (errs.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    assert.equal(await main(['node', 'atelier', 'design', '--run', run, '--gan', gan, '--user', 'nobody', '--category', 'tops', '--out', out]), 2);
    assert.equal(await design('--category', 'capes', '--out', out), 2);
    assert.equal(await design('--category', 'hats', '--out', out), 2);
    assert.equal(await main(['node', 'atelier', 'improve', '--run', run, '--gan', gan, '--user', user, '--item', 'no-such-item', '--out', out]), 2);
    assert.equal(await design('--category', 'tops', '--n', '4', '--candidates', '3', '--out', out), 2);
    assert.equal(await design('--category', 'tops', '--guard', '1.5', '--out', out), 2);
    assert.equal(await design('--category', 'tops', '--bound', 'sphere', '--out', out), 2);
    assert.equal(await design('--category', 'tops', '--smooth-copies', '3', '--out', out), 2);
    assert.equal(await design('--category', 'tops', '--bound', 'shell', '--init-scale', '0.5', '--out', out), 2);
    assert.equal(await design('--category', 'tops', '--preset', 'fast', '--out', out), 2);
  } finally {
    process.stderr.write = orig;
  }
  assert.match(errs[0]!, /unknown user 'nobody'/);
  assert.match(errs[1]!, /unknown category.*'capes'/);
  assert.match(errs[2]!, /left out of training: 1 items.*'hats'/);
  assert.match(errs[3]!, /unknown item 'no-such-item'/);
  // contradictory or out-of-range settings: exit 2 naming the flag and the value
  assert.match(errs[4]!, /option --candidates: best-of-N chooses the n = 4 starts among at least n draws .*\(got '3'\)/);
  assert.match(errs[5]!, /option --guard: .*\(got '1\.5'\)/);
  assert.match(errs[6]!, /option --bound: .*\(got 'sphere'\)/);
  assert.match(errs[7]!, /option --smooth-copies: copies of smoothing were given, but smoothing is off/);
  assert.match(errs[8]!, /option --init-scale: the shell bound keeps ‖z‖ = √d/);
  assert.match(errs[9]!, /--preset.*fast/);
  const imp = join(root, 'improve-out');
  const item = ds.itemIds.find((_, i) => ds.categories[ds.itemCategory[i]!] === 'shoes')!;
  assert.equal(await main(['node', 'atelier', 'improve', '--run', run, '--gan', gan, '--user', user, '--item', item, '--steps', '3', '--out', imp]), 0);
  assert.ok(existsSync(join(imp, 'improved.png')));
});

test('train gan --mismatch: a negative weight, or one category only, is refused with exit code 2 and the flag named', async () => {
  const { root, ds } = await ctx;
  const counts = ds.categories.map((_, c) => ds.itemCategory.filter((x) => x === c).length);
  const largest = Math.max(...counts);
  assert.equal(counts.filter((n) => n === largest).length, 1, 'the fixture has one largest category');
  const errs: string[] = [];
  const orig = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => (errs.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    const args = ['node', 'atelier', 'train', 'gan', '--data', ds.dir, '--preset', 'tiny', '--epochs', '1'];
    assert.equal(await main([...args, '--out', join(root, 'gan-mm-neg'), '--mismatch', '-1']), 2);
    // the categories with `largest` images or more: one
    const cfgFile = join(root, 'gan-mm-one');
    assert.equal(await main([...args, '--out', cfgFile, '--mismatch', '1', '--min-category-items', String(largest)]), 2);
  } finally {
    process.stderr.write = orig;
  }
  assert.match(errs[0]!, /mismatch.*-1/);
  // after the message naming the categories left out
  assert.match(
    errs.slice(1).join(''),
    /left out of the GAN: shoes \(7 images\), hats \(1 images\)[^]*--mismatch 1 needs at least two categories; the GAN has 1 \(tops\)/,
  );
});
