/**
 * The design study (issue: design for a shopper): over (shopper, category) pairs,
 *  - uplift: share of pairs whose best design outscores the shopper's best real item of the category;
 *  - realism: D(G(z), c) and the Fréchet distance to real items of the designs, beside the same
 *    figures for the GAN's unoptimised samples (the starting codes);
 *  - personalisation: rank of the shopper's own score among every shopper's scores of the same
 *    designs (0 % = top);
 *  - for simulated shoppers: the hidden taste's score of the best design against the best real item.
 */
import { Rng } from '../core/rng.js';
import type { Dataset } from '../data/dataset.js';
import { hiddenFeatures, hiddenScores } from '../data/simulate.js';
import { maximisePreference, nearestDistances, quantileOf, type LatentBound } from '../design/maximise.js';
import { frechetDistance } from '../eval/gan-quality.js';
import { toInput } from '../models/encoder.js';
import type { LoadedGan } from '../store/gan-run.js';
import { designForShopper, designModels, designSettingsOf, embedWithRun, resizeU8 } from './designs.js';
import type { LoadedRun } from '../store/run.js';
import { noGrad, tensor, tidy } from '../torch/index.js';

export interface DesignStudy {
  name: string;
  pairs: number;
  uplift: number;
  meanScoreGain: number;
  medianUserRankPct: number;
  realism: {
    designD: number;
    samplesD: number;
    designFrechet: number;
    samplesFrechet: number;
    /** share of images the category classifier assigns to the intended category */
    designAgreement: number;
    samplesAgreement: number;
    /** mean distance from an image to its nearest real item of the category (classifier features) */
    designNearestReal: number;
    samplesNearestReal: number;
    /**
     * share of designs inside the unoptimised samples' range, image by image: nearest real item no
     * farther than the samples' 95th percentile and D(G(z), c) no lower than their 5th percentile
     * (the samples themselves: 90% or more by construction)
     */
    designInSampleRange: number;
    samplesInSampleRange: number;
  };
  hiddenTaste?: { designBeatsBestReal: number; meanDesign: number; meanBestReal: number };
  settings: {
    n: number;
    steps: number;
    lr: number;
    eta: number;
    taste: 'own' | 'distinctive';
    anchor: number;
    candidates: number;
    guard: number;
    bound: LatentBound;
    users: number;
    categories: string[];
  };
  seconds: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[s.length >> 1]! : (s[(s.length >> 1) - 1]! + s[s.length >> 1]!) / 2) : NaN;
}

export function designStudy(
  name: string,
  ds: Dataset,
  run: LoadedRun,
  g: LoadedGan,
  o: {
    users: number;
    n: number;
    steps: number;
    lr?: number;
    eta?: number;
    taste?: 'own' | 'distinctive';
    anchor?: number;
    candidates?: number;
    guard?: number;
    bound?: LatentBound;
    seed: number;
    onPair?: (done: number, total: number) => void;
  },
): DesignStudy {
  const t0 = performance.now();
  const rng = new Rng(o.seed);
  const order = Array.from(ds.userIds.keys());
  rng.shuffle(order);
  const users = order.slice(0, o.users);
  const cats = g.manifest.categories.filter((c) => run.catalogue.categories.includes(c));
  const k = run.dvbpr!.encoderConfig.k;
  const thetaAll = run.dvbpr!.theta.data(); // [U, K]
  const U = thetaAll.length / k;
  const gs = g.manifest.config.imageSize;
  const clfK = g.classifier.encoderConfig.k;
  const realFeat = new Map<string, Float32Array>();
  const featsOf = (u8: Uint8Array, n: number, size: number) =>
    noGrad(() =>
      tidy(() =>
        g.classifier
          .featuresFloat(
            toInput(
              tensor(resizeU8(u8, n, size, g.classifier.encoderConfig.inputSize), [
                n,
                g.classifier.encoderConfig.inputSize,
                g.classifier.encoderConfig.inputSize,
                3,
              ]),
            ),
          )
          .data(),
      ),
    );
  const per = ds.imageSize * ds.imageSize * 3;
  for (const c of cats) {
    const ci = ds.categories.indexOf(c);
    const items = [...ds.itemCategory.keys()].filter((i) => ds.itemCategory[i] === ci).slice(0, 300);
    const u8 = new Uint8Array(items.length * per);
    items.forEach((i, r) => u8.set(ds.images.subarray(i * per, (i + 1) * per), r * per));
    realFeat.set(c, featsOf(u8, items.length, ds.imageSize));
  }
  let uplift = 0;
  let gain = 0;
  const ranks: number[] = [];
  const dDesign: number[] = [];
  const dSample: number[] = [];
  const designFeats = new Map<string, Float32Array[]>();
  const sampleFeats = new Map<string, Float32Array[]>();
  const hidden = { beats: 0, design: 0, real: 0 };
  const sim = ds.simulation;
  let pairs = 0;
  const total = users.length * cats.length;
  // per image: agreement count, and each image's distance to its nearest real item
  const perImage = { design: { agree: 0, nn: [] as number[] }, sample: { agree: 0, nn: [] as number[] } };
  // agreement with the intended category and distance to the nearest real item, per image
  const judge = (feats: Float32Array, c: string, into: { agree: number; nn: number[] }) => {
    const n = feats.length / clfK;
    const cls = g.manifest.classifier.classes.indexOf(c);
    const pred = noGrad(() =>
      tidy(() =>
        g.classifier.head
          .forward(tensor(feats, [n, clfK]).relu())
          .argmax(1)
          .data(),
      ),
    );
    for (let a = 0; a < n; a++) if (Number(pred[a]) === cls) into.agree++;
    into.nn.push(...nearestDistances(feats, realFeat.get(c)!, clfK));
  };
  for (const u of users) {
    for (const c of cats) {
      const userId = ds.userIds[u]!;
      const d = designForShopper(run, g, {
        userId,
        category: c,
        n: o.n,
        steps: o.steps,
        lr: o.lr,
        eta: o.eta,
        taste: o.taste,
        anchor: o.anchor,
        candidates: o.candidates,
        guard: o.guard,
        bound: o.bound,
        seed: o.seed + pairs,
        realItems: 1,
      });
      // the unoptimised samples: the same random codes (the designs' starts unless best-of-N chose others), no steps
      const s0 = maximisePreference(designModels(run, g), {
        theta: new Float32Array(k),
        category: g.manifest.categories.indexOf(c),
        n: o.n,
        steps: 0,
        lr: 0.05,
        eta: 1,
        seed: o.seed + pairs,
        bound: o.bound,
      });
      const best = d.design.finalScores.indexOf(Math.max(...d.design.finalScores));
      const bestReal = d.bestReal[0]?.score ?? -Infinity;
      if (d.design.finalScores[best]! > bestReal) uplift++;
      gain += d.design.finalScores[best]! - bestReal;
      // personalisation: every shopper's score of the best design
      const e = embedWithRun(run, d.design.images.subarray(best * gs * gs * 3, (best + 1) * gs * gs * 3), 1, gs);
      const own = d.design.finalScores[best]!;
      let above = 0;
      for (let v = 0; v < U; v++) {
        let sv = 0;
        for (let q = 0; q < k; q++) sv += thetaAll[v * k + q]! * e[q]!;
        if (v !== u && sv > own) above++;
      }
      ranks.push((100 * above) / (U - 1));
      dDesign.push(...d.design.realism);
      dSample.push(...s0.realism);
      const df = featsOf(d.design.images, o.n, gs);
      const sf = featsOf(s0.images, o.n, gs);
      (designFeats.get(c) ?? designFeats.set(c, []).get(c)!).push(df);
      (sampleFeats.get(c) ?? sampleFeats.set(c, []).get(c)!).push(sf);
      judge(df, c, perImage.design);
      judge(sf, c, perImage.sample);
      if (sim && gs % 8 === 0) {
        const designU8 = resizeU8(d.design.images.subarray(best * gs * gs * 3, (best + 1) * gs * gs * 3), 1, gs, sim.imageSize);
        const hd = hiddenScores(sim, u, hiddenFeatures(sim, designU8, 1))[0]!;
        const ri = run.catalogue.itemIndex.get(d.bestReal[0]!.itemId)!;
        const hr = hiddenScores(sim, u, hiddenFeatures(sim, ds.images.subarray(ri * per, (ri + 1) * per), 1))[0]!;
        hidden.design += hd;
        hidden.real += hr;
        if (hd > hr) hidden.beats++;
      }
      pairs++;
      o.onPair?.(pairs, total);
    }
  }
  const fd = (m: Map<string, Float32Array[]>) => {
    const vals = cats.map((c) => {
      const parts = m.get(c)!;
      const all = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
      let off = 0;
      for (const p of parts) (all.set(p, off), (off += p.length));
      return frechetDistance(realFeat.get(c)!, all, clfK);
    });
    return vals.reduce((a, b) => a + b, 0) / vals.length;
  };
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const nnHigh = quantileOf(perImage.sample.nn, 0.95);
  const dLow = quantileOf(dSample, 0.05);
  const shareInRange = (nn: number[], d: number[]) => nn.filter((x, a) => x <= nnHigh && d[a]! >= dLow).length / nn.length;
  const inRange = shareInRange(perImage.design.nn, dDesign);
  // the samples' own share (about 90% by construction: the two 5% tails, where they do not overlap)
  const samplesInRange = shareInRange(perImage.sample.nn, dSample);
  return {
    name,
    pairs,
    uplift: uplift / pairs,
    meanScoreGain: gain / pairs,
    medianUserRankPct: median(ranks),
    realism: {
      designD: mean(dDesign),
      samplesD: mean(dSample),
      designFrechet: fd(designFeats),
      samplesFrechet: fd(sampleFeats),
      designAgreement: perImage.design.agree / perImage.design.nn.length,
      samplesAgreement: perImage.sample.agree / perImage.sample.nn.length,
      designNearestReal: mean(perImage.design.nn),
      samplesNearestReal: mean(perImage.sample.nn),
      designInSampleRange: inRange,
      samplesInSampleRange: samplesInRange,
    },
    ...(sim ? { hiddenTaste: { designBeatsBestReal: hidden.beats / pairs, meanDesign: hidden.design / pairs, meanBestReal: hidden.real / pairs } } : {}),
    settings: {
      n: o.n,
      steps: o.steps,
      lr: o.lr ?? 0.05,
      ...designSettingsOf(o),
      users: users.length,
      categories: cats,
    },
    seconds: (performance.now() - t0) / 1000,
  };
}
