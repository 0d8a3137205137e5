/**
 * report.html: one self-contained page (images inlined) with the AUC table against baselines and
 * the oracle, training curves (vega-lite rendered to SVG), the paper's figure per category, an
 * improved item, the GAN's samples and the design study; plus seeds, hashes and versions.
 */
import { readFileSync } from 'node:fs';
import * as vega from 'vega';
import { compile } from 'vega-lite';
import { COLD_THRESHOLD } from '../core/auc.js';
import { writeFileAtomic } from '../core/fs.js';
import type { JudgedStudy } from './design-judged.js';

export interface ReportInput {
  title: string;
  dataset: { name: string; items: number; users: number; coldTestItems: number; dataHash: string; oracle?: { auc: number; coldAuc: number } };
  table: { method: string; auc: number; coldAuc: number; sampledAuc: number; recallAt10: number; ndcgAt10: number }[];
  curves: { run: string; epoch: number; metric: string; value: number }[];
  ganCurves: { snapshot: number; metric: string; value: number }[];
  /** the paper's figure per shopper (and per segment: `segment` names it, with its size) */
  figures: { user: string; segment?: { name: string; members: number }; category: string; png: string; bestReal: number; bestDesign: number }[];
  improvement?: { user: string; item: string; png: string; scores: { original: number; reconstruction: number; improved: number } };
  ganSamples?: string;
  ganQuality?: { frechet: number; categoryAgreement: number; inceptionScore: number };
  study?: JudgedStudy;
  stages: { stage: string; seconds: number }[];
  meta: Record<string, unknown>;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const f4 = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : '–');
const img = (png: string) => `<img alt="" src="data:image/png;base64,${readFileSync(png).toString('base64')}">`;

export async function lineChart(values: Record<string, unknown>[], x: string, y: string, color: string, title: string, facet?: string): Promise<string> {
  const spec = {
    data: { values },
    title,
    mark: { type: 'line', point: true },
    width: 320,
    height: 200,
    encoding: {
      x: { field: x, type: 'quantitative' },
      y: { field: y, type: 'quantitative', scale: { zero: false } },
      color: { field: color, type: 'nominal' },
      ...(facet ? {} : {}),
    },
    ...(facet ? { resolve: { scale: { y: 'independent' } } } : {}),
  };
  const full = facet
    ? {
        data: { values },
        title,
        facet: { field: facet, type: 'nominal' },
        columns: 2,
        spec: { width: 300, height: 180, mark: spec.mark, encoding: spec.encoding },
        resolve: { scale: { y: 'independent' } },
      }
    : spec;
  const vg = compile(full as never).spec;
  return new vega.View(vega.parse(vg), { renderer: 'none' }).toSVG();
}

const pct = (x: number | null) => (x === null ? '–' : `${(100 * x).toFixed(1)}%`);

/** The design study as a table and its curves: the optimised model's view beside the judges'. */
async function studySection(s: JudgedStudy): Promise<string> {
  const rows = s.methods.map(
    (m) =>
      `<tr><td>${esc(m.name)}</td><td>${m.budget}</td><td>${pct(m.atBudget.proxyUplift)}</td><td>${pct(m.atBudget.judgeUplift)}</td><td>${pct(m.atBudget.utilityUplift)}</td><td>${m.atBudget.judgeMedianRankPct.toFixed(1)}%</td><td>${pct(m.atBudget.inRange)}</td><td>${m.atBudget.frechet.toFixed(2)}</td></tr>`,
  );
  const values = s.methods.flatMap((m) =>
    m.test.length < 2
      ? []
      : m.test.flatMap((f) => [
          { method: m.name, step: f.step, metric: 'proxy uplift (the optimised model)', value: f.proxyUplift },
          { method: m.name, step: f.step, metric: 'judge uplift', value: f.judgeUplift },
          ...(f.utilityUplift === null ? [] : [{ method: m.name, step: f.step, metric: 'utility uplift', value: f.utilityUplift }]),
          { method: m.name, step: f.step, metric: 'in the samples’ realism range', value: f.inRange },
        ]),
  );
  const chart = values.length ? await lineChart(values, 'step', 'value', 'method', 'Along the search', 'metric') : '';
  return `<h2>Design study: judged by models the search never saw</h2>
<p class="small">${s.pairs.test} (shopper, category) pairs, ${s.n} designs each; the design shown is the best of them by the optimised model (${esc(s.proxy)}). <b>Proxy uplift</b>: it beats the shopper's best real item of the category under that same model — a proxy, since the search maximised it. <b>Judge uplift</b>: the independently trained ${esc(s.judge)} prefers it to its own choice of the best real item.${s.utility ? ' <b>Utility uplift</b>: its simulated utility (the hidden taste of the nearest of the 70,000 garments, less a penalty for distance to it) beats the shop’s truly best item of the category.' : ''} <b>In range</b>: the share of designs as close to real items (in a fixed classifier’s features) and as high in D as 95% of the GAN’s own samples.</p>
<table><tr><th>method</th><th>steps</th><th>proxy uplift</th><th>judge uplift</th><th>utility uplift</th><th>judge median rank</th><th>in range</th><th>Fréchet</th></tr>${rows.join('')}
<tr class="oracle"><td>reference: 256 GAN samples a category</td><td></td><td></td><td></td><td></td><td></td><td>${pct(s.samples.inRange)}</td><td>${s.samples.frechet.toFixed(2)}</td></tr></table>
${chart}`;
}

export async function writeReport(path: string, r: ReportInput): Promise<void> {
  const curves = r.curves.length ? await lineChart(r.curves, 'epoch', 'value', 'run', 'Validation during training', 'metric') : '';
  const gan = r.ganCurves.length ? await lineChart(r.ganCurves, 'snapshot', 'value', 'metric', 'GAN quality per snapshot', 'metric') : '';
  const rows = r.table.map(
    (t) =>
      `<tr><td>${esc(t.method)}</td><td>${f4(t.auc)}</td><td>${f4(t.coldAuc)}</td><td>${f4(t.sampledAuc)}</td><td>${f4(t.recallAt10)}</td><td>${f4(t.ndcgAt10)}</td></tr>`,
  );
  if (r.dataset.oracle)
    rows.push(
      `<tr class="oracle"><td>oracle (hidden taste)</td><td>${f4(r.dataset.oracle.auc)}</td><td>${f4(r.dataset.oracle.coldAuc)}</td><td></td><td></td><td></td></tr>`,
    );
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(r.title)}</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;max-width:1180px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border-bottom:1px solid #ddd;padding:4px 10px;text-align:right}td:first-child,th:first-child{text-align:left}
tr.oracle td{color:#777;font-style:italic}img{image-rendering:pixelated;max-width:100%}figure{margin:1.2em 0}figcaption{color:#555;font-size:13px}
.small{color:#666;font-size:13px}pre{background:#f6f6f6;padding:8px;overflow:auto;font-size:12px}
</style></head><body>
<h1>${esc(r.title)}</h1>
<p>${esc(r.dataset.name)}: ${r.dataset.items} items, ${r.dataset.users} shoppers, ${r.dataset.coldTestItems} cold test items (fewer than ${COLD_THRESHOLD} training purchases). Data hash <code>${r.dataset.dataHash.slice(0, 16)}…</code></p>
<h2>Recommendation: AUC on the test split</h2>
<p class="small">Full AUC over every item the shopper never bought; cold AUC over shoppers whose held-out item is cold, with cold negatives; sampled AUC against 100 fixed negatives.${r.dataset.oracle ? ' The oracle is the simulated shoppers\u2019 hidden taste: the best attainable.' : ''}</p>
<table><tr><th>method</th><th>AUC (all items)</th><th>AUC (cold items)</th><th>sampled AUC</th><th>Recall@10</th><th>NDCG@10</th></tr>${rows.join('')}</table>
<h2>Training curves</h2>${curves}
<h2>Designs for shoppers (the paper's figure)</h2>
<p class="small">Each row: one shopper and category. Left of the red line, the real items that score highest for this shopper; right, designs generated for them by preference maximisation in the GAN's latent space. Every image carries its preference score θ<sub>u</sub>ᵀΦ(x) under the model the search maximised: for a design that is a proxy, not a measurement (the design study below judges them with a model the search never saw).</p>
${r.figures.map((fg) => `<figure>${img(fg.png)}<figcaption>${fg.segment ? `segment ${esc(fg.segment.name)} (${fg.segment.members} shoppers; scores: their mean standardised score)` : `shopper ${esc(fg.user)}`}, ${esc(fg.category)}: best real item ${fg.bestReal.toFixed(3)}, best design ${fg.bestDesign.toFixed(3)}</figcaption></figure>`).join('\n')}
${
  r.improvement
    ? `<h2>Improving an existing item</h2><figure>${img(r.improvement.png)}<figcaption>shopper ${esc(r.improvement.user)}, item ${esc(r.improvement.item)}: original ${r.improvement.scores.original.toFixed(3)}, its GAN reconstruction ${r.improvement.scores.reconstruction.toFixed(3)}, improved ${r.improvement.scores.improved.toFixed(3)}</figcaption></figure>`
    : ''
}
${r.study ? await studySection(r.study) : ''}
<h2>The GAN</h2>
${r.ganQuality ? `<p>Best snapshot: Fréchet distance ${r.ganQuality.frechet.toFixed(2)} (classifier features), category agreement ${(100 * r.ganQuality.categoryAgreement).toFixed(1)}%, Inception-style score ${r.ganQuality.inceptionScore.toFixed(2)}.</p>` : ''}
${gan}
${r.ganSamples ? `<figure>${img(r.ganSamples)}<figcaption>samples of the last snapshot, a row per category, the same latent codes in every row</figcaption></figure>` : ''}
<h2>How this was made</h2>
<table><tr><th>stage</th><th>seconds</th></tr>${r.stages.map((s) => `<tr><td>${esc(s.stage)}</td><td>${s.seconds.toFixed(1)}</td></tr>`).join('')}</table>
<pre>${esc(JSON.stringify(r.meta, null, 2))}</pre>
</body></html>
`;
  writeFileAtomic(path, html);
}
