/**
 * Collectives over libtorch's own c10d (native/src/dist.cc): a TCPStore rendezvous, ProcessGroupGloo
 * on CPU. One process group per process; its timeout bounds every wait, so a rank that died ends
 * the others with an error, never a hang. The rendezvous reads torchrun's variables (MASTER_ADDR,
 * MASTER_PORT, WORLD_SIZE, RANK, LOCAL_RANK), so the launchers people already use start Atelier's
 * workers too.
 */
import { AtelierError, InvalidArgumentError } from '../core/errors.js';
import { native } from './native.js';
import type { Tensor } from './tensor.js';

export interface Rendezvous {
  rank: number;
  size: number;
  addr: string;
  port: number;
  localRank: number;
}

export interface ProcessGroup {
  readonly rank: number;
  readonly size: number;
  /** each tensor summed over the ranks (or averaged), in place */
  allReduce(tensors: Tensor[], op: 'sum' | 'mean'): void;
  /** each tensor set to rank `root`'s values, in place */
  broadcast(tensors: Tensor[], root: number): void;
  barrier(): void;
  destroy(): void;
}

/** Whether this addon was built with c10d and Gloo. */
export function distributedAvailable(): boolean {
  return native.DistAvailable!() as boolean;
}

/** torchrun's environment, or null when WORLD_SIZE is not set; a malformed variable is an error naming it. */
export function rendezvousFromEnv(env: NodeJS.ProcessEnv = process.env): Rendezvous | null {
  if (env.WORLD_SIZE === undefined) return null;
  const int = (name: string, min: number, def?: number): number => {
    const raw = env[name];
    if (raw === undefined && def !== undefined) return def;
    const v = Number(raw);
    if (!Number.isInteger(v) || v < min) throw new InvalidArgumentError(`${name}=${raw ?? '(unset)'}: expected an integer ≥ ${min}`);
    return v;
  };
  const size = int('WORLD_SIZE', 1);
  const rank = int('RANK', 0);
  if (rank >= size) throw new InvalidArgumentError(`RANK=${rank} is not below WORLD_SIZE=${size}`);
  const port = int('MASTER_PORT', 1, 29500);
  if (port > 65535) throw new InvalidArgumentError(`MASTER_PORT=${port}: expected a port in 1..65535`);
  return { rank, size, addr: env.MASTER_ADDR ?? '127.0.0.1', port, localRank: int('LOCAL_RANK', 0, rank) };
}

let current: ProcessGroup | null = null;

/**
 * The group's timeout: every rendezvous and collective waits at most this long for the other ranks
 * (a dead rank fails them at once; a stopped or hung one at the timeout). ATELIER_DIST_TIMEOUT_MS
 * sets it (default 60 s, at least 1 s).
 */
export function groupTimeoutMs(): number {
  const raw = process.env.ATELIER_DIST_TIMEOUT_MS;
  if (raw === undefined || raw === '') return 60_000;
  const ms = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(ms) || ms < 1000)
    throw new InvalidArgumentError(`ATELIER_DIST_TIMEOUT_MS must be a whole number of milliseconds from 1000, got '${raw}'`);
  return ms;
}

/** Joins the group (blocks until every rank has come, or the timeout). */
export function initProcessGroup(r: Rendezvous, timeoutMs = groupTimeoutMs()): ProcessGroup {
  if (!distributedAvailable())
    throw new AtelierError('DISTRIBUTED', 'this addon was built without c10d/Gloo: install libgloo-dev (scripts/setup.sh) and run `npm run build:native`');
  if (current) throw new InvalidArgumentError('a process group exists already in this process');
  try {
    native.DistInit!(r.rank, r.size, r.addr, r.port, timeoutMs);
  } catch (e) {
    throw new AtelierError(
      'DISTRIBUTED',
      `rank ${r.rank} of ${r.size}: no rendezvous at ${r.addr}:${r.port} within ${timeoutMs} ms (${(e as Error).message.split('\n')[0]})`,
      {
        cause: e,
      },
    );
  }
  const collective = (what: string, f: () => void) => {
    try {
      f();
    } catch (e) {
      throw new AtelierError('DISTRIBUTED', `rank ${r.rank} of ${r.size}: ${what} failed (another rank stopped?): ${(e as Error).message.split('\n')[0]}`, {
        cause: e,
      });
    }
  };
  current = {
    rank: r.rank,
    size: r.size,
    allReduce: (ts, op) =>
      collective('all-reduce', () =>
        native.DistAllReduce!(
          ts.map((t) => t.handle),
          op === 'mean',
        ),
      ),
    broadcast: (ts, root) =>
      collective('broadcast', () =>
        native.DistBroadcast!(
          ts.map((t) => t.handle),
          root,
        ),
      ),
    barrier: () => collective('barrier', () => native.DistBarrier!()),
    destroy: () => {
      native.DistDestroy!();
      current = null;
    },
  };
  return current;
}
