/**
 * `npm run bench -- segments [--demo out/demo] [--k 8] [--pairs 40]`: designs for a segment of
 * shoppers against designs for one shopper, judged by a model the search never saw, on the demo's
 * Fashion-MNIST runs (the demo must have run): the proxy (what the search maximises) is the demo's
 * DVBPR from scratch, the judge its DVBPR with the classifier start (trained apart: its own Φ and
 * user vectors). Per (segment, category) pair, the default design request (8 designs); the design
 * shown is the proxy's best of them; *judge uplift*: the judge's segment taste scores it above
 * every real item of the category (the shop's best item for the segment, by the judge). The same
 * for (shopper, category) pairs with the shopper's own tastes. Beside each, *agreement*: the
 * proxy's favourite real item of the category is the judge's favourite too (a taste estimated from
 * many shoppers should be one two models agree on). Writes bench/results/segments.json / .md.
 * (Realism is not measured here; bench/results/design.md has it for single shoppers.)
 */
import { cpSync, existsSync, mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../src/core/fs.js';
import { Rng } from '../src/core/rng.js';
import { bestRealFor, designForShopper, designRequest, scoresOf } from '../src/app/designs.js';
import { makeSegments, segmentThetaOf } from '../src/app/segments.js';
import { loadGanRun } from '../src/store/gan-run.js';
import { loadRun, thetaOf, type LoadedRun } from '../src/store/run.js';

function argOf(args: string[], name: string): string | undefined {
  return args.includes(name) ? args[args.indexOf(name) + 1] : undefined;
}

interface PairResult {
  who: string;
  category: string;
  /** the judge's score of the design shown, and of the judge's best real item of the category */
  judgeDesign: number;
  judgeBestReal: number;
  /** the judge's score of the proxy's favourite real item (the ceiling) */
  judgeProxyFavourite: number;
  proxyUplift: boolean;
}

export async function segmentsBench(args: string[]): Promise<void> {
  const demo = argOf(args, '--demo') ?? 'out/demo';
  const k = Number(argOf(args, '--k') ?? 8);
  const pairs = Number(argOf(args, '--pairs') ?? 40);
  if (!existsSync(join(demo, 'runs', 'dvbpr-scratch', 'manifest.json'))) throw new Error(`no demo runs in ${demo}: run \`npm run demo\` first`);
  // segments are written into a copy: the demo's runs stay as the demo left them
  const work = mkdtempSync(join(tmpdir(), 'atelier-segments-bench-'));
  const proxyDir = join(work, 'proxy');
  const judgeDir = join(work, 'judge');
  cpSync(join(demo, 'runs', 'dvbpr-scratch'), proxyDir, { recursive: true });
  cpSync(join(demo, 'runs', 'dvbpr-classifier'), judgeDir, { recursive: true });
  const minMembers = Number(argOf(args, '--min-members') ?? 50);
  const made = await makeSegments(proxyDir, { k, seed: 1, minMembers });
  // the judge's segments are the proxy's members, its own tastes
  const proxy = loadRun(proxyDir);
  const judge0 = loadRun(judgeDir);
  const judge: LoadedRun = { ...judge0, catalogue: { ...judge0.catalogue, segments: proxy.catalogue.segments } } as LoadedRun;
  const g = loadGanRun(join(demo, 'gan'));
  const categories = g.manifest.categories.filter((c) => proxy.catalogue.categories.includes(c));
  const rng = new Rng(7);
  const judgeOf = (theta: Float32Array, u8: Uint8Array, n: number, size: number) => scoresOf(judge, theta, u8, n, size);
  const one = (who: string, r: ReturnType<typeof designRequest>, proxyTheta: Float32Array, judgeTheta: Float32Array): PairResult => {
    const d = designForShopper(proxy, g, r);
    const shown = d.design.finalScores.indexOf(Math.max(...d.design.finalScores));
    const gs = d.design.imageSize;
    const judgeDesign = judgeOf(judgeTheta, d.design.images.subarray(shown * gs * gs * 3, (shown + 1) * gs * gs * 3), 1, gs)[0]!;
    const judgeBest = bestRealFor(judge, judgeTheta, r.category, 1)[0]!;
    const proxyFav = bestRealFor(proxy, proxyTheta, r.category, 1)[0]!;
    const favIndex = proxy.catalogue.itemIndex.get(proxyFav.itemId)!;
    const judgeOfFav = bestRealFor(judge, judgeTheta, r.category, proxy.catalogue.itemIds.length).find(
      (x) => x.itemId === proxy.catalogue.itemIds[favIndex],
    )!.score;
    return {
      who,
      category: r.category,
      judgeDesign,
      judgeBestReal: judgeBest.score,
      judgeProxyFavourite: judgeOfFav,
      proxyUplift: d.design.finalScores[shown]! > d.bestReal[0]!.score,
    };
  };
  const segmentPairs: PairResult[] = [];
  for (const [name] of proxy.catalogue.segments)
    for (const category of categories) {
      segmentPairs.push(
        one(name, { ...designRequest(`segment ${name}`, category, {}), segment: name }, segmentThetaOf(proxy, name), segmentThetaOf(judge, name)),
      );
    }
  const shopperPairs: PairResult[] = [];
  for (let p = 0; p < pairs; p++) {
    const u = proxy.catalogue.userIds[rng.int(proxy.catalogue.userIds.length)]!;
    const category = categories[rng.int(categories.length)]!;
    shopperPairs.push(one(u, designRequest(u, category, {}), thetaOf(proxy, u), thetaOf(judge, u)));
  }
  const summary = (xs: PairResult[]) => ({
    pairs: xs.length,
    judgeUplift: xs.filter((x) => x.judgeDesign > x.judgeBestReal).length / xs.length,
    proxyUplift: xs.filter((x) => x.proxyUplift).length / xs.length,
    // the proxy's favourite real item of the category is the judge's favourite too
    agreement: xs.filter((x) => x.judgeProxyFavourite >= x.judgeBestReal).length / xs.length,
  });
  const result = {
    when: new Date().toISOString(),
    load: loadavg()[0] ?? NaN,
    demo,
    proxy: 'the demo DVBPR from scratch',
    judge: 'the demo DVBPR with the classifier start (trained apart)',
    segments: {
      ...summary(segmentPairs),
      k: made.k,
      asked: k,
      minMembers: Math.min(...made.segments.map((s) => s.members)),
      sizes: made.segments.map((s) => s.members),
    },
    shoppers: summary(shopperPairs),
    pairs: { segments: segmentPairs, shoppers: shopperPairs },
    command: `npm run bench -- segments --k ${k} --min-members ${minMembers} --pairs ${pairs}`,
  };
  writeJsonAtomic('bench/results/segments.json', result);
  const pct = (v: number) => `${(100 * v).toFixed(0)}%`;
  writeFileAtomic(
    'bench/results/segments.md',
    [
      '# Designs for segments and for single shoppers, judged',
      '',
      `\`${result.command}\` (bench/segments.ts), ${result.when}, load ${result.load.toFixed(2)}, on the demo's Fashion-MNIST runs: proxy ${result.proxy}, judge ${result.judge}. The default design request (8 designs, 8 steps); the design shown is the proxy's best; judge uplift: the judge scores it above the judge's best real item of the category; agreement: the proxy's favourite real item of the category is the judge's favourite too (how much the two independently learned tastes agree). Realism is not measured here.`,
      '',
      '| for | pairs | proxy uplift | judge uplift | proxy and judge agree on the best real item |',
      '|---|---:|---:|---:|---:|',
      `| segments (k = ${made.k}, ${made.segments.map((s) => s.members).join(' / ')} members) | ${result.segments.pairs} | ${pct(result.segments.proxyUplift)} | ${pct(result.segments.judgeUplift)} | ${pct(result.segments.agreement)} |`,
      `| single shoppers | ${result.shoppers.pairs} | ${pct(result.shoppers.proxyUplift)} | ${pct(result.shoppers.judgeUplift)} | ${pct(result.shoppers.agreement)} |`,
      '',
    ].join('\n'),
  );
  console.error(`segments: ${JSON.stringify(result.segments)}\nshoppers: ${JSON.stringify(result.shoppers)}`);
}
