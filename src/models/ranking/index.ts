/** Ranking policies and their priors: one home (docs/method.md §7). */
export * from './prior.js';
export * from './policy.js';
