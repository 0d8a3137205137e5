/**
 * Checkpoints: tensors (weights, optimiser moments, generator states) in checkpoint.safetensors and
 * the rest (epoch, sampler state, best validation, history) in checkpoint.json.
 *
 * The two are one pair: the tensors file carries, in its safetensors metadata, a pairing id and a
 * copy of the state it belongs to, and is written first (atomically, temporary file + rename); the
 * JSON, written last (atomically too), names the tensors file and its id. A process killed between
 * the two renames leaves a new tensors file beside the old JSON: the ids differ, and the state is
 * then read from the tensors file itself, so resume never pairs epoch-N weights with epoch-(N−1)
 * state. When the ids agree the JSON is authoritative (it is what a person may read or edit).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { faultPoint } from '../core/fault.js';
import { writeJsonAtomic } from '../core/fs.js';
import { CorruptFileError } from '../core/errors.js';
import { loadSafetensors, saveSafetensors, type Tensor } from '../torch/index.js';

export const CHECKPOINT_TENSORS = 'checkpoint.safetensors';
export const CHECKPOINT_STATE = 'checkpoint.json';

export interface CheckpointFiles<S> {
  state: S;
  tensors: Map<string, Tensor>;
  /** where the state came from: the JSON, or the tensors file (a save cut between its two writes) */
  stateFrom: 'json' | 'tensors';
}

/** What checkpoint.json holds besides the loop's own state. */
interface Pairing {
  checkpointTensors?: { file: string; id: string };
}

export function saveCheckpoint<S extends object>(dir: string, state: S, tensors: Map<string, Tensor>): void {
  const id = randomUUID();
  saveSafetensors(join(dir, CHECKPOINT_TENSORS), tensors, { checkpoint: id, state: JSON.stringify(state) });
  faultPoint('checkpoint:between-writes');
  writeJsonAtomic(join(dir, CHECKPOINT_STATE), { ...state, checkpointTensors: { file: CHECKPOINT_TENSORS, id } });
}

export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, CHECKPOINT_STATE)) && existsSync(join(dir, CHECKPOINT_TENSORS));
}

export function loadCheckpoint<S>(dir: string): CheckpointFiles<S> {
  const jsonPath = join(dir, CHECKPOINT_STATE);
  let json: S & Pairing;
  try {
    json = JSON.parse(readFileSync(jsonPath, 'utf8')) as S & Pairing;
  } catch (e) {
    throw new CorruptFileError(`unreadable checkpoint state: ${(e as Error).message}`, jsonPath);
  }
  const file = json.checkpointTensors?.file ?? CHECKPOINT_TENSORS;
  const { tensors, metadata } = loadSafetensors(join(dir, file));
  const { checkpointTensors, ...state } = json;
  // tensors written before the pairing existed carry no id: the JSON beside them is theirs
  if (metadata.checkpoint === undefined || metadata.checkpoint === checkpointTensors?.id) return { state: state as S, tensors, stateFrom: 'json' };
  if (metadata.state === undefined)
    throw new CorruptFileError(
      `the tensors file does not belong to ${CHECKPOINT_STATE} (id ${metadata.checkpoint}, expected ${checkpointTensors?.id ?? 'none'}) and carries no state of its own`,
      join(dir, file),
    );
  return { state: JSON.parse(metadata.state) as S, tensors, stateFrom: 'tensors' };
}
