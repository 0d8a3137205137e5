import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { atelier } from './in-process.js';
import { tempDir } from '../helpers/fixtures.js';
import { tinyRuns } from '../helpers/tiny-runs.js';
import { loadRun } from '../../src/store/run.js';
import { loadGanRun } from '../../src/store/gan-run.js';
import { buildServer } from '../../src/server/app.js';
import { segmentThetaOf } from '../../src/app/segments.js';
import { bestRealFor } from '../../src/app/designs.js';
import { events } from '../helpers/http.js';

test('segments: k-means groups stored with the run; design --segment and POST /segments/:id/designs design for the segment, its best real items by its taste', async () => {
  const t = await tinyRuns();
  const run = join(tempDir('atelier-segments-'), 'run');
  cpSync(t.run, run, { recursive: true });
  assert.equal((await atelier('segments', '--run', run, '--k', '2')).code, 0);
  const r = loadRun(run);
  const segs = r.catalogue.segments;
  assert.deepEqual([...segs.keys()].sort(), ['s1', 's2']);
  const all = [...segs.values()].flat().sort((a, b) => a - b);
  assert.deepEqual(all, [...r.catalogue.userIds.keys()], 'every shopper in exactly one segment');
  assert.ok(segs.get('s1')!.length >= segs.get('s2')!.length, 's1 is the largest');
  // bad input: a k outside 2..shoppers, an unknown segment, neither or both of --user and --segment
  const tooMany = await atelier('segments', '--run', run, '--k', String(r.catalogue.userIds.length + 1));
  assert.equal(tooMany.code, 2);
  assert.match(tooMany.err, /--k \d+: between 2 and the run's \d+ shoppers/);
  const out = join(tempDir(), 'design');
  const base = ['design', '--run', run, '--gan', t.gan, '--category', 'tops', '--n', '2', '--steps', '2'];
  assert.equal((await atelier(...base, '--segment', 's1', '--out', out)).code, 0);
  const scores = JSON.parse(readFileSync(join(out, 'scores.json'), 'utf8'));
  assert.equal(scores.segment, 's1');
  assert.equal(scores.members, segs.get('s1')!.length);
  // the best real items are the segment taste's, by hand from its θ_S
  const want = bestRealFor(r, segmentThetaOf(r, 's1'), 'tops', 2);
  assert.deepEqual(
    scores.bestReal.map((b: { itemId: string }) => b.itemId),
    want.map((w) => w.itemId),
  );
  const unknown = await atelier(...base, '--segment', 's9', '--out', join(tempDir(), 'x'));
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /unknown segment .*'s9'/);
  const neither = await atelier(...base, '--out', join(tempDir(), 'y'));
  assert.equal(neither.code, 2);
  assert.match(neither.err, /--user <id> or --segment <s>: give one/);
  // the API
  const app = await buildServer({ run: r, gan: loadGanRun(t.gan), designsDir: join(run, 'served') });
  try {
    const list = (await app.inject('/segments')).json();
    assert.deepEqual(list.segments.map((s: { name: string; members: number }) => [s.name, s.members]).sort(), [...segs].map(([n, m]) => [n, m.length]).sort());
    const res = await app.inject({ method: 'POST', url: '/segments/s2/designs', payload: { category: 'tops', n: 2, steps: 2 } });
    const done = events(res.body).find((e) => e.event === 'done')!.data as {
      segment: string;
      members: number;
      designs: unknown[];
      bestReal: { itemId: string }[];
    };
    assert.equal(done.segment, 's2');
    assert.equal(done.members, segs.get('s2')!.length);
    assert.equal(done.designs.length, 2);
    assert.deepEqual(
      done.bestReal.map((b) => b.itemId),
      bestRealFor(r, segmentThetaOf(r, 's2'), 'tops', 2).map((w) => w.itemId),
    );
    assert.equal((await app.inject({ method: 'POST', url: '/segments/nope/designs', payload: { category: 'tops' } })).statusCode, 404);
  } finally {
    await app.close();
  }
});

test('segments --by: one segment per value of a customers column (a number in bands), stored with the run; bad input is exit 2 naming it', async () => {
  const t = await tinyRuns();
  const dir = tempDir('atelier-segments-by-');
  const run = join(dir, 'run');
  cpSync(t.run, run, { recursive: true });
  const users = loadRun(run).catalogue.userIds;
  // ages by hand: the first half 23, the second 37, the last shopper absent from the table, one with no age
  const ages = users.map((_, u) => (u < users.length / 2 ? '23' : '37'));
  const rows = users.slice(0, -1).map((id, u) => `${id},${u === 1 ? '' : ages[u]},x`);
  const table = join(dir, 'customers.csv');
  writeFileSync(table, ['customer_id,age,club', ...rows].join('\n') + '\n');
  const r = await atelier('segments', '--run', run, '--by', 'age', '--customers', table, '--bands', '10', '--json');
  assert.equal(r.code, 0, r.err);
  const segs = loadRun(run).catalogue.segments;
  const want = new Map<string, number[]>();
  users.forEach((_, u) => {
    if (u === 1 || u === users.length - 1) return;
    const band = ages[u] === '23' ? 'age 20-29' : 'age 30-39';
    want.set(band, [...(want.get(band) ?? []), u]);
  });
  assert.deepEqual(new Map([...segs].map(([k, v]) => [k, [...v].sort((a, b) => a - b)])), want);
  // neither or both of --k and --by; --by without --customers; a column the table lacks
  for (const args of [[], ['--k', '2', '--by', 'age', '--customers', table], ['--by', 'age'], ['--by', 'height', '--customers', table]]) {
    const bad = await atelier('segments', '--run', run, ...args);
    assert.equal(bad.code, 2, args.join(' '));
  }
  assert.match((await atelier('segments', '--run', run, '--by', 'height', '--customers', table)).err, /height/);
});
