/**
 * `npm run bench -- serve [--parts recommendations,upload,lance,hnsw,flat] [--lance-items 1000000]`
 *
 *   recommendations  `atelier serve` in its own process over a synthetic DVBPR run of 20,000 items
 *                    (K = 100, 1,000 shoppers), loaded by autocannon on loopback: GET
 *                    /users/:id/recommendations?k=10 for random shoppers
 *   upload           POST /items with a 512×512 JPEG against the same server: the time until the
 *                    201 (the item is recommendable when it comes back), checked by a GET that finds it
 *   lance            LanceDB IVF-PQ (inner product) over 1,000,000 synthetic items against exact
 *                    search: build time, recall@10 and latency per nprobes setting (the former default)
 *   hnsw             the same for LanceDB IVF-HNSW-SQ over the lifted vectors: per nprobes / ef / refine
 *   flat             the same for LanceDB IVF-FLAT (inner product; the default index)
 *                    every index part measures two kinds of shopper: isotropic and styled (below)
 *
 * Synthetic embeddings are clustered (1,000 centres + noise), as learned ones are; on isotropic
 * noise no index beats a scan. Writes bench/results/serve.json (parts not run keep their old values).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import sharp from 'sharp';
import { dvbprPreset } from '../src/config/dvbpr.js';
import { writeJsonAtomic } from '../src/core/fs.js';
import { Rng } from '../src/core/rng.js';
import { Dvbpr, DvbprScorer } from '../src/models/dvbpr.js';
import { writeCatalogueDb } from '../src/store/catalogue-db.js';
import { buildLanceIndex, defaultPartitions, LanceIndex, type LanceIndexKind } from '../src/store/lance-index.js';
import { topKWhere } from '../src/store/recommend.js';
import { RUN_FORMAT, writeEmbeddings, writeManifest, type RunManifest } from '../src/store/run.js';
import { versions } from '../src/store/versions.js';
import { engineInfo, noGrad, saveSafetensors } from '../src/torch/index.js';

const RESULTS = join('bench', 'results', 'serve.json');

function clusteredWithCentres(n: number, k: number, centres: number, rng: Rng): { e: Float32Array; c: Float32Array } {
  const c = Float32Array.from({ length: centres * k }, () => rng.normal());
  const e = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    const m = rng.int(centres);
    for (let j = 0; j < k; j++) e[i * k + j] = c[m * k + j]! + 0.5 * rng.normal();
  }
  return { e, c };
}

const clustered = (n: number, k: number, centres: number, rng: Rng) => clusteredWithCentres(n, k, centres, rng).e;

/** A DVBPR run folder with N synthetic items (an untrained default-preset encoder, so uploads run the real Φ). */
function syntheticRun(dir: string, n: number, users: number): { k: number; categories: string[] } {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const cfg = dvbprPreset('default', 64);
  const k = cfg.encoder.k;
  const rng = new Rng(7);
  const categories = Array.from({ length: 10 }, (_, c) => `category-${c}`);
  const itemIds = Array.from({ length: n }, (_, i) => `item-${i}`);
  const userIds = Array.from({ length: users }, (_, u) => `u${u}`);
  const bought = { user: new Int32Array(users * 10), item: new Int32Array(users * 10) };
  for (let x = 0; x < users * 10; x++) {
    bought.user[x] = Math.floor(x / 10);
    bought.item[x] = rng.int(n);
  }
  const manifest: RunManifest = {
    format: RUN_FORMAT,
    kind: 'dvbpr',
    name: 'synthetic',
    createdAt: new Date().toISOString(),
    seed: 7,
    config: cfg,
    dataset: { path: join(dir, 'no-dataset'), dataHash: 'synthetic', imageSize: 64, items: n, users },
    versions: versions(),
    metrics: {},
    history: [],
  };
  writeCatalogueDb(
    dir,
    {
      itemIds,
      userIds,
      categories,
      itemCategory: Int32Array.from({ length: n }, (_, i) => i % categories.length),
      // 1 in 20 items cold (< 5 training purchases)
      itemTrainCount: Int32Array.from({ length: n }, (_, i) => (i % 20 === 0 ? 1 : 10)),
      imagesFrom: join(dir, 'no-dataset'),
      imageFit: 'letterbox',
      purchases: [bought],
    },
    { ...manifest, manifest },
  );
  const model = new Dvbpr(cfg.encoder, users, 7);
  noGrad(() => saveSafetensors(join(dir, 'weights.safetensors'), model.stateDict(), { kind: 'dvbpr' }));
  writeEmbeddings(dir, clustered(n, k, 1000, rng), k);
  manifest.embeddings = { file: 'item-embeddings.f32', count: n, k };
  writeManifest(dir, manifest);
  return { k, categories };
}

async function startServer(run: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--single-threaded-gc', '--import', 'tsx', 'src/cli/main.ts', 'serve', '--run', run, '--port', '0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /serving on (http:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${err}`)));
  });
  return { url, child };
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

async function recommendationsPart(url: string, users: number) {
  const rng = new Rng(3);
  const load = loadavg()[0];
  const run = (connections: number, duration: number) =>
    autocannon({
      url,
      connections,
      duration,
      requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `/users/u${rng.int(users)}/recommendations?k=10` }) }],
    });
  await run(4, 3); // warm-up
  const r = await run(16, 20);
  return {
    items: 20000,
    connections: 16,
    seconds: 20,
    requestsPerSecond: r.requests.average,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
    loadBefore: load,
    tool: 'autocannon (in the bench process; the server in its own)',
  };
}

async function uploadPart(url: string, categories: string[]) {
  const times: number[] = [];
  const confirmed: boolean[] = [];
  for (let x = 0; x < 30; x++) {
    const noise = Buffer.from(Array.from({ length: 512 * 512 * 3 }, (_, i) => ((i * (x + 7)) ^ (i >> 9)) & 255));
    const jpeg = await sharp(noise, { raw: { width: 512, height: 512, channels: 3 } })
      .jpeg({ quality: 85 })
      .toBuffer();
    const form = new FormData();
    const category = categories[x % categories.length]!;
    form.set('category', category);
    form.set('photo', new Blob([jpeg], { type: 'image/jpeg' }), `photo-${x}.jpg`);
    const t0 = performance.now();
    const res = await fetch(`${url}/items`, { method: 'POST', body: form });
    const body = (await res.json()) as { itemId: string; topShoppers: { userId: string }[] };
    times.push(performance.now() - t0);
    if (res.status !== 201) throw new Error(`upload ${x}: ${res.status} ${JSON.stringify(body)}`);
    // cold items of one category: ~100 of 20,000, so k=1000 lists them all if the new one is there
    const rec = (await (await fetch(`${url}/users/${body.topShoppers[0]!.userId}/recommendations?k=1000&coldOnly=true&category=${category}`)).json()) as {
      items: { itemId: string }[];
    };
    confirmed.push(rec.items.some((i) => i.itemId === body.itemId));
  }
  return {
    uploads: times.length,
    photo: '512×512 JPEG, fitted to 64 px',
    medianMs: pct(times, 0.5),
    p95Ms: pct(times, 0.95),
    maxMs: Math.max(...times),
    recommendableAfter201: confirmed.every(Boolean),
  };
}

const HNSW_SETTINGS: { nprobes: number; ef: number; refine: number }[] = [
  { nprobes: 10, ef: 100, refine: 5 },
  { nprobes: 10, ef: 200, refine: 5 },
  { nprobes: 10, ef: 400, refine: 5 },
  { nprobes: 10, ef: 800, refine: 5 },
  { nprobes: 10, ef: 800, refine: 10 },
  { nprobes: 10, ef: 1200, refine: 5 },
  { nprobes: 3, ef: 200, refine: 5 },
  { nprobes: 5, ef: 400, refine: 5 },
];
const IVF_FLAT_SETTINGS = [5, 10, 20, 30, 50, 100].map((nprobes) => ({ nprobes, ef: 100, refine: 1 }));
const IVF_PQ_SETTINGS = [
  [10, 10],
  [20, 10],
  [50, 10],
  [100, 10],
  [100, 50],
  [300, 50],
].map(([nprobes, refine]) => ({ nprobes: nprobes!, ef: 100, refine: refine! }));

async function lancePart(n: number, kind: LanceIndexKind) {
  const k = 100;
  const rng = new Rng(11);
  const { e, c: centres } = clusteredWithCentres(n, k, 1000, rng);
  const dir = `/tmp/atelier-bench-lance-${kind}`;
  mkdirSync(dir, { recursive: true });
  const build = await buildLanceIndex(
    dir,
    e,
    k,
    Int32Array.from({ length: n }, (_, i) => i % 10),
    Uint8Array.from({ length: n }, (_, i) => (i % 20 === 0 ? 1 : 0)),
    { kind, onProgress: (stage, done, total) => console.error(JSON.stringify({ lance: kind, stage, done, total })) },
  );
  const queries = 200;
  // two kinds of shopper: θ ~ N(0, I), isotropic, which no cluster of items favours (the hard case
  // for every index: the best items are the extremes of many clusters); and θ near one cluster's
  // centre (a shopper with a style, as learned θ are: N(c_m, 0.5²))
  const isotropic = Float32Array.from({ length: queries * k }, () => rng.normal());
  const styled = new Float32Array(queries * k);
  for (let q = 0; q < queries; q++) {
    const m = rng.int(1000);
    for (let j = 0; j < k; j++) styled[q * k + j] = centres[m * k + j]! + 0.5 * rng.normal();
  }
  const ix = await LanceIndex.open(dir);
  const grid = kind === 'hnsw-sq' ? HNSW_SETTINGS : kind === 'ivf-flat' ? IVF_FLAT_SETTINGS : IVF_PQ_SETTINGS;
  const measured: Record<string, unknown> = {};
  for (const [name, theta] of [
    ['isotropic', isotropic],
    ['styled', styled],
  ] as const) {
    // exact: the server's own path (libtorch product over every item, then the heap)
    const scorer = new DvbprScorer(theta, e, k);
    const exact: number[][] = [];
    const exactMs: number[] = [];
    for (let q = 0; q < queries; q++) {
      const t0 = performance.now();
      exact.push(topKWhere(scorer.scoreUsers(Int32Array.of(q)), 10, () => true));
      exactMs.push(performance.now() - t0);
    }
    scorer.dispose();
    const settings = [];
    for (const { nprobes, ef, refine } of grid) {
      const ms: number[] = [];
      let hits = 0;
      for (let q = 0; q < queries; q++) {
        const t = theta.subarray(q * k, (q + 1) * k);
        const t0 = performance.now();
        const got = await ix.search(t, { k: 10, nprobes, ef, refine });
        ms.push(performance.now() - t0);
        hits += got.filter((g) => exact[q]!.includes(g.index)).length;
      }
      const row = {
        nprobes,
        ...(kind === 'hnsw-sq' ? { ef } : {}),
        refineFactor: refine,
        recallAt10: hits / (queries * 10),
        p50Ms: pct(ms, 0.5),
        p99Ms: pct(ms, 0.99),
      };
      console.error(JSON.stringify({ lance: kind, queries: name, ...row }));
      settings.push(row);
    }
    measured[name] = { exact: { p50Ms: pct(exactMs, 0.5), p99Ms: pct(exactMs, 0.99) }, settings };
  }
  ix.close();
  const partitions = defaultPartitions(kind, n);
  return {
    items: n,
    k,
    data: 'synthetic: 1,000 Gaussian centres in 100 dimensions, unit spread 0.5; 200 queries of each kind of shopper',
    index:
      kind === 'ivf-flat'
        ? `IVF-FLAT, ${partitions} partitions, full float32 vectors, distance 'dot'`
        : kind === 'hnsw-sq'
          ? `IVF-HNSW-SQ, ${partitions} partitions (one graph each, m 20, ef_construction 300), 8-bit scalar quantisation, L2 over vectors lifted for inner product`
          : `IVF-PQ, ${partitions} partitions, ${k / 4} sub-vectors × 8 bits, distance 'dot'`,
    buildSeconds: build.seconds,
    queries,
    shoppers: {
      isotropic: 'θ ~ N(0, I)',
      styled: 'θ ~ N(c_m, 0.5²), c_m the centre of a random one of the 1,000 clusters',
    },
    ...measured,
    loadBefore: loadavg()[0],
  };
}

export async function serveBench(args: string[]): Promise<void> {
  const opt = (name: string, d: string) => (args.includes(name) ? args[args.indexOf(name) + 1]! : d);
  const parts = opt('--parts', 'recommendations,upload,lance,hnsw,flat').split(',');
  const out = (existsSync(RESULTS) ? JSON.parse(readFileSync(RESULTS, 'utf8')) : {}) as Record<string, unknown>;
  const save = () => writeJsonAtomic(RESULTS, { ...out, engine: engineInfo(), command: 'npm run bench -- serve', date: new Date().toISOString() });
  if (parts.includes('recommendations') || parts.includes('upload')) {
    const dir = '/tmp/atelier-bench-serve/run';
    const users = 1000;
    const { categories } = syntheticRun(dir, 20000, users);
    const { url, child } = await startServer(dir);
    try {
      if (parts.includes('recommendations')) {
        out.recommendations = await recommendationsPart(url, users);
        console.log(JSON.stringify({ recommendations: out.recommendations }));
        save();
      }
      if (parts.includes('upload')) {
        out.upload = await uploadPart(url, categories);
        console.log(JSON.stringify({ upload: out.upload }));
        save();
      }
    } finally {
      child.kill();
    }
  }
  // `lance`: IVF-PQ (the former default), `lanceHnsw`: IVF-HNSW-SQ, `lanceIvfFlat`: IVF-FLAT (the default)
  for (const [part, key, kind] of [
    ['lance', 'lance', 'ivf-pq'],
    ['hnsw', 'lanceHnsw', 'hnsw-sq'],
    ['flat', 'lanceIvfFlat', 'ivf-flat'],
  ] as const) {
    if (!parts.includes(part)) continue;
    out[key] = await lancePart(Number(opt('--lance-items', '1000000')), kind);
    console.log(JSON.stringify({ [key]: out[key] }));
    save();
  }
}
