/**
 * LSGAN updates (method.md §4), one exported function per update:
 *   D: ½[(D(x, c) − 1)² + D(G(z, c), c)²]      G: (D(G(z, c), c) − 1)²
 * (means over the batch). The D step runs G without gradients and updates only D's parameters;
 * the G step back-propagates through D but updates only G's.
 */
import type { ConditionalGan } from '../models/gan.js';
import { toInput } from '../models/encoder.js';
import { noGrad, tidy, type Adam, type Tensor } from '../torch/index.js';

export function discriminatorLoss(dReal: Tensor, dFake: Tensor): Tensor {
  return dReal.sub(1).square().mean().add(dFake.square().mean()).mul(0.5);
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
 */
export function discriminatorStep(gan: ConditionalGan, optD: Adam, realU8: Tensor, cond: Tensor, z: Tensor): number {
  optD.zeroGrad();
  const fake = tidy(() => noGrad(() => gan.generator.forward(z, cond))); // [B, 3, S, S], no graph into G
  const half = (d: () => Tensor, target: number): number =>
    tidy(() => {
      const loss = d().sub(target).square().mean().mul(0.5);
      loss.backward();
      return loss.item();
    });
  const real = half(() => gan.discriminator.forward(toInput(realU8), cond), 1);
  const synthetic = half(() => gan.discriminator.forward(fake, cond), 0);
  fake.dispose();
  optD.step();
  return real + synthetic;
}

/** The same update with one backward through ½[(D(x) − 1)² + D(G(z))²]: both graphs alive at once. */
export function discriminatorStepJoint(gan: ConditionalGan, optD: Adam, realU8: Tensor, cond: Tensor, z: Tensor): number {
  return tidy(() => {
    optD.zeroGrad();
    const fake = noGrad(() => gan.generator.forward(z, cond));
    const loss = discriminatorLoss(gan.discriminator.forward(toInput(realU8), cond), gan.discriminator.forward(fake, cond));
    loss.backward();
    optD.step();
    return loss.item();
  });
}

/** Returns the G loss. D's parameters receive gradients but only G's optimiser steps. */
export function generatorStep(gan: ConditionalGan, optG: Adam, cond: Tensor, z: Tensor): number {
  return tidy(() => {
    optG.zeroGrad();
    const loss = generatorLoss(gan.discriminator.forward(gan.generator.forward(z, cond), cond));
    loss.backward();
    optG.step();
    gan.discriminator.zeroGrad(); // the G step leaves nothing behind in D
    return loss.item();
  });
}
