/** Manifests are read back through their schemas: a field out of shape is an error naming the file and the field. */
import { test } from 'node:test';
import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CorruptFileError } from '../../src/core/errors.js';
import { readGanManifest } from '../../src/store/gan-run.js';
import { loadRun, readManifest } from '../../src/store/run.js';
import { loadSafetensors, saveSafetensors, tensor } from '../../src/torch/index.js';
import { tempDir } from '../helpers/fixtures.js';
import { tinyRuns } from '../helpers/tiny-runs.js';

const ctx = tinyRuns();

/** A copy of `dir` whose manifest.json went through `change`. */
function edited(dir: string, change: (m: Record<string, any>) => void): string {
  const copy = join(tempDir('atelier-manifest-'), 'run');
  cpSync(dir, copy, { recursive: true });
  const m = JSON.parse(readFileSync(join(copy, 'manifest.json'), 'utf8'));
  change(m);
  writeFileSync(join(copy, 'manifest.json'), JSON.stringify(m));
  return copy;
}

test('a DVBPR run manifest is typed by its kind; a bad field is a CorruptFileError naming it', async () => {
  const { run } = await ctx;
  const m = readManifest(run);
  assert.equal(m.kind, 'dvbpr');
  if (m.kind === 'dvbpr') assert.equal(typeof m.config.encoder.k, 'number'); // the config is DVBPR's own, no cast
  assert.equal(typeof m.metrics.test?.auc, 'number');
  const bad = edited(run, (x) => (x.config.encoder.k = 'ten'));
  assert.throws(
    () => readManifest(bad),
    (e: unknown) => e instanceof CorruptFileError && /manifest\.json: config\.encoder\.k: /.test(e.message),
  );
  // a value read from a run file passes the bounds of the flag that wrote it (issue 34.7)
  for (const [what, change, field] of [
    ['a prior of 1e308', (x: Record<string, any>) => (x.metrics.popularityPrior.beta = 1e308), /metrics\.popularityPrior\.beta/],
    [
      'a policy weight of 1e308',
      (x: Record<string, any>) => (x.ranking = { policy: { recency: 1e308 }, chosenOn: 'next purchase' }),
      /ranking\.policy\.recency/,
    ],
    ['a policy naming no prior', (x: Record<string, any>) => (x.ranking = { policy: { fame: 1 }, chosenOn: 'next purchase' }), /no prior named 'fame'/],
    ['a negative best epoch', (x: Record<string, any>) => (x.metrics.bestEpoch = -5), /metrics\.bestEpoch/],
    ['a fractional best epoch', (x: Record<string, any>) => (x.metrics.bestEpoch = 1.5), /metrics\.bestEpoch/],
    ['an embedding of a million dimensions', (x: Record<string, any>) => (x.config.encoder.k = 1e6), /config\.encoder\.k/],
  ] as const) {
    const out = edited(run, (x) => {
      x.metrics.popularityPrior ??= { alpha: 0 };
      change(x);
    });
    assert.throws(
      () => readManifest(out),
      (e: unknown) => e instanceof CorruptFileError && field.test((e as Error).message),
      what,
    );
  }
  const unknownKind = edited(run, (x) => (x.kind = 'transformer'));
  assert.throws(
    () => readManifest(unknownKind),
    (e: unknown) => e instanceof CorruptFileError && /kind/.test(e.message),
  );
});

test("a GAN manifest: the config is the GAN schema's, Infinity written as null reads back, a bad snapshot is named", async () => {
  const { gan } = await ctx;
  const m = readGanManifest(gan);
  assert.equal(typeof m.config.zDim, 'number');
  const unmeasured = edited(gan, (x) => (x.metrics.bestFrechet = null));
  assert.equal(readGanManifest(unmeasured).metrics.bestFrechet, Infinity);
  const bad = edited(gan, (x) => (x.metrics.snapshots[0].step = 'late'));
  assert.throws(
    () => readGanManifest(bad),
    (e: unknown) => e instanceof CorruptFileError && /metrics\.snapshots\.0\.step/.test(e.message),
  );
});

/** A copy of `dir` without its commit's integrity record (as a run committed before the record was kept). */
function withoutIntegrity(dir: string): string {
  const copy = edited(dir, () => {});
  const db = new Database(join(copy, 'catalogue.sqlite'));
  db.prepare("DELETE FROM meta WHERE key = 'integrity'").run();
  db.close();
  return copy;
}

test('a flipped byte in the weights or the embeddings, or a manifest edited to another kind, is refused at load naming the file (issues 34.12, 34.19)', async () => {
  const { run } = await ctx;
  for (const file of ['weights.safetensors', 'item-embeddings.f32']) {
    const copy = edited(run, () => {});
    const path = join(copy, file);
    const bytes = readFileSync(path);
    bytes[bytes.length - 3]! ^= 0x01; // one bit of the last value: finite still, and it moves scores
    writeFileSync(path, bytes);
    assert.throws(
      () => loadRun(copy),
      (e: unknown) => e instanceof CorruptFileError && e.message.startsWith(`${path}: its checksum differs`),
      file,
    );
  }
  const popularity = edited(run, (m) => (m.kind = 'popularity'));
  assert.throws(
    () => loadRun(popularity),
    (e: unknown) => e instanceof CorruptFileError && e.message.includes("kind 'popularity', but this run was committed as a 'dvbpr' run"),
  );
  // rows appended after the commit (uploads) are not part of the record
  const grown = edited(run, () => {});
  const path = join(grown, 'item-embeddings.f32');
  writeFileSync(path, Buffer.concat([readFileSync(path), Buffer.alloc(64)]));
  assert.equal(loadRun(grown).manifest.kind, 'dvbpr');
});

test('a run whose weights or embeddings hold NaN is refused at load, naming the file and the tensor', async () => {
  const { run } = await ctx;
  const nanWeights = withoutIntegrity(run);
  const w = loadSafetensors(join(nanWeights, 'weights.safetensors'));
  const theta = w.tensors.get('theta')!;
  const values = theta.data();
  values[3] = NaN;
  saveSafetensors(join(nanWeights, 'weights.safetensors'), new Map([...w.tensors, ['theta', tensor(values, theta.shape as number[])]]), w.metadata);
  assert.throws(
    () => loadRun(nanWeights),
    (e: unknown) => e instanceof CorruptFileError && /weights\.safetensors: tensor 'theta' holds NaN at 3/.test(e.message),
  );
  const nanEmbeddings = withoutIntegrity(run);
  const path = join(nanEmbeddings, 'item-embeddings.f32');
  const e = new Float32Array(new Uint8Array(readFileSync(path)).buffer);
  e[0] = Infinity;
  writeFileSync(path, new Uint8Array(e.buffer));
  assert.throws(
    () => loadRun(nanEmbeddings),
    (err: unknown) => err instanceof CorruptFileError && /item-embeddings\.f32: item 0's embedding holds Infinity/.test(err.message),
  );
});
