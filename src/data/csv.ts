/**
 * CSV reading (RFC 4180: quoted fields, "" inside them, CRLF or LF, a UTF-8 BOM), written for the
 * size of a real shop: the Kaggle H&M transactions are 3.5 GB and 31.8 M rows, and a general
 * parser that builds a record object per row spends minutes on them. `CsvReader` reads the file in
 * large chunks and splits a row's fields in place; a field becomes a string only when asked for.
 * Rows are read one at a time, so memory does not grow with the file.
 *
 * Every problem names the file and the line: header problems, an empty file, a row with the wrong
 * number of fields, a quote where the grammar has none, a row longer than MAX_CSV_ROW and a file
 * cut inside a quoted field. A file whose last byte is not a newline may have been cut after a
 * well-formed prefix of its last row (a category cut to 'Garm', a date to '2020-09-2'): that row is
 * reported, not taken. With onBad 'skip' a bad row is recorded and reading goes on at the next line.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { BadInputError } from '../core/errors.js';
import type { Problems } from './problems.js';

/** The longest row read, in bytes (a row of a shop's table is a few hundred). */
export const MAX_CSV_ROW = 65_536;

/** Bytes read from the file at a time. */
const CHUNK = 8 << 20;

const COMMA = 0x2c;
const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

export interface CsvOptions {
  required: string[];
  problems: Problems;
  /** Bytes read at a time (tests use a few, so that rows straddle reads). */
  chunkBytes?: number;
}

/**
 * A CSV file read row by row: `next()` moves to the next good row (bad ones are reported to
 * `problems`, which throws in 'fail' mode), `text(i)` is field i of it, `line` its last line.
 */
export class CsvReader {
  readonly columns: string[];
  /** The line the current row ends on (1 is the header). */
  line = 0;
  /** Data rows read so far, good or bad. */
  rows = 0;
  private readonly fd: number;
  private buf: Buffer;
  private pos = 0;
  private end = 0;
  private eof = false;
  /** Lines consumed before `pos`. */
  private linesBefore = 0;
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;
  /** Decoded values of the current row's quoted fields (undefined where the field was not quoted). */
  private readonly unquoted: (string | undefined)[];
  private hasQuoted = false;
  private count = 0;

  constructor(
    readonly path: string,
    private readonly o: CsvOptions,
  ) {
    if (!existsSync(path)) throw new BadInputError('file not found', { file: path });
    if (statSync(path).size === 0) throw new BadInputError('empty file (no header row)', { file: path });
    // a row of up to MAX_CSV_ROW bytes and its newline always fit
    this.buf = Buffer.allocUnsafe(Math.max(o.chunkBytes ?? CHUNK, MAX_CSV_ROW + 2));
    this.fd = openSync(path, 'r');
    try {
      this.fill();
      if (this.end >= 3 && this.buf[0] === 0xef && this.buf[1] === 0xbb && this.buf[2] === 0xbf) this.pos = 3;
      const header = this.readHeader();
      this.columns = header;
      this.starts = new Int32Array(header.length + 1);
      this.ends = new Int32Array(header.length + 1);
      this.unquoted = new Array<string | undefined>(header.length).fill(undefined);
    } catch (e) {
      closeSync(this.fd);
      throw e;
    }
  }

  /** The index of a column of the header (-1 if it has none by that name). */
  column(name: string): number {
    return this.columns.indexOf(name);
  }

  /** Field i of the current row, as the file has it (quotes removed, "" made "). */
  text(i: number): string {
    if (this.hasQuoted) {
      const u = this.unquoted[i];
      if (u !== undefined) return u;
    }
    return this.buf.toString('utf8', this.starts[i]!, this.ends[i]!);
  }

  /** The current row as a record keyed by column. */
  record(): Record<string, string> {
    const r: Record<string, string> = {};
    for (let i = 0; i < this.columns.length; i++) r[this.columns[i]!] = this.text(i);
    return r;
  }

  close(): void {
    closeSync(this.fd);
  }

  /** Moves to the next good row; false at the end of the file. */
  next(): boolean {
    for (;;) {
      const got = this.scanRow();
      if (got === 'end') {
        if (this.rows === 0 && this.o.problems.onBad === 'fail') throw new BadInputError('no data rows after the header', { file: this.path });
        return false;
      }
      if (got === 'empty') continue;
      this.rows++;
      if (got === 'bad') continue;
      if (this.count !== this.columns.length) {
        this.report('row has the wrong number of fields (cut in the middle of a row?)', this.rowText());
        continue;
      }
      if (got === 'cut') {
        this.report('the file does not end with a newline: its last row may be cut short', this.rowText());
        continue;
      }
      return true;
    }
  }

  private report(reason: string, value: string): void {
    this.o.problems.report({ file: this.path, line: this.line, reason, value });
  }

  /** The current row's fields joined by commas (for a message). */
  private rowText(): string {
    const parts: string[] = [];
    for (let i = 0; i < Math.min(this.count, this.starts.length); i++) parts.push(this.text(i));
    return parts.join(',');
  }

  private readHeader(): string[] {
    for (;;) {
      const got = this.scanRow(true);
      if (got === 'end') throw new BadInputError('empty file (no header row)', { file: this.path });
      if (got === 'empty') continue;
      if (got === 'bad') throw new BadInputError('unreadable header row', { file: this.path, line: this.line });
      break;
    }
    const cols = this.headerFields.map((h) => h.trim());
    const missing = this.o.required.filter((c) => !cols.includes(c));
    if (missing.length) {
      throw new BadInputError(`missing column(s) ${missing.map((m) => `'${m}'`).join(', ')}; header has ${cols.map((c) => `'${c}'`).join(', ')}`, {
        file: this.path,
        line: this.line,
      });
    }
    const dup = cols.find((c, i) => cols.indexOf(c) !== i);
    if (dup) throw new BadInputError(`column '${dup}' appears twice in the header`, { file: this.path, line: this.line });
    return cols;
  }

  private headerFields: string[] = [];

  /** Reads more of the file after what is left from `pos` (moved to the buffer's start). */
  private fill(): void {
    this.quoteAt = -2;
    if (this.pos > 0) {
      this.buf.copy(this.buf, 0, this.pos, this.end);
      this.end -= this.pos;
      this.pos = 0;
    }
    while (!this.eof && this.end < this.buf.length) {
      const n = readSync(this.fd, this.buf, this.end, this.buf.length - this.end, null);
      if (n === 0) this.eof = true;
      this.end += n;
    }
  }

  /**
   * Splits the next row into fields. 'row': a row ending with a newline; 'cut': the last row, with
   * no newline after it; 'empty': an empty line; 'bad': a row already reported; 'end': no more.
   */
  private scanRow(header = false): 'row' | 'cut' | 'empty' | 'bad' | 'end' {
    if (this.pos >= this.end) {
      if (this.eof) return 'end';
      this.fill();
      if (this.pos >= this.end) return 'end';
    }
    const buf = this.buf;
    let nl = buf.indexOf(LF, this.pos);
    if ((nl < 0 || nl >= this.end) && !this.eof) {
      this.fill();
      nl = buf.indexOf(LF, this.pos);
    }
    if (nl >= this.end) nl = -1; // past what was read: stale bytes
    const q = this.quoteFrom(this.pos);
    if (q >= 0 && (nl < 0 || q < nl)) return this.scanQuoted(header);
    const stop = nl < 0 ? this.end : nl;
    const start = this.pos;
    this.line = this.linesBefore + 1;
    if (stop - start > MAX_CSV_ROW) return this.overlong(start);
    this.linesBefore++;
    this.pos = nl < 0 ? this.end : nl + 1;
    const lineEnd = stop > start && buf[stop - 1] === CR ? stop - 1 : stop;
    if (lineEnd === start) return 'empty';
    if (header) {
      this.headerFields = buf.toString('utf8', start, lineEnd).split(',');
      return 'row';
    }
    this.hasQuoted = false;
    const starts = this.starts;
    const ends = this.ends;
    const max = starts.length;
    let k = 0;
    let s = start;
    for (let i = start; i < lineEnd; i++) {
      if (buf[i] === COMMA) {
        if (k < max) {
          starts[k] = s;
          ends[k] = i;
        }
        k++;
        s = i + 1;
      }
    }
    if (k < max) {
      starts[k] = s;
      ends[k] = lineEnd;
    }
    this.count = k + 1;
    return nl < 0 ? 'cut' : 'row';
  }

  /** A row longer than MAX_CSV_ROW: reported, and skipped to the next newline. */
  private overlong(start: number): 'bad' {
    const excerpt = this.buf.toString('utf8', start, start + 200);
    // skip to the next newline, reading as much as it takes
    for (;;) {
      const nl = this.buf.indexOf(LF, this.pos);
      if (nl >= 0 && nl < this.end) {
        this.pos = nl + 1;
        break;
      }
      this.pos = this.end;
      if (this.eof) break;
      this.fill();
    }
    this.linesBefore++;
    this.report(`row longer than ${MAX_CSV_ROW} characters`, excerpt);
    return 'bad';
  }

  /** A row with a quote: the grammar in full, the row read whole first (it may span lines). */
  private scanQuoted(header: boolean): 'row' | 'cut' | 'bad' {
    const buf = this.buf;
    // find the row's end: the first newline outside quotes, where a quote opens only at a field's
    // start and "" inside quotes is one quote (a stray quote in an unquoted field is reported below)
    let inQuote = false;
    let fieldStart = true;
    let justClosed = false;
    let i = this.pos;
    let newlines = 0;
    for (;;) {
      if (i >= this.end) {
        if (this.eof) break;
        const off = this.pos;
        this.fill();
        i -= off;
        continue;
      }
      const c = buf[i]!;
      if (inQuote) {
        if (c === QUOTE) {
          inQuote = false;
          justClosed = true;
        } else if (c === LF) newlines++;
      } else if (c === QUOTE && (fieldStart || justClosed)) {
        inQuote = true;
        fieldStart = justClosed = false;
      } else if (c === LF) break;
      else {
        fieldStart = c === COMMA;
        justClosed = false;
      }
      if (i - this.pos > MAX_CSV_ROW) {
        // reading goes on at the next newline (inside the quotes, perhaps: what follows is then reported too)
        this.line = this.linesBefore + 1;
        return this.overlong(this.pos);
      }
      i++;
    }
    const start = this.pos;
    const stop = i;
    const hasNewline = stop < this.end;
    this.line = this.linesBefore + 1 + newlines;
    this.linesBefore += newlines + 1;
    this.pos = hasNewline ? stop + 1 : stop;
    if (inQuote) {
      this.report('file ends inside a quoted field (cut in the middle of a row?)', buf.toString('utf8', start, Math.min(stop, start + 200)));
      return 'bad';
    }
    const lineEnd = stop > start && buf[stop - 1] === CR ? stop - 1 : stop;
    const fields: { s: number; e: number; v?: string }[] = [];
    let j = start;
    for (;;) {
      if (buf[j] === QUOTE) {
        let v = '';
        let seg = j + 1;
        let k = seg;
        for (;;) {
          const qq = buf.indexOf(QUOTE, k);
          if (buf[qq + 1] === QUOTE && qq + 1 < lineEnd) {
            v += buf.toString('utf8', seg, qq + 1);
            seg = k = qq + 2;
            continue;
          }
          v += buf.toString('utf8', seg, qq);
          j = qq + 1;
          break;
        }
        fields.push({ s: 0, e: 0, v });
        if (j === lineEnd) break;
        if (buf[j] !== COMMA) {
          this.report('malformed CSV row: text after a closing quote', buf.toString('utf8', start, Math.min(lineEnd, start + 200)));
          return 'bad';
        }
        j++;
      } else {
        let e = j;
        while (e < lineEnd && buf[e] !== COMMA) e++;
        const qq = buf.indexOf(QUOTE, j);
        if (qq >= 0 && qq < e) {
          this.report('malformed CSV row: a quote inside an unquoted field', buf.toString('utf8', start, Math.min(lineEnd, start + 200)));
          return 'bad';
        }
        fields.push({ s: j, e });
        if (e === lineEnd) break;
        j = e + 1;
      }
    }
    if (header) {
      this.headerFields = fields.map((f) => f.v ?? buf.toString('utf8', f.s, f.e));
      return 'row';
    }
    this.hasQuoted = true;
    this.count = fields.length;
    for (let f = 0; f < Math.min(fields.length, this.starts.length); f++) {
      const fd = fields[f]!;
      this.starts[f] = fd.s;
      this.ends[f] = fd.e;
      if (f < this.unquoted.length) this.unquoted[f] = fd.v;
    }
    for (let f = fields.length; f < this.unquoted.length; f++) this.unquoted[f] = undefined;
    return hasNewline ? 'row' : 'cut';
  }

  /** The first quote at or after `from` in the buffer, or -1; remembered until the row passes it or the buffer is refilled. */
  private quoteFrom(from: number): number {
    if (this.quoteAt === -1) return -1;
    if (this.quoteAt >= from) return this.quoteAt;
    const q = this.buf.indexOf(QUOTE, from);
    this.quoteAt = q >= 0 && q < this.end ? q : -1;
    return this.quoteAt;
  }

  /** -2: not looked for since the last refill. */
  private quoteAt = -2;
}
