/** `atelier index`: the run's LanceDB index over its item embeddings, built holding the run folder's lock. */
import { indexRun, type LanceBuildOptions } from '../store/lance-index.js';
import { withFolderLock } from '../store/lock.js';
import { loadRun } from '../store/run.js';
import type { Progress } from './progress.js';

export async function indexRunFolder(
  dir: string,
  o: Pick<LanceBuildOptions, 'kind' | 'partitions' | 'subVectors' | 'm' | 'efConstruction'>,
  progress: Progress,
) {
  return withFolderLock(dir, 'index', async () => {
    const run = loadRun(dir);
    const items = run.catalogue.itemIds.length;
    const bar = progress.stage('index', items);
    return indexRun(run, {
      kind: o.kind,
      partitions: o.partitions,
      subVectors: o.subVectors,
      m: o.m,
      efConstruction: o.efConstruction,
      onProgress: (stage, done) => {
        if (stage === 'rows') bar.update(done, { writing: 'rows' });
        else if (stage === 'train') bar.update(items, { training: o.kind ?? 'ivf-flat' });
        else bar.done();
      },
    });
  });
}
