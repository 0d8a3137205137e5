/**
 * The one place where errors become HTTP statuses. A client gets a code and a message about its
 * request; the server's own files and raw internal messages stay in the server's log (`logged`).
 */
import { ZodError } from 'zod';
import { AtelierError, BadInputError, type ErrorCode } from '../core/errors.js';

const STATUS: Record<ErrorCode, number> = {
  BAD_INPUT: 400,
  SHAPE_MISMATCH: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  FORBIDDEN: 403,
  BUSY: 429,
  DISTRIBUTED: 500,
  CORRUPT_FILE: 500,
  TORCH_ERROR: 500,
  NATIVE_MISSING: 500,
  INVALID_ARGUMENT: 500,
  INTERNAL: 500,
  // the client went away: nobody reads the answer (499 is nginx's 'client closed request')
  CANCELLED: 499,
};

export interface ErrorReply {
  status: number;
  code: string;
  message: string;
  /** the full message, with paths, for the server's log (absent when the client got it all) */
  logged?: string;
}

export function errorStatus(err: unknown): ErrorReply {
  if (err instanceof ZodError) {
    const i = err.issues[0]!;
    return { status: 400, code: 'BAD_INPUT', message: `${i.path.join('.') || 'body'}: ${i.message}` };
  }
  if (err instanceof AtelierError) {
    const status = STATUS[err.code];
    if (status >= 500) return { status, code: err.code, message: 'internal error (see the server log)', logged: err.message };
    // a bad-input message names the file at fault: a server file is not the client's business
    if (err instanceof BadInputError && err.file) {
      const prefix = `${err.file}${err.line !== undefined ? `:${err.line}` : ''}: `;
      return { status, code: err.code, message: err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message, logged: err.message };
    }
    return { status, code: err.code, message: err.message };
  }
  const e = err as { statusCode?: number; code?: string; message?: string };
  if (e && typeof e.statusCode === 'number' && e.statusCode < 500)
    return { status: e.statusCode, code: e.code ?? 'BAD_REQUEST', message: e.message ?? 'bad request' };
  return { status: 500, code: 'INTERNAL', message: 'internal error (see the server log)', logged: (err as Error)?.stack ?? String(err) };
}
