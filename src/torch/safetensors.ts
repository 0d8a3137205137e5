/**
 * Named tensors in the safetensors layout: 8-byte little-endian header length, a JSON header
 * {name: {dtype, shape, data_offsets}, __metadata__: {string: string}}, then the raw bytes
 * (little-endian, C order). PyTorch (safetensors.torch.load_file) and others read these files.
 */
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { BadInputError } from '../core/errors.js';
import { writeFileAtomicWith } from '../core/fs.js';
import { tensor } from './ops.js';
import type { DType, Tensor } from './tensor.js';

const TO_ST: Record<DType, string> = { float32: 'F32', float64: 'F64', int64: 'I64', int32: 'I32', uint8: 'U8', bool: 'BOOL' };
const FROM_ST: Record<string, DType> = Object.fromEntries(Object.entries(TO_ST).map(([k, v]) => [v, k as DType]));
const BYTES: Record<DType, number> = { float32: 4, float64: 8, int64: 8, int32: 4, uint8: 1, bool: 1 };

/** The file's layout: tensors sorted by name, the JSON header (padded to 8 bytes) with each one's offsets. */
function layout(tensors: Map<string, Tensor> | Record<string, Tensor>, metadata: Record<string, string>) {
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of entries) {
    const bytes = t.size * BYTES[t.dtype];
    header[name] = { dtype: TO_ST[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8); // align the data section to 8 bytes
  const head = Buffer.from(json, 'utf8');
  const lead = Buffer.alloc(8);
  lead.writeBigUInt64LE(BigInt(head.byteLength));
  return { entries, lead, head, dataBytes: offset };
}

export function encodeSafetensors(tensors: Map<string, Tensor> | Record<string, Tensor>, metadata: Record<string, string> = {}): Uint8Array {
  const { entries, lead, head, dataBytes } = layout(tensors, metadata);
  const out = new Uint8Array(8 + head.byteLength + dataBytes);
  out.set(lead, 0);
  out.set(head, 8);
  let pos = 8 + head.byteLength;
  for (const [, t] of entries) {
    const data = t.data<DType>();
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), pos);
    pos += data.byteLength;
  }
  return out;
}

/** Bytes read back from libtorch at a time while a file is written. */
export const SAVE_CHUNK_BYTES = 16 << 20;

/**
 * Writes the file (atomically) a chunk of rows at a time: the memory it takes beyond the tensors
 * themselves is one chunk, not the file (a checkpoint of 1.37 M shoppers' θ and its two moments
 * is 1 GB at K = 64).
 */
export function saveSafetensors(
  path: string,
  tensors: Map<string, Tensor> | Record<string, Tensor>,
  metadata: Record<string, string> = {},
  chunkBytes = SAVE_CHUNK_BYTES,
): void {
  const { entries, lead, head } = layout(tensors, metadata);
  writeFileAtomicWith(path, (fd) => {
    writeAll(fd, lead);
    writeAll(fd, head);
    for (const [, t] of entries) {
      const bytes = t.size * BYTES[t.dtype];
      if (bytes === 0) continue;
      const rows = t.shape.length === 0 ? 1 : t.shape[0]!;
      const per = t.shape.length === 0 || bytes <= chunkBytes ? rows : Math.max(1, Math.floor(chunkBytes / (bytes / rows)));
      for (let r0 = 0; r0 < rows; r0 += per) {
        const part = per >= rows ? t : t.narrow(0, r0, Math.min(per, rows - r0));
        try {
          const data = part.data<DType>();
          writeAll(fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        } finally {
          if (part !== t) part.dispose();
        }
      }
    }
  });
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.byteLength;) done += writeSync(fd, bytes, done, bytes.byteLength - done);
}

export interface LoadedTensors {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

export function decodeSafetensors(buf: Uint8Array, source = '<buffer>'): LoadedTensors {
  // a copy of each range: aligned for its typed array
  return decodeFrom(buf.byteLength, (offset, length) => new Uint8Array(buf.subarray(offset, offset + length)), source);
}

/** The tensors of a file of `size` bytes whose ranges `read` gives (a fresh, aligned copy each). */
function decodeFrom(size: number, read: (offset: number, length: number) => Uint8Array, source: string): LoadedTensors {
  if (size < 8) throw new BadInputError(`not a safetensors file (${size} bytes)`, { file: source });
  const lead = read(0, 8);
  const headerLen = Number(new DataView(lead.buffer, lead.byteOffset, 8).getBigUint64(0, true));
  if (headerLen > size - 8) throw new BadInputError(`header length ${headerLen} exceeds the file`, { file: source });
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(Buffer.from(read(8, headerLen)).toString('utf8'));
  } catch (e) {
    throw new BadInputError(`unreadable safetensors header: ${(e as Error).message}`, { file: source });
  }
  const base = 8 + headerLen;
  const tensors = new Map<string, Tensor>();
  let metadata: Record<string, string> = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = info as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets } = info as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const dt = FROM_ST[dtype];
    if (!dt) throw new BadInputError(`tensor '${name}' has unsupported dtype '${dtype}'`, { file: source });
    const [b, e] = data_offsets;
    const count = shape.reduce((a, c) => a * c, 1);
    if (e - b !== count * BYTES[dt] || base + e > size) {
      throw new BadInputError(`tensor '${name}' offsets [${b}, ${e}] do not fit shape [${shape.join(', ')}] of ${dtype}`, { file: source });
    }
    const bytes = read(base + b, e - b);
    const arr =
      dt === 'float32'
        ? new Float32Array(bytes.buffer)
        : dt === 'float64'
          ? new Float64Array(bytes.buffer)
          : dt === 'int64'
            ? new BigInt64Array(bytes.buffer)
            : dt === 'int32'
              ? new Int32Array(bytes.buffer)
              : new Uint8Array(bytes.buffer);
    const t = tensor(arr, shape);
    if (dt === 'bool') {
      const bt = t.to('bool');
      t.dispose();
      tensors.set(name, bt);
    } else {
      tensors.set(name, t);
    }
  }
  return { tensors, metadata };
}

/**
 * Reads a file a tensor at a time (positioned reads): the memory it takes beyond the tensors is
 * one tensor's bytes, not the file (a checkpoint at 1.37 M shoppers is 1 GB).
 */
export function loadSafetensors(path: string): LoadedTensors {
  let fd: number;
  let size: number;
  try {
    fd = openSync(path, 'r');
    size = fstatSync(fd).size;
  } catch (e) {
    throw new BadInputError(`cannot read: ${(e as Error).message}`, { file: path });
  }
  try {
    return decodeFrom(
      size,
      (offset, length) => {
        const out = new Uint8Array(length);
        for (let done = 0; done < length;) {
          const n = readSync(fd, out, done, length - done, offset + done);
          if (n === 0) throw new BadInputError(`the file ends at byte ${offset + done}, inside a tensor`, { file: path });
          done += n;
        }
        return out;
      },
      path,
    );
  } finally {
    closeSync(fd);
  }
}
