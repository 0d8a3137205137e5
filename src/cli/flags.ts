/**
 * Flag schemas shared by the commands: commander hands over strings; these zod schemas turn them
 * into numbers and enums, each failure a message naming the flag and the value it got.
 */
import { Option, type Command } from 'commander';
import { z } from 'zod';
import { isDecimal } from '../config/parse.js';
import { BadInputError } from '../core/errors.js';
import { parseDevice, useDevice, usePrecision } from '../torch/index.js';

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
      const x = isDecimal(v) ? Number(v) : typeof v === 'number' ? v : NaN;
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

/**
 * `--device` (and, where `precision` is set, `--precision`) on a command. Read by `takeDevice`
 * before the command's own flags are parsed.
 */
export function deviceOptions(cmd: Command, o: { precision?: boolean } = {}): Command {
  cmd.option('--device <where>', 'cpu, cuda, cuda:N or auto (cuda when this libtorch has it and a GPU is visible)', 'cpu');
  if (o.precision)
    cmd.addOption(
      new Option('--precision <p>', 'fp32, or bf16 autocast (convolutions and products in bfloat16; weights and optimiser state float32)')
        .choices(['fp32', 'bf16'])
        .default('fp32'),
    );
  return cmd;
}

/**
 * Applies --device / --precision (every tensor made from now on lives there, computes so) and
 * returns the other flags. Under a launcher, `cuda` means this worker's GPU (LOCAL_RANK).
 */
export function takeDevice(opts: Record<string, unknown>): Record<string, unknown> {
  const { device, precision, ...rest } = opts;
  const want = parseDevice(String(device ?? 'cpu'));
  const local = Number(process.env.LOCAL_RANK);
  useDevice(want === 'cuda' && Number.isInteger(local) && local > 0 ? `cuda:${local}` : want);
  // a command without --precision computes in fp32 (a CLI run in-process after a bf16 one included)
  const p = precision ?? 'fp32';
  if (p !== 'fp32' && p !== 'bf16') throw new BadInputError(`--precision must be fp32 or bf16, ${got(p)}`);
  usePrecision(p);
  return rest;
}
