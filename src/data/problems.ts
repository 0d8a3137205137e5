/**
 * Bad input while ingesting. With onBad 'fail' (the default) the first problem stops the ingest
 * with a BadInputError naming file, line and value; with 'skip' every problem is recorded, the row
 * or file is left out, and the counts go into the manifest.
 */
import { BadInputError } from '../core/errors.js';

export type OnBad = 'fail' | 'skip';

export interface Problem {
  file: string;
  /** the line of a CSV */
  line?: number;
  /** the row of a Parquet file (1 = its first) */
  row?: number;
  reason: string;
  value?: string;
}

/** Problems kept whole (with file, line and value); every one is counted. */
const LISTED = 1000;

export class Problems {
  /** the first LISTED problems (a file of 31 M bad rows is counted, not held) */
  readonly list: Problem[] = [];
  readonly counts: Record<string, number> = {};
  private count = 0;

  constructor(readonly onBad: OnBad) {}

  /** Records a problem; throws in 'fail' mode. */
  report(problem: Problem): void {
    // a value is kept and shown as a short, printable excerpt: a 10 MiB field or an ESC from a
    // hostile file reaches neither a terminal nor the manifest whole
    const p = problem.value === undefined ? problem : { ...problem, value: excerpt(problem.value) };
    if (this.onBad === 'fail') {
      throw new BadInputError(`${p.reason}${p.value !== undefined ? `: '${p.value}'` : ''}`, { file: p.file, line: p.line, row: p.row });
    }
    this.counts[p.reason] = (this.counts[p.reason] ?? 0) + 1;
    this.count++;
    if (this.list.length < LISTED) this.list.push(p);
  }

  get total(): number {
    return this.count;
  }

  /** For the manifest: counts per reason and every skipped row/file (first 1,000 listed). */
  summary(): { total: number; byReason: Record<string, number>; items: Problem[]; listed: number } {
    return { total: this.total, byReason: { ...this.counts }, items: this.list.slice(), listed: this.list.length };
  }
}

/** At most 120 characters of `s`, its control characters written as \uXXXX. */
export function excerpt(s: string): string {
  const cut = s.length > 120 ? s.slice(0, 117) + '...' : s;
  return cut.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
