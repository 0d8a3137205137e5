/**
 * A ranking policy: a weight per registered prior (absent or 0: off). The model's scores of a
 * shopper are standardised (mean 0, standard deviation 1 over the catalogue) and each prior's term
 * is added with its weight; a policy of no weights is the model's own order. One function,
 * `applyPolicy`, does this for evaluation and for serving, over the whole catalogue or over a
 * candidate set whose catalogue-wide mean and deviation the caller knows (the index path).
 */
import { z } from 'zod';
import { BadInputError, InvalidArgumentError } from '../../core/errors.js';
import { MAX_PRIOR_WEIGHT, priorWeight } from '../../config/dvbpr.js';
import type { Recommender } from '../recommender.js';
import { priorNamed, registeredPriors, type PriorTerm, type ShopHistory } from './prior.js';
import './builtin.js';

export type RankingPolicy = Readonly<Record<string, number>>;

/** A policy as a manifest or a settings file writes it: registered names only, weights in [0, MAX_PRIOR_WEIGHT]. */
export const policySchema = z.record(z.string(), priorWeight).superRefine((p, ctx) => {
  const names = new Set(registeredPriors().map((r) => r.name));
  for (const k of Object.keys(p))
    if (!names.has(k)) ctx.addIssue({ code: 'custom', message: `no prior named '${k}' (the priors: ${[...names].join(', ')})`, path: [k] });
});

export function checkPolicy(p: RankingPolicy): void {
  for (const [name, w] of Object.entries(p)) {
    priorNamed(name);
    if (!(w >= 0 && w <= MAX_PRIOR_WEIGHT)) throw new InvalidArgumentError(`prior ${name}: weight must be a number in [0, ${MAX_PRIOR_WEIGHT}], got ${w}`);
  }
}

/** The policy without its zero weights, in registry order. */
export function activeWeights(p: RankingPolicy): [string, number][] {
  return registeredPriors()
    .map((r) => [r.name, p[r.name] ?? 0] as [string, number])
    .filter(([, w]) => w > 0);
}

/** The terms a policy needs, prepared once for a history and model (a caller evaluating many policies shares them). */
export class PolicyTerms {
  private readonly terms = new Map<string, PriorTerm>();
  /**
   * `cacheBytes`: each shopper's whole-catalogue term rows kept, up to this many bytes in all, so
   * a search measuring many policies on the same shoppers computes each row once (evaluation; the
   * server keeps none)
   */
  constructor(
    readonly history: ShopHistory,
    readonly rec: Recommender,
    private readonly cacheBytes = 0,
  ) {}
  private cached = 0;

  /** The prior's term; a prior unavailable here (no products, no embeddings) is an error naming it. */
  term(name: string): PriorTerm {
    let t = this.terms.get(name);
    if (!t) {
      const p = priorNamed(name);
      // a request or flag naming it is the user's to change: a 400 / exit 2, not a 500
      if (!p.available(this.history, this.rec))
        throw new BadInputError(`prior ${name}: not available for this shop and a ${this.rec.kind} model (${p.summary})`);
      t = p.prepare(this.history, this.rec);
      if (this.cacheBytes > 0) t = this.caching(t);
      this.terms.set(name, t);
    }
    return t;
  }

  /** A term whose whole-catalogue rows are kept per shopper while the byte budget lasts. */
  private caching(inner: PriorTerm): PriorTerm {
    const rows = new Map<number, Float32Array>();
    return {
      add: (u, row, w, items) => {
        if (items) return inner.add(u, row, w, items);
        let r = rows.get(u);
        if (!r || r.length !== row.length) {
          r = new Float32Array(row.length);
          inner.add(u, r, 1);
          if (this.cached + r.byteLength <= this.cacheBytes) {
            rows.set(u, r);
            this.cached += r.byteLength;
          }
        }
        for (let i = 0; i < row.length; i++) row[i]! += w * r[i]!;
      },
      ...(inner.candidates ? { candidates: (u: number) => inner.candidates!(u) } : {}),
    };
  }

  /** The priors available here. */
  available(): string[] {
    return registeredPriors()
      .filter((p) => p.available(this.history, this.rec))
      .map((p) => p.name);
  }
}

/** Mean and standard deviation of a row (a constant row: deviation 1, so the priors alone order it). */
export function rowStats(row: ArrayLike<number>): { mean: number; sd: number } {
  const n = row.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += row[i]!;
  mean /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (row[i]! - mean) ** 2;
  return { mean, sd: Math.sqrt(v / n) || 1 };
}

/**
 * Applies a policy to shopper u's model scores, in place: standardised, plus each weight times its
 * term. `items`: the row holds these items' scores only, and `stats` the mean and deviation of the
 * shopper's scores over the whole catalogue (otherwise the row is the catalogue and gives them).
 * A policy without weights leaves the row as it is.
 */
export function applyPolicy(
  terms: PolicyTerms,
  policy: RankingPolicy,
  u: number,
  row: Float32Array,
  items?: Int32Array,
  stats?: { mean: number; sd: number },
): void {
  const active = activeWeights(policy);
  if (!active.length) return;
  const { mean, sd } = stats ?? rowStats(row);
  for (let i = 0; i < row.length; i++) row[i] = (row[i]! - mean) / sd;
  for (const [name, w] of active) terms.term(name).add(u, row, w, items);
}

/** A recommender ranked by a policy (evaluation's view of it; serving calls applyPolicy per shopper). */
export class PolicyRanker implements Recommender {
  readonly kind: Recommender['kind'];
  readonly numUsers: number;
  readonly numItems: number;
  constructor(
    readonly terms: PolicyTerms,
    readonly policy: RankingPolicy,
  ) {
    checkPolicy(policy);
    for (const [name] of activeWeights(policy)) terms.term(name);
    this.kind = terms.rec.kind;
    this.numUsers = terms.rec.numUsers;
    this.numItems = terms.rec.numItems;
  }

  scoreUsers(users: Int32Array): Float32Array {
    const s = this.terms.rec.scoreUsers(users);
    const n = this.numItems;
    users.forEach((u, r) => applyPolicy(this.terms, this.policy, u, s.subarray(r * n, (r + 1) * n)));
    return s;
  }
}

/** One cell the policy search measured. */
export interface PolicyCell {
  policy: Record<string, number>;
  score: number;
}

/**
 * The policy by coordinate ascent on `score` (higher is better): from no priors, each available
 * prior in registry order tries every weight of its grid with the others held, keeping a weight
 * only when it beats the best so far; rounds repeat until one changes nothing (at most `rounds`).
 * A prior that adds nothing stays 0. Returns the policy and every cell measured, in order.
 */
export function searchPolicy(
  available: string[],
  score: (p: RankingPolicy) => number,
  rounds = 3,
  /** each cell as it is measured, with the best so far (progress) */
  onCell?: (cell: PolicyCell, best: PolicyCell) => void,
): { policy: Record<string, number>; score: number; cells: PolicyCell[] } {
  let policy: Record<string, number> = {};
  let best = score(policy);
  const cells: PolicyCell[] = [{ policy: {}, score: best }];
  onCell?.(cells[0]!, cells[0]!);
  for (let round = 0; round < rounds; round++) {
    let changed = false;
    for (const name of available) {
      for (const w of priorNamed(name).grid) {
        if (w === (policy[name] ?? 0)) continue;
        const cand = { ...policy, [name]: w };
        if (w === 0) delete cand[name];
        const s = score(cand);
        cells.push({ policy: cand, score: s });
        if (s > best + 1e-12) {
          best = s;
          policy = cand;
          changed = true;
        }
        onCell?.(cells[cells.length - 1]!, { policy, score: best });
      }
    }
    if (!changed) break;
  }
  return { policy, score: best, cells };
}
