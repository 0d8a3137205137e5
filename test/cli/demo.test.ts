import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runDemo } from '../../src/app/demo.js';
import { createProgress, quietProgress } from '../../src/app/progress.js';
import { CancelledError } from '../../src/core/errors.js';
import { FASHION_MNIST_DEFAULT } from '../../src/data/read-fashion-mnist.js';
import { makeHm, tempDir } from '../helpers/fixtures.js';

test(
  'the demo pipeline end to end on the tiny preset: ingest → train → design → report.html; stopped inside a training stage, it resumes from that checkpoint',
  { skip: !existsSync(FASHION_MNIST_DEFAULT) && 'dataset-fashion-mnist is not installed' },
  async () => {
    const out = join(tempDir('atelier-demo-'), 'demo');
    // Ctrl-C as DVBPR from scratch starts: its first step is checkpointed, the stages before it kept
    const abort = new AbortController();
    const watch = { ...quietProgress(), event: (name: string, f: Record<string, unknown>) => name === 'stage' && f.stage === 'dvbpr-scratch' && abort.abort() };
    await assert.rejects(
      runDemo({ out, preset: 'tiny' }, watch, abort.signal),
      (e: Error) =>
        e instanceof CancelledError && /the demo's stage 'dvbpr-scratch' \(stopped; running the demo again resumes from its last checkpoint\)/.test(e.message),
    );
    assert.equal((JSON.parse(readFileSync(join(out, 'runs', 'dvbpr-scratch', 'checkpoint.json'), 'utf8')) as { step: number }).step, 1);
    assert.ok(existsSync(join(out, 'runs', 'bpr-mf', 'manifest.json')) && !existsSync(join(out, 'runs', 'dvbpr-scratch', 'manifest.json')));
    const messages: string[] = [];
    const listen = { ...quietProgress(), event: (name: string, f: Record<string, unknown>) => name === 'message' && messages.push(String(f.message)) };
    const report = await runDemo({ out, preset: 'tiny' }, listen);
    assert.ok(
      messages.some((m) => /^resumed at (step 1 of|epoch 1\b)/.test(m)),
      messages.join('\n'),
    );
    const html = readFileSync(report, 'utf8');
    for (const method of ['Random', 'PopRank', 'BPR-MF', 'VBPR', 'DVBPR (from scratch)', 'DVBPR (classifier-initialised)', 'oracle'])
      assert.ok(html.includes(method), method);
    assert.ok(html.includes('<svg'), 'training curves rendered');
    assert.ok((html.match(/data:image\/png;base64/g) ?? []).length >= 3, 'figures inlined');
    // a design for the largest segment of the run's shoppers, its size named
    assert.match(html, /segment s1 \(\d+ shoppers; scores: their mean standardised score\)/);
    for (const run of ['random', 'popularity', 'bpr-mf', 'vbpr', 'dvbpr-scratch', 'dvbpr-classifier']) {
      const m = JSON.parse(readFileSync(join(out, 'runs', run, 'manifest.json'), 'utf8'));
      assert.ok(m.finishedAt && m.dataset.dataHash && m.versions.libtorch && m.seed === 1, run);
    }
    // Fashion-MNIST's GAN is trained with the mismatch term
    assert.equal(JSON.parse(readFileSync(join(out, 'gan', 'manifest.json'), 'utf8')).config.mismatch, 1);
    // a second run resumes: nothing is trained again
    const before = JSON.parse(readFileSync(join(out, 'stages.json'), 'utf8')).map((s: { stage: string }) => s.stage);
    assert.ok(before.includes('dvbpr-scratch'));
    await runDemo({ out, preset: 'tiny' }, createProgress({ quiet: true }));
    const again = JSON.parse(readFileSync(join(out, 'stages.json'), 'utf8')).map((s: { stage: string }) => s.stage);
    assert.deepEqual(again, ['designs', 'segments', 'improve', 'design study']);
    // a GAN trained with another configuration (an earlier demo's, without the mismatch term) is trained again
    const ganManifest = join(out, 'gan', 'manifest.json');
    const m = JSON.parse(readFileSync(ganManifest, 'utf8'));
    delete m.config.mismatch;
    writeFileSync(ganManifest, JSON.stringify(m));
    await runDemo({ out, preset: 'tiny' }, createProgress({ quiet: true }));
    const third = JSON.parse(readFileSync(join(out, 'stages.json'), 'utf8')).map((s: { stage: string }) => s.stage);
    assert.deepEqual(third, ['classifier', 'gan', 'designs', 'segments', 'improve', 'design study']);
    assert.equal(JSON.parse(readFileSync(ganManifest, 'utf8')).config.mismatch, 1);
  },
);

test('the demo on an H&M-layout folder (--data), tiny preset: report.html, its GAN with the mismatch term', async () => {
  const hm = await makeHm();
  const out = join(tempDir('atelier-demo-hm-'), 'demo');
  const report = await runDemo({ out, preset: 'tiny', data: hm.dir }, createProgress({ quiet: true }));
  const html = readFileSync(report, 'utf8');
  assert.ok(html.includes('Atelier demo: H&amp;M') || html.includes('Atelier demo: H&M'), 'the H&M title');
  for (const method of ['Random', 'BPR-MF', 'DVBPR (from scratch)']) assert.ok(html.includes(method), method);
  assert.equal(JSON.parse(readFileSync(join(out, 'gan', 'manifest.json'), 'utf8')).config.mismatch, 1);
});
