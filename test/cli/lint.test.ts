import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tempDir } from '../helpers/fixtures.js';

test('the lint rules CI runs (.oxlintrc.json) catch a floating promise, a misused one and an await of a non-promise', () => {
  const dir = tempDir('atelier-lint-');
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { strict: true, target: 'ES2022', module: 'NodeNext', types: [] }, include: ['*.ts'] }),
  );
  writeFileSync(
    join(dir, 'probe.ts'),
    [
      'export async function f(): Promise<number> { return 1; }',
      'export function g(): void { f(); }',
      'export function h(): void { [1].forEach(async () => { await f(); }); }',
      'export async function k(): Promise<void> { await 3; }',
      '',
    ].join('\n'),
  );
  const root = resolve(import.meta.dirname, '../..');
  const r = spawnSync(join(root, 'node_modules/.bin/oxlint'), ['--type-aware', '-c', join(root, '.oxlintrc.json'), 'probe.ts'], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, OXLINT_TSGOLINT_PATH: join(root, 'node_modules/.bin/tsgolint') },
  });
  assert.notEqual(r.status, 0);
  for (const rule of ['no-floating-promises', 'no-misused-promises', 'await-thenable']) assert.match(r.stdout, new RegExp(rule), rule);
  assert.match(r.stdout, /Found 0 warnings and 3 errors/);
});
