/** `atelier evaluate` (saved runs on a dataset's test split) and `atelier recommend` (top-K for shoppers). */
import { join } from 'node:path';
import { BadInputError } from '../core/errors.js';
import { loadDataset } from '../data/dataset.js';
import type { EvalRow } from '../eval/table.js';
import { recommend, type Recommendation } from '../store/recommend.js';
import { loadRun, type LoadedRun } from '../store/run.js';
import { rankingOn } from './train-recommender.js';

export function evaluateRuns(dataDir: string, runs: string[]): { rows: EvalRow[]; oracle?: { auc: number; coldAuc: number } } {
  const ds = loadDataset(dataDir);
  const rows = runs.map((dir) => {
    const run = loadRun(dir);
    if (run.manifest.dataset.dataHash !== ds.manifest.dataHash) {
      throw new BadInputError(
        `run was trained on dataset ${run.manifest.dataset.dataHash.slice(0, 12)}…, not on ${dataDir} (${ds.manifest.dataHash.slice(0, 12)}…)`,
        {
          file: join(dir, 'manifest.json'),
        },
      );
    }
    const r = rankingOn(ds, run.recommender, 'test');
    return {
      method: run.manifest.name,
      run: dir,
      auc: r.auc,
      sampledAuc: r.sampledAuc,
      coldAuc: r.coldAuc,
      recallAt10: r.recallAtK,
      ndcgAt10: r.ndcgAtK,
      users: r.users,
      coldUsers: r.coldUsers,
    };
  });
  return { rows, ...(ds.manifest.oracle ? { oracle: { auc: ds.manifest.oracle.testAuc, coldAuc: ds.manifest.oracle.coldTestAuc } } : {}) };
}

export interface RecommendOptions {
  k: number;
  category?: string;
  coldOnly?: boolean;
  excludeBought?: boolean;
  /** α of the popularity prior; absent: the one the run chose on validation (0 when it has none) */
  prior?: number;
  /** β of the recency prior; absent: the run's, as α */
  recency?: number;
  /** γ of the category prior; absent: the run's, as α */
  affinity?: number;
  /** δ of the product prior; absent: the run's, as α */
  product?: number;
}

/** The priors a run's recommendations use by default: chosen on validation (metrics.popularityPrior: α, β of the recency prior, γ of the category prior, δ of the product prior), else none. */
export function runPrior(run: LoadedRun): { alpha: number; beta: number; gamma: number; delta: number } {
  const p = run.manifest.metrics.popularityPrior;
  return { alpha: p?.alpha ?? 0, beta: p?.beta ?? 0, gamma: p?.gamma ?? 0, delta: p?.delta ?? 0 };
}

/** Top-K for each shopper of `userIds` from one load of the run. */
export function recommendFor(runDir: string, userIds: string[], o: RecommendOptions): Recommendation[] {
  const run = loadRun(runDir);
  const p = runPrior(run);
  return recommend(run.recommender, run.catalogue, userIds, {
    ...o,
    prior: o.prior ?? p.alpha,
    recency: o.recency ?? p.beta,
    affinity: o.affinity ?? p.gamma,
    product: o.product ?? p.delta,
  });
}
