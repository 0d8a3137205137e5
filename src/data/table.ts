/**
 * A shop's table as CSV or Parquet: `<name>.csv` or `<name>.parquet` in its folder (Kaggle users
 * convert the H&M CSVs to Parquet; pandas writes it with snappy, zstd or gzip, all read here).
 * Both are read row by row in blocks (a CSV's chunks, a Parquet file's row groups or slices of
 * them), so memory follows the block, not the file. A problem names the file and the line of a
 * CSV, or the row of a Parquet file (1 = its first row).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { asyncBufferFromFile, parquetMetadataAsync, parquetRead, parquetSchema, type FileMetaData } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { BadInputError } from '../core/errors.js';
import { CsvReader, type CsvOptions } from './csv.js';

/** Where the current row of a table is: the line of a CSV, the row of a Parquet file. */
export interface RowPlace {
  file: string;
  line?: number;
  row?: number;
}

export interface TableReader {
  readonly path: string;
  readonly columns: string[];
  /** data rows read so far */
  readonly rows: number;
  /** the current row's place, for a message */
  place(): RowPlace;
  /** loads the next block of rows; false when there is none */
  block(): Promise<boolean>;
  /** moves to the next row of the block; false when the block is done */
  next(): boolean;
  /** field i of the current row as text ('' for a null) */
  text(i: number): string;
  record(): Record<string, string>;
  close(): void;
}

/**
 * The file of table `name` in `folder`: `<name>.csv` or `<name>.parquet`; both at once is refused
 * (which one is meant?); neither gives the CSV's path, so that "file not found" names it.
 */
export function tablePath(folder: string, name: string): string {
  const csv = join(folder, `${name}.csv`);
  const parquet = join(folder, `${name}.parquet`);
  if (existsSync(csv) && existsSync(parquet)) throw new BadInputError(`both ${name}.csv and ${name}.parquet are here: keep one`, { file: folder });
  return existsSync(parquet) ? parquet : csv;
}

export async function openTable(path: string, o: CsvOptions): Promise<TableReader> {
  return path.endsWith('.parquet') ? ParquetTable.open(path, o) : new CsvTable(new CsvReader(path, o));
}

class CsvTable implements TableReader {
  private started = false;
  constructor(private readonly r: CsvReader) {}
  get path() {
    return this.r.path;
  }
  get columns() {
    return this.r.columns;
  }
  get rows() {
    return this.r.rows;
  }
  place(): RowPlace {
    return { file: this.r.path, line: this.r.line };
  }
  block(): Promise<boolean> {
    // the CSV reader reads its own chunks: one block
    const first = !this.started;
    this.started = true;
    return Promise.resolve(first);
  }
  next(): boolean {
    return this.r.next();
  }
  text(i: number): string {
    return this.r.text(i);
  }
  record(): Record<string, string> {
    return this.r.record();
  }
  close(): void {
    this.r.close();
  }
}

/** Rows decoded at a time from a Parquet file whose row groups are larger. */
const PARQUET_SLICE = 1 << 20;

class ParquetTable implements TableReader {
  rows = 0;
  private blockStart = 0;
  private blockRows = 0;
  private at = -1;
  private data: unknown[][] = [];

  private constructor(
    readonly path: string,
    readonly columns: string[],
    private readonly file: Awaited<ReturnType<typeof asyncBufferFromFile>>,
    private readonly metadata: FileMetaData,
    private readonly o: CsvOptions,
  ) {}

  static async open(path: string, o: CsvOptions): Promise<ParquetTable> {
    if (!existsSync(path)) throw new BadInputError('file not found', { file: path });
    const file = await asyncBufferFromFile(path);
    let metadata: FileMetaData;
    try {
      metadata = await parquetMetadataAsync(file);
    } catch (e) {
      throw new BadInputError(`not a readable Parquet file (${(e as Error).message})`, { file: path });
    }
    // the top-level columns (a nested one is not a shop's table column)
    const columns = parquetSchema(metadata).children.map((c) => c.element.name);
    const missing = o.required.filter((c) => !columns.includes(c));
    if (missing.length) {
      throw new BadInputError(`missing column(s) ${missing.map((m) => `'${m}'`).join(', ')}; the file has ${columns.map((c) => `'${c}'`).join(', ')}`, {
        file: path,
      });
    }
    if (Number(metadata.num_rows) === 0 && o.problems.onBad === 'fail') throw new BadInputError('no data rows', { file: path });
    return new ParquetTable(path, columns, file, metadata, o);
  }

  place(): RowPlace {
    return { file: this.path, row: this.blockStart + this.at + 1 };
  }

  async block(): Promise<boolean> {
    const total = Number(this.metadata.num_rows);
    const start = this.blockStart + this.blockRows;
    if (start >= total) return false;
    const end = Math.min(total, start + PARQUET_SLICE);
    const columns: unknown[][] = this.columns.map(() => []);
    try {
      await parquetRead({
        file: this.file,
        metadata: this.metadata,
        compressors,
        rowStart: start,
        rowEnd: end,
        onChunk: (chunk) => {
          const c = this.columns.indexOf(chunk.columnName);
          if (c < 0) return;
          // a chunk may hold rows outside the range asked for
          const from = Math.max(start, chunk.rowStart);
          const to = Math.min(end, chunk.rowEnd);
          const part = columns[c]!;
          for (let r = from; r < to; r++) part[r - start] = chunk.columnData[r - chunk.rowStart];
        },
      });
    } catch (e) {
      throw new BadInputError(`unreadable Parquet rows ${start + 1}..${end} (${(e as Error).message})`, { file: this.path });
    }
    this.data = columns;
    this.blockStart = start;
    this.blockRows = end - start;
    this.at = -1;
    return true;
  }

  next(): boolean {
    if (this.at + 1 >= this.blockRows) return false;
    this.at++;
    this.rows++;
    return true;
  }

  text(i: number): string {
    return textOf(this.data[i]![this.at]);
  }

  record(): Record<string, string> {
    const r: Record<string, string> = {};
    for (let i = 0; i < this.columns.length; i++) r[this.columns[i]!] = this.text(i);
    return r;
  }

  close(): void {}
}

/** A Parquet value as the CSV would have it: a date at midnight as YYYY-MM-DD, a null as ''. */
function textOf(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (v instanceof Date) {
    const iso = v.toISOString();
    return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso;
  }
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  return String(v);
}

/** Yields the rows of a table as records with their place (for the small tables: items, articles). */
export async function* readTable(path: string, o: CsvOptions): AsyncGenerator<{ record: Record<string, string>; at: RowPlace }> {
  const t = await openTable(path, o);
  try {
    while (await t.block()) while (t.next()) yield { record: t.record(), at: t.place() };
  } finally {
    t.close();
  }
}
