/**
 * Streaming CSV reading (csv-parse): rows as records keyed by header, with their line numbers,
 * never the whole file as strings. Header problems, an empty file, a row with the wrong number of
 * fields and a file cut inside a quoted field are reported with file and line. A file whose last
 * byte is not a newline may have been cut after a well-formed prefix of its last row (a category
 * cut to 'Garm', a date to '2020-09-2'): that row is reported, not taken.
 */
import { closeSync, createReadStream, existsSync, openSync, readSync, statSync } from 'node:fs';
import { parse } from 'csv-parse';
import { BadInputError } from '../core/errors.js';
import type { Problems } from './problems.js';

/** The longest row read, in characters (csv-parse's max_record_size). */
export const MAX_CSV_ROW = 65_536;

export interface CsvRow {
  record: Record<string, string>;
  line: number;
}

export interface CsvOptions {
  required: string[];
  problems: Problems;
}

/** Yields rows of `path`. Missing required columns or an empty file always stop (nothing to skip to). */
export async function* readCsv(path: string, o: CsvOptions): AsyncGenerator<CsvRow> {
  if (!existsSync(path)) throw new BadInputError('file not found', { file: path });
  if (statSync(path).size === 0) throw new BadInputError('empty file (no header row)', { file: path });
  const skip = o.problems.onBad === 'skip';
  const parser = createReadStream(path).pipe(
    parse({
      bom: true,
      columns: (header: string[]) => {
        const cols = header.map((h) => h.trim());
        const missing = o.required.filter((c) => !cols.includes(c));
        if (missing.length) {
          throw new BadInputError(`missing column(s) ${missing.map((m) => `'${m}'`).join(', ')}; header has ${cols.map((c) => `'${c}'`).join(', ')}`, {
            file: path,
            line: 1,
          });
        }
        const dup = cols.find((c, i) => cols.indexOf(c) !== i);
        if (dup) throw new BadInputError(`column '${dup}' appears twice in the header`, { file: path, line: 1 });
        return cols;
      },
      info: true,
      // a row of a shop's table is a few hundred characters; a huge field (a 50 MiB category)
      // would be carried into every file the dataset writes
      max_record_size: MAX_CSV_ROW,
      skip_empty_lines: true,
      skip_records_with_error: skip,
      on_skip: skip
        ? (err: { message: string; lines?: number } | undefined, raw?: string) => {
            o.problems.report({ file: path, line: err?.lines, reason: 'malformed CSV row', value: raw ?? err?.message });
            return undefined;
          }
        : undefined,
    }),
  );
  let rows = 0;
  const cut = !endsWithNewline(path);
  // one row behind, so that the last one can be held back when the file may be cut
  let pending: CsvRow | null = null;
  try {
    for await (const item of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      rows++;
      if (pending) yield pending;
      pending = { record: item.record, line: item.info.lines };
    }
    if (pending && cut) {
      o.problems.report({
        file: path,
        line: pending.line,
        reason: 'the file does not end with a newline: its last row may be cut short',
        value: Object.values(pending.record).join(','),
      });
      pending = null;
    }
    if (pending) yield pending;
  } catch (e) {
    if (e instanceof BadInputError) throw e;
    const err = e as { code?: string; lines?: number; message: string };
    const reason =
      err.code === 'CSV_QUOTE_NOT_CLOSED'
        ? 'file ends inside a quoted field (cut in the middle of a row?)'
        : err.code === 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH' ||
            err.code === 'CSV_RECORD_INCONSISTENT_COLUMNS' ||
            err.code === 'CSV_RECORD_DONT_MATCH_COLUMNS_LENGTH'
          ? 'row has the wrong number of fields (cut in the middle of a row?)'
          : err.code === 'CSV_MAX_RECORD_SIZE'
            ? `row longer than ${MAX_CSV_ROW} characters`
            : `unreadable CSV (${err.code ?? 'error'})`;
    o.problems.report({ file: path, line: err.lines, reason, value: err.message });
    // skip mode: nothing after an unclosed quote can be trusted; the rest of the file is dropped,
    // but the row read before the bad one is whole
    if (pending) yield pending;
  }
  if (rows === 0 && o.problems.onBad === 'fail') throw new BadInputError('no data rows after the header', { file: path });
}

function endsWithNewline(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, statSync(path).size - 1);
    return b[0] === 0x0a;
  } finally {
    closeSync(fd);
  }
}
