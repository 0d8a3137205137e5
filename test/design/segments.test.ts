/** A segment's design: its search weighs the segment's taste against realism as a typical member's taste is weighed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planDesign, designRequest, runDesignPlan } from '../../src/app/designs.js';
import { makeSegments, segmentScaleOf, segmentThetaOf } from '../../src/app/segments.js';
import { scoreDeviations } from '../../src/models/segments.js';
import { DvbprScorer } from '../../src/models/dvbpr.js';
import { loadGanRun } from '../../src/store/gan-run.js';
import { loadRun } from '../../src/store/run.js';
import { tinyRuns } from '../helpers/tiny-runs.js';

test("a segment's search maximises θ_S scaled to its median member's score deviation; its ranking and its shown scores stay θ_S's", async () => {
  const t = await tinyRuns();
  await makeSegments(t.run, { k: 2, seed: 1 });
  const run = loadRun(t.run);
  const g = loadGanRun(t.gan);
  const model = run.dvbpr!;
  const k = model.encoderConfig.k;
  const n = run.catalogue.itemIds.length;
  const e = (run.recommender as DvbprScorer).embeddingsOf(Int32Array.from({ length: n }, (_, i) => i));
  const theta = model.theta.data() as Float32Array;
  // by hand: σ_u = sd over the items of θ_uᵀe_i, the members' median, and θ_S's own deviation
  const sd = (t: Float32Array | Float64Array, at: number) => {
    const s = Array.from({ length: n }, (_, i) => {
      let v = 0;
      for (let a = 0; a < k; a++) v += t[at * k + a]! * e[i * k + a]!;
      return v;
    });
    const mu = s.reduce((x, y) => x + y, 0) / n;
    return Math.sqrt(s.reduce((x, y) => x + (y - mu) ** 2, 0) / n);
  };
  const [name, members] = [...run.catalogue.segments][0]!;
  const own = [...members].map((u) => sd(theta, u)).sort((a, b) => a - b);
  const median = own.length % 2 ? own[own.length >> 1]! : (own[(own.length >> 1) - 1]! + own[own.length >> 1]!) / 2;
  const thetaS = segmentThetaOf(run, name);
  const scale = segmentScaleOf(run, name);
  assert.ok(Math.abs(scale * sd(thetaS, 0) - median) < 1e-3 * median, `scaled deviation ${scale * sd(thetaS, 0)} vs the members' median ${median}`);
  assert.ok(Math.abs(scoreDeviations(thetaS, e, k)[0]! - sd(thetaS, 0)) < 1e-4, 'scoreDeviations agrees with the hand computation');
  assert.ok(Number.isFinite(scale) && scale > 0, `scale ${scale}`);
  const category = g.manifest.categories[0]!;
  const plan = planDesign(run, g, { ...designRequest(`segment ${name}`, category, { n: 2, steps: 1 }), segment: name });
  assert.deepEqual(Array.from(plan.theta), Array.from(thetaS), 'the ranking and the shown scores use θ_S');
  plan.objectiveTheta.forEach((v, a) => assert.ok(Math.abs(v - thetaS[a]! * scale) < 1e-5 * Math.max(1, Math.abs(v)), `objective θ[${a}]`));
  // its progress and per-step scores are θ_S's, not the scaled objective's: the first step (the same
  // start codes) scores as a search of θ_S itself does
  assert.ok(Math.abs(scale - 1) > 0.05, `a scale that tells the two apart (${scale})`);
  const seen: number[][] = [];
  const d = await runDesignPlan(run, plan, { onStep: (p) => seen.push(p.scores) });
  const unscaled = await runDesignPlan(run, { ...plan, objectiveTheta: plan.theta, scale: 1, options: { ...plan.options, theta: plan.theta } });
  seen[0]!.forEach((x, i) => assert.ok(Math.abs(x - unscaled.design.scores[0]![i]!) < 1e-4 * Math.max(1, Math.abs(x)), `step 1, design ${i}: ${x}`));
  assert.deepEqual(d.design.scores[0], seen[0]);
  // a shopper's search is unscaled
  const user = run.catalogue.userIds[0]!;
  const p2 = planDesign(run, g, designRequest(user, category, { n: 2, steps: 1 }));
  assert.equal(p2.objectiveTheta, p2.theta);
});
