import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import { kMeans, kMeansAtLeast, scoreDeviations, segmentTaste, standardisedTastes } from '../../src/models/segments.js';

test('k-means finds three planted groups of tastes, whatever the seed, largest first', () => {
  const rng = new Rng(2);
  const K = 4;
  const centres = [
    [5, 0, 0, 0],
    [0, 5, 0, 0],
    [0, 0, 5, 5],
  ];
  const sizes = [30, 20, 10];
  const truth: number[] = [];
  const rows: number[] = [];
  sizes.forEach((n, g) => {
    for (let x = 0; x < n; x++) {
      truth.push(g);
      for (let a = 0; a < K; a++) rows.push(centres[g]![a]! + 0.3 * rng.normal());
    }
  });
  for (const seed of [1, 2, 3]) {
    const group = kMeans(Float64Array.from(rows), K, 3, seed);
    // the same partition as the planted one, numbered by size (30, 20, 10)
    assert.deepEqual(Array.from(group), truth, `seed ${seed}`);
  }
});

test("a segment's taste: the mean of its members' standardised tastes, so its score of an item is the members' mean standardised score, by hand", () => {
  const rng = new Rng(4);
  const K = 3;
  const N = 40;
  const U = 5;
  const e = Float32Array.from({ length: N * K }, () => rng.normal());
  const theta = Float32Array.from({ length: U * K }, () => rng.normal() * (1 + rng.int(4)));
  const sigma = scoreDeviations(theta, e, K);
  const score = (u: number, i: number) => theta.subarray(u * K, (u + 1) * K).reduce((s, v, a) => s + v * e[i * K + a]!, 0);
  for (let u = 0; u < U; u++) {
    const s = Array.from({ length: N }, (_, i) => score(u, i));
    const mean = s.reduce((a, b) => a + b) / N;
    const sd = Math.sqrt(s.reduce((a, b) => a + (b - mean) ** 2, 0) / N);
    assert.ok(Math.abs(sigma[u]! - sd) < 1e-4 * sd, `σ of shopper ${u}: ${sigma[u]} vs ${sd}`);
  }
  const members = [0, 2, 3];
  const taste = segmentTaste(standardisedTastes(theta, sigma, K), members, K);
  for (let i = 0; i < N; i++) {
    const viaTaste = taste.reduce((s, v, a) => s + v * e[i * K + a]!, 0);
    const meanOfMembers = members.reduce((s, u) => s + score(u, i) / sigma[u]!, 0) / members.length;
    assert.ok(Math.abs(viaTaste - meanOfMembers) < 1e-4, `item ${i}: ${viaTaste} vs ${meanOfMembers}`);
  }
  assert.throws(() => segmentTaste(standardisedTastes(theta, sigma, K), [], K), /no members/);
});

test('a segment smaller than the minimum is dissolved into the nearest others', () => {
  const rng = new Rng(3);
  const K = 2;
  const rows: number[] = [];
  const at = (x: number, y: number, n: number) => {
    for (let i = 0; i < n; i++) rows.push(x + 0.2 * rng.normal(), y + 0.2 * rng.normal());
  };
  at(0, 0, 30);
  at(10, 0, 20);
  at(9, 3, 3); // a small group nearer the second
  const three = kMeans(Float64Array.from(rows), K, 3, 1);
  assert.deepEqual([...new Set(three.slice(50))], [2], 'k-means alone keeps the three');
  const two = kMeansAtLeast(Float64Array.from(rows), K, 3, 1, 5);
  assert.deepEqual([...new Set(two.slice(0, 30))], [0]);
  assert.deepEqual([...new Set(two.slice(30))], [1], 'the small group joins the nearest');
});
