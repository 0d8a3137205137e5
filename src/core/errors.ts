/**
 * Typed errors. Every error has a literal `code`; the CLI maps codes to exit codes
 * (src/cli/exit-codes.ts) and the server to HTTP statuses (src/server/errors.ts), each in one
 * place. Messages name the file, field or value at fault.
 */
export type ErrorCode =
  | 'BAD_INPUT'
  | 'NOT_FOUND'
  | 'SHAPE_MISMATCH'
  | 'TORCH_ERROR'
  | 'NATIVE_MISSING'
  | 'CORRUPT_FILE'
  | 'CONFLICT'
  | 'INVALID_ARGUMENT'
  | 'INTERNAL'
  | 'CANCELLED'
  | 'FORBIDDEN'
  | 'BUSY'
  | 'DISTRIBUTED';

export class AtelierError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Bad input from a user: a file, a row, a flag. Exit code 2. */
export class BadInputError extends AtelierError {
  readonly file?: string;
  readonly line?: number;
  /** `row`: the row of a Parquet file, named as `file row N:` (a CSV's line is `file:N:`) */
  constructor(message: string, where: { file?: string; line?: number; row?: number } = {}) {
    const at = where.line !== undefined ? `:${where.line}` : where.row !== undefined ? ` row ${where.row}` : '';
    const prefix = where.file ? `${where.file}${at}: ` : '';
    super('BAD_INPUT', prefix + message);
    this.file = where.file;
    this.line = where.line;
  }
}

/** A user, item or category that does not exist. Exit code 2, HTTP 404. */
export class NotFoundError extends AtelierError {
  constructor(what: string, id: string) {
    super('NOT_FOUND', `unknown ${what} '${id}'`);
  }
}

/** Tensors whose shapes do not fit together; names both shapes. */
export class ShapeError extends AtelierError {
  readonly shapes: number[][];
  constructor(message: string, shapes: number[][]) {
    super('SHAPE_MISMATCH', message);
    this.shapes = shapes;
  }
}

/** Something that already exists (an item id given twice). Exit code 2, HTTP 409. */
export class ConflictError extends AtelierError {
  constructor(what: string, id: string) {
    super('CONFLICT', `${what} '${id}' already exists`);
  }
}

export class TorchError extends AtelierError {
  constructor(message: string) {
    super('TORCH_ERROR', message);
  }
}

/** A file that exists but cannot be what it claims (truncated, torn, wrong layout). Exit code 2. */
export class CorruptFileError extends AtelierError {
  readonly file: string;
  constructor(message: string, file: string) {
    super('CORRUPT_FILE', `${file}: ${message}`);
    this.file = file;
  }
}

/**
 * A library function called with arguments outside its contract (a caller's bug, not a user's
 * input: the edges validate that first). Exit code 1, HTTP 500.
 */
export class InvalidArgumentError extends AtelierError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

/** Work stopped because its caller asked (a design whose client went away, a training run interrupted). */
export class CancelledError extends AtelierError {
  /** the process signal that asked (the CLI exits 128 + its number) */
  readonly signal?: 'SIGINT' | 'SIGTERM';
  constructor(what: string, signal?: 'SIGINT' | 'SIGTERM') {
    super('CANCELLED', `${what} cancelled`);
    if (signal) this.signal = signal;
  }
}

/** A folder another process is writing (its lock is held). Exit code 2, HTTP 409. */
export class InUseError extends AtelierError {
  constructor(message: string) {
    super('CONFLICT', message);
  }
}

/** A request the server refuses to serve (a cross-site write, a Host it does not answer to). HTTP 403. */
export class ForbiddenError extends AtelierError {
  constructor(message: string) {
    super('FORBIDDEN', message);
  }
}

/** Too much queued work: try again later. HTTP 429 with Retry-After. */
export class BusyError extends AtelierError {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super('BUSY', message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
