import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { CsvReader, MAX_CSV_ROW } from '../../src/data/csv.js';
import { readTable } from '../../src/data/table.js';
import { Problems } from '../../src/data/problems.js';
import { Rng } from '../../src/core/rng.js';
import { tempDir } from '../helpers/fixtures.js';

function write(text: string | Buffer): string {
  const p = join(tempDir(), 't.csv');
  writeFileSync(p, text);
  return p;
}

function readAll(path: string, required: string[] = [], onBad: 'fail' | 'skip' = 'fail') {
  const problems = new Problems(onBad);
  const r = new CsvReader(path, { required, problems });
  const rows: { line: number; fields: string[] }[] = [];
  try {
    while (r.next()) rows.push({ line: r.line, fields: r.columns.map((_, i) => r.text(i)) });
  } finally {
    r.close();
  }
  return { columns: r.columns, rows, problems };
}

/** A field as a writer of CSV quotes it: when it holds a comma, a quote or a line break. */
function quote(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

test('CSV: the same fields and line numbers as a general parser, over rows that straddle reads, quoted commas, quotes and line breaks', () => {
  const rng = new Rng(7);
  const alphabet = ['a', 'b', 'Z', '0', '7', ' ', ',', '"', '\n', '\r\n', 'é', '日', '-'];
  const cols = ['id', 'name', 'note'];
  const table: string[][] = [];
  const lastLine: number[] = [];
  let lines = 1;
  let text = '\ufeff' + cols.join(',') + '\r\n';
  let bytes = 0;
  while (bytes < 4 * (MAX_CSV_ROW + 2)) {
    const row: string[] = cols.map((): string => Array.from({ length: rng.int(30) }, () => alphabet[rng.int(alphabet.length)]!).join(''));
    if (!row.some((f) => f.length > 0)) row[0] = 'x';
    table.push(row);
    const line = row.map(quote).join(',') + (rng.next() < 0.5 ? '\n' : '\r\n');
    text += line;
    lines += line.split('\n').length - 1;
    lastLine.push(lines); // the line a row ends on: the newlines up to and with its own
    bytes += Buffer.byteLength(line);
  }
  const path = write(text);
  const ours = readAll(path, ['id']);
  const theirs = parse(text, { bom: true, columns: true, skip_empty_lines: true, record_delimiter: ['\r\n', '\n'] }) as Record<string, string>[];
  assert.deepEqual(ours.columns, cols);
  assert.equal(ours.rows.length, table.length);
  assert.equal(theirs.length, table.length);
  for (let i = 0; i < table.length; i++) {
    assert.deepEqual(ours.rows[i]!.fields, table[i], `row ${i}`);
    assert.deepEqual(
      ours.rows[i]!.fields,
      cols.map((c) => theirs[i]![c]),
    );
    assert.equal(ours.rows[i]!.line, lastLine[i], `line of row ${i}`);
  }
});

test('CSV: empty lines are skipped and counted; records keyed by header', async () => {
  const path = write('a,b\n\n1,2\r\n\r\n3,"x,y"\n');
  const rows: { record: Record<string, string>; line?: number }[] = [];
  for await (const r of readTable(path, { required: ['a'], problems: new Problems('fail') })) rows.push({ record: r.record, line: r.at.line });
  assert.deepEqual(rows, [
    { record: { a: '1', b: '2' }, line: 3 },
    { record: { a: '3', b: 'x,y' }, line: 5 },
  ]);
});

test('CSV: each bad row names file, line and reason; skipped, reading goes on at the next line', () => {
  const lines = [
    'a,b,c',
    '1,2,3',
    '4,5', // too few
    '6,7,8,9', // too many
    '10,x"y,12', // a quote inside an unquoted field
    '"13"z,14,15', // text after a closing quote
    `16,${'w'.repeat(MAX_CSV_ROW + 10)},18`, // overlong
    '19,20,21',
    '22,"cut', // the file ends inside quotes
  ];
  const path = write(lines.join('\n'));
  const { rows, problems } = readAll(path, ['a'], 'skip');
  assert.deepEqual(
    rows.map((r) => [r.line, r.fields.join('|')]),
    [
      [2, '1|2|3'],
      [8, '19|20|21'],
    ],
  );
  assert.deepEqual(
    problems.list.map((p) => [p.line, p.reason]),
    [
      [3, 'row has the wrong number of fields (cut in the middle of a row?)'],
      [4, 'row has the wrong number of fields (cut in the middle of a row?)'],
      [5, 'malformed CSV row: a quote inside an unquoted field'],
      [6, 'malformed CSV row: text after a closing quote'],
      [7, `row longer than ${MAX_CSV_ROW} characters`],
      [9, 'file ends inside a quoted field (cut in the middle of a row?)'],
    ],
  );
  assert.ok(problems.list.every((p) => p.file === path && (p.value ?? '').length <= 120));
  // the first one stops a strict read
  assert.throws(() => readAll(path, ['a'], 'fail'), new RegExp(`${path}:3: row has the wrong number of fields`));
});

test('CSV: a last row without a newline may be cut short: reported, not taken; a header-only file has no rows', () => {
  const { rows, problems } = readAll(write('a,b\n1,2\n3,4'), ['a'], 'skip');
  assert.deepEqual(
    rows.map((r) => r.fields),
    [['1', '2']],
  );
  assert.equal(problems.list[0]!.line, 3);
  assert.match(problems.list[0]!.reason, /does not end with a newline/);
  assert.throws(() => readAll(write('a,b\n'), ['a']), /no data rows after the header/);
  assert.throws(() => readAll(write('a,b\n1,2\n'), ['c']), /:1: missing column\(s\) 'c'; header has 'a', 'b'/);
  assert.throws(() => readAll(write('a,a\n1,2\n'), ['a']), /column 'a' appears twice/);
});

test('skipped problems are all counted, and the first 1,000 kept whole (a file of millions of bad rows does not fill memory)', () => {
  const problems = new Problems('skip');
  for (let i = 0; i < 2500; i++) problems.report({ file: 'f.csv', line: i + 2, reason: i % 2 ? 'odd' : 'even', value: 'x' });
  const s = problems.summary();
  assert.deepEqual([s.total, s.listed, s.items.length, s.byReason.odd, s.byReason.even], [2500, 1000, 1000, 1250, 1250]);
  assert.equal(problems.list.length, 1000);
  assert.equal(s.items[999]!.line, 1001);
});
