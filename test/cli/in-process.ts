/** The CLI run in this process, for the CLI's tests. */
import { main } from '../../src/cli/main.js';

/**
 * Runs the CLI in this process; returns the exit code and what it wrote to stderr (stdout is left
 * alone: the test runner reports through it).
 */
export async function atelier(...args: string[]): Promise<{ code: number; err: string }> {
  const err: string[] = [];
  const e = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((c: string) => (err.push(String(c)), true)) as typeof process.stderr.write;
  try {
    const code = await main(['node', 'atelier', ...args]);
    return { code, err: err.join('') };
  } finally {
    process.stderr.write = e;
  }
}

/**
 * Runs the CLI in this process with its stdout kept too. Only the CLI's own text is taken: the
 * test runner's reports (binary chunks to the parent process) pass through untouched.
 */
export async function atelierOut(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const w = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((c: string | Uint8Array, ...rest: unknown[]) =>
    typeof c === 'string' ? (out.push(c), true) : (w as (c: Uint8Array, ...r: unknown[]) => boolean)(c, ...rest)) as typeof process.stdout.write;
  try {
    const r = await atelier(...args);
    return { ...r, out: out.join('') };
  } finally {
    process.stdout.write = w;
  }
}
