/** The `atelier` command (package.json's bin): npx finds it in the checkout, it passes arguments and exit codes through. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

test('npx atelier --help lists the commands; a bad run folder is exit code 2 with the file named', () => {
  const help = spawnSync('npx', ['--no', '--', 'atelier', '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /Usage: atelier/);
  for (const command of ['ingest', 'train', 'design', 'improve', 'serve', 'demo', 'recommend']) assert.match(help.stdout, new RegExp(`\\b${command}\\b`));
  const bad = spawnSync(process.execPath, ['bin/atelier.js', 'recommend', '--run', '/nonexistent/run', '--user', 'u'], { encoding: 'utf8' });
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /\/nonexistent\/run\/manifest\.json: missing file/);
});
