/** Layers: Conv2d, ConvTranspose2d, BatchNorm2d, Linear, Dropout, Sequential. */
import { glorotUniform, normalInit } from './init.js';
import { Module } from './module.js';
import { batchNorm, conv2d, convTranspose2d, dropout, linear, ones, zeros } from './ops.js';
import type { Generator, Tensor } from './tensor.js';

export { Module };

/** How weights start: Glorot uniform (method.md, DVBPR) or N(0, std) (DCGAN convention). Biases start at zero. */
export type WeightInit = { kind: 'glorot' } | { kind: 'normal'; std: number };

export interface LayerInit {
  gen: Generator;
  init?: WeightInit;
}

function initWeight(w: Tensor, o: LayerInit, fanOverride?: { fanIn: number; fanOut: number }): void {
  const init = o.init ?? { kind: 'glorot' };
  if (init.kind === 'glorot') glorotUniform(w, o.gen, 1, fanOverride);
  else normalInit(w, o.gen, init.std);
}

export interface Conv2dOptions extends LayerInit {
  stride?: number;
  /** A number, or 'same' (output = ceil(input / stride), symmetric padding of (k − 1) / 2 as the released code's SAME for odd kernels). */
  padding?: number | 'same';
  bias?: boolean;
}

export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly stride: number;
  readonly padding: number;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: number,
    o: Conv2dOptions,
  ) {
    super();
    this.stride = o.stride ?? 1;
    this.padding = o.padding === 'same' ? Math.floor((kernel - 1) / 2) : (o.padding ?? 0);
    this.weight = this.registerParameter('weight', zeros([outChannels, inChannels, kernel, kernel]), true); // [O, C, k, k]
    initWeight(this.weight, o);
    this.bias = o.bias === false ? null : this.registerParameter('bias', zeros([outChannels]));
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding });
  }
}

export interface ConvTranspose2dOptions extends LayerInit {
  stride?: number;
  padding?: number;
  outputPadding?: number;
  bias?: boolean;
}

export class ConvTranspose2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: number,
    private readonly o: ConvTranspose2dOptions,
  ) {
    super();
    this.weight = this.registerParameter('weight', zeros([inChannels, outChannels, kernel, kernel]), true); // [C, O, k, k]
    // PyTorch's fan computation for transposed convs reads dim 1 as fan_in; use the true fans.
    initWeight(this.weight, o, { fanIn: outChannels * kernel * kernel, fanOut: inChannels * kernel * kernel });
    this.bias = o.bias === false ? null : this.registerParameter('bias', zeros([outChannels]));
  }

  forward(x: Tensor): Tensor {
    return convTranspose2d(x, this.weight, this.bias, {
      stride: this.o.stride ?? 1,
      padding: this.o.padding ?? 0,
      outputPadding: this.o.outputPadding ?? 0,
    });
  }
}

export class BatchNorm2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;

  constructor(
    readonly channels: number,
    readonly momentum = 0.1,
    readonly eps = 1e-5,
  ) {
    super();
    this.weight = this.registerParameter('weight', ones([channels]));
    this.bias = this.registerParameter('bias', zeros([channels]));
    this.runningMean = this.registerBuffer('running_mean', zeros([channels]));
    this.runningVar = this.registerBuffer('running_var', ones([channels]));
  }

  forward(x: Tensor): Tensor {
    return batchNorm(x, this.weight, this.bias, this.runningMean, this.runningVar, this.training, this.momentum, this.eps);
  }
}

export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    o: LayerInit & { bias?: boolean },
  ) {
    super();
    this.weight = this.registerParameter('weight', zeros([outFeatures, inFeatures]), true); // [out, in]
    initWeight(this.weight, o);
    this.bias = o.bias === false ? null : this.registerParameter('bias', zeros([outFeatures]));
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}

export class Dropout extends Module {
  constructor(
    readonly p: number,
    private readonly gen?: Generator,
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training, this.gen);
  }
}
