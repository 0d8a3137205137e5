/** The one place where errors become exit codes: 2 for what the user can fix (input, a file, an id), 1 for the rest. */
import { AtelierError, type ErrorCode } from '../core/errors.js';

const EXIT: Record<ErrorCode, 1 | 2> = {
  BAD_INPUT: 2,
  NOT_FOUND: 2,
  CORRUPT_FILE: 2,
  CONFLICT: 2,
  SHAPE_MISMATCH: 1,
  TORCH_ERROR: 1,
  NATIVE_MISSING: 1,
  INVALID_ARGUMENT: 1,
  INTERNAL: 1,
  CANCELLED: 1,
};

export function exitCodeOf(err: unknown): number {
  return err instanceof AtelierError ? EXIT[err.code] : 1;
}
