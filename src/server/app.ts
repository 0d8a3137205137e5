/**
 * The HTTP API (fastify). Thin: validate with zod, call the library, map errors to statuses in
 * one place (`errorStatus`). Designs and improvements stream progress as server-sent events and
 * run one at a time, yielding to the event loop between steps, so other requests are served
 * meanwhile; a client that goes away cancels its design.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z, ZodError } from 'zod';
import { AtelierError, BadInputError, NotFoundError } from '../core/errors.js';
import { encodePng, grid, writePng } from '../data/png.js';
import { improveItem } from '../design/improve.js';
import { GuardRangeCache, maximisePreferenceAsync } from '../design/maximise.js';
import { ganCategoryIndex, type LoadedGan } from '../store/gan-run.js';
import { designModels, designOptionsOf, itemPixels, objectiveThetaOf, resizeU8, scoresOf, thetaOf } from '../store/designs.js';
import type { CatalogueStore } from '../store/catalogue-db.js';
import { recommendIndexed, type LanceIndex } from '../store/lance-index.js';
import { addItem } from '../store/new-item.js';
import { recommend, RecommendBatcher } from '../store/recommend.js';
import { categoryIndexOf, purchasesOf, userIndexOf, type LoadedRun } from '../store/run.js';

export interface ServerContext {
  run: LoadedRun;
  /** the run's catalogue opened for writing: new items (POST /items) and designs are kept in it */
  store?: CatalogueStore;
  /** an approximate index (LanceDB) answering recommendations instead of exact search */
  index?: LanceIndex;
  /** largest photo accepted by POST /items, bytes (default 10 MiB) */
  maxUploadBytes?: number;
  gan?: LoadedGan;
  /** where generated images are written and served from */
  designsDir: string;
  /** the web page (web/index.html) */
  page?: string;
  /** counters the server keeps (steps run by designs, designs cancelled by their client) */
  stats?: { designSteps: number; cancelled: number };
  /** the realism guard's ranges, drawn once per category and seed while the server's models stay loaded */
  guardRanges?: GuardRangeCache;
}

/** The one place where errors become HTTP statuses. */
export function errorStatus(err: unknown): { status: number; code: string; message: string } {
  if (err instanceof ZodError) {
    const i = err.issues[0]!;
    return { status: 400, code: 'BAD_INPUT', message: `${i.path.join('.') || 'body'}: ${i.message}` };
  }
  if (err instanceof AtelierError) {
    const status = err.code === 'NOT_FOUND' ? 404 : err.code === 'CONFLICT' ? 409 : err.code === 'BAD_INPUT' || err.code === 'SHAPE_MISMATCH' ? 400 : 500;
    return { status, code: err.code, message: err.message };
  }
  const e = err as { statusCode?: number; code?: string; message?: string };
  if (e && typeof e.statusCode === 'number' && e.statusCode < 500) return { status: e.statusCode, code: e.code ?? 'BAD_REQUEST', message: e.message ?? 'bad request' };
  return { status: 500, code: 'INTERNAL', message: (err as Error)?.message ?? 'internal error' };
}

const recQuery = z
  .object({
    k: z.coerce.number().int().min(1).max(1000).default(10),
    category: z.string().min(1).optional(),
    coldOnly: z.enum(['true', 'false', '1', '0']).optional(),
  })
  .strict();
const designBody = z
  .object({
    category: z.string().min(1),
    n: z.number().int().min(1).max(32).default(8),
    steps: z.number().int().min(0).max(500).default(50),
    seed: z.number().int().min(0).default(1),
    eta: z.number().min(0).max(1000).default(1),
    taste: z.enum(['own', 'distinctive']).default('own'),
    anchor: z.number().min(0).max(1000).default(0),
    // scored in one synchronous pass before the first step: capped so that other requests are not held up
    candidates: z.number().int().min(1).max(512).optional(),
    // the realism guard's share (0 = off); its 256 reference samples are drawn in one pass too
    guard: z.number().min(0).max(1).default(0),
    // the latent bound: 'box' z = tanh(w) (the paper), 'shell' ‖z‖ = √d (see LatentBound)
    bound: z.enum(['box', 'shell']).default('box'),
  })
  .strict()
  .refine((b) => b.candidates === undefined || b.candidates >= b.n, { message: 'candidates must be at least n', path: ['candidates'] });
const improveBody = z.object({ itemId: z.string().min(1), steps: z.number().int().min(0).max(500).default(50), seed: z.number().int().min(0).default(1) }).strict();
const itemFields = z.object({ category: z.string().min(1), itemId: z.string().min(1).optional() }).strict();
const usersQuery = z.object({ limit: z.coerce.number().int().min(1).max(10000).default(100), offset: z.coerce.number().int().min(0).default(0) }).strict();

function sse(reply: FastifyReply): (event: string, data: unknown) => void {
  reply.hijack();
  reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  return (event, data) => reply.raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

export async function buildServer(ctx: ServerContext): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 1 << 20 });
  const { run } = ctx;
  const cat = run.catalogue;
  const stats = (ctx.stats ??= { designSteps: 0, cancelled: 0 });
  const guardRanges = (ctx.guardRanges ??= new GuardRangeCache());
  // concurrent recommendation requests share one scoring pass
  const batcher = new RecommendBatcher(run.recommender, cat);
  mkdirSync(ctx.designsDir, { recursive: true });
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = queue.then(fn, fn);
    queue = p.catch(() => undefined);
    return p;
  };
  const userIdx = (id: string) => userIndexOf(cat, id);
  const needGan = (): LoadedGan => {
    if (!ctx.gan) throw new AtelierError('BAD_INPUT', 'this server was started without --gan: designs are not available');
    return ctx.gan;
  };
  const itemImage = (i: number) => ({ tile: itemPixels(run, i), size: run.manifest.dataset.imageSize });

  app.setErrorHandler((err, _req, reply) => {
    const e = errorStatus(err);
    void reply.status(e.status).send({ error: { code: e.code, message: e.message } });
  });
  app.setNotFoundHandler((req, reply) => void reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url}` } }));

  app.get('/health', async () => ({ status: 'ok', users: cat.userIds.length, items: cat.itemIds.length, gan: Boolean(ctx.gan) }));

  app.get('/runs', async () => ({
    run: { dir: run.dir, kind: run.manifest.kind, name: run.manifest.name, metrics: run.manifest.metrics, dataset: run.manifest.dataset, seed: run.manifest.seed, versions: run.manifest.versions },
    gan: ctx.gan ? { dir: ctx.gan.dir, categories: ctx.gan.manifest.categories, metrics: { bestSnapshot: ctx.gan.manifest.metrics.bestSnapshot, final: ctx.gan.manifest.metrics.final } } : null,
  }));

  app.get('/users', async (req) => {
    const q = usersQuery.parse(req.query);
    return { total: cat.userIds.length, users: cat.userIds.slice(q.offset, q.offset + q.limit) };
  });

  app.get('/users/:id', async (req: FastifyRequest<{ Params: { id: string } }>) => {
    const u = userIdx(req.params.id);
    return {
      userId: req.params.id,
      purchases: Array.from(purchasesOf(cat, u), (i) => ({ itemId: cat.itemIds[i]!, category: cat.categories[cat.itemCategory[i]!]!, image: `/items/${encodeURIComponent(cat.itemIds[i]!)}/image` })),
    };
  });

  app.get('/users/:id/recommendations', async (req: FastifyRequest<{ Params: { id: string } }>) => {
    const q = recQuery.parse(req.query);
    const coldOnly = q.coldOnly === 'true' || q.coldOnly === '1';
    if (ctx.index) {
      const r = await recommendIndexed(ctx.index, run, req.params.id, { k: q.k, category: q.category, coldOnly });
      return { userId: r.userId, index: 'lance', items: r.items.map((it) => ({ ...it, image: `/items/${encodeURIComponent(it.itemId)}/image` })) };
    }
    const r = await batcher.recommend(req.params.id, { k: q.k, category: q.category, coldOnly });
    return { userId: r.userId, items: r.items.map((it) => ({ ...it, image: `/items/${encodeURIComponent(it.itemId)}/image` })) };
  });

  const maxUpload = ctx.maxUploadBytes ?? 10 << 20;
  await app.register(multipart, { limits: { fileSize: maxUpload, files: 1, fields: 4, fieldSize: 1024, parts: 5 } });

  app.post('/items', async (req, reply) => {
    if (!req.isMultipart()) throw new BadInputError('send multipart/form-data with a photo file and a category field');
    const store = ctx.store;
    if (!store) throw new AtelierError('BAD_INPUT', 'this server was started with a read-only catalogue: new items are not accepted');
    const fields: Record<string, string> = {};
    let photo: Buffer | undefined;
    let source = 'upload';
    for await (const part of req.parts()) {
      if (part.type === 'file') {
        if (part.fieldname !== 'photo') throw new BadInputError(`unexpected file field '${part.fieldname}' (send the image as 'photo')`);
        photo = await part.toBuffer(); // throws a 413 past the size limit
        source = part.filename || 'upload';
      } else {
        fields[part.fieldname] = String(part.value);
      }
    }
    const body = itemFields.parse(fields);
    if (!photo || photo.length === 0) throw new BadInputError('photo: missing (send the image as a file field named photo)');
    const { embedding, ...added } = await addItem(run, store, { photo, category: body.category, itemId: body.itemId, source });
    await ctx.index?.add(added.index, embedding, embedding.length, Int32Array.of(cat.itemCategory[added.index]!), Uint8Array.of(1));
    return reply.status(201).send({ ...added, cold: true, image: `/items/${encodeURIComponent(added.itemId)}/image` });
  });

  app.get('/users/:id/designs', async (req: FastifyRequest<{ Params: { id: string } }>) => {
    userIdx(req.params.id);
    return { userId: req.params.id, designs: ctx.store ? ctx.store.designsOf(req.params.id) : [] };
  });

  app.get('/categories', async () => ({ categories: cat.categories, designable: ctx.gan ? ctx.gan.manifest.categories : [] }));

  app.get('/items/:id/image', async (req: FastifyRequest<{ Params: { id: string } }>, reply) => {
    const i = cat.itemIndex.get(req.params.id);
    if (i === undefined) throw new NotFoundError('item', req.params.id);
    const { tile, size } = itemImage(i);
    return reply.type('image/png').send(await encodePng(grid(tile, 1, { size, cols: 1, pad: 0, zoom: size < 48 ? 2 : 1 })));
  });

  app.get('/designs/:name', async (req: FastifyRequest<{ Params: { name: string } }>, reply) => {
    if (!/^[0-9a-f-]{36}-\d+\.png$/.test(req.params.name)) throw new NotFoundError('design image', req.params.name);
    const path = join(ctx.designsDir, req.params.name);
    if (!existsSync(path)) throw new NotFoundError('design image', req.params.name);
    return reply.type('image/png').send(readFileSync(path));
  });

  app.post('/users/:id/designs', async (req: FastifyRequest<{ Params: { id: string } }>, reply) => {
    const body = designBody.parse(req.body ?? {});
    const g = needGan();
    userIdx(req.params.id);
    categoryIndexOf(cat, body.category);
    const c = ganCategoryIndex(g, body.category);
    const theta = thetaOf(run, req.params.id);
    const objective = objectiveThetaOf(run, req.params.id, body.taste);
    const send = sse(reply);
    const abort = new AbortController();
    // the response's 'close' (not the request's: that fires once the body is read) = the client left
    reply.raw.on('close', () => abort.abort());
    send('queued', { userId: req.params.id, category: body.category });
    try {
      const d = await serial(() =>
        maximisePreferenceAsync(designModels(run, g), designOptionsOf(run, { userId: req.params.id, ...body }, c, objective, guardRanges), {
          signal: abort.signal,
          onStep: (p) => {
            stats.designSteps++;
            send('progress', { step: p.step, steps: p.steps, best: Math.max(...p.scores) });
          },
        }),
      );
      const id = randomUUID();
      const gs = d.imageSize;
      const own = objective === theta ? d.finalScores : scoresOf(run, theta, d.images, body.n, gs); // the shopper's own θ_uᵀΦ
      const designs = [];
      for (let k = 0; k < body.n; k++) {
        await writePng(join(ctx.designsDir, `${id}-${k}.png`), grid(d.images.subarray(k * gs * gs * 3, (k + 1) * gs * gs * 3), 1, { size: gs, cols: 1, pad: 0, zoom: gs < 48 ? 2 : 1 }));
        // with the guard: the step of the search each design was kept from (0: its start)
        designs.push({ url: `/designs/${id}-${k}.png`, score: own[k]!, realism: d.realism[k]!, ...(d.guard ? { step: d.guard.chosenStep[k]! } : {}) });
      }
      const [best] = recommend(run.recommender, cat, [req.params.id], { k: body.n, category: body.category });
      const result = { designs, bestReal: best!.items.map((it) => ({ itemId: it.itemId, score: it.score, image: `/items/${encodeURIComponent(it.itemId)}/image` })) };
      ctx.store?.recordDesign({ id, userId: req.params.id, kind: 'design', category: body.category, result });
      send('done', { id, ...result });
    } catch (err) {
      if ((err as Error).name === 'AbortError') stats.cancelled++;
      else send('error', { error: errorStatus(err) });
    } finally {
      reply.raw.end();
    }
  });

  app.post('/users/:id/improvements', async (req: FastifyRequest<{ Params: { id: string } }>, reply) => {
    const body = improveBody.parse(req.body ?? {});
    const g = needGan();
    userIdx(req.params.id);
    const i = cat.itemIndex.get(body.itemId);
    if (i === undefined) throw new NotFoundError('item', body.itemId);
    const c = ganCategoryIndex(g, cat.categories[cat.itemCategory[i]!]!);
    const theta = thetaOf(run, req.params.id);
    const send = sse(reply);
    try {
      const gs = g.manifest.config.imageSize;
      const { tile, size } = itemImage(i);
      send('progress', { stage: 'projection' });
      const r = await serial(async () => improveItem(designModels(run, g), { image: resizeU8(tile, 1, size, gs), category: c, starts: 8, steps: 100, lr: 0.05, alpha: 0.01, seed: body.seed, theta, improveSteps: body.steps, improveLr: 0.05, eta: 1, gamma: 0.5 }));
      const id = randomUUID();
      const urls = [];
      for (const [k, img] of [r.projection.reconstruction, r.design.images].entries()) {
        await writePng(join(ctx.designsDir, `${id}-${k}.png`), grid(img, 1, { size: gs, cols: 1, pad: 0, zoom: gs < 48 ? 2 : 1 }));
        urls.push(`/designs/${id}-${k}.png`);
      }
      const original = run.recommender.scoreUsers(Int32Array.from([userIdx(req.params.id)]))[i]!;
      const result = {
        original: { itemId: body.itemId, image: `/items/${encodeURIComponent(body.itemId)}/image`, score: original },
        reconstruction: { url: urls[0], l1: r.projection.l1.at(-1) },
        improved: { url: urls[1], score: r.design.finalScores[0] },
        trajectory: r.design.scores.map((s) => s[0]),
      };
      ctx.store?.recordDesign({ id, userId: req.params.id, kind: 'improvement', category: cat.categories[cat.itemCategory[i]!]!, itemId: body.itemId, result });
      send('done', { id, ...result });
    } catch (err) {
      send('error', { error: errorStatus(err) });
    } finally {
      reply.raw.end();
    }
  });

  app.get('/', async (_req, reply) => reply.type('text/html').send(ctx.page ?? '<p>Atelier API: see /health, /runs, /users</p>'));
  return app;
}
