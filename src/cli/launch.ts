/**
 * `--nproc N`: starts N local workers of the same command, each a c10d rank (src/torch/dist.ts),
 * with torchrun's variables (MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK, LOCAL_RANK) and the cores
 * shared between them (ATELIER_THREADS). Rank 0's output is the command's; another rank's is shown
 * only when it fails. The first worker to fail stops the others, and its exit code is the command's.
 * SIGINT or SIGTERM is passed on to every worker: their training loops agree on a step, rank 0
 * checkpoints it, and they exit; the launcher waits for them and reports the stop (`interrupted`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, constants } from 'node:os';
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

export async function launchWorkers(n: number, args: string[]): Promise<{ code: number; interrupted?: 'SIGINT' | 'SIGTERM' }> {
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
      child.on('exit', (code, signal) => resolve({ rank, code: code ?? (signal ? 128 + (constants.signals[signal] ?? 15) : 1) })),
    );
  });
  // the user's stop: passed on (the workers stop at one step, rank 0 writing its checkpoint) and waited for
  let interrupted: 'SIGINT' | 'SIGTERM' | undefined;
  const pass = (signal: 'SIGINT' | 'SIGTERM') => () => {
    interrupted ??= signal;
    workers.forEach((w) => w.exitCode === null && w.signalCode === null && w.kill(signal));
  };
  const onInt = pass('SIGINT');
  const onTerm = pass('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  let first: { rank: number; code: number } | null = null;
  const stopped: number[] = [];
  let hardStop: NodeJS.Timeout | undefined;
  await Promise.all(
    exits.map((p) =>
      p.then((r) => {
        if (interrupted) return; // every worker was asked to stop: each ends on its own
        if (r.code !== 0 && !first) {
          first = r;
          const others = workers.filter((w, k) => k !== r.rank && w.exitCode === null && w.signalCode === null);
          // a rank stopped (SIGSTOP, a debugger) holds a collective until the group's timeout; it
          // would never act on a signal, so it is named, continued to receive it, and killed if it
          // has not gone within a grace period. SIGHUP, not SIGTERM: a worker ends at once on it,
          // where SIGTERM (a user's stop) asks its loop for a checkpoint at a step all ranks agree on
          workers.forEach((w, k) => others.includes(w) && isStopped(w.pid) && stopped.push(k));
          for (const w of others) {
            w.kill('SIGHUP');
            w.kill('SIGCONT');
          }
          hardStop = setTimeout(() => others.forEach((w) => w.exitCode === null && w.signalCode === null && w.kill('SIGKILL')), STOP_GRACE_MS);
        }
      }),
    ),
  );
  clearTimeout(hardStop);
  process.off('SIGINT', onInt);
  process.off('SIGTERM', onTerm);
  if (interrupted) return { code: interrupted === 'SIGINT' ? 130 : 143, interrupted };
  const failed = first as { rank: number; code: number } | null;
  if (!failed) return { code: 0 };
  if (stopped.length)
    process.stderr.write(
      `atelier: rank ${stopped.join(', rank ')} of ${n} was stopped (not running) when rank ${failed.rank} gave up waiting for it in a collective; it was ended\n`,
    );
  if (failed.rank !== 0 && tails[failed.rank]!.length)
    process.stderr.write(`atelier: rank ${failed.rank} of ${n} failed (exit ${failed.code}):\n${tails[failed.rank]!.join('').trimEnd()}\n`);
  else process.stderr.write(`atelier: rank ${failed.rank} of ${n} failed (exit ${failed.code}); the other workers were stopped\n`);
  return { code: failed.code };
}
