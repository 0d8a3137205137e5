/**
 * The ranking policy of a run (models/ranking): what the priors read in evaluation, the policy's
 * choice on validation, its test figures and what each chosen prior adds (an ablation).
 */
import { historyPairs, latestBaskets, latestPurchases, type Dataset } from '../data/dataset.js';
import { packPairs } from '../data/split.js';
import type { RankingResult } from '../eval/ranking.js';
import type { Recommender } from '../models/recommender.js';
import { activeWeights, PolicyRanker, PolicyTerms, searchPolicy, type PolicyCell, type RankingPolicy, type ShopHistory } from '../models/ranking/index.js';
import { rankingOn } from './evaluation.js';

/**
 * What the priors know when the held-out items of `split` are predicted: every purchase but the
 * one predicted and, for a validation item, the test item (sequential recommendation's
 * leave-one-out protocol): the training pairs for a validation item, those and the validation item
 * for a test item (on the temporal split the purchase just before it). Shop-wide counts (popularity,
 * co-purchases) read the training pairs throughout.
 */
export function evaluationHistory(ds: Dataset, split: 'valid' | 'test'): ShopHistory {
  const of = split === 'valid' ? 'train' : 'known';
  const users = ds.userIds.length;
  return {
    numUsers: users,
    known: packPairs(historyPairs(ds, of), users),
    basket: latestBaskets(ds, of),
    latest: latestPurchases(ds, of),
    counted: packPairs([ds.train], users),
    itemCategory: ds.itemCategory,
    numCategories: ds.categories.length,
    ...(ds.itemProduct ? { itemProduct: ds.itemProduct } : {}),
    itemTrainCount: ds.itemTrainCount,
  };
}

/** The model ranked by a policy for evaluation on `split` (`terms`: shared when many policies are measured). */
export function withPolicy(ds: Dataset, rec: Recommender, policy: RankingPolicy, split: 'valid' | 'test', terms?: PolicyTerms): Recommender {
  if (!activeWeights(policy).length) return rec;
  return new PolicyRanker(terms ?? new PolicyTerms(evaluationHistory(ds, split), rec), policy);
}

export interface PolicyChoice {
  policy: Record<string, number>;
  /** what validation held out: each shopper's next purchase (the temporal split) or a random one (the paper's) */
  chosenOn: 'next purchase' | 'random purchase';
  /** the metric the search maximised */
  metric: 'auc';
  /** every policy the search measured, with its validation AUC, in order */
  cells: PolicyCell[];
  /** the test figures of the model ranked by the policy */
  test: RankingResult;
  /** the test figures without each chosen prior in turn: what it adds */
  ablation: { without: string; test: RankingResult }[];
  /** the validation figures of the chosen policy (not recorded in a manifest) */
  validation: RankingResult;
}

/**
 * The policy, chosen on validation shoppers (at most MAX_POLICY_SHOPPERS of them, an even sample;
 * its test figures on as many test shoppers: `users` says how many) by AUC (the order over the whole catalogue that the
 * top of the list is the head of), by coordinate ascent over the registered priors' grids
 * (models/ranking searchPolicy): what `recommend` and the API use by default for this run. On the
 * temporal split, validation holds out each shopper's latest purchase before the test one and
 * predicts it from the ones before: the next purchase, as serving uses the policy.
 */
export function choosePolicy(full: Dataset, rec: Recommender, onCell?: (cell: PolicyCell, best: PolicyCell) => void): PolicyChoice {
  // a few weights need no million shoppers: a large shop's search and figures read an even sample
  const ds = sampleHeldOut(full, MAX_POLICY_SHOPPERS);
  // the search measures every policy on the same shoppers: their term rows are kept (up to 1 GiB)
  const valid = new PolicyTerms(evaluationHistory(ds, 'valid'), rec, 2 ** 30);
  const search = searchPolicy(valid.available(), (p) => rankingOn(ds, withPolicy(ds, rec, p, 'valid', valid), 'valid').auc, 3, onCell);
  const test = new PolicyTerms(evaluationHistory(ds, 'test'), rec, 2 ** 30);
  const testOf = (p: RankingPolicy) => rankingOn(ds, withPolicy(ds, rec, p, 'test', test), 'test');
  return {
    policy: search.policy,
    chosenOn: ds.manifest.options?.split === 'temporal' ? 'next purchase' : 'random purchase',
    metric: 'auc',
    cells: search.cells,
    test: testOf(search.policy),
    ablation: activeWeights(search.policy).map(([name]) => {
      const without = { ...search.policy };
      delete without[name];
      return { without: name, test: testOf(without) };
    }),
    validation: rankingOn(ds, withPolicy(ds, rec, search.policy, 'valid', valid), 'valid'),
  };
}

/** The most validation (and test) shoppers a policy is chosen and measured on. */
export const MAX_POLICY_SHOPPERS = 20_000;

/**
 * The dataset with the validation and test rows of at most `max` shoppers, an even spread of those
 * with a validation row (a shopper's test item stays known while their validation item is ranked);
 * the same dataset when it has no more. Histories (the training pairs) are untouched; the test
 * rows keep their sampled negatives.
 */
export function sampleHeldOut(ds: Dataset, max: number): Dataset {
  const held = ds.valid.user.length;
  if (held <= max && ds.test.user.length <= max) return ds;
  const take = new Uint8Array(ds.userIds.length);
  const n = Math.min(held, max);
  for (let k = 0; k < n; k++) take[ds.valid.user[Math.floor((k * held) / n)]!] = 1;
  const keep = (p: { user: Int32Array; item: Int32Array }) => {
    const rows = [...p.user.keys()].filter((x) => take[p.user[x]!]);
    return { rows, pairs: { user: Int32Array.from(rows, (x) => p.user[x]!), item: Int32Array.from(rows, (x) => p.item[x]!) } };
  };
  const v = keep(ds.valid);
  const t = keep(ds.test);
  const per = ds.test.user.length ? ds.sampledNegatives.length / ds.test.user.length : 0;
  return {
    ...ds,
    valid: v.pairs,
    test: t.pairs,
    sampledNegatives: Int32Array.from({ length: t.rows.length * per }, (_, y) => ds.sampledNegatives[t.rows[Math.floor(y / per)]! * per + (y % per)]!),
  };
}
