import { Rng } from '../../src/core/rng.js';
import { tensor, tidy, type Tensor } from '../../src/torch/index.js';

export interface GradCheckResult {
  maxAbsErr: number;
  maxRelErr: number;
}

/**
 * Compares autograd's gradient of L = Σ w ⊙ f(inputs) (w fixed random weights, so every output
 * element matters differently) with central finite differences, in float64.
 */
export function gradCheck(
  f: (xs: Tensor[]) => Tensor,
  inputs: { shape: number[]; values?: Float64Array; min?: number; max?: number }[],
  seed = 1,
  eps = 1e-6,
): GradCheckResult {
  const rng = new Rng(seed);
  const data = inputs.map(
    (inp) =>
      inp.values ??
      Float64Array.from({ length: inp.shape.reduce((a, b) => a * b, 1) }, () => (inp.min ?? -1) + rng.next() * ((inp.max ?? 1) - (inp.min ?? -1))),
  );
  let weights: Float64Array | null = null;
  const loss = (vals: Float64Array[], withGrad: boolean): { value: number; grads: Float64Array[] } =>
    tidy(() => {
      const xs = vals.map((v, i) => tensor(v, inputs[i]!.shape).requiresGrad_(withGrad));
      const out = f(xs);
      weights ??= Float64Array.from({ length: out.size }, () => rng.next() * 2 - 1);
      const l = out.mul(tensor(weights, [...out.shape])).sum();
      if (!withGrad) return { value: l.item(), grads: [] };
      l.backward();
      return { value: l.item(), grads: xs.map((x) => x.grad!.data<'float64'>()) };
    });
  const analytic = loss(data, true).grads;
  let maxAbsErr = 0;
  let maxRelErr = 0;
  data.forEach((v, k) => {
    for (let i = 0; i < v.length; i++) {
      const orig = v[i]!;
      v[i] = orig + eps;
      const up = loss(data, false).value;
      v[i] = orig - eps;
      const down = loss(data, false).value;
      v[i] = orig;
      const numeric = (up - down) / (2 * eps);
      const a = analytic[k]![i]!;
      const abs = Math.abs(a - numeric);
      maxAbsErr = Math.max(maxAbsErr, abs);
      maxRelErr = Math.max(maxRelErr, abs / Math.max(1e-3, Math.abs(a) + Math.abs(numeric)));
    }
  });
  return { maxAbsErr, maxRelErr };
}
