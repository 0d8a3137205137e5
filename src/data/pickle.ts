/**
 * A streaming reader of Python pickles (protocols 0–3, the opcodes NumPy's `np.save` of an object
 * array writes under Python 2 and 3), for the authors' released .npy files (2–6 GB each).
 *
 * Streaming, in two ways: the file is read through a fixed window (never whole), and a string of
 * at least `lazyBytes` bytes (a JPEG) is not read at all: it becomes a PyBytes that knows its offset
 * and length and is read from the file when asked (`bytesOf`). A protocol-2 pickle memoises every
 * string it writes, so a reader whose memo held the bytes would hold the whole file; this memo
 * holds the offsets. `onElement` sees every value as it is added to a list or a dict, so a caller
 * can use an item (decode its photo) while the rest of the file is still being read.
 *
 * Python values map to: None → null, bool → boolean, int → number (bigint past 2^53), float →
 * number, str (Python 2) / bytes → PyBytes, unicode → string, tuple → PyTuple, list → Array, dict →
 * Map (keys: PyBytes keys as latin-1 strings, so b'productid' and 'productid' are one key). NumPy's
 * arrays, dtypes and scalars are rebuilt from their reduce form; any other global is refused.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { BadInputError } from '../core/errors.js';

export class PyBytes {
  constructor(
    /** byte offset of the string's first byte in the file */
    readonly offset: number,
    readonly length: number,
    /** the bytes, or null when they were left in the file (read them with `bytesOf`) */
    readonly data: Buffer | null,
  ) {}
}

export class PyTuple {
  constructor(readonly items: unknown[]) {}
}

export class PyDtype {
  byteOrder = '=';
  constructor(readonly descr: string) {}
}

export class PyNdarray {
  shape: number[] = [];
  dtype: PyDtype | null = null;
  fortran = false;
  /** an object array's elements, or a numeric array's raw bytes */
  data: unknown[] | PyBytes | null = null;
}

class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

export interface UnpickleOptions {
  /** first byte of the pickle in the file (after a .npy header) */
  start?: number;
  /** strings of at least this many bytes stay in the file (default 4096) */
  lazyBytes?: number;
  /** each value as it is added to a list (key = its index) or a dict (key); may return a promise to wait on */
  onElement?: (value: unknown, key: unknown, container: unknown[] | Map<unknown, unknown>) => void | Promise<void>;
  /** called every few MB with the bytes read so far */
  onProgress?: (offset: number, size: number) => void;
}

const WINDOW = 4 << 20;
const MAX_LINE = 64 << 20;

/** A forward reader over a file through a fixed window; errors name the file and the offset. */
class Reader {
  private buf = Buffer.alloc(WINDOW);
  private bufStart = 0;
  private bufEnd = 0; // bytes valid in buf
  private pos = 0; // file offset of the next byte
  readonly size: number;
  opStart = 0;
  constructor(
    private readonly fd: number,
    private readonly file: string,
    start: number,
  ) {
    this.size = fstatSync(fd).size;
    this.pos = start;
    this.bufStart = start;
  }
  get offset(): number {
    return this.pos;
  }
  private truncated(): never {
    throw new BadInputError(`truncated: the pickle ends at byte ${this.size} inside the opcode at byte offset ${this.opStart}`, { file: this.file });
  }
  private fill(n: number): void {
    if (this.pos + n > this.size) this.truncated();
    if (n > this.buf.length) this.buf = Buffer.alloc(n);
    const keep = this.bufStart + this.bufEnd - this.pos;
    if (keep > 0) this.buf.copy(this.buf, 0, this.pos - this.bufStart, this.pos - this.bufStart + keep);
    this.bufStart = this.pos;
    this.bufEnd = Math.max(keep, 0);
    while (this.bufEnd < n) {
      const got = readSync(this.fd, this.buf, this.bufEnd, this.buf.length - this.bufEnd, this.bufStart + this.bufEnd);
      if (got === 0) this.truncated();
      this.bufEnd += got;
    }
  }
  /** n bytes as a view valid until the next read */
  view(n: number): Buffer {
    if (this.pos + n > this.bufStart + this.bufEnd) this.fill(n);
    const at = this.pos - this.bufStart;
    this.pos += n;
    return this.buf.subarray(at, at + n);
  }
  byte(): number {
    return this.view(1)[0]!;
  }
  copy(n: number): Buffer {
    return Buffer.from(this.view(n));
  }
  skip(n: number): void {
    if (this.pos + n > this.size) this.truncated();
    this.pos += n;
  }
  /** A text opcode's argument: the bytes up to the next newline (at most MAX_LINE). */
  line(): string {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      if (this.pos >= this.bufStart + this.bufEnd) this.fill(1);
      const at = this.pos - this.bufStart;
      const nl = this.buf.indexOf(0x0a, at);
      const found = nl >= 0 && nl < this.bufEnd;
      const end = found ? nl : this.bufEnd;
      chunks.push(Buffer.from(this.buf.subarray(at, end)));
      total += end - at;
      this.pos += end - at;
      if (found) {
        this.pos += 1;
        return Buffer.concat(chunks).toString('latin1');
      }
      if (total > MAX_LINE) throw new BadInputError(`a text line longer than ${MAX_LINE} bytes at byte offset ${this.opStart}`, { file: this.file });
    }
  }
}

/** The bytes of a PyBytes, read from the file when they were left there. */
export function bytesOf(file: string, b: PyBytes): Buffer {
  if (b.data) return b.data;
  const fd = openSync(file, 'r');
  try {
    const out = Buffer.alloc(b.length);
    let done = 0;
    while (done < b.length) {
      const got = readSync(fd, out, done, b.length - done, b.offset + done);
      if (got === 0) throw new BadInputError(`truncated: a string of ${b.length} bytes at byte offset ${b.offset} runs past the end`, { file });
      done += got;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** A dict key as the reader stores it: Python 2 str keys as latin-1 strings. */
function keyOf(k: unknown, file: string): unknown {
  if (k instanceof PyBytes) return bytesOf(file, k).toString('latin1');
  if (k instanceof PyTuple) return k.items.map((x) => keyOf(x, file)).join('\u0000');
  return k;
}

const OPNAMES: Record<number, string> = { 0x94: 'MEMOIZE', 0x95: 'FRAME', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8' };

function numberFromLittleEndian(b: Buffer, signed: boolean): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  if (signed && b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** The values of a numeric or object ndarray, flattened in C order. */
export function ndarrayValues(a: PyNdarray, file: string): unknown[] {
  if (Array.isArray(a.data)) return a.data;
  if (!a.dtype || !(a.data instanceof PyBytes)) throw new BadInputError('an ndarray without its data', { file });
  const m = /^([<>|=]?)([fiub])(\d+)$/.exec(a.dtype.descr);
  if (!m) throw new BadInputError(`ndarray dtype '${a.dtype.descr}' is not supported`, { file });
  const kind = m[2]!;
  const size = Number(m[3]);
  const order = m[1] || a.dtype.byteOrder;
  const little = order !== '>';
  const bytes = bytesOf(file, a.data);
  const n = Math.floor(bytes.length / size);
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const at = i * size;
    if (kind === 'f' && size === 8) out.push(little ? bytes.readDoubleLE(at) : bytes.readDoubleBE(at));
    else if (kind === 'f' && size === 4) out.push(little ? bytes.readFloatLE(at) : bytes.readFloatBE(at));
    else if (kind === 'b' && size === 1) out.push(bytes[at] !== 0);
    else if ((kind === 'i' || kind === 'u') && size <= 8) {
      const slice = Buffer.from(bytes.subarray(at, at + size));
      if (!little) slice.reverse();
      out.push(numberFromLittleEndian(slice, kind === 'i'));
    } else throw new BadInputError(`ndarray dtype '${a.dtype.descr}' is not supported`, { file });
  }
  return out;
}

function scalarValue(dtype: unknown, raw: unknown, file: string): unknown {
  if (!(dtype instanceof PyDtype) || !(raw instanceof PyBytes)) throw new BadInputError('a numpy scalar without its dtype and bytes', { file });
  const a = new PyNdarray();
  a.dtype = dtype;
  a.data = raw;
  a.shape = [1];
  return ndarrayValues(a, file)[0];
}

/** Reads one pickle from `file` and returns its value. */
export async function unpickle(file: string, o: UnpickleOptions = {}): Promise<unknown> {
  const fd = openSync(file, 'r');
  try {
    return await run(new Reader(fd, file, o.start ?? 0), file, o);
  } finally {
    closeSync(fd);
  }
}

async function run(r: Reader, file: string, o: UnpickleOptions): Promise<unknown> {
  const lazyBytes = o.lazyBytes ?? 4096;
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let nextProgress = 0;
  const bad = (what: string): never => {
    throw new BadInputError(`${what} at byte offset ${r.opStart}`, { file });
  };
  const pop = (): unknown => {
    if (stack.length === 0 || (marks.length && stack.length <= marks[marks.length - 1]!)) bad('a pickle opcode finds its stack empty');
    return stack.pop();
  };
  const top = (): unknown => {
    if (!stack.length) bad('a pickle opcode finds its stack empty');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) bad('a pickle opcode needs a MARK that is not there');
    return stack.splice(m!);
  };
  const string = (n: number): PyBytes => {
    if (n < 0) bad(`a string of negative length ${n}`);
    const at = r.offset;
    if (n >= lazyBytes) {
      r.skip(n);
      return new PyBytes(at, n, null);
    }
    return new PyBytes(at, n, r.copy(n));
  };
  const element = async (value: unknown, key: unknown, container: unknown[] | Map<unknown, unknown>) => {
    if (!o.onElement) return;
    const p = o.onElement(value, key, container);
    if (p) await p;
  };
  const appendAll = async (list: unknown, values: unknown[]) => {
    if (!Array.isArray(list)) bad('APPEND to something that is not a list');
    const xs = list as unknown[];
    for (const v of values) {
      xs.push(v);
      await element(v, xs.length - 1, xs);
    }
  };
  const setAll = async (dict: unknown, kv: unknown[]) => {
    if (!(dict instanceof Map)) bad('SETITEM on something that is not a dict');
    if (kv.length % 2) bad('SETITEMS with an odd number of keys and values');
    const m = dict as Map<unknown, unknown>;
    for (let i = 0; i < kv.length; i += 2) {
      const k = keyOf(kv[i], file);
      m.set(k, kv[i + 1]);
      await element(kv[i + 1], k, m);
    }
  };
  const reduce = (fn: unknown, args: unknown): unknown => {
    if (!(fn instanceof PyGlobal) || !(args instanceof PyTuple)) return bad('REDUCE of something that is not a supported global');
    const g = fn as PyGlobal;
    const a = (args as PyTuple).items;
    switch (g.qualified) {
      case 'numpy.core.multiarray._reconstruct':
      case 'numpy._core.multiarray._reconstruct':
        return new PyNdarray();
      case 'numpy.dtype': {
        const d = a[0];
        const descr = d instanceof PyBytes ? bytesOf(file, d).toString('latin1') : String(d);
        return new PyDtype(descr);
      }
      case 'numpy.core.multiarray.scalar':
      case 'numpy._core.multiarray.scalar':
        return scalarValue(a[0], a[1], file);
      case '__builtin__.set':
      case 'builtins.set':
      case '__builtin__.frozenset':
      case 'builtins.frozenset':
        return Array.isArray(a[0]) ? [...(a[0] as unknown[])] : [];
      case '__builtin__.bytes':
      case 'builtins.bytes': {
        const data = Buffer.from(Array.isArray(a[0]) ? (a[0] as number[]) : []);
        return new PyBytes(-1, data.length, data);
      }
      case '_codecs.encode': {
        // Python 3's protocol-2 form of bytes: encode(latin-1 text, 'latin1')
        const text = typeof a[0] === 'string' ? a[0] : '';
        const data = Buffer.from(text, 'latin1');
        return new PyBytes(-1, data.length, data);
      }
      default:
        return bad(`the global ${g.qualified} is not supported`);
    }
  };
  const build = (target: unknown, state: unknown): void => {
    if (target instanceof PyNdarray && state instanceof PyTuple) {
      const s = state.items.length === 5 ? state.items.slice(1) : state.items;
      const [shape, dtype, fortran, data] = s;
      target.shape = shape instanceof PyTuple ? shape.items.map(Number) : [];
      target.dtype = dtype instanceof PyDtype ? dtype : null;
      target.fortran = fortran === true;
      target.data = Array.isArray(data) || data instanceof PyBytes ? (data as unknown[] | PyBytes) : null;
      return;
    }
    if (target instanceof PyDtype && state instanceof PyTuple) {
      const order = state.items[1];
      if (order instanceof PyBytes) target.byteOrder = bytesOf(file, order).toString('latin1');
      else if (typeof order === 'string') target.byteOrder = order;
      return;
    }
    if (target instanceof Map && state instanceof Map) {
      for (const [k, v] of state) target.set(k, v);
      return;
    }
    bad('BUILD of an object that is not supported');
  };

  for (;;) {
    if (o.onProgress && r.offset >= nextProgress) {
      o.onProgress(r.offset, r.size);
      nextProgress = r.offset + (8 << 20);
    }
    r.opStart = r.offset;
    const op = r.byte();
    switch (op) {
      case 0x80: {
        const proto = r.byte();
        if (proto > 3) bad(`pickle protocol ${proto} is not supported (0 to 3 are)`);
        break;
      }
      case 0x2e: // STOP
        if (stack.length !== 1 || marks.length) bad(`STOP with ${stack.length} values on the stack`);
        return stack[0];
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(new PyTuple([]));
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88:
        stack.push(true);
        break;
      case 0x89:
        stack.push(false);
        break;
      case 0x4b: // BININT1
        stack.push(r.byte());
        break;
      case 0x4d: // BININT2
        stack.push(r.view(2).readUInt16LE(0));
        break;
      case 0x4a: // BININT
        stack.push(r.view(4).readInt32LE(0));
        break;
      case 0x8a: // LONG1
        stack.push(numberFromLittleEndian(r.copy(r.byte()), true));
        break;
      case 0x8b: {
        // LONG4
        const n = r.view(4).readInt32LE(0);
        if (n < 0 || n > 4096) bad(`a LONG4 of ${n} bytes`);
        stack.push(numberFromLittleEndian(r.copy(n), true));
        break;
      }
      case 0x49: {
        // INT (text): also how protocol 0 writes True/False
        const t = r.line();
        if (t === '01') stack.push(true);
        else if (t === '00') stack.push(false);
        else {
          const v = Number(t);
          if (!Number.isInteger(v)) bad(`INT '${t}' is not an integer`);
          stack.push(v);
        }
        break;
      }
      case 0x4c: {
        // LONG (text)
        const t = r.line().replace(/L$/, '');
        if (!/^-?\d+$/.test(t)) bad(`LONG '${t}' is not an integer`);
        const v = BigInt(t);
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        stack.push(r.view(8).readDoubleBE(0));
        break;
      case 0x46: {
        // FLOAT (text)
        const t = r.line();
        const v = Number(t);
        if (Number.isNaN(v) && t.toLowerCase() !== 'nan') bad(`FLOAT '${t}' is not a number`);
        stack.push(v);
        break;
      }
      case 0x55: // SHORT_BINSTRING
      case 0x43: // SHORT_BINBYTES
        stack.push(string(r.byte()));
        break;
      case 0x54: // BINSTRING
        stack.push(string(r.view(4).readInt32LE(0)));
        break;
      case 0x42: // BINBYTES
        stack.push(string(r.view(4).readUInt32LE(0)));
        break;
      case 0x58: {
        // BINUNICODE
        const n = r.view(4).readUInt32LE(0);
        if (n >= lazyBytes * 16) bad(`a unicode string of ${n} bytes`);
        stack.push(r.view(n).toString('utf8'));
        break;
      }
      case 0x56: // UNICODE (text, raw-unicode-escape)
        stack.push(rawUnicodeEscape(r.line()));
        break;
      case 0x53: {
        // STRING (text: a quoted Python 2 literal)
        const data = Buffer.from(pythonLiteral(r.line(), bad), 'latin1');
        stack.push(new PyBytes(-1, data.length, data));
        break;
      }
      case 0x74: // TUPLE
        stack.push(new PyTuple(popMark()));
        break;
      case 0x85:
        stack.push(new PyTuple([pop()]));
        break;
      case 0x86: {
        const b = pop();
        const a = pop();
        stack.push(new PyTuple([a, b]));
        break;
      }
      case 0x87: {
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push(new PyTuple([a, b, c]));
        break;
      }
      case 0x6c: {
        // LIST
        const xs = popMark();
        const list: unknown[] = [];
        stack.push(list);
        await appendAll(list, xs);
        break;
      }
      case 0x64: {
        // DICT
        const kv = popMark();
        const d = new Map();
        stack.push(d);
        await setAll(d, kv);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        await appendAll(top(), [v]);
        break;
      }
      case 0x65: {
        // APPENDS
        const xs = popMark();
        await appendAll(top(), xs);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        await setAll(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const kv = popMark();
        await setAll(top(), kv);
        break;
      }
      case 0x63: {
        // GLOBAL
        const module = r.line();
        const name = r.line();
        stack.push(new PyGlobal(module, name));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        stack.push(reduce(fn, args));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop();
        const cls = pop();
        if (cls instanceof PyGlobal && (cls.qualified === '__builtin__.set' || cls.qualified === 'builtins.set')) stack.push([]);
        else bad(`NEWOBJ of ${cls instanceof PyGlobal ? cls.qualified : 'a non-global'} is not supported`);
        void args;
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        build(top(), state);
        break;
      }
      case 0x71: // BINPUT
        memo.set(r.byte(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(r.view(4).readUInt32LE(0), top());
        break;
      case 0x70: {
        // PUT (text)
        const t = r.line();
        memo.set(Number(t), top());
        break;
      }
      case 0x68: // BINGET
      case 0x6a: // LONG_BINGET
      case 0x67: {
        // GET (text)
        const k = op === 0x68 ? r.byte() : op === 0x6a ? r.view(4).readUInt32LE(0) : Number(r.line());
        if (!memo.has(k)) bad(`a memo reference to entry ${k}, which was never stored`);
        stack.push(memo.get(k));
        break;
      }
      case 0x30: // POP
        if (marks.length && stack.length === marks[marks.length - 1]) marks.pop();
        else pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      default: {
        const name = OPNAMES[op] ? ` (${OPNAMES[op]})` : '';
        bad(`pickle opcode 0x${op.toString(16).padStart(2, '0')}${name} is not supported`);
      }
    }
  }
}

/** Protocol 0's UNICODE: latin-1 bytes with \\uXXXX and \\UXXXXXXXX escapes. */
function rawUnicodeEscape(t: string): string {
  return t.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, u4: string | undefined, u8: string | undefined) =>
    String.fromCodePoint(parseInt((u4 ?? u8)!, 16)),
  );
}

/** Protocol 0's STRING: a Python 2 str literal in quotes, its escapes undone (as latin-1 text). */
function pythonLiteral(t: string, bad: (what: string) => never): string {
  const q = t[0];
  if ((q !== "'" && q !== '"') || t[t.length - 1] !== q || t.length < 2) bad(`STRING ${JSON.stringify(t.slice(0, 40))} is not a quoted literal`);
  const body = t.slice(1, -1);
  const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v', '0': '\0' };
  return body.replace(/\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)/g, (_, e: string) => {
    if (e[0] === 'x') return String.fromCharCode(parseInt(e.slice(1), 16));
    if (/^[0-7]+$/.test(e)) return String.fromCharCode(parseInt(e, 8) & 0xff);
    return simple[e] ?? `\\${e}`;
  });
}

/** The .npy header: where the pickle starts, refusing anything but a pickled object array. */
export function readNpyHeader(file: string): { start: number; shape: number[] } {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(12);
    const got = readSync(fd, head, 0, 12, 0);
    if (got < 10 || head.subarray(0, 6).toString('latin1') !== '\x93NUMPY') {
      throw new BadInputError('not a .npy file: it does not start with the magic \\x93NUMPY', { file });
    }
    const major = head[6]!;
    if (major !== 1 && major !== 2 && major !== 3) throw new BadInputError(`.npy format version ${major}.${head[7]} is not supported (1 to 3 are)`, { file });
    const headerLen = major === 1 ? head.readUInt16LE(8) : got >= 12 ? head.readUInt32LE(8) : -1;
    const pre = major === 1 ? 10 : 12;
    if (headerLen < 0 || headerLen > 1 << 20) throw new BadInputError('a .npy header of impossible length', { file });
    const text = Buffer.alloc(headerLen);
    if (readSync(fd, text, 0, headerLen, pre) !== headerLen)
      throw new BadInputError(`truncated: the .npy header of ${headerLen} bytes runs past the end`, { file });
    const h = text.toString(major === 3 ? 'utf8' : 'latin1');
    const descr = /'descr'\s*:\s*'([^']*)'/.exec(h)?.[1];
    const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(h)?.[1];
    if (descr === undefined || shapeText === undefined)
      throw new BadInputError(`the .npy header is not a NumPy header: ${JSON.stringify(h.slice(0, 120))}`, { file });
    if (descr !== '|O') throw new BadInputError(`the .npy file holds a '${descr}' array, not the pickled object array the authors' files are ('|O')`, { file });
    const shape = shapeText
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map(Number);
    return { start: pre + headerLen, shape };
  } finally {
    closeSync(fd);
  }
}
