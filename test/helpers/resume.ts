/** Resume tests: the same DVBPR run straight through and interrupted, compared byte for byte. */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainDvbprJob } from '../../src/app/train-recommender.js';
import type { DvbprConfig } from '../../src/config/dvbpr.js';
import type { Dataset } from '../../src/data/dataset.js';
import { loadSafetensors, type PixelRows, type Tensor } from '../../src/torch/index.js';

/** Trains `total` epochs in one go and again stopped after `cut` and resumed; returns both run folders. */
export async function straightAndResumed(
  ds: Dataset,
  images: PixelRows,
  config: DvbprConfig,
  cut: number,
  total: number,
): Promise<{ straight: string; resumed: string }> {
  const straight = mkdtempSync(join(tmpdir(), 'atelier-resume-'));
  await trainDvbprJob(ds, images, { out: straight, config: { ...config, epochs: total }, resume: false, callbacks: {} });
  const resumed = mkdtempSync(join(tmpdir(), 'atelier-resume-'));
  await trainDvbprJob(ds, images, { out: resumed, config: { ...config, epochs: cut }, resume: false, callbacks: {} });
  await trainDvbprJob(ds, images, { out: resumed, config: { ...config, epochs: total }, resume: true, callbacks: {} });
  return { straight, resumed };
}

/** Asserts that two run folders' checkpoints hold the same tensors, byte for byte; returns the first's. */
export function assertSameCheckpoint(a: string, b: string): Map<string, Tensor> {
  const ta = loadSafetensors(join(a, 'checkpoint.safetensors')).tensors;
  const tb = loadSafetensors(join(b, 'checkpoint.safetensors')).tensors;
  assert.deepEqual([...ta.keys()].sort(), [...tb.keys()].sort());
  for (const [name, t] of ta) assert.deepEqual(Buffer.from(tb.get(name)!.data().buffer), Buffer.from(t.data().buffer), name);
  return ta;
}
