/**
 * The one place where errors become exit codes and messages: 2 for what the user can fix (input, a
 * file, an id, a folder that cannot be written, a port in use), 1 for the rest.
 */
import { AtelierError, CancelledError, type ErrorCode } from '../core/errors.js';

const EXIT: Record<ErrorCode, 1 | 2> = {
  BAD_INPUT: 2,
  NOT_FOUND: 2,
  CORRUPT_FILE: 2,
  CONFLICT: 2,
  FORBIDDEN: 2,
  SHAPE_MISMATCH: 1,
  TORCH_ERROR: 1,
  NATIVE_MISSING: 1,
  INVALID_ARGUMENT: 1,
  INTERNAL: 1,
  CANCELLED: 1,
  BUSY: 1,
  DISTRIBUTED: 1,
};

/** The system's refusals that name a path or an address the user gave (a folder not writable, a port taken). */
const USER_SYSTEM_ERRORS = new Set(['ENOENT', 'EACCES', 'EPERM', 'ENOTDIR', 'EISDIR', 'EEXIST', 'EROFS', 'ENOSPC', 'EADDRINUSE', 'EADDRNOTAVAIL']);

function systemError(err: unknown): NodeJS.ErrnoException | null {
  const e = err as NodeJS.ErrnoException;
  return e instanceof Error && typeof e.code === 'string' && USER_SYSTEM_ERRORS.has(e.code) ? e : null;
}

/** libtorch refusing an allocation: sizes the user asked for (a huge --k or --batch), not a bug. */
const isAllocationFailure = (err: unknown) =>
  err instanceof AtelierError && err.code === 'TORCH_ERROR' && /can't allocate memory|out of memory|not enough memory|bad_alloc/i.test(err.message);

export function exitCodeOf(err: unknown): number {
  if (isAllocationFailure(err)) return 2;
  if (err instanceof CancelledError && err.signal) return err.signal === 'SIGINT' ? 130 : 143; // the shell's code for a signalled process
  if (err instanceof AtelierError) return EXIT[err.code];
  return systemError(err) ? 2 : 1;
}

/** What the user reads: the message (a stack trace only for what is a bug). */
export function messageOf(err: unknown): string {
  if (isAllocationFailure(err))
    return `${(err as Error).message.split('\n')[0]}: the sizes asked for need more memory than this machine gives: lower --k, --batch or the image size`;
  if (err instanceof AtelierError) return err.message;
  const sys = systemError(err);
  if (sys) return sys.code === 'EADDRINUSE' ? `${sys.message}: the port is in use (choose another with --port)` : sys.message;
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}
