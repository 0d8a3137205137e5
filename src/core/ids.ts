/**
 * Maps raw string ids (as the source writes them: H&M article ids begin with a zero) to dense
 * indices and back. Ids are never parsed as numbers.
 */
import { InvalidArgumentError } from './errors.js';
export class IdMap {
  private readonly index = new Map<string, number>();
  private readonly ids: string[] = [];

  static from(ids: Iterable<string>): IdMap {
    const m = new IdMap();
    for (const id of ids) m.add(id);
    return m;
  }

  /** Adds an id if new; returns its dense index. */
  add(id: string): number {
    let i = this.index.get(id);
    if (i === undefined) {
      i = this.ids.length;
      this.index.set(id, i);
      this.ids.push(id);
    }
    return i;
  }

  get(id: string): number | undefined {
    return this.index.get(id);
  }

  has(id: string): boolean {
    return this.index.has(id);
  }

  idOf(idx: number): string {
    const id = this.ids[idx];
    if (id === undefined) throw new InvalidArgumentError(`IdMap: index ${idx} out of range 0..${this.ids.length - 1}`);
    return id;
  }

  get size(): number {
    return this.ids.length;
  }

  toArray(): string[] {
    return this.ids.slice();
  }
}

/** The longest id a dataset or an upload may use (H&M's customer ids are 64 characters). */
export const MAX_ID_LENGTH = 256;

/**
 * Why a raw id may not be used, or null. An id is shown in pages, reports, logs and terminals, so
 * it must be printable: no control characters (NUL, ESC, newlines), not empty, not huge.
 */
export function idProblem(id: string): string | null {
  if (id === '') return 'empty';
  if (id.length > MAX_ID_LENGTH) return `longer than ${MAX_ID_LENGTH} characters`;
  if (/[\u0000-\u001f\u007f-\u009f]/.test(id)) return 'holds a control character';
  return null;
}

/** Why `id`, read from the column `field` of a row, may not be used (the reason a bad row is reported under), or null. */
export function idRowProblem(field: string, id: string): string | null {
  const bad = idProblem(id);
  return bad === null ? null : bad === 'empty' ? `empty ${field}` : `${field} ${bad}`;
}
