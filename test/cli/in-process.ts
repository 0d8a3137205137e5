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
