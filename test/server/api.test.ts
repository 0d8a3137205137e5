import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { buildServer } from '../../src/server/app.js';
import { loadGanRun } from '../../src/store/gan-run.js';
import { CatalogueStore } from '../../src/store/catalogue-db.js';
import { recommend, RecommendBatcher } from '../../src/store/recommend.js';
import { loadRun } from '../../src/store/run.js';
import { tinyRuns } from '../helpers/tiny-runs.js';
import { events } from '../helpers/http.js';
import { GuardRangeCache } from '../../src/design/maximise.js';

const ctx = (async () => {
  const t = await tinyRuns();
  const stats = { designSteps: 0, cancelled: 0 };
  const guardRanges = new GuardRangeCache();
  const store = CatalogueStore.open(t.run);
  const app = await buildServer({
    run: loadRun(t.run),
    gan: loadGanRun(t.gan),
    store,
    designsDir: join(t.root, 'served'),
    page: '<html>atelier page</html>',
    stats,
    guardRanges,
  });
  app.addHook('onClose', async () => store.close());
  return { ...t, app, stats, guardRanges };
})();

test('GET /health, /runs, /users, /users/:id, /categories and the page', async () => {
  const { app, ds } = await ctx;
  assert.equal((await app.inject('/health')).json().status, 'ok');
  const runs = (await app.inject('/runs')).json();
  assert.equal(runs.run.kind, 'dvbpr');
  assert.ok(runs.gan.categories.includes('tops'));
  assert.equal((await app.inject('/users?limit=3')).json().users.length, 3);
  const u = (await app.inject(`/users/${ds.userIds[0]}`)).json();
  assert.ok(u.purchases.length >= 5);
  assert.deepEqual((await app.inject('/categories')).json().designable.sort(), ['shoes', 'tops']);
  const page = await app.inject('/');
  assert.match(page.headers['content-type'] as string, /text\/html/);
});

test('GET /users/:id/recommendations: scores, cold flags, filters; errors with a code', async () => {
  const { app, ds } = await ctx;
  const r = await app.inject(`/users/${ds.userIds[0]}/recommendations?k=3&category=tops&coldOnly=true`);
  assert.equal(r.statusCode, 200);
  const body = r.json();
  assert.equal(body.items.length, 3);
  for (const it of body.items) {
    assert.equal(it.category, 'tops');
    assert.equal(it.cold, true);
    assert.equal(typeof it.score, 'number');
  }
  const unknown = await app.inject('/users/ghost/recommendations');
  assert.equal(unknown.statusCode, 404);
  assert.equal(unknown.json().error.code, 'NOT_FOUND');
  const bad = await app.inject(`/users/${ds.userIds[0]}/recommendations?k=lots`);
  assert.equal(bad.statusCode, 400);
  assert.match(bad.json().error.message, /k/);
  assert.equal((await app.inject(`/users/${ds.userIds[0]}/recommendations?category=capes`)).statusCode, 404);
});

test('GET /items/:id/image is a PNG; an unknown item is a 404', async () => {
  const { app, ds } = await ctx;
  const r = await app.inject(`/items/${ds.itemIds[0]}/image`);
  assert.equal(r.statusCode, 200);
  assert.equal(r.headers['content-type'], 'image/png');
  assert.equal(r.rawPayload.subarray(1, 4).toString(), 'PNG');
  assert.equal((await app.inject('/items/nope/image')).statusCode, 404);
});

test('POST /users/:id/designs streams progress and returns image URLs with scores', async () => {
  const { app, ds } = await ctx;
  const r = await app.inject({ method: 'POST', url: `/users/${ds.userIds[0]}/designs`, payload: { category: 'tops', n: 2, steps: 4 } });
  assert.match(r.headers['content-type'] as string, /text\/event-stream/);
  const ev = events(r.body);
  assert.equal(ev.filter((e) => e.event === 'progress').length, 5);
  const done = ev.find((e) => e.event === 'done')!.data as { designs: { url: string; score: number }[]; bestReal: { score: number }[] };
  assert.equal(done.designs.length, 2);
  const img = await app.inject(done.designs[0]!.url);
  assert.equal(img.statusCode, 200);
  assert.equal(img.headers['content-type'], 'image/png');
  assert.ok(done.bestReal.length > 0);
  // kept in the catalogue, listed per shopper
  const kept = (await app.inject(`/users/${ds.userIds[0]}/designs`)).json();
  const mine = kept.designs.find((d: { id: string }) => d.id === (done as unknown as { id: string }).id);
  assert.ok(mine, 'the design is listed');
  assert.equal(mine.kind, 'design');
  assert.equal(mine.category, 'tops');
  assert.deepEqual(
    mine.result.designs.map((d: { score: number }) => d.score),
    done.designs.map((d) => d.score),
  );
  assert.equal((await app.inject('/users/ghost/designs')).statusCode, 404);
});

test('POST /users/:id/designs: bad body 400, unknown user 404, category the GAN left out 404', async () => {
  const { app, ds, guardRanges } = await ctx;
  const u = ds.userIds[0];
  assert.equal((await app.inject({ method: 'POST', url: `/users/${u}/designs`, payload: { category: 'tops', n: 'many' } })).statusCode, 400);
  assert.equal((await app.inject({ method: 'POST', url: `/users/${u}/designs`, payload: { category: 'tops', extra: 1 } })).statusCode, 400);
  assert.equal((await app.inject({ method: 'POST', url: `/users/${u}/designs`, payload: { category: 'tops', taste: 'bold' } })).statusCode, 400);
  const few = await app.inject({ method: 'POST', url: `/users/${u}/designs`, payload: { category: 'tops', n: 4, candidates: 3 } });
  assert.equal(few.statusCode, 400);
  assert.match(few.body, /candidates/);
  // contradictory settings: 400 naming the field
  for (const [payload, field] of [
    [{ category: 'tops', smoothCopies: 2 }, 'smoothCopies'],
    [{ category: 'tops', bound: 'shell', initScale: 0.5 }, 'initScale'],
    [{ category: 'tops', preset: 'fast' }, 'preset'],
  ] as const) {
    const r = await app.inject({ method: 'POST', url: `/users/${u}/designs`, payload });
    assert.equal(r.statusCode, 400, JSON.stringify(payload));
    assert.match(JSON.parse(r.body).error.message, new RegExp(`^${field}: `));
  }
  const wide = await app.inject({ method: 'POST', url: `/users/${u}/designs`, payload: { category: 'tops', guard: 2 } });
  assert.equal(wide.statusCode, 400);
  assert.match(wide.body, /guard/);
  // the distinctive objective, the leash, best-of-N starts and the guard are accepted; their effects are checked in test/design
  const r = await app.inject({
    method: 'POST',
    url: `/users/${u}/designs`,
    payload: { category: 'tops', n: 2, steps: 2, taste: 'distinctive', eta: 3, anchor: 0.5, candidates: 6, guard: 0.95 },
  });
  const done = events(r.body).find((e) => e.event === 'done')!.data as { designs: { score: number; url: string; step: number }[] };
  assert.equal(done.designs.length, 2);
  for (const d of done.designs) assert.ok(Number.isFinite(d.score) && Number.isInteger(d.step) && d.step >= 0 && d.step <= 2, JSON.stringify(d));
  // the same request again reuses the guard's range rather than drawing its reference samples anew
  const again = await app.inject({
    method: 'POST',
    url: `/users/${u}/designs`,
    payload: { category: 'tops', n: 2, steps: 2, taste: 'distinctive', eta: 3, anchor: 0.5, candidates: 6, guard: 0.95 },
  });
  assert.deepEqual(
    (events(again.body).find((e) => e.event === 'done')!.data as typeof done).designs.map((d) => d.score),
    done.designs.map((d) => d.score),
  );
  assert.equal(guardRanges.hits, 1);
  // the shell bound: its own designs, and its own guard range (drawn with shell codes, not the box range above)
  const shell = await app.inject({
    method: 'POST',
    url: `/users/${u}/designs`,
    payload: { category: 'tops', n: 2, steps: 2, taste: 'distinctive', eta: 3, anchor: 0.5, candidates: 6, guard: 0.95, bound: 'shell' },
  });
  const shellDone = events(shell.body).find((e) => e.event === 'done')!.data as typeof done;
  assert.equal(shellDone.designs.length, 2);
  assert.notDeepEqual(
    shellDone.designs.map((d) => d.score),
    done.designs.map((d) => d.score),
  );
  assert.equal(guardRanges.hits, 1);
  const sphere = await app.inject({ method: 'POST', url: `/users/${u}/designs`, payload: { category: 'tops', bound: 'sphere' } });
  assert.equal(sphere.statusCode, 400);
  assert.match(sphere.body, /bound/);
  assert.equal((await app.inject({ method: 'POST', url: '/users/ghost/designs', payload: { category: 'tops' } })).statusCode, 404);
  const hats = await app.inject({ method: 'POST', url: `/users/${u}/designs`, payload: { category: 'hats' } });
  assert.equal(hats.statusCode, 404);
  assert.match(hats.json().error.message, /left out/);
});

test('POST /users/:id/improvements: the original, its reconstruction and the improved design', async () => {
  const { app, ds } = await ctx;
  const item = ds.itemIds.find((_, i) => ds.categories[ds.itemCategory[i]!] === 'shoes')!;
  const r = await app.inject({ method: 'POST', url: `/users/${ds.userIds[1]}/improvements`, payload: { itemId: item, steps: 3 } });
  const evs = events(r.body);
  const done = evs.find((e) => e.event === 'done')!.data as { improved: { url: string; score: number }; original: { score: number } };
  assert.equal(typeof done.improved.score, 'number');
  // queued first, then every step of the projection and of the maximisation, then done
  assert.equal(evs[0]!.event, 'queued');
  const stages = evs.filter((e) => e.event === 'progress').map((e) => (e.data as { stage: string }).stage);
  assert.ok(stages.includes('projection') && stages.at(-1) === 'improve', stages.join(','));
  assert.equal(stages.filter((x) => x === 'improve').length, 3 + 1, 'the start and each of the 3 steps');
  assert.equal(evs.at(-1)!.event, 'done');
  // other requests are answered while an improvement runs (each step yields)
  let healthAt = 0;
  const improving = app.inject({ method: 'POST', url: `/users/${ds.userIds[1]}/improvements`, payload: { itemId: item, steps: 20 } }).then(() => Date.now());
  const health = app.inject('/health').then(() => (healthAt = Date.now()));
  const [improvedAt] = await Promise.all([improving, health]);
  assert.ok(healthAt <= improvedAt, 'health answered while the improvement ran');
  assert.equal((await app.inject(done.improved.url)).statusCode, 200);
  assert.equal((await app.inject({ method: 'POST', url: `/users/${ds.userIds[1]}/improvements`, payload: { itemId: 'nope' } })).statusCode, 404);
});

test('a cancelled design stops its work, and other requests are served while a design runs', async () => {
  const { app, ds } = await ctx;
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const url = new URL(`/users/${ds.userIds[0]}/designs`, address);
    // a long design, cancelled by the client after its first progress event
    let progressSeen = 0;
    await new Promise<void>((resolve, reject) => {
      const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        res.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('event: progress')) {
            progressSeen++;
            req.destroy();
            resolve();
          }
        });
      });
      req.on('error', () => undefined);
      req.end(JSON.stringify({ category: 'tops', n: 2, steps: 400 }));
      setTimeout(() => reject(new Error('no progress')), 20000);
    });
    assert.equal(progressSeen, 1);
    // the design stops: the step counter freezes far below 400 once the cancellation is seen
    const stats = (await ctx).stats;
    for (let i = 0; i < 200 && stats.cancelled === 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(stats.cancelled, 1);
    const steps = stats.designSteps;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(stats.designSteps, steps, 'no step ran after the cancellation');
    assert.ok(steps < 400, `${steps} steps ran`);
    // other requests are served while a design runs
    let healthAt = 0;
    const design = app
      .inject({ method: 'POST', url: `/users/${ds.userIds[0]}/designs`, payload: { category: 'tops', n: 2, steps: 30 } })
      .then(() => Date.now());
    const health = app.inject('/health').then(() => (healthAt = Date.now()));
    const [designAt] = await Promise.all([design, health]);
    assert.ok(healthAt <= designAt, 'health answered while the design ran');
  } finally {
    await app.close();
  }
});

test('concurrent recommendation requests are scored together and answer as one at a time', async () => {
  const t = await tinyRuns();
  const run = loadRun(t.run);
  const batcher = new RecommendBatcher(run.recommender, run.catalogue);
  const asks = t.ds.userIds.flatMap((u, x) => [
    { u, o: { k: 3 } },
    { u, o: { k: 5, category: 'tops', coldOnly: x % 2 === 0 } },
  ]);
  const together = await Promise.all(asks.map((a) => batcher.recommend(a.u, a.o)));
  assert.equal(batcher.stats.batches, 1, 'one scoring pass for requests of the same turn');
  assert.equal(batcher.stats.requests, asks.length);
  asks.forEach((a, x) => {
    const alone = recommend(run.recommender, run.catalogue, [a.u], a.o)[0]!;
    assert.deepEqual(
      together[x]!.items.map((i) => i.itemId),
      alone.items.map((i) => i.itemId),
    );
    // a batched product may round differently in the last bit
    together[x]!.items.forEach((it, r) => assert.ok(Math.abs(it.score - alone.items[r]!.score) < 1e-6));
  });
  await assert.rejects(batcher.recommend('ghost', { k: 3 }), /unknown user 'ghost'/);
  await assert.rejects(batcher.recommend(t.ds.userIds[0]!, { k: 3, category: 'capes' }), /capes/);
});
