/** The streaming unpickler against Python's own pickler, protocols 0, 2 and 3. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BadInputError } from '../../src/core/errors.js';
import { bytesOf, PyBytes, PyTuple, unpickle } from '../../src/data/pickle.js';
import { python, tempDir } from '../helpers/fixtures.js';

/** Python's value as JSON, the way the reader's value is turned into JSON below. */
const PY = `
import json, pickle, sys
shared = [7, 8]
value = {'ints': [0, 1, 255, 256, 65535, 65536, -1, -129, 2**31 - 1, -2**31, 2**40, -2**40, 2**70],
         'floats': [1.5, -0.25, 1e300], 'consts': [None, True, False],
         'text': ['', 'plain', 'caf\\u00e9 \\u2713'], 'bytes': [b'', b'xyz', bytes(range(256)), b'q' * 5000],
         'tuples': [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4)], 'nested': {1: {2: [3]}}, 'a': shared, 'b': shared}
def conv(v):
    if isinstance(v, bool) or v is None: return v
    if isinstance(v, int): return v if abs(v) <= 2**53 - 1 else {'big': str(v)}
    if isinstance(v, float): return v
    if isinstance(v, str): return v
    if isinstance(v, bytes): return {'bytes': v.decode('latin1')}
    if isinstance(v, tuple): return {'tuple': [conv(x) for x in v]}
    if isinstance(v, list): return [conv(x) for x in v]
    if isinstance(v, dict): return {'dict': [[conv(k), conv(x)] for k, x in v.items()]}
open(sys.argv[1], 'wb').write(pickle.dumps(value, protocol=int(sys.argv[2])))
print(json.dumps(conv(value)))
`;

function conv(v: unknown, file: string): unknown {
  if (v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') return v;
  if (typeof v === 'bigint') return { big: v.toString() };
  if (v instanceof PyBytes) return { bytes: bytesOf(file, v).toString('latin1') };
  if (v instanceof PyTuple) return { tuple: v.items.map((x) => conv(x, file)) };
  if (Array.isArray(v)) return v.map((x) => conv(x, file));
  if (v instanceof Map) return { dict: [...v].map(([k, x]) => [conv(k, file), conv(x, file)]) };
  throw new Error(`unexpected ${String(v)}`);
}

for (const protocol of [0, 2, 3]) {
  test(`unpickle reads what Python's pickler writes at protocol ${protocol}, long strings left in the file, shared objects shared`, async () => {
    const file = join(tempDir(), 'v.pkl');
    const want = JSON.parse(python(['-c', PY, file, String(protocol)]));
    const seen: unknown[] = [];
    const got = (await unpickle(file, { lazyBytes: 1000, onElement: (v) => void seen.push(v) })) as Map<string, unknown>;
    const asJson = conv(got, file);
    assert.deepEqual(asJson, want);
    assert.equal(got.get('a'), got.get('b'), 'a memo reference gives the same object');
    const long = (got.get('bytes') as PyBytes[])[3]!;
    if (protocol === 3) assert.equal(long.data, null, 'a 5,000-byte string is read from the file only when asked');
    assert.ok(seen.length > 40, 'onElement sees the values as they are added');
  });
}

test('unpickle: bad opcodes, a memo entry never stored and a truncated pickle name the byte offset', async () => {
  const dir = tempDir();
  const cases: [string, Buffer, RegExp][] = [
    ['opcode', Buffer.from([0x80, 0x02, 0x4b, 0x01, 0x69]), /pickle opcode 0x69 is not supported at byte offset 4/],
    ['memo', Buffer.from([0x80, 0x02, 0x68, 0x05, 0x2e]), /a memo reference to entry 5, which was never stored at byte offset 2/],
    ['truncated', Buffer.from([0x80, 0x02, 0x54, 0xff, 0x00, 0x00, 0x00, 0x61]), /truncated: the pickle ends at byte 8 inside the opcode at byte offset 2/],
    ['protocol', Buffer.from([0x80, 0x05, 0x4e, 0x2e]), /pickle protocol 5 is not supported/],
    ['global', Buffer.from('\x80\x02cos\nsystem\n)R.', 'latin1'), /the global os\.system is not supported/],
  ];
  for (const [name, bytes, message] of cases) {
    const file = join(dir, `${name}.pkl`);
    writeFileSync(file, bytes);
    await assert.rejects(unpickle(file), (e: unknown) => e instanceof BadInputError && message.test(e.message) && e.message.includes(file));
  }
});
