/**
 * Flag schemas shared by the commands: commander hands over strings; these zod schemas turn them
 * into numbers and enums, each failure a message naming the flag and the value it got.
 */
import { z } from 'zod';

const got = (v: unknown) => `got '${String(v)}'`;

function flag<T>(check: (v: unknown) => T | undefined, message: (v: unknown) => string) {
  return z.unknown().transform((v, ctx) => {
    const x = check(v);
    if (x === undefined) {
      ctx.addIssue({ code: 'custom', message: message(v) });
      return z.NEVER;
    }
    return x;
  });
}

/** An integer in [min, max]. */
export const intIn = (name: string, min: number, max: number) =>
  flag(
    (v) => {
      const x = Number(v);
      return Number.isInteger(x) && x >= min && x <= max ? x : undefined;
    },
    (v) => `--${name} must be an integer in ${min}..${max}, ${got(v)}`,
  );

/** One of the given words. */
export const oneOf = <const T extends readonly string[]>(name: string, words: T, or = 'or') =>
  flag(
    (v) => ((words as readonly unknown[]).includes(v) ? (v as T[number]) : undefined),
    (v) => `--${name} must be ${words.slice(0, -1).join(', ')} ${or} ${words.at(-1)}, ${got(v)}`,
  );

export const port = intIn('port', 0, 65535);

/** Prints `value` as one JSON line, or `text()` for a person. */
export function out(json: boolean, value: unknown, text: () => string): void {
  process.stdout.write(json ? JSON.stringify(value) + '\n' : text() + '\n');
}
