import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { buildServer } from '../../src/server/app.js';
import { loadGanRun } from '../../src/store/gan-run.js';
import { CatalogueStore } from '../../src/store/catalogue-db.js';
import { loadRun } from '../../src/store/run.js';
import { tinyRuns } from '../helpers/tiny-runs.js';
import { makeShop, tempDir } from '../helpers/fixtures.js';
import { runIngest } from '../../src/app/ingest.js';
import { createProgress } from '../../src/app/progress.js';
import { imagesTensor, trainDvbprJob } from '../../src/app/train-recommender.js';
import { dvbprPreset } from '../../src/config/dvbpr.js';
import { loadDataset } from '../../src/data/dataset.js';
import { makeSegments } from '../../src/app/segments.js';

const CHROMIUM = '/usr/bin/chromium';

test(
  'the web page: pick a shopper, see recommendations and a design with scores (Debian chromium)',
  { skip: !existsSync(CHROMIUM) && 'chromium is not installed (.ci/run installs it)' },
  async () => {
    const { chromium } = await import('playwright-core');
    const t = await tinyRuns();
    // two segments of shoppers, so the page offers a design for a segment
    await makeSegments(t.run, { k: 2, seed: 1 });
    const page = readFileSync(new URL('../../web/index.html', import.meta.url), 'utf8');
    const store = CatalogueStore.open(t.run);
    const app = await buildServer({ run: loadRun(t.run), gan: loadGanRun(t.gan), store, designsDir: join(t.root, 'served'), page });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const p = await browser.newPage();
      await p.goto(address);
      await p.waitForSelector('#recs .card');
      const users = await p.$$eval('#user option', (os) => os.map((o) => (o as HTMLOptionElement).value));
      await p.selectOption('#user', users[1]!);
      await p.waitForFunction(() => document.querySelectorAll('#recs .card').length > 0);
      const recLabels = await p.$$eval('#recs .card div', (ds) => ds.map((d) => d.textContent ?? ''));
      assert.ok(
        recLabels.some((l) => /-?\d+\.\d{3}/.test(l)),
        'recommendations carry scores',
      );
      await p.selectOption('#category', 'tops');
      await p.click('#design');
      await p.waitForSelector('#figure[data-done="1"]', { timeout: 60000 });
      const figure = await p.$$eval('#figure .card', (cs) => cs.map((c) => c.textContent ?? ''));
      assert.ok(figure.length >= 7, `figure cards: ${figure.length}`);
      assert.ok(
        figure.every((l) => /-?\d+\.\d{3}/.test(l)),
        'every image in the figure has its score',
      );
      const loaded = await p.$$eval('#figure img', (is) => is.every((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0));
      assert.ok(loaded, 'all figure images load');
      // a design for a segment: its members' taste, its best real items and designs, each with a score
      const segments = await p.$$eval('#for option', (os) => os.map((o) => `${(o as HTMLOptionElement).value}=${o.textContent ?? ''}`));
      assert.equal(segments.length, 3, `the 'for' choices: ${segments.join(' | ')}`);
      assert.ok(
        segments.some((s) => /^s1=segment s1 \(\d+ shoppers?\)$/.test(s)),
        segments.join(' | '),
      );
      await p.selectOption('#for', 's1');
      await p.click('#design');
      await p.waitForSelector('#figure[data-done="1"]', { timeout: 60000 });
      assert.match(await p.$eval('#status', (d) => d.textContent ?? ''), /for segment s1 \(\d+ shoppers?;/);
      const segFigure = await p.$$eval('#figure .card', (cs) => cs.map((c) => c.textContent ?? ''));
      assert.ok(segFigure.length >= 7 && segFigure.every((l) => /-?\d+\.\d{3}/.test(l)), `segment figure: ${segFigure.join(' | ')}`);
      // add an item from a photo: it comes back cold, with the shoppers who would like it most
      const photo = join(t.root, 'upload.png');
      await sharp({ create: { width: 30, height: 40, channels: 3, background: { r: 20, g: 120, b: 220 } } })
        .png()
        .toFile(photo);
      await p.setInputFiles('#photo', photo);
      await p.selectOption('#newcat', 'shoes');
      await p.click('#addform button');
      await p.waitForSelector('#added[data-done="1"]', { timeout: 30000 });
      const added = await p.$eval('#added', (d) => d.textContent ?? '');
      assert.match(added, /cold/);
      assert.match(added, /who would like it most/);
      assert.ok(await p.$eval('#added img', (i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0), 'the new item image loads');
      const dir = join('test', 'artifacts');
      mkdirSync(dir, { recursive: true });
      const shot = join(dir, 'web-page.png');
      await p.screenshot({ path: shot, fullPage: true });
      assert.ok(statSync(shot).size > 1000);
    } finally {
      await browser.close();
      await app.close();
      store.close();
    }
  },
);

const HOSTILE = '<img src=x onerror=window.__pwned=1>';

test(
  'the web page renders ids and categories from a hostile dataset as text, under a Content-Security-Policy (issue 34.1)',
  { skip: !existsSync(CHROMIUM) && 'chromium is not installed (.ci/run installs it)' },
  async () => {
    const { chromium } = await import('playwright-core');
    // a shop whose item ids, shopper ids and a category carry markup
    const shop = await makeShop(12, 6, 5);
    const mark = (id: string) => `${HOSTILE}${id}`;
    const items = readFileSync(join(shop.dir, 'items.csv'), 'utf8').trim().split('\n');
    writeFileSync(
      join(shop.dir, 'items.csv'),
      [items[0], ...items.slice(1).map((r) => r.replace(/^([^,]+),/, (_, id: string) => `${mark(id)},`).replace(/,tops$/, `,${HOSTILE}tops`))].join('\n') +
        '\n',
    );
    const inter = readFileSync(join(shop.dir, 'interactions.csv'), 'utf8').trim().split('\n');
    writeFileSync(
      join(shop.dir, 'interactions.csv'),
      [
        inter[0],
        ...inter
          .slice(1)
          .map((r) => r.split(','))
          .map(([u, i, t]) => `${mark(u!)},${mark(i!)},${t}`),
      ].join('\n') + '\n',
    );
    const root = tempDir('atelier-hostile-');
    await runIngest('folder', shop.dir, { out: join(root, 'data'), imageSize: 16, minCategoryCount: 1 }, createProgress({ quiet: true }));
    const ds = loadDataset(join(root, 'data'));
    const images = imagesTensor(ds);
    const run = join(root, 'run');
    await trainDvbprJob(ds, images, { out: run, config: { ...dvbprPreset('tiny', 16), epochs: 1 }, resume: false, callbacks: {} });
    images.dispose();
    const page = readFileSync(new URL('../../web/index.html', import.meta.url), 'utf8');
    const store = CatalogueStore.open(run);
    const app = await buildServer({ run: loadRun(run), store, designsDir: join(root, 'served'), page });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
    try {
      const res = await fetch(address);
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /script-src 'sha256-[A-Za-z0-9+/=]+'/, 'the page runs only its own script');
      assert.doesNotMatch(csp, /unsafe-inline/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('x-frame-options'), 'DENY');
      const p = await browser.newPage();
      await p.goto(address);
      await p.waitForSelector('#recs .card');
      await p.waitForSelector('#purchases .card');
      assert.equal(await p.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined, 'no script ran from the data');
      assert.equal(await p.$$eval('img[src="x"]', (is) => is.length), 0, 'no markup from the data reached the page');
      const purchases = await p.$eval('#purchases', (d) => d.textContent ?? '');
      assert.ok(purchases.includes(HOSTILE), `the ids read as the text they are: ${purchases.slice(0, 200)}`);
      const options = await p.$$eval('#user option', (os) => os.map((o) => (o as HTMLOptionElement).value));
      assert.ok(options.length > 0 && options.every((o) => o.startsWith(HOSTILE)), 'shopper ids are option values, as text');
      const cats = await p.$$eval('#newcat option', (os) => os.map((o) => o.textContent ?? ''));
      assert.ok(cats.includes(`${HOSTILE}tops`), cats.join(' | '));
      // the improve button carries its item id as data, not as markup in an attribute
      const recIds = await p.$$eval('#recs button.improve', (bs) => bs.length);
      assert.ok(recIds > 0);
      mkdirSync(join('test', 'artifacts'), { recursive: true });
      await p.screenshot({ path: join('test', 'artifacts', 'web-page-hostile.png'), fullPage: true });
    } finally {
      await browser.close();
      await app.close();
      store.close();
    }
  },
);
