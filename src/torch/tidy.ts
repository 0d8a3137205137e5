/**
 * Scoped disposal. Every tensor created inside `tidy(fn)` is freed when fn returns, except the
 * tensors fn returns (which move to the enclosing scope) and those passed to `keep`. Long loops
 * run each step inside tidy and hold a constant number of native tensors.
 */
import { InvalidArgumentError } from '../core/errors.js';
export interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
}

interface Scope {
  tracked: Disposable[];
}

const scopes: Scope[] = [];
const kept = new WeakSet<Disposable>();

/** Called by Tensor's constructor. */
export function track(t: Disposable): void {
  const top = scopes[scopes.length - 1];
  if (top) top.tracked.push(t);
}

/** Exempts a tensor from every enclosing tidy (e.g. a parameter created inside a scope). */
export function keep<T extends Disposable>(t: T): T {
  kept.add(t);
  return t;
}

export function unkeep<T extends Disposable>(t: T): T {
  kept.delete(t);
  return t;
}

function collect(value: unknown, out: Set<Disposable>, depth = 0): void {
  if (value === null || typeof value !== 'object' || depth > 4) return;
  if (typeof (value as Disposable).dispose === 'function' && 'isDisposed' in (value as object)) {
    out.add(value as Disposable);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collect(v, out, depth + 1);
  } else if (value instanceof Map) {
    for (const v of value.values()) collect(v, out, depth + 1);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collect(v, out, depth + 1);
  }
}

export function tidy<T>(fn: () => T): T {
  const scope: Scope = { tracked: [] };
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    scopes.pop();
    for (const t of scope.tracked) if (!kept.has(t)) t.dispose();
    throw err;
  }
  scopes.pop();
  if (result instanceof Promise) {
    throw new InvalidArgumentError('tidy: fn returned a Promise; tidy scopes are synchronous (await outside, tidy inside)');
  }
  const returned = new Set<Disposable>();
  collect(result, returned);
  const parent = scopes[scopes.length - 1];
  for (const t of scope.tracked) {
    if (kept.has(t) || t.isDisposed) continue;
    if (returned.has(t)) {
      if (parent) parent.tracked.push(t);
    } else {
      t.dispose();
    }
  }
  return result;
}

/** Disposes every tensor in a value (tensor, array, plain object, Map). */
export function dispose(value: unknown): void {
  const s = new Set<Disposable>();
  collect(value, s);
  for (const t of s) t.dispose();
}

/**
 * f(t), then t's handle is released (unless t is `keepThis`, the caller's input). Safe under
 * autograd: libtorch's graph holds its own references to what backward needs; releasing the JS
 * handle early only lowers peak memory, as PyTorch's reference counting does.
 */
export function consume<T extends Disposable, R>(t: T, keepThis: Disposable | null, f: (t: T) => R): R {
  const r = f(t);
  if (t !== keepThis && (r as unknown) !== t) t.dispose();
  return r;
}
