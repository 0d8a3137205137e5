/** Ranking policies and their priors: one home (docs/method.md §4). */
export * from './prior.js';
export * from './policy.js';
