/**
 * `train dvbpr --conservative <gan-run>` (issue: designs a shopper would believe): the COMs-style
 * term trains and is recorded in the run's config; its tuning flags without a GAN are exit 2.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { atelier } from './in-process.js';
import { tempDir } from '../helpers/fixtures.js';
import { tinyRuns } from '../helpers/tiny-runs.js';

const ctx = tinyRuns();

test('train dvbpr --conservative trains against the GAN’s ascent designs and records it; --conservative-weight alone is exit 2', async () => {
  const t = await ctx;
  const out = join(tempDir('atelier-conservative-'), 'run');
  const args = ['train', 'dvbpr', '--data', t.ds.dir, '--out', out, '--preset', 'tiny', '--epochs', '1'];
  const bad = await atelier(...args, '--conservative-weight', '2');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--conservative-weight and --conservative-steps need --conservative <gan-run>/);
  const r = await atelier(...args, '--conservative', t.gan, '--conservative-steps', '2', '--conservative-weight', '0.5');
  assert.equal(r.code, 0, r.err);
  const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
  assert.deepEqual(m.config.conservative, { gan: t.gan, weight: 0.5, steps: 2, perBatch: 32, lr: 0.05 });
  assert.ok(Number.isFinite(m.metrics.test.auc));
});
