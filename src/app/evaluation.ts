/** The evaluation protocol (docs/method.md §3): a recommender's figures on a dataset's validation or test items. */
import type { Dataset } from '../data/dataset.js';
import { evaluateRanking, type RankingResult } from '../eval/ranking.js';
import type { Recommender } from '../models/recommender.js';

export function rankingOn(ds: Dataset, rec: Recommender, split: 'valid' | 'test'): RankingResult {
  return evaluateRanking({
    numItems: ds.itemIds.length,
    scoreUsers: (u) => rec.scoreUsers(u),
    ...(rec.scoreTensor ? { scoreTensor: (u: Int32Array) => rec.scoreTensor!(u) } : {}),
    heldOut: split === 'test' ? ds.test : ds.valid,
    // for validation the test item is unknown to the model but still not a negative: leave it out
    seen: [ds.train, ds.valid, ds.test],
    itemTrainCount: ds.itemTrainCount,
    ...(split === 'test' ? { sampledNegatives: ds.sampledNegatives, perUser: 100 } : {}),
  });
}
