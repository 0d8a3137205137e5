import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/fixtures.js';
import { tinyRuns } from '../helpers/tiny-runs.js';
import { atelierOut } from './in-process.js';

/** The CLI in this process (a spawn costs seconds of start-up), stdout kept. */
const cli = atelierOut;
const optionsInHelp = async (...cmd: string[]) => (await cli(...cmd, '--help')).out.split('\n').filter((l) => /^  --/.test(l)).length;

test('design and train dvbpr list at most 12 options in --help; the others still work as flags and settings', async () => {
  assert.ok((await optionsInHelp('design')) <= 12, `design: ${await optionsInHelp('design')}`);
  assert.ok((await optionsInHelp('train', 'dvbpr')) <= 12, `train dvbpr: ${await optionsInHelp('train', 'dvbpr')}`);
  const hidden = await cli('design', '--print-config', '--eta', '2', '--taste', 'distinctive');
  assert.equal(hidden.code, 0, hidden.err);
  assert.deepEqual([JSON.parse(hidden.out).eta, JSON.parse(hidden.out).taste], [2, 'distinctive']);
});

test('design: --print-config round-trips through --config (JSON and YAML); the flags given override the file; a bad file is named with its line', async () => {
  const dir = tempDir();
  const printed = await cli('design', '--print-config');
  assert.equal(printed.code, 0, printed.err);
  const resolved = JSON.parse(printed.out);
  assert.equal(resolved.steps, 8, "the default preset's steps");
  const json = join(dir, 'design.json');
  writeFileSync(json, printed.out);
  assert.deepEqual(JSON.parse((await cli('design', '--config', json, '--print-config')).out), resolved);
  const yaml = join(dir, 'design.yaml');
  writeFileSync(yaml, 'n: 4\nsteps: 3\nbound: shell\n');
  const fromYaml = JSON.parse((await cli('design', '--config', yaml, '--print-config')).out);
  assert.deepEqual([fromYaml.n, fromYaml.steps, fromYaml.bound, fromYaml.seed], [4, 3, 'shell', 1]);
  // a flag given on the line wins over the file; a flag left at its default does not
  assert.equal(JSON.parse((await cli('design', '--config', yaml, '--print-config', '--n', '6')).out).n, 6);
  const badYaml = join(dir, 'bad.yaml');
  writeFileSync(badYaml, 'n: 4\nsteps: [3\n');
  const r1 = await cli('design', '--config', badYaml, '--print-config');
  assert.equal(r1.code, 2);
  assert.match(r1.err, /bad\.yaml:\d+: not YAML/);
  const unknown = join(dir, 'unknown.json');
  writeFileSync(unknown, '{"n": 4, "stepz": 3}');
  const r2 = await cli('design', '--config', unknown, '--print-config');
  assert.equal(r2.code, 2);
  assert.match(r2.err, /stepz/);
  const list = join(dir, 'list.json');
  writeFileSync(list, '[1, 2]');
  assert.match((await cli('design', '--config', list, '--print-config')).err, /list\.json: a settings file holds one object of settings, got a list/);
});

test("train dvbpr: --print-config shows the preset for the dataset's image size with the file and flags laid over it, and round-trips", async () => {
  const t = await tinyRuns();
  const data = join(t.root, 'data');
  const dir = tempDir();
  const base = JSON.parse((await cli('train', 'dvbpr', '--data', data, '--out', join(dir, 'r'), '--preset', 'tiny', '--print-config')).out);
  assert.equal(base.preset, 'tiny');
  assert.equal(base.encoder.inputSize, t.ds.imageSize);
  const file = join(dir, 'dvbpr.json');
  writeFileSync(file, JSON.stringify({ preset: 'tiny', lr: 0.5, encoder: { k: 8 } }));
  const laid = await cli('train', 'dvbpr', '--data', data, '--out', join(dir, 'r'), '--config', file, '--epochs', '2', '--print-config');
  assert.equal(laid.code, 0, laid.err);
  const cfg = JSON.parse(laid.out);
  assert.deepEqual([cfg.preset, cfg.lr, cfg.encoder.k, cfg.epochs, cfg.batch], ['tiny', 0.5, 8, 2, base.batch]);
  const again = join(dir, 'again.json');
  writeFileSync(again, laid.out);
  assert.deepEqual(JSON.parse((await cli('train', 'dvbpr', '--data', data, '--out', join(dir, 'r'), '--config', again, '--print-config')).out), cfg);
  writeFileSync(file, JSON.stringify({ preset: 'tiny', lr: -1 }));
  const bad = await cli('train', 'dvbpr', '--data', data, '--out', join(dir, 'r'), '--config', file, '--print-config');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /dvbpr\.json or a flag\) --lr/);
});

test('ingest and train gan take --config and --print-config too: printed settings round-trip, flags given override the file, a bad value is named', async () => {
  const t = await tinyRuns();
  const data = join(t.root, 'data');
  const dir = tempDir();
  // ingest: the options resolved with their defaults, from a file, flags over it
  const printed = await cli('ingest', 'hm', 'shop', '--out', join(dir, 'd'), '--image-size', '32', '--print-config');
  assert.equal(printed.code, 0, printed.err);
  const resolved = JSON.parse(printed.out);
  assert.deepEqual([resolved.imageSize, resolved.minUserItems, resolved.onBad], [32, 5, 'fail']);
  const file = join(dir, 'ingest.json');
  writeFileSync(file, printed.out);
  assert.deepEqual(JSON.parse((await cli('ingest', 'hm', 'shop', '--config', file, '--print-config')).out), resolved);
  const yaml = join(dir, 'ingest.yaml');
  writeFileSync(yaml, `out: ${join(dir, 'd')}\nimageSize: 48\nonBad: skip\n`);
  const laid = JSON.parse((await cli('ingest', 'hm', 'shop', '--config', yaml, '--seed', '3', '--print-config')).out);
  assert.deepEqual([laid.imageSize, laid.onBad, laid.seed], [48, 'skip', 3]);
  writeFileSync(yaml, 'imageSize: big\n');
  const bad = await cli('ingest', 'hm', 'shop', '--out', join(dir, 'd'), '--config', yaml);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--image-size.*'big'/);
  // train gan: the preset for the dataset's image size, the file's keys over it
  const g = await cli('train', 'gan', '--data', data, '--out', join(dir, 'g'), '--preset', 'tiny', '--print-config');
  assert.equal(g.code, 0, g.err);
  const gan = JSON.parse(g.out);
  assert.deepEqual([gan.preset, gan.imageSize], ['tiny', t.ds.imageSize]);
  const gfile = join(dir, 'gan.json');
  writeFileSync(gfile, JSON.stringify({ ...gan, zDim: 7, epochs: 2 }));
  const over = JSON.parse((await cli('train', 'gan', '--data', data, '--out', join(dir, 'g'), '--config', gfile, '--epochs', '3', '--print-config')).out);
  assert.deepEqual([over.preset, over.zDim, over.epochs], ['tiny', 7, 3]);
  writeFileSync(gfile, JSON.stringify({ lr: -1 }));
  assert.match((await cli('train', 'gan', '--data', data, '--out', join(dir, 'g'), '--config', gfile)).err, /setting --lr/);
});

test('serve, segments, evaluate and train baselines take --config too; their printed settings round-trip', async () => {
  const t = await tinyRuns();
  const dir = tempDir();
  const yaml = join(dir, 'serve.yaml');
  writeFileSync(yaml, 'port: 8999\nhost: 0.0.0.0\nindex: exact\n');
  const serve = await cli('serve', '--run', t.run, '--config', yaml, '--port', '9001', '--print-config');
  assert.equal(serve.code, 0, serve.err);
  const s = JSON.parse(serve.out);
  assert.deepEqual([s.port, s.host, s.index], [9001, '0.0.0.0', 'exact']);
  const again = join(dir, 'serve.json');
  writeFileSync(again, serve.out);
  assert.deepEqual(JSON.parse((await cli('serve', '--run', t.run, '--config', again, '--print-config')).out), s);
  writeFileSync(yaml, 'port: 99999\n');
  assert.match((await cli('serve', '--run', t.run, '--config', yaml, '--print-config')).err, /--port must be an integer in 0\.\.65535, got '99999'/);
  const seg = JSON.parse((await cli('segments', '--run', t.run, '--k', '3', '--min-members', '2', '--print-config')).out);
  assert.deepEqual([seg.k, seg.minMembers, seg.seed], [3, 2, 1]);
  for (const args of [
    ['evaluate', '--data', join(t.root, 'data'), '--runs', t.run],
    ['train', 'baselines', '--data', join(t.root, 'data'), '--out', join(dir, 'b')],
  ]) {
    const r = await cli(...args, '--print-config');
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.err}`);
    const file = join(dir, `${args[0]}.json`);
    writeFileSync(file, r.out);
    assert.deepEqual(JSON.parse((await cli(...args, '--config', file, '--print-config')).out), JSON.parse(r.out), args.join(' '));
  }
});

test("recommend, index and demo take --config too: recommend's prior weights and k 'all' round-trip as a settings file", async () => {
  const t = await tinyRuns();
  const dir = tempDir();
  const user = t.ds.userIds[0]!;
  const r = await cli('recommend', '--run', t.run, '--user', user, '--k', 'all', '--prior-popularity', '3', '--print-config');
  assert.equal(r.code, 0, r.err);
  const printed = JSON.parse(r.out);
  assert.deepEqual([printed.k, printed.priorPopularity, printed.priors], ['all', 3, true]);
  const file = join(dir, 'recommend.json');
  writeFileSync(file, r.out);
  assert.deepEqual(JSON.parse((await cli('recommend', '--run', t.run, '--config', file, '--print-config')).out), printed);
  const three = await cli('recommend', '--run', t.run, '--config', file, '--k', '3', '--json');
  assert.equal(three.code, 0, three.err);
  assert.equal(JSON.parse(three.out).items.length, 3, 'the flag given over the file');
  assert.equal(JSON.parse((await cli('index', '--run', t.run, '--kind', 'ivf-pq', '--print-config')).out).kind, 'ivf-pq');
  assert.deepEqual(JSON.parse((await cli('demo', '--preset', 'tiny', '--print-config')).out), { out: 'out/demo', preset: 'tiny', fresh: false, seed: 1 });
});
