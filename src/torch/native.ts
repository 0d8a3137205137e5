/**
 * Loads the libtorch addon (native/). The only file that touches the binding's raw functions;
 * everything else goes through Tensor. Without libtorch, one clear message says how to get it.
 */
import { InvalidArgumentError } from '../core/errors.js';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AtelierError } from '../core/errors.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Handle = object;
export type Gen = object;

/** The addon's surface, typed loosely: Tensor gives it meaning. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Native = Record<string, (...args: any[]) => any>;

const HOWTO =
  'Install libtorch with `apt-get install libtorch-dev libopenblas0-pthread` (Debian/Ubuntu) or set LIBTORCH to a ' +
  'libtorch folder, then build the addon with `npm run build:native`.';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const addonPath = join(root, 'native', 'build', 'Release', 'atelier_torch.node');

function load(): Native {
  // OpenBLAS starts its own thread pool when it loads; libtorch's pool beside it oversubscribes
  // the cores (measured: 1,270 instead of 2,010 images/s on 2 cores). One BLAS thread per caller.
  process.env.OPENBLAS_NUM_THREADS ??= '1';
  if (!existsSync(addonPath)) {
    throw new AtelierError('NATIVE_MISSING', `the libtorch addon is not built (${addonPath} is missing). ${HOWTO}`);
  }
  try {
    return createRequire(import.meta.url)(addonPath) as Native;
  } catch (err) {
    throw new AtelierError('NATIVE_MISSING', `the libtorch addon failed to load: ${(err as Error).message}. ${HOWTO}`, {
      cause: err,
    });
  }
}

export const native: Native = load();

/** Threads libtorch uses for intra-op parallelism. OpenBLAS is kept at one thread beside it. */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`setNumThreads: expected a positive integer, got ${n}`);
  native.SetNumThreads!(n, 1);
}

export function getNumThreads(): number {
  return native.GetNumThreads!() as number;
}

export interface EngineInfo {
  torchVersion: string;
  cuda: boolean;
  /** GPUs visible to this libtorch (0 without CUDA) */
  gpus: number;
  parallel: string;
  openblas: string | null;
  threads: number;
}

export function engineInfo(): EngineInfo {
  return { ...(native.Info!() as Omit<EngineInfo, 'threads'>), threads: getNumThreads() };
}

// Debian's libtorch defaults to one thread; use every core (ATELIER_THREADS overrides).
const envThreads = Number(process.env.ATELIER_THREADS);
setNumThreads(Number.isInteger(envThreads) && envThreads > 0 ? envThreads : availableParallelism());
