/** The one place where errors become HTTP statuses. */
import { ZodError } from 'zod';
import { AtelierError, type ErrorCode } from '../core/errors.js';

const STATUS: Record<ErrorCode, number> = {
  BAD_INPUT: 400,
  SHAPE_MISMATCH: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  CORRUPT_FILE: 500,
  TORCH_ERROR: 500,
  NATIVE_MISSING: 500,
  INVALID_ARGUMENT: 500,
  INTERNAL: 500,
  // the client went away: nobody reads the answer (499 is nginx's 'client closed request')
  CANCELLED: 499,
};

export function errorStatus(err: unknown): { status: number; code: string; message: string } {
  if (err instanceof ZodError) {
    const i = err.issues[0]!;
    return { status: 400, code: 'BAD_INPUT', message: `${i.path.join('.') || 'body'}: ${i.message}` };
  }
  if (err instanceof AtelierError) return { status: STATUS[err.code], code: err.code, message: err.message };
  const e = err as { statusCode?: number; code?: string; message?: string };
  if (e && typeof e.statusCode === 'number' && e.statusCode < 500)
    return { status: e.statusCode, code: e.code ?? 'BAD_REQUEST', message: e.message ?? 'bad request' };
  return { status: 500, code: 'INTERNAL', message: (err as Error)?.message ?? 'internal error' };
}
