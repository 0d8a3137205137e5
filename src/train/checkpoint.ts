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
import { z } from 'zod';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { faultPoint } from '../core/fault.js';
import { writeJsonAtomic } from '../core/fs.js';
import { BadInputError, CorruptFileError } from '../core/errors.js';
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

/** The tensors whose names start with `prefix`, under their names without it (one part of a checkpoint). */
export function tensorsUnder(tensors: Map<string, Tensor>, prefix: string): Map<string, Tensor> {
  return new Map([...tensors].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
}

/** Adds `part`'s tensors to `into` under `prefix` (what `tensorsUnder` reads back). */
export function putUnder(into: Map<string, Tensor>, prefix: string, part: Iterable<[string, Tensor]>): Map<string, Tensor> {
  for (const [k, v] of part) into.set(`${prefix}${k}`, v);
  return into;
}

export function saveCheckpoint<S extends object>(dir: string, state: S, tensors: Map<string, Tensor>): void {
  const id = randomUUID();
  saveSafetensors(join(dir, CHECKPOINT_TENSORS), tensors, { checkpoint: id, state: JSON.stringify(state) });
  faultPoint('checkpoint:between-writes');
  writeJsonAtomic(join(dir, CHECKPOINT_STATE), { ...state, checkpointTensors: { file: CHECKPOINT_TENSORS, id } });
}

/**
 * Whether `dir` holds a checkpoint to resume. The tensors file is written first and carries its
 * state, so it alone is a checkpoint: a kill between the two files of the very first save leaves
 * just it, and that save is resumed rather than lost.
 */
export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, CHECKPOINT_TENSORS));
}

/** A random generator's state as a checkpoint holds it: four 32-bit words, not all zero. */
export const rngStateSchema = z
  .tuple([
    z.number().int().min(0).max(0xffffffff),
    z.number().int().min(0).max(0xffffffff),
    z.number().int().min(0).max(0xffffffff),
    z.number().int().min(0).max(0xffffffff),
  ])
  .refine((s) => s.some((w) => w !== 0), 'an all-zero generator state');

/** A count a loop keeps (epochs, steps): a whole number from 0. */
export const countSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/**
 * The checkpoint a `--resume` continues from, its state checked by the loop's schema (a hand-edited
 * epoch of −5 or 1.5, a negative generator state: a CorruptFileError naming the file, the field
 * and the value, never a loop that runs from it), or null when the folder has none to resume: a
 * folder holding a finished run (its manifest.json) whose checkpoint files are gone is refused
 * rather than retrained from epoch 1 over that run.
 */
export function resumeCheckpoint<S>(
  dir: string,
  schema: z.ZodType<S>,
  onMessage?: (m: string) => void,
  /** runs before the schema's check: reads a checkpoint of an earlier layout as this one (or throws, naming it) */
  upgrade?: (ck: CheckpointFiles<unknown>, file: string) => CheckpointFiles<unknown>,
): CheckpointFiles<S> | null {
  if (!hasCheckpoint(dir)) {
    if (existsSync(join(dir, 'manifest.json')))
      throw new BadInputError(
        `--resume: this finished run has no ${CHECKPOINT_TENSORS} to resume from (were the checkpoint files removed?): nothing to resume; train without --resume into a new folder`,
        { file: dir },
      );
    onMessage?.(`--resume: ${dir} has no checkpoint: training from the start`);
    return null;
  }
  const loaded = loadCheckpoint<unknown>(dir);
  const ck = upgrade ? upgrade(loaded, join(dir, loaded.stateFrom === 'json' ? CHECKPOINT_STATE : CHECKPOINT_TENSORS)) : loaded;
  const parsed = schema.safeParse(ck.state);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.') || '(state)';
    const value = issue.path.reduce<unknown>((v, k) => (v as Record<PropertyKey, unknown> | undefined)?.[k as PropertyKey], ck.state);
    throw new CorruptFileError(
      `checkpoint field '${field}' is ${JSON.stringify(value)?.slice(0, 80)}: ${issue.message}`,
      join(dir, ck.stateFrom === 'json' ? CHECKPOINT_STATE : CHECKPOINT_TENSORS),
    );
  }
  if (ck.stateFrom === 'tensors') onMessage?.(`${dir}: the last checkpoint was cut between its two files; its state is read from the tensors file`);
  return { ...ck, state: parsed.data };
}

export function loadCheckpoint<S>(dir: string): CheckpointFiles<S> {
  const jsonPath = join(dir, CHECKPOINT_STATE);
  let json = {} as S & Pairing; // no JSON: the first save was cut between its files, the state is the tensors file's
  if (existsSync(jsonPath))
    try {
      json = JSON.parse(readFileSync(jsonPath, 'utf8')) as S & Pairing;
    } catch (e) {
      throw new CorruptFileError(`unreadable checkpoint state: ${(e as Error).message}`, jsonPath);
    }
  const file = json.checkpointTensors?.file ?? CHECKPOINT_TENSORS;
  const { tensors, metadata } = loadSafetensors(join(dir, file));
  const { checkpointTensors, ...state } = json;
  // tensors written before the pairing existed carry no id: the JSON beside them is theirs
  if (existsSync(jsonPath) && (metadata.checkpoint === undefined || metadata.checkpoint === checkpointTensors?.id))
    return { state: state as S, tensors, stateFrom: 'json' };
  if (metadata.state === undefined)
    throw new CorruptFileError(
      `the tensors file does not belong to ${CHECKPOINT_STATE} (id ${metadata.checkpoint}, expected ${checkpointTensors?.id ?? 'none'}) and carries no state of its own`,
      join(dir, file),
    );
  try {
    return { state: JSON.parse(metadata.state) as S, tensors, stateFrom: 'tensors' };
  } catch (e) {
    throw new CorruptFileError(`unreadable checkpoint state in the tensors file's metadata: ${(e as Error).message}`, join(dir, file));
  }
}
