import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { buildServer } from '../../src/server/app.js';
import { loadGanRun } from '../../src/store/gan-run.js';
import { CatalogueStore } from '../../src/store/catalogue-db.js';
import { loadRun } from '../../src/store/run.js';
import { tinyRuns } from '../helpers/tiny-runs.js';

const CHROMIUM = '/usr/bin/chromium';

test(
  'the web page: pick a shopper, see recommendations and a design with scores (Debian chromium)',
  { skip: !existsSync(CHROMIUM) && 'chromium is not installed (.ci/run installs it)' },
  async () => {
    const { chromium } = await import('playwright-core');
    const t = await tinyRuns();
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
