/**
 * Module: named parameters and buffers, child modules, train/eval mode, freezing, state dicts.
 * Parameters and buffers are exempt from tidy (they live as long as the module).
 */
import { BadInputError, InvalidArgumentError } from '../core/errors.js';
import { noGrad } from './ops.js';
import type { Tensor } from './tensor.js';
import { keep } from './tidy.js';

export abstract class Module {
  private readonly paramMap = new Map<string, Tensor>();
  private readonly bufferMap = new Map<string, Tensor>();
  private readonly childMap = new Map<string, Module>();
  private readonly decayed = new Set<Tensor>();
  private isTraining = true;

  /** `regularised`: the weight enters the L2 term λ_Φ Σ ½‖W‖² (conv and dense weights; not biases, not BN). */
  protected registerParameter(name: string, t: Tensor, regularised = false): Tensor {
    if (this.paramMap.has(name)) throw new InvalidArgumentError(`parameter '${name}' registered twice`);
    keep(t).requiresGrad_(true);
    this.paramMap.set(name, t);
    if (regularised) this.decayed.add(t);
    return t;
  }

  /** The weights of the L2 term, from this module and its children. */
  regularisedParameters(): Tensor[] {
    const own = [...this.paramMap.values()].filter((t) => this.decayed.has(t));
    return [...own, ...[...this.childMap.values()].flatMap((c) => c.regularisedParameters())];
  }

  protected registerBuffer(name: string, t: Tensor): Tensor {
    keep(t);
    this.bufferMap.set(name, t);
    return t;
  }

  protected registerModule<M extends Module>(name: string, m: M): M {
    this.childMap.set(name, m);
    return m;
  }

  get training(): boolean {
    return this.isTraining;
  }

  train(on = true): this {
    this.isTraining = on;
    for (const c of this.childMap.values()) c.train(on);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [k, v] of this.paramMap) out.push([prefix + k, v]);
    for (const [k, c] of this.childMap) out.push(...c.namedParameters(`${prefix}${k}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Parameters that currently receive gradients. */
  trainableParameters(): Tensor[] {
    return this.parameters().filter((p) => p.requiresGrad);
  }

  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [k, v] of this.bufferMap) out.push([prefix + k, v]);
    for (const [k, c] of this.childMap) out.push(...c.namedBuffers(`${prefix}${k}.`));
    return out;
  }

  /** Parameters and buffers by dotted name (shared with the module: do not dispose). */
  stateDict(): Map<string, Tensor> {
    return new Map([...this.namedParameters(), ...this.namedBuffers()]);
  }

  /** Copies values in by name; every name must be present with the same shape. */
  loadStateDict(state: Map<string, Tensor>, source = 'state dict'): void {
    const own = this.stateDict();
    for (const name of own.keys()) {
      if (!state.has(name)) throw new BadInputError(`missing tensor '${name}'`, { file: source });
    }
    noGrad(() => {
      for (const [name, t] of own) {
        const src = state.get(name)!;
        if (src.shape.join(',') !== t.shape.join(',')) {
          // a file (or another module) made for another configuration: the user's to fix, exit code 2
          throw new BadInputError(
            `tensor '${name}' has shape [${src.shape.join(', ')}], the model expects [${t.shape.join(', ')}] (made with another configuration?)`,
            {
              file: source,
            },
          );
        }
        t.copy_(src);
      }
    });
  }

  /** Stops gradients to every parameter (they stay unchanged by any optimiser). */
  freeze(): this {
    for (const p of this.parameters()) p.requiresGrad = false;
    return this;
  }

  unfreeze(): this {
    for (const p of this.parameters()) p.requiresGrad = true;
    return this;
  }

  zeroGrad(): void {
    for (const p of this.parameters()) p.zeroGrad();
  }

  parameterCount(): number {
    return this.parameters().reduce((s, p) => s + p.size, 0);
  }

  dispose(): void {
    for (const t of this.paramMap.values()) t.dispose();
    for (const t of this.bufferMap.values()) t.dispose();
    for (const c of this.childMap.values()) c.dispose();
  }
}
