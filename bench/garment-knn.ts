/**
 * `npm run bench -- garment-knn`: how fair a similarity the simulated utility's space is (the grey
 * 16×16 block means of data/garments.ts at 32 px): the share of 2,000 Fashion-MNIST t10k images whose
 * nearest of the 60,000 train images has their class. Writes bench/results/garment-knn.json.
 */
import { FASHION_MNIST_DEFAULT, readFashionMnistAll } from '../src/data/read-fashion-mnist.js';
import { poolGrid, scaleGarment } from '../src/data/garments.js';
import { writeJsonAtomic } from '../src/core/fs.js';
import { tensor, tidy } from '../src/torch/index.js';

export async function garmentKnnBench(): Promise<void> {
  const { all } = readFashionMnistAll(FASHION_MNIST_DEFAULT);
  const size = 32;
  const grid = 16;
  const g2 = grid * grid;
  const pools = new Float32Array(all.length * g2);
  const u8 = new Uint8Array(size * size * 3);
  all.forEach((g, i) => {
    scaleGarment(g.pixels, size, u8, 0);
    poolGrid(u8, size, grid, 0, pools, i * g2);
  });
  const train = 60000;
  const queries = 2000;
  const ref = tensor(pools.subarray(0, train * g2), [train, g2]);
  const refT = tidy(() => ref.transpose(0, 1).contiguous());
  const norms = tidy(() => ref.square().sum(1).reshape([1, train]));
  let right = 0;
  for (let s = 0; s < queries; s += 250) {
    tidy(() => {
      const a = tensor(pools.subarray((train + s) * g2, (train + s + 250) * g2), [250, g2]);
      const nearest = norms.sub(a.matmul(refT).mul(2)).neg().argmax(1).data(); // ‖a‖² is the same for every candidate
      for (let r = 0; r < 250; r++) if (all[Number(nearest[r])]!.label === all[train + s + r]!.label) right++;
    });
  }
  for (const t of [ref, refT, norms]) t.dispose();
  const out = { space: `grey ${grid}×${grid} block means at ${size} px`, queries, references: train, nearestNeighbourAccuracy: right / queries };
  writeJsonAtomic('bench/results/garment-knn.json', out);
  console.log(`1-NN class accuracy ${out.nearestNeighbourAccuracy.toFixed(4)} → bench/results/garment-knn.json`);
}
