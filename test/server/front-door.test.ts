/**
 * The server's promises (issue: nothing a user owns is destroyed): another site's page cannot
 * write, a rebound Host is not answered, a client never reads the server's paths, the design queue
 * is bounded, and an upload that another process raced checks before it writes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildServer } from '../../src/server/app.js';
import type { ServerContext } from '../../src/server/context.js';
import { CatalogueStore } from '../../src/store/catalogue-db.js';
import { loadGanRun } from '../../src/store/gan-run.js';
import { loadRun } from '../../src/store/run.js';
import { tempDir } from '../helpers/fixtures.js';
import { multipart, photo } from '../helpers/http.js';
import { tinyRuns } from '../helpers/tiny-runs.js';

const base = tinyRuns();

async function served(extra: Partial<ServerContext> = {}) {
  const t = await base;
  const dir = join(tempDir('atelier-door-'), 'run');
  cpSync(t.run, dir, { recursive: true });
  const store = CatalogueStore.open(dir);
  const logged: Record<string, unknown>[] = [];
  const app = await buildServer({
    run: loadRun(dir),
    gan: loadGanRun(t.gan),
    store,
    designsDir: join(dir, 'served'),
    log: (e) => void logged.push(e),
    ...extra,
  });
  app.addHook('onClose', async () => store.close());
  return { app, dir, t, logged };
}

const upload = async (headers: Record<string, string> = {}, id?: string) => {
  const body = multipart([
    { name: 'category', value: 'tops' },
    ...(id ? [{ name: 'itemId', value: id }] : []),
    { name: 'photo', value: await photo(200, 10, 10), filename: 'p.png' },
  ]);
  return { method: 'POST' as const, url: '/items', payload: body.payload, headers: { ...body.headers, ...headers } };
};

test("a write from another site's page is refused (403), the server's own page and scripts without an Origin are not", async () => {
  const { app } = await served();
  const evil = await app.inject(await upload({ origin: 'http://evil.example', host: 'localhost:8080' }));
  assert.equal(evil.statusCode, 403, evil.body);
  assert.equal(evil.json().error.code, 'FORBIDDEN');
  assert.equal((await app.inject(await upload({ 'sec-fetch-site': 'cross-site', host: 'localhost:8080' }))).statusCode, 403);
  const design = await app.inject({
    method: 'POST',
    url: `/users/u0/designs`,
    headers: { origin: 'http://evil.example', host: 'localhost:8080' },
    payload: { category: 'tops', n: 1, steps: 1 },
  });
  assert.equal(design.statusCode, 403);
  assert.equal((await app.inject(await upload({ origin: 'http://localhost:8080', host: 'localhost:8080' }, 'own-page'))).statusCode, 201);
  assert.equal((await app.inject(await upload({}, 'a-script'))).statusCode, 201);
  // reads stay open to any page (the API is read by other sites' pages on purpose)
  assert.equal((await app.inject({ url: '/health', headers: { origin: 'http://evil.example' } })).statusCode, 200);
  await app.close();
});

test('a Host the server is not bound to (a rebound DNS name) is refused; the bound names are answered', async () => {
  const { hostsFor } = await import('../../src/server/front-door.js');
  assert.deepEqual(hostsFor('127.0.0.1', 8080), ['127.0.0.1:8080', 'localhost:8080', '[::1]:8080']);
  assert.deepEqual(hostsFor('0.0.0.0', 8080), undefined);
  assert.deepEqual(hostsFor('0.0.0.0', 8080, ['Shop.Example:443']), ['shop.example:443']);
  const { app } = await served({ allowedHosts: hostsFor('127.0.0.1', 8080) });
  const rebound = await app.inject({ url: '/health', headers: { host: 'attacker.example:8080' } });
  assert.equal(rebound.statusCode, 403);
  assert.match(rebound.json().error.message, /Host 'attacker\.example:8080'/);
  assert.equal((await app.inject({ url: '/health', headers: { host: 'localhost:8080' } })).statusCode, 200);
  await app.close();
});

test("clients get codes and messages, never the server's paths: a 500 says 'internal error', the log has the detail; /runs names no folder", async () => {
  const { app, dir, logged } = await served();
  app.get('/boom', async () => {
    throw Object.assign(new Error(`ENOENT: no such file or directory, open '${dir}/secret'`), { code: 'ENOENT' });
  });
  const runs = (await app.inject('/runs')).json();
  assert.doesNotMatch(JSON.stringify(runs), new RegExp(dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  assert.equal(runs.run.dataset.path, undefined);
  assert.equal(runs.gan.dir, undefined);
  const boom = await app.inject('/boom');
  assert.equal(boom.statusCode, 500);
  assert.deepEqual(boom.json(), { error: { code: 'INTERNAL', message: 'internal error (see the server log)' } });
  assert.ok(
    logged.some((e) => String(e.error).includes(`${dir}/secret`)),
    'the log lost the detail',
  );
  await app.close();
});

test("the design queue is bounded (429 with Retry-After) and a request's work is capped (n × steps)", async () => {
  const stats = { designSteps: 0, cancelled: 0 };
  const { app, t } = await served({ maxQueuedDesigns: 1, maxDesignWork: 200, stats });
  const user = t.ds.userIds[0]!;
  const big = await app.inject({ method: 'POST', url: `/users/${user}/designs`, payload: { category: 'tops', n: 8, steps: 50 } });
  assert.equal(big.statusCode, 400);
  assert.match(big.json().error.message, /n × steps = 8 × 50 = 400: this server takes at most 200/);
  // one design queued or running: the next is refused at once
  const first = app.inject({ method: 'POST', url: `/users/${user}/designs`, payload: { category: 'tops', n: 1, steps: 40 } });
  while (stats.designSteps === 0) await new Promise((r) => setTimeout(r, 2));
  const second = await app.inject({ method: 'POST', url: `/users/${user}/designs`, payload: { category: 'tops', n: 1, steps: 1 } });
  assert.equal(second.statusCode, 429, second.body);
  assert.equal(second.headers['retry-after'], '5');
  assert.equal((await first).statusCode, 200);
  // once it is done, the queue takes a design again
  assert.equal((await app.inject({ method: 'POST', url: `/users/${user}/designs`, payload: { category: 'tops', n: 1, steps: 1 } })).statusCode, 200);
  await app.close();
});

test("two servers on one run (no lock between them, in one process): the second one's upload is refused before it writes, and the first one's item and photo stay", async () => {
  const { app, dir } = await served();
  const store2 = CatalogueStore.open(dir);
  const app2 = await buildServer({ run: loadRun(dir), store: store2, designsDir: join(dir, 'served'), log: () => {} });
  const a = await app.inject(await upload({}, 'first'));
  assert.equal(a.statusCode, 201, a.body);
  const embeddings = statSync(join(dir, 'item-embeddings.f32')).size;
  const b = await app2.inject(await upload({}, 'second'));
  assert.equal(b.statusCode, 409, b.body);
  assert.equal(b.json().error.code, 'CONFLICT');
  assert.equal(statSync(join(dir, 'item-embeddings.f32')).size, embeddings, "the refused upload wrote over the first one's embedding row");
  assert.deepEqual(
    readdirSync(join(dir, 'uploads')).filter((n) => !n.startsWith('.')),
    [`${a.json().index}-first.png`],
  );
  assert.ok(loadRun(dir).catalogue.itemIndex.has('first'));
  await app2.close();
  store2.close();
  await app.close();
});
