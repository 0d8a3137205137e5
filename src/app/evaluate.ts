/** `atelier evaluate` (saved runs on a dataset's test split) and `atelier recommend` (top-K for shoppers). */
import { join } from 'node:path';
import { BadInputError } from '../core/errors.js';
import { loadDataset } from '../data/dataset.js';
import type { EvalRow } from '../eval/table.js';
import { recommend, type Recommendation } from '../store/recommend.js';
import { loadRun, runPolicy, type LoadedRun } from '../store/run.js';
import { checkPolicy, type RankingPolicy } from '../models/ranking/index.js';
import { rankingOn } from './evaluation.js';

/**
 * Every run's test figures on the dataset; `sampleUsers`: on that many test shoppers only, spread
 * evenly over the test split (the same ones for every run), a quick figure labelled a sample.
 */
export function evaluateRuns(
  dataDir: string,
  runs: string[],
  o: { sampleUsers?: number } = {},
): { rows: EvalRow[]; oracle?: { auc: number; coldAuc: number }; sample?: { users: number; of: number } } {
  const full = loadDataset(dataDir);
  const of = full.test.user.length;
  const take = o.sampleUsers !== undefined && o.sampleUsers < of ? o.sampleUsers : of;
  const pick = Int32Array.from({ length: take }, (_, k) => Math.floor((k * of) / take));
  const ds =
    take < of
      ? {
          ...full,
          test: { user: pick.map((x) => full.test.user[x]!), item: pick.map((x) => full.test.item[x]!) },
          sampledNegatives: Int32Array.from({ length: take * 100 }, (_, y) => full.sampledNegatives[pick[Math.floor(y / 100)]! * 100 + (y % 100)]!),
        }
      : full;
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
      recallAt12: r.recallAt12!,
      mapAt12: r.mapAt12!,
      users: r.users,
      coldUsers: r.coldUsers,
    };
  });
  return {
    rows,
    ...(ds.manifest.oracle && take === of ? { oracle: { auc: ds.manifest.oracle.testAuc, coldAuc: ds.manifest.oracle.coldTestAuc } } : {}),
    ...(take < of ? { sample: { users: take, of } } : {}),
  };
}

export interface RecommendOptions {
  k: number;
  category?: string;
  coldOnly?: boolean;
  excludeBought?: boolean;
  /** prior weights by name over the run's policy (0: that prior off) */
  priors?: Record<string, number>;
  /** false: the model's own order, no priors */
  usePolicy?: boolean;
}

/** The policy a request ranks by: the run's, with the weights it names changed; none when it asks for the model alone. */
export function requestPolicy(run: LoadedRun, priors: Record<string, number> = {}, usePolicy = true): RankingPolicy {
  const policy = { ...(usePolicy ? runPolicy(run.manifest) : {}), ...priors };
  checkPolicy(policy);
  return policy;
}

/** Top-K for each shopper of `userIds` from one load of the run. */
export function recommendFor(runDir: string, userIds: string[], o: RecommendOptions): Recommendation[] {
  const run = loadRun(runDir);
  const { priors, usePolicy, ...rest } = o;
  return recommend(run.recommender, run.catalogue, userIds, { ...rest, policy: requestPolicy(run, priors, usePolicy) });
}
