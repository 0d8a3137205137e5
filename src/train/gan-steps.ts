/**
 * LSGAN updates (method.md §4), one exported function per update:
 *   D: ½[(D(x, c) − 1)² + D(G(z, c), c)²]      G: (D(G(z, c), c) − 1)²
 * (means over the batch). The D step runs G without gradients and updates only D's parameters;
 * the G step back-propagates through D but updates only G's, and leaves D's state (parameters and
 * batch-norm statistics) exactly as it was.
 *
 * Optional mismatch term (not the paper's; the matching-aware discriminator of Reed et al., 2016,
 * in least squares): D's loss adds w·½D(x, c′)², real images under a wrong category c′ taken as
 * fake, so that D, and through it G, learns what sets a category apart, not only what looks real.
 */
import type { ConditionalGan } from '../models/gan.js';
import { toInput } from '../models/encoder.js';
import { noGrad, tidy, type Adam, type Tensor } from '../torch/index.js';

export function discriminatorLoss(dReal: Tensor, dFake: Tensor, dMismatch?: Tensor, weight = 0): Tensor {
  const loss = dReal.sub(1).square().mean().add(dFake.square().mean()).mul(0.5);
  return dMismatch && weight > 0
    ? loss.add(
        dMismatch
          .square()
          .mean()
          .mul(0.5 * weight),
      )
    : loss;
}

/** Real images under wrong categories: `cond` [B, C] one-hot of them, `weight` w of w·½D(x, c′)². */
export interface Mismatch {
  cond: Tensor;
  weight: number;
}

export function generatorLoss(dFake: Tensor): Tensor {
  return dFake.sub(1).square().mean();
}

/**
 * realU8 [B, S, S, 3] uint8, cond one-hot [B, C], z [B, zDim]. Returns the D loss.
 * The real and the fake half are back-propagated one after the other: the gradients are those
 * of one backward through their sum (the two contributions meet in .grad in the same
 * commutative addition), but only one half's graph is alive at a time, which lowers the step's
 * peak memory by about one discriminator pass. `discriminatorStepJoint` is the textbook form.
 * With `mismatch`, a third part (real images under wrong categories) follows the same way; three
 * contributions are summed in another order than one backward sums them: equal to round-off.
 */
export function discriminatorStep(gan: ConditionalGan, optD: Adam, realU8: Tensor, cond: Tensor, z: Tensor, mismatch?: Mismatch): number {
  optD.zeroGrad();
  const fake = tidy(() => noGrad(() => gan.generator.forward(z, cond))); // [B, 3, S, S], no graph into G
  const half = (d: () => Tensor, target: number, weight = 1): number =>
    tidy(() => {
      const loss = d()
        .sub(target)
        .square()
        .mean()
        .mul(0.5 * weight);
      loss.backward();
      return loss.item();
    });
  const x = tidy(() => toInput(realU8)); // [B, 3, S, S] in [−1, 1], shared by the real and the mismatch part
  const real = half(() => gan.discriminator.forward(x, cond), 1);
  const synthetic = half(() => gan.discriminator.forward(fake, cond), 0);
  fake.dispose();
  const wrong = mismatch && mismatch.weight > 0 ? half(() => gan.discriminator.forward(x, mismatch.cond), 0, mismatch.weight) : 0;
  x.dispose();
  optD.step();
  return real + synthetic + wrong;
}

/** The same update with one backward through ½[(D(x) − 1)² + D(G(z))² (+ w·D(x, c′)²)]: every graph alive at once. */
export function discriminatorStepJoint(gan: ConditionalGan, optD: Adam, realU8: Tensor, cond: Tensor, z: Tensor, mismatch?: Mismatch): number {
  return tidy(() => {
    optD.zeroGrad();
    const fake = noGrad(() => gan.generator.forward(z, cond));
    // D passes in the split step's order (batch norm's running statistics follow it)
    const x = toInput(realU8);
    const dReal = gan.discriminator.forward(x, cond);
    const dFake = gan.discriminator.forward(fake, cond);
    const dWrong = mismatch && mismatch.weight > 0 ? gan.discriminator.forward(x, mismatch.cond) : undefined;
    const loss = discriminatorLoss(dReal, dFake, dWrong, mismatch?.weight ?? 0);
    loss.backward();
    optD.step();
    return loss.item();
  });
}

/**
 * Returns the G loss. D runs in training mode (batch statistics, as in the D step and in PyTorch's
 * DCGAN example), its parameters receive gradients but only G's optimiser steps, and D's batch-norm
 * running statistics are put back afterwards: the G step leaves D's whole state as it was.
 *
 * Why put them back: PyTorch's DCGAN example (netD(fake) in training mode during the G update) and
 * TensorFlow DCGAN code with in-place moving averages both let the G step move D's running
 * statistics, which is harmless there because D is never run in eval mode after training. Atelier
 * does run it so: design's realism term and guard score D(G(z), c) with D in eval mode, on the
 * running statistics. Those should be the estimate of what D normalises with when it learns, the
 * batches of its own step (real, fake, mismatched), not one more fake batch per step counted twice.
 * Training itself is unchanged by this (training-mode batch norm never reads the running values):
 * G and D follow the same trajectory; only D's eval-mode statistics differ.
 */
export function generatorStep(gan: ConditionalGan, optG: Adam, cond: Tensor, z: Tensor): number {
  return tidy(() => {
    optG.zeroGrad();
    const buffers = gan.discriminator.namedBuffers().map(([, t]) => [t, t.clone()] as const);
    const loss = generatorLoss(gan.discriminator.forward(gan.generator.forward(z, cond), cond));
    loss.backward(); // (the statistics go back after it: autograd checks its saved tensors' versions)
    noGrad(() => buffers.forEach(([t, saved]) => t.copy_(saved)));
    optG.step();
    gan.discriminator.zeroGrad(); // no gradient left behind in D either
    return loss.item();
  });
}
