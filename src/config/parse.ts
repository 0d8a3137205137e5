/** Parses config at the edge; a zod failure becomes a BadInputError naming the flag and the value. */
import { z } from 'zod';
import { BadInputError } from '../core/errors.js';

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

export function parseConfig<S extends z.ZodType>(schema: S, raw: unknown, where = 'option'): z.infer<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  // a message that names its flag already (the CLI's own checks) is the whole message
  if (issue.message.startsWith('--')) throw new BadInputError(issue.message);
  const key = issue.path.map(String).join('.');
  const value = issue.path.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k as string] : undefined), raw);
  if (issue.code === 'unrecognized_keys') {
    throw new BadInputError(`unknown ${where}(s) ${(issue as { keys: string[] }).keys.map((k) => `--${kebab(k)}`).join(', ')}`);
  }
  throw new BadInputError(`${where} --${kebab(key)}: ${issue.message}${value !== undefined ? ` (got '${String(value)}')` : ''}`);
}

/** A number as a person writes it in decimal: an optional sign, digits, a fraction, an exponent. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** Whether `v` is a decimal number's text (hex '0x10', binary, '', ' ', 'Infinity' are not). */
export const isDecimal = (v: unknown): v is string => typeof v === 'string' && DECIMAL.test(v);

/**
 * A number from a flag or a query string: decimal text only (JavaScript's Number() reads '0x10' as
 * 16 and '' as 0), then the schema's own bounds. Every edge parses numbers through this one rule.
 */
export const decimal = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (isDecimal(v) ? Number(v) : v), schema);
