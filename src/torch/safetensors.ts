/**
 * Named tensors in the safetensors layout: 8-byte little-endian header length, a JSON header
 * {name: {dtype, shape, data_offsets}, __metadata__: {string: string}}, then the raw bytes
 * (little-endian, C order). PyTorch (safetensors.torch.load_file) and others read these files.
 */
import { readFileSync } from 'node:fs';
import { BadInputError } from '../core/errors.js';
import { writeFileAtomic } from '../core/fs.js';
import { tensor } from './ops.js';
import type { DType, Tensor } from './tensor.js';

const TO_ST: Record<DType, string> = { float32: 'F32', float64: 'F64', int64: 'I64', int32: 'I32', uint8: 'U8', bool: 'BOOL' };
const FROM_ST: Record<string, DType> = Object.fromEntries(Object.entries(TO_ST).map(([k, v]) => [v, k as DType]));
const BYTES: Record<DType, number> = { float32: 4, float64: 8, int64: 8, int32: 4, uint8: 1, bool: 1 };

export function encodeSafetensors(tensors: Map<string, Tensor> | Record<string, Tensor>, metadata: Record<string, string> = {}): Uint8Array {
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  const blobs: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of entries) {
    const data = t.data<DType>();
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    header[name] = { dtype: TO_ST[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + bytes.byteLength] };
    blobs.push(bytes);
    offset += bytes.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8); // align the data section to 8 bytes
  const jsonBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + jsonBytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(jsonBytes.byteLength), true);
  out.set(jsonBytes, 8);
  let pos = 8 + jsonBytes.byteLength;
  for (const b of blobs) {
    out.set(b, pos);
    pos += b.byteLength;
  }
  return out;
}

export function saveSafetensors(path: string, tensors: Map<string, Tensor> | Record<string, Tensor>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export interface LoadedTensors {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

export function decodeSafetensors(buf: Uint8Array, source = '<buffer>'): LoadedTensors {
  if (buf.byteLength < 8) throw new BadInputError(`not a safetensors file (${buf.byteLength} bytes)`, { file: source });
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > buf.byteLength - 8) throw new BadInputError(`header length ${headerLen} exceeds the file`, { file: source });
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + 8, headerLen).toString('utf8'));
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
    if (e - b !== count * BYTES[dt] || base + e > buf.byteLength) {
      throw new BadInputError(`tensor '${name}' offsets [${b}, ${e}] do not fit shape [${shape.join(', ')}] of ${dtype}`, { file: source });
    }
    const bytes = new Uint8Array(buf.subarray(base + b, base + e)); // a copy, aligned for the typed array
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

export function loadSafetensors(path: string): LoadedTensors {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new BadInputError(`cannot read: ${(e as Error).message}`, { file: path });
  }
  return decodeSafetensors(buf, path);
}
