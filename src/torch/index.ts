/** The typed engine the rest of Atelier uses; the only door to native/. */
export { Tensor, Generator, liveTensors, createdTensors, type DType, type Device, type Shape } from './tensor.js';
export type { PixelRows } from './rows.js';
export * from './ops.js';
export { tidy, keep, unkeep, dispose, consume } from './tidy.js';
export { Module } from './module.js';
export { Conv2d, ConvTranspose2d, BatchNorm2d, Linear, Dropout, type WeightInit, type LayerInit } from './layers.js';
export { glorotUniform, normalInit, uniformInit, fans } from './init.js';
export { Adam, RowAdam, type AdamOptions } from './adam.js';
export { saveSafetensors, loadSafetensors, encodeSafetensors, decodeSafetensors } from './safetensors.js';
export { setNumThreads, getNumThreads, engineInfo } from './native.js';
export { currentDevice, currentPrecision, gpuCount, parseDevice, synchronize, useDevice, usePrecision, type DeviceRequest, type Precision } from './device.js';
export { distributedAvailable, initProcessGroup, rendezvousFromEnv, type ProcessGroup, type Rendezvous } from './dist.js';
