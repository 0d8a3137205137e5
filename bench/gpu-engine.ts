/** bench/gpu.sh's engine bench (bundled: no node_modules on the GPU machine): both sides on CUDA → engine-cuda.json. */
import { engineBench } from './engine.js';

await engineBench({ device: 'cuda' });
