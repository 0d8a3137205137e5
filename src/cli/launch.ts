/**
 * `--nproc N`: starts N local workers of the same command, each a c10d rank (src/torch/dist.ts),
 * with torchrun's variables (MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK, LOCAL_RANK) and the cores
 * shared between them (ATELIER_THREADS). Rank 0's output is the command's; another rank's is shown
 * only when it fails. The first worker to fail stops the others, and its exit code is the command's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { freePort } from '../core/port.js';

/** The command line without `--nproc N` (or `--nproc=N`). */
export function withoutNproc(args: string[]): string[] {
  const out: string[] = [];
  for (let k = 0; k < args.length; k++) {
    if (args[k] === '--nproc') k++;
    else if (!args[k]!.startsWith('--nproc=')) out.push(args[k]!);
  }
  return out;
}

/** How long a worker asked to stop may take before it is killed. */
const STOP_GRACE_MS = 10_000;

/** Whether the process is stopped (state T or t in /proc/<pid>/stat; false where /proc is absent). */
function isStopped(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'T' || state === 't';
  } catch {
    return false;
  }
}

export async function launchWorkers(n: number, args: string[]): Promise<number> {
  const main = fileURLToPath(new URL('./main.ts', import.meta.url));
  const tsx = import.meta.resolve('tsx');
  const port = await freePort();
  const threads = Math.max(1, Math.floor(availableParallelism() / n));
  const workers: ChildProcess[] = [];
  const tails: string[][] = [];
  const exits = Array.from({ length: n }, (_, rank) => {
    const child = spawn(process.execPath, ['--single-threaded-gc', '--import', tsx, main, ...withoutNproc(args)], {
      stdio: rank === 0 ? 'inherit' : ['ignore', 'ignore', 'pipe'],
      env: {
        ...process.env,
        MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '1',
        MASTER_ADDR: '127.0.0.1',
        MASTER_PORT: String(port),
        WORLD_SIZE: String(n),
        RANK: String(rank),
        LOCAL_RANK: String(rank),
        ATELIER_THREADS: process.env.ATELIER_THREADS ?? String(threads),
      },
    });
    workers.push(child);
    const tail: string[] = [];
    tails.push(tail);
    child.stderr?.on('data', (c) => {
      tail.push(String(c));
      if (tail.length > 40) tail.shift();
    });
    return new Promise<{ rank: number; code: number }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ rank, code: code ?? (signal ? 128 + (signal === 'SIGKILL' ? 9 : 15) : 1) })),
    );
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => workers.forEach((w) => w.kill(signal)));
  let first: { rank: number; code: number } | null = null;
  const stopped: number[] = [];
  let hardStop: NodeJS.Timeout | undefined;
  await Promise.all(
    exits.map((p) =>
      p.then((r) => {
        if (r.code !== 0 && !first) {
          first = r;
          const others = workers.filter((w, k) => k !== r.rank && w.exitCode === null && w.signalCode === null);
          // a rank stopped (SIGSTOP, a debugger) holds a collective until the group's timeout; it
          // would never act on SIGTERM, so it is named, continued to receive it, and killed if it
          // has not gone within a grace period
          workers.forEach((w, k) => others.includes(w) && isStopped(w.pid) && stopped.push(k));
          for (const w of others) {
            w.kill('SIGTERM');
            w.kill('SIGCONT');
          }
          hardStop = setTimeout(() => others.forEach((w) => w.exitCode === null && w.signalCode === null && w.kill('SIGKILL')), STOP_GRACE_MS);
        }
      }),
    ),
  );
  clearTimeout(hardStop);
  const failed = first as { rank: number; code: number } | null;
  if (!failed) return 0;
  if (stopped.length)
    process.stderr.write(
      `atelier: rank ${stopped.join(', rank ')} of ${n} was stopped (not running) when rank ${failed.rank} gave up waiting for it in a collective; it was ended\n`,
    );
  if (failed.rank !== 0 && tails[failed.rank]!.length)
    process.stderr.write(`atelier: rank ${failed.rank} of ${n} failed (exit ${failed.code}):\n${tails[failed.rank]!.join('').trimEnd()}\n`);
  else process.stderr.write(`atelier: rank ${failed.rank} of ${n} failed (exit ${failed.code}); the other workers were stopped\n`);
  return failed.code;
}
