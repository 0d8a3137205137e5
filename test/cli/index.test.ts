/** `atelier index`: builds the run's index; bad flags and runs without embeddings are exit code 2. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { tempDir } from '../helpers/fixtures.js';
import { tinyRuns } from '../helpers/tiny-runs.js';

test('atelier index: builds the run index; a bad flag or a run without embeddings is exit code 2', async () => {
  const t = await tinyRuns();
  const dir = join(tempDir('atelier-lance-cli-'), 'run');
  cpSync(t.run, dir, { recursive: true });
  const out: string[] = [];
  const err: string[] = [];
  const [o, e] = [process.stdout.write.bind(process.stdout), process.stderr.write.bind(process.stderr)];
  process.stdout.write = ((c: string) => (out.push(String(c)), true)) as typeof process.stdout.write;
  process.stderr.write = ((c: string) => (err.push(String(c)), true)) as typeof process.stderr.write;
  try {
    assert.equal(await main(['node', 'atelier', 'index', '--run', dir]), 0);
    assert.equal(await main(['node', 'atelier', 'index', '--run', dir, '--partitions', 'many']), 2);
    assert.equal(await main(['node', 'atelier', 'serve', '--run', t.root, '--index', 'lance']), 2);
  } finally {
    process.stdout.write = o;
    process.stderr.write = e;
  }
  assert.equal(JSON.parse(out[0]!).rows, t.ds.itemIds.length);
  assert.ok(existsSync(join(dir, 'lance')));
  const errors = err.filter((l) => !l.includes('"event"'));
  assert.match(errors[0]!, /--partitions/);
  assert.match(errors[1]!, /manifest\.json/);
});
