import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { addPriorFlags, priorsFromFlags } from '../../src/cli/priors.js';
import { recommendationQuery } from '../../src/server/routes/users.js';
import { registeredPriors } from '../../src/models/ranking/index.js';

test('every registered prior has one CLI flag and one API query key, its own name; a prior registered later has them too', async () => {
  const names = registeredPriors().map((p) => p.name);
  assert.deepEqual(names.slice(0, 7), ['category', 'product', 'popularity', 'trending', 'recency', 'basket', 'copurchase']);
  const flags = addPriorFlags(new Command('x')).options.map((o) => o.long);
  for (const n of names) assert.ok(flags.includes(`--prior-${n}`), `--prior-${n}`);
  // a fifth (here seventh) prior in one file of its own
  await import('../helpers/fifth-prior.js');
  assert.equal((recommendationQuery().parse({ 'prior-even': '2.5' }) as Record<string, unknown>)['prior-even'], 2.5);
  const cmd = addPriorFlags(new Command('x').exitOverride());
  cmd.parse(['--prior-even', '3', '--prior-popularity', '0', '--no-priors'], { from: 'user' });
  assert.deepEqual(priorsFromFlags(cmd.opts()), { priors: { even: 3, popularity: 0 }, usePolicy: false, rest: {} });
  assert.throws(() => recommendationQuery().parse({ 'prior-fame': '1' }), /prior-fame/);
  assert.throws(() => recommendationQuery().parse({ 'prior-popularity': '0x10' }));
});
