/**
 * Exponential moving averages of a module's weights (Polyak averaging), shared by the BPR loop
 * (`averageEpochs`) and the GAN loop (the generator's `emaSteps`):
 *   avg ← decay · avg + (1 − decay) · current      after every optimiser step.
 * Every entry of the state dict is averaged, BatchNorm's running statistics included (they are
 * running averages themselves, so their average stays a valid estimate).
 */
import { noGrad, tidy, type Module, type Tensor } from '../torch/index.js';

/** Detached copies of a state dict's tensors. */
export function copyState(state: Map<string, Tensor>): Map<string, Tensor> {
  return noGrad(() => new Map([...state].map(([k, v]) => [k, v.detach().clone()])));
}

/** Detached copies of a module's weights and buffers. */
export const snapshot = (m: Module): Map<string, Tensor> => copyState(m.stateDict());

/** decay of an average whose time constant is `steps` optimiser steps. */
export const decayFor = (steps: number): number => 1 - 1 / steps;

/** avg ← decay · avg + (1 − decay) · current, for every entry of the state dict. */
export function averageInto(avg: Map<string, Tensor>, m: Module, decay: number): void {
  noGrad(() =>
    tidy(() => {
      for (const [k, v] of m.stateDict()) {
        const a = avg.get(k)!;
        a.copy_(a.mul(decay).add(v.detach().mul(1 - decay)));
      }
    }),
  );
}

/** Loads `weights` into m and returns what puts the module's own weights back. */
function swapIn(m: Module, weights: Map<string, Tensor>): () => void {
  const raw = snapshot(m);
  m.loadStateDict(weights, 'averaged weights');
  return () => {
    m.loadStateDict(raw, 'raw weights');
    disposeAll(raw);
  };
}

/** Runs fn with `weights` loaded into m; the module's own weights are put back after. */
export function withWeights<T>(m: Module, weights: Map<string, Tensor>, fn: () => T): T {
  const restore = swapIn(m, weights);
  try {
    return fn();
  } finally {
    restore();
  }
}

/** withWeights for an async fn: the weights stay loaded until its promise settles. */
export async function withWeightsAsync<T>(m: Module, weights: Map<string, Tensor>, fn: () => Promise<T>): Promise<T> {
  const restore = swapIn(m, weights);
  try {
    return await fn();
  } finally {
    restore();
  }
}

export function disposeAll(state: Map<string, Tensor>): void {
  for (const t of state.values()) t.dispose();
}
