import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { atelier, atelierOut } from './in-process.js';
import { tinyRuns } from '../helpers/tiny-runs.js';

/** The CLI in this process, stdout kept. */
const cli = atelierOut;

test("evaluate: the run's own test figures with Recall@12 and MAP@12; --sample-users gives a figure on that many shoppers, labelled a sample", async () => {
  const t = await tinyRuns();
  const data = join(t.root, 'data');
  const full = await cli('evaluate', '--data', data, '--runs', t.run, '--json');
  assert.equal(full.code, 0, full.err);
  const row = JSON.parse(full.out).rows[0];
  const m = JSON.parse(readFileSync(join(t.run, 'manifest.json'), 'utf8'));
  assert.equal(row.auc, m.metrics.test.auc, 'the figure the run recorded');
  assert.equal(row.users, t.ds.test.user.length);
  assert.ok(row.mapAt12 >= 0 && row.mapAt12 <= row.recallAt12, `MAP@12 ${row.mapAt12} ≤ Recall@12 ${row.recallAt12}`);
  assert.equal(JSON.parse(full.out).sample, undefined);
  const sampled = await cli('evaluate', '--data', data, '--runs', t.run, '--json', '--sample-users', '3');
  assert.equal(sampled.code, 0, sampled.err);
  const s = JSON.parse(sampled.out);
  assert.deepEqual(s.sample, { users: 3, of: t.ds.test.user.length });
  assert.equal(s.rows[0].users, 3);
  const text = await cli('evaluate', '--data', data, '--runs', t.run, '--sample-users', '3');
  assert.match(text.out, /A sample: 3 of the \d+ test shoppers/);
  const bad = await atelier('evaluate', '--data', data, '--runs', t.run, '--sample-users', '0');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--sample-users/);
});
