#!/usr/bin/env node
// The `atelier` command: runs src/cli/main.ts in a node started with what the engine needs
// (tsx's loader for the TypeScript sources, --single-threaded-gc, MALLOC_ARENA_MAX=1: see
// docs/engine.md), passing every argument, the exit code and termination signals through.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const tsx = import.meta.resolve('tsx');
const child = spawn(process.execPath, ['--single-threaded-gc', '--import', tsx, main, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '1' },
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => {
  if (signal) {
    process.removeAllListeners(signal); // die of the same signal, as the child did
    process.kill(process.pid, signal);
  } else process.exit(code ?? 1);
});
