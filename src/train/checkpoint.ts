/**
 * Checkpoints: tensors (weights, optimiser moments, generator states) in safetensors and the rest
 * (epoch, sampler state, best validation, history) in JSON, both written atomically; the JSON is
 * written last, so a checkpoint is complete when its state.json names it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../core/fs.js';
import { loadSafetensors, saveSafetensors, type Tensor } from '../torch/index.js';

export interface CheckpointFiles<S> {
  state: S;
  tensors: Map<string, Tensor>;
}

export function saveCheckpoint<S>(dir: string, state: S, tensors: Map<string, Tensor>): void {
  saveSafetensors(join(dir, 'checkpoint.safetensors'), tensors);
  writeJsonAtomic(join(dir, 'checkpoint.json'), state);
}

export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, 'checkpoint.json')) && existsSync(join(dir, 'checkpoint.safetensors'));
}

export function loadCheckpoint<S>(dir: string): CheckpointFiles<S> {
  const state = JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')) as S;
  const { tensors } = loadSafetensors(join(dir, 'checkpoint.safetensors'));
  return { state, tensors };
}
