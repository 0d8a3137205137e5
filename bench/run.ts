/**
 * Benchmarks, run on demand (never in the test suite): `npm run bench -- <name>`.
 *   engine     Atelier vs PyTorch on the same three workloads (+ per-op overhead);
 *              writes bench/results/engine.json
 *   engine-cuda  the same on a GPU (and the paper preset's CNN-F step) → engine-cuda.json (bench/gpu.sh)
 *   recommend  every recommender on H&M, grid on validation → recommend.md / .json;
 *              with --simulated, on the demo's simulated shoppers → recommend-simulated.md / .json
 *   gan        the conditional GAN on Fashion-MNIST and H&M → gan.md / .json
 *   design-judged  designs judged by models the optimiser never saw (the demo's data) → design.md / .json
 *   topk       top-10 for one shopper over 20,000 items → topk.json
 *   garment-knn  1-NN class accuracy in the simulated utility's garment space → garment-knn.json
 *   paper      `ingest paper` on a generated 1 GB file in the authors' layout: peak RSS → paper-ingest.json
 *   scale      DVBPR steps/s in one and two c10d/Gloo processes, the all-reduce's share → scale.json / .md
 *   full-size  the main job on shops of 1%, 10% and 100% of the Kaggle H&M download's size, every
 *              stage's time and peak RSS → full-size.json / .md
 *   design-datasets  designs for single shoppers and for segments under a judge, on H&M (--dataset hm) or the demo's Fashion-MNIST → design.json datasets[], design-<dataset>.md
 *   hm-224     the H&M sample ingested at 224 px and the paper preset's first steps → hm-224.json / .md
 *   train-speed  `atelier train dvbpr` with the default preset on H&M, fresh: minutes to its best
 *              validation epoch, the classifier included → train-speed.json / .md
 *   checkpoint   a DVBPR checkpoint of the default preset at 1%, 10% and 100% of the H&M download's
 *              shoppers: size, seconds to write, its share of the loop's interval → checkpoint.json / .md
 * Each case runs in its own process (peak RSS is the case's own), Atelier and PyTorch
 * alternating round by round so that drift on a shared machine hits both alike.
 */
import { existsSync } from 'node:fs';
import { engineBench } from './engine.js';

const which = process.argv[2];
const benches: Record<string, () => Promise<void>> = {
  engine: async () => engineBench({}),
  // on a GPU machine (bench/gpu.sh runs the bundled twin of this): both sides with BENCH_DEVICE=cuda
  'engine-cuda': async () => engineBench({ device: 'cuda' }),
  recommend: async () => (await import('./recommend.js')).recommendBench(process.argv.slice(3)),
  gan: async () => (await import('./gan-design.js')).ganBench(),
  topk: async () => (await import('./topk.js')).topkBench(),
  serve: async () => (await import('./serve.js')).serveBench(process.argv.slice(3)),
  'design-judged': async () => (await import('./design-judged.js')).designJudgedBench(),
  'garment-knn': async () => (await import('./garment-knn.js')).garmentKnnBench(),
  paper: async () => (await import('./paper-ingest.js')).paperIngestBench(process.argv.slice(3)),
  scale: async () => (await import('./scale.js')).scaleBench(),
  'train-speed': async () => (await import('./train-speed.js')).trainSpeedBench(),
  'full-size': async () => (await import('./full-size.js')).fullSizeBench(process.argv.slice(3)),
  'design-datasets': async () => (await import('./design-datasets.js')).designDatasetsBench(process.argv.slice(3)),
  'hm-224': async () => (await import('./hm-224.js')).hm224Bench(process.argv.slice(3)),
  checkpoint: async () => (await import('./checkpoint.js')).checkpointBench(),
};
if (!which || !benches[which]) {
  console.error(`usage: npm run bench -- <${Object.keys(benches).join('|')}>`);
  process.exit(2);
}
if (!existsSync('bench')) {
  console.error('run from the repository root');
  process.exit(2);
}
await benches[which]!();
