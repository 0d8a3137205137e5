import { readFileSync } from 'node:fs';
import { currentDevice, currentPrecision, engineInfo } from '../torch/index.js';

/** Versions recorded in every run manifest. */
export function versions(): Record<string, string> {
  let atelier = 'unknown';
  try {
    atelier = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;
  } catch {
    /* packaged without package.json */
  }
  const e = engineInfo();
  return {
    atelier,
    node: process.version,
    libtorch: e.torchVersion,
    threads: String(e.threads),
    openblas: e.openblas ?? 'none',
    device: currentDevice(),
    precision: currentPrecision(),
  };
}
