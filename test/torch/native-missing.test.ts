import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

test('without libtorch the build stops with one message saying how to get it', () => {
  const r = spawnSync(process.execPath, ['native/find-libtorch.cjs', 'include'], {
    env: { ...process.env, LIBTORCH: '/nonexistent/libtorch' },
    encoding: 'utf8',
  });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /LIBTORCH=\/nonexistent\/libtorch does not hold/);
  assert.match(r.stderr, /apt-get install libtorch-dev libopenblas0-pthread/);
});
