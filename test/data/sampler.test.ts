import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TripletSampler } from '../../src/data/sampler.js';
import { splitInteractions, kCoreMask } from '../../src/data/split.js';
import { Rng } from '../../src/core/rng.js';

function randomTrain(seed: number, users = 30, items = 50) {
  const rng = new Rng(seed);
  const u: number[] = [];
  const i: number[] = [];
  for (let a = 0; a < users; a++) {
    const set = new Set<number>();
    const n = 1 + rng.int(20);
    while (set.size < n) set.add(rng.int(items));
    for (const x of set) (u.push(a), i.push(x));
  }
  return { user: Int32Array.from(u), item: Int32Array.from(i) };
}

test('sampler: positives are training items, negatives never are', () => {
  const train = randomTrain(1);
  const s = new TripletSampler(train, 30, 50, 7);
  const sets = Array.from({ length: 30 }, () => new Set<number>());
  train.user.forEach((u, x) => sets[u]!.add(train.item[x]!));
  const t = s.sample(5000);
  for (let b = 0; b < 5000; b++) {
    assert.ok(sets[t.user[b]!]!.has(t.pos[b]!));
    assert.ok(!sets[t.user[b]!]!.has(t.neg[b]!));
  }
  // negatives cover the whole non-bought catalogue, users are uniform-ish
  assert.ok(new Set(t.neg).size > 40);
  assert.ok(new Set(t.user).size === 30);
});

test('sampler: deterministic for a seed, and a restored state continues exactly', () => {
  const train = randomTrain(2);
  const a = new TripletSampler(train, 30, 50, 11);
  const b = new TripletSampler(train, 30, 50, 11);
  assert.deepEqual(a.sample(100), b.sample(100));
  const state = a.getState();
  const next = a.sample(50);
  const c = new TripletSampler(train, 30, 50, 999);
  c.setState(state);
  assert.deepEqual(c.sample(50), next);
});

test('paper split: seeded, one validation and one test per evaluated user; the others train on every purchase', () => {
  const train = randomTrain(3);
  const pairs = { ...train, time: Float64Array.from(train.user.keys()) };
  const a = splitInteractions(pairs, 30, 50, { kind: 'paper', minUserItems: 5, seed: 1 });
  const b = splitInteractions(pairs, 30, 50, { kind: 'paper', minUserItems: 5, seed: 1 });
  assert.deepEqual(a.test.item, b.test.item);
  const counts = new Int32Array(30);
  train.user.forEach((u) => counts[u]!++);
  const kept = [...counts].filter((c) => c >= 5).length;
  assert.equal(a.evaluatedUsers, kept);
  assert.equal(a.keptUsers, [...counts].filter((c) => c > 0).length);
  assert.ok(a.keptUsers > kept, 'the fixture has users below the threshold');
  assert.equal(a.test.user.length, kept);
  assert.equal(new Set(a.test.user).size, kept);
  // every pair is somewhere: the users below the threshold lose none
  assert.equal(a.train.user.length + 2 * kept, train.user.length);
  for (let u = 0; u < 30; u++) {
    if (counts[u]! >= 5 || counts[u] === 0) continue;
    assert.equal(a.train.user.filter((x) => x === u).length, counts[u], `user ${u} (${counts[u]} items) trains on all of them`);
  }
});

test('k-core keeps only users and items with at least k interactions', () => {
  const train = randomTrain(4);
  const mask = kCoreMask({ ...train, time: new Float64Array(train.user.length) }, 30, 50, 3);
  const uc = new Map<number, number>();
  const ic = new Map<number, number>();
  train.user.forEach((u, x) => {
    if (mask[x]) {
      uc.set(u, (uc.get(u) ?? 0) + 1);
      ic.set(train.item[x]!, (ic.get(train.item[x]!) ?? 0) + 1);
    }
  });
  for (const c of [...uc.values(), ...ic.values()]) assert.ok(c >= 3);
});
