/**
 * The HTTP API (fastify). Thin: each resource's routes in routes/ validate with zod and call
 * src/app/; errors become statuses in one place (errors.ts). Designs and improvements stream
 * progress as server-sent events and run one at a time, yielding to the event loop between steps,
 * so other requests are served meanwhile; a client that goes away cancels its design.
 */
import { mkdirSync } from 'node:fs';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance } from 'fastify';
import { GuardRangeCache } from '../design/maximise.js';
import { served, type ServerContext } from './context.js';
import { errorStatus } from './errors.js';
import { frontDoor, pagePolicy, SAFE_HEADERS } from './front-door.js';
import { BusyError } from '../core/errors.js';
import { designRoutes } from './routes/designs.js';
import { itemRoutes } from './routes/items.js';
import { userRoutes } from './routes/users.js';

export async function buildServer(context: ServerContext): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 1 << 20 });
  const ctx = served(context, new GuardRangeCache());
  const { run } = ctx;
  mkdirSync(ctx.designsDir, { recursive: true });

  app.setErrorHandler((err, req, reply) => {
    const e = errorStatus(err);
    if (e.logged) ctx.log({ status: e.status, code: e.code, method: req.method, url: req.url, error: e.logged });
    if (err instanceof BusyError) void reply.header('retry-after', String(err.retryAfterSeconds));
    void reply.status(e.status).send({ error: { code: e.code, message: e.message } });
  });
  app.addHook('onRequest', async (req, reply) => {
    void reply.headers(SAFE_HEADERS);
    frontDoor(req.method, req.headers, ctx.allowedHosts);
  });
  app.setNotFoundHandler((req, reply) => void reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url}` } }));
  await app.register(multipart, { limits: { fileSize: ctx.maxUploadBytes ?? 10 << 20, files: 1, fields: 4, fieldSize: 1024, parts: 5 } });

  app.get('/health', async () => ({ status: 'ok', users: run.catalogue.userIds.length, items: run.catalogue.itemIds.length, gan: Boolean(ctx.gan) }));
  // what was trained, not where it lies on the server's disk
  app.get('/runs', async () => {
    const { path: _path, ...dataset } = run.manifest.dataset;
    return {
      run: {
        kind: run.manifest.kind,
        name: run.manifest.name,
        metrics: run.manifest.metrics,
        dataset,
        seed: run.manifest.seed,
        versions: run.manifest.versions,
      },
      gan: ctx.gan
        ? { categories: ctx.gan.manifest.categories, metrics: { bestSnapshot: ctx.gan.manifest.metrics.bestSnapshot, final: ctx.gan.manifest.metrics.final } }
        : null,
    };
  });
  userRoutes(app, ctx);
  itemRoutes(app, ctx);
  designRoutes(app, ctx);
  const page = ctx.page ?? '<p>Atelier API: see /health, /runs, /users</p>';
  const policy = pagePolicy(page);
  app.get('/', async (_req, reply) => reply.type('text/html').header('content-security-policy', policy).send(page));
  return app;
}
