/**
 * Where tensors live and in what precision they compute. One device for the process, as
 * torch.set_default_device: every tensor made after `useDevice('cuda')` (parameters, batches,
 * weights read from a file) is made on the GPU, and every read back to JavaScript copies to the
 * CPU. Draws from a seeded Generator are made on the CPU and moved, so a seed gives the same
 * numbers (initial weights, dropout masks) on either device.
 */
import { BadInputError } from '../core/errors.js';
import { native } from './native.js';
import type { Device } from './tensor.js';

/** What a user may ask for: `auto` is CUDA when this libtorch has it and a GPU is visible, else the CPU. */
export type DeviceRequest = 'cpu' | 'cuda' | `cuda:${number}` | 'auto';
export type Precision = 'fp32' | 'bf16';

let precision: Precision = 'fp32';

const CUDA_HOWTO =
  'point LIBTORCH at a CUDA libtorch (a pytorch.org CUDA ' +
  'download, or the torch folder of a Python torch with CUDA, e.g. LIBTORCH=$(python3 -c "import torch, os; ' +
  'print(os.path.dirname(torch.__file__))")), rebuild the addon with `npm run build:native`, and run on a machine with a GPU';

/** Parses a --device value; a malformed one is a BadInputError naming the flag. */
export function parseDevice(v: string, flag = '--device'): DeviceRequest {
  if (v === 'cpu' || v === 'cuda' || v === 'auto' || /^cuda:\d+$/.test(v)) return v as DeviceRequest;
  throw new BadInputError(`${flag} must be cpu, cuda, cuda:N or auto, got '${v}'`);
}

/** How many GPUs this libtorch sees (0 without CUDA). */
export function gpuCount(): number {
  return native.GpuCount!() as number;
}

/** Makes `request` the device of every tensor made from now on; returns it resolved ('cpu', 'cuda:0', …). */
export function useDevice(request: DeviceRequest, flag = '--device'): Device {
  const want = request === 'auto' ? (gpuCount() > 0 ? 'cuda' : 'cpu') : request;
  try {
    return native.SetDefaultDevice!(want) as Device;
  } catch (err) {
    const e = err as Error & { code?: string };
    if (e.code === 'NO_CUDA') throw new BadInputError(`${flag} ${request}: ${e.message}: ${CUDA_HOWTO}`);
    throw err;
  }
}

/** The device tensors are made on when no device is named. */
export function currentDevice(): Device {
  return native.DefaultDevice!() as Device;
}

/**
 * Mixed precision (torch.autocast) for everything computed from now on, on the current device's
 * type: 'bf16' runs convolutions and matrix products in bfloat16 (weights, optimiser state and the
 * loss's reduction stay float32); 'fp32' turns it off.
 */
export function usePrecision(p: Precision): void {
  native.SetAutocast!(p === 'bf16' ? 'bfloat16' : null);
  precision = p;
}

export function currentPrecision(): Precision {
  return precision;
}

/** Waits for the current device's queued work (no-op on the CPU): for timings. */
export function synchronize(): void {
  native.Synchronize!();
}
