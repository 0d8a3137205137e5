/**
 * Designs and improvements for a shopper (streamed as server-sent events, one at a time, a client
 * that leaves cancels its design) and the images they leave. Each handler checks its request
 * before it starts streaming (unknown shopper, category or item: a 4xx) and calls src/app/designs.ts.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { BadInputError, CancelledError, NotFoundError } from '../../core/errors.js';
import { planDesign, planImprovement, runDesignPlan, runImprovePlanAsync, writeTile } from '../../app/designs.js';
import { designRequestSchema, IMPROVE_DEFAULTS } from '../../config/design.js';
import { userIndexOf } from '../../store/run.js';
import { errorStatus } from '../errors.js';
import { imageUrl, sse, type Served } from '../context.js';

/** The body: a category, and the design request every caller shares (config/design.ts), within this server's limits. */
const designBody = z.object({ category: z.string().min(1) }).passthrough();
function parseDesignBody(raw: unknown) {
  const { category, ...rest } = designBody.parse(raw ?? {});
  const r = designRequestSchema.parse(rest);
  // scored in one synchronous pass before the first step (best-of-N): capped so that other requests are not held up
  const caps = { n: 32, steps: 500, candidates: 512, smoothCopies: 8 } as const;
  for (const [field, max] of Object.entries(caps)) {
    const v = r[field as keyof typeof caps];
    if (v > max) throw new BadInputError(`${field}: this server takes at most ${max}, got ${v}`);
  }
  return { category, ...r };
}
const improveBody = z
  .object({
    itemId: z.string().min(1),
    steps: z.number().int().min(0).max(500).default(IMPROVE_DEFAULTS.steps),
    seed: z.number().int().min(0).default(IMPROVE_DEFAULTS.seed),
  })
  .strict();

type WithId = FastifyRequest<{ Params: { id: string } }>;

export function designRoutes(app: FastifyInstance, ctx: Served): void {
  const { run } = ctx;
  const zoomOf = (size: number) => (size < 48 ? 2 : 1);
  // an error once the stream has started: its status, code and message for the client, the rest logged
  const streamed = (err: unknown) => {
    const { logged, ...e } = errorStatus(err);
    if (logged) ctx.log({ status: e.status, code: e.code, error: logged });
    return e;
  };

  app.get('/designs/:name', async (req: FastifyRequest<{ Params: { name: string } }>, reply) => {
    if (!/^[0-9a-f-]{36}-\d+\.png$/.test(req.params.name)) throw new NotFoundError('design image', req.params.name);
    const path = join(ctx.designsDir, req.params.name);
    if (!existsSync(path)) throw new NotFoundError('design image', req.params.name);
    return reply.type('image/png').send(readFileSync(path));
  });

  // a shopper's design or a segment's: the same request, the same stream
  const design = async (req: WithId, reply: FastifyReply, who: { userId: string; segment?: string }) => {
    const body = parseDesignBody(req.body);
    if (body.n * body.steps > ctx.maxDesignWork)
      throw new BadInputError(`n × steps = ${body.n} × ${body.steps} = ${body.n * body.steps}: this server takes at most ${ctx.maxDesignWork} per design`);
    const plan = planDesign(run, ctx.needGan(), { ...who, ...body }, ctx.guardRanges);
    ctx.admit();
    const send = sse(reply);
    const abort = new AbortController();
    // the response's 'close' (not the request's: that fires once the body is read) = the client left
    reply.raw.on('close', () => abort.abort());
    send('queued', { ...who, category: body.category });
    try {
      const d = await ctx.serial(() =>
        runDesignPlan(run, plan, {
          signal: abort.signal,
          onStep: (p) => {
            ctx.stats.designSteps++;
            send('progress', { step: p.step, steps: p.steps, best: Math.max(...p.scores) });
          },
        }),
      );
      const id = randomUUID();
      const gs = d.design.imageSize;
      const designs = [];
      for (let k = 0; k < body.n; k++) {
        await writeTile(join(ctx.designsDir, `${id}-${k}.png`), d.design.images.subarray(k * gs * gs * 3, (k + 1) * gs * gs * 3), gs, zoomOf(gs));
        // the shopper's own θ_uᵀΦ; with the guard, the step of the search each design was kept from (0: its start)
        designs.push({
          url: `/designs/${id}-${k}.png`,
          score: d.design.finalScores[k]!,
          realism: d.design.realism[k]!,
          ...(d.design.guard ? { step: d.design.guard.chosenStep[k]! } : {}),
        });
      }
      const result = { designs, bestReal: d.bestReal.map((it) => ({ itemId: it.itemId, score: it.score, image: imageUrl(it.itemId) })) };
      ctx.store?.recordDesign({ id, userId: who.userId, kind: 'design', category: body.category, result });
      send('done', { id, ...(who.segment !== undefined ? { segment: who.segment, members: run.catalogue.segments.get(who.segment)!.length } : {}), ...result });
    } catch (err) {
      if (err instanceof CancelledError) ctx.stats.cancelled++;
      else send('error', { error: streamed(err) });
    } finally {
      reply.raw.end();
    }
  };

  app.post('/users/:id/designs', async (req: WithId, reply) => design(req, reply, { userId: req.params.id }));

  // segments of shoppers (`atelier segments`): their sizes, and designs for a segment's taste
  app.get('/segments', async () => ({
    segments: [...run.catalogue.segments].map(([name, members]) => ({ name, members: members.length })),
  }));
  app.post('/segments/:id/designs', async (req: WithId, reply) => design(req, reply, { userId: `segment ${req.params.id}`, segment: req.params.id }));

  app.post('/users/:id/improvements', async (req: WithId, reply) => {
    const body = improveBody.parse(req.body ?? {});
    const g = ctx.needGan();
    userIndexOf(run.catalogue, req.params.id);
    const plan = planImprovement(run, g, { userId: req.params.id, itemId: body.itemId, steps: body.steps, seed: body.seed });
    ctx.admit();
    const send = sse(reply);
    const abort = new AbortController();
    // the client left: the improvement stops at its next step (as a design does)
    reply.raw.on('close', () => abort.abort());
    send('queued', { userId: req.params.id, itemId: body.itemId });
    try {
      // each step yields to the event loop: other requests are served while it runs
      const r = await ctx.serial(() =>
        runImprovePlanAsync(run, g, plan, {
          signal: abort.signal,
          onStep: (p) => send('progress', { stage: p.stage, step: p.step, steps: p.steps }),
        }),
      );
      const id = randomUUID();
      const gs = r.imageSize;
      const urls = [];
      for (const [k, img] of [r.result.projection.reconstruction, r.result.design.images].entries()) {
        await writeTile(join(ctx.designsDir, `${id}-${k}.png`), img, gs, zoomOf(gs));
        urls.push(`/designs/${id}-${k}.png`);
      }
      const result = {
        original: { itemId: body.itemId, image: imageUrl(body.itemId), score: r.scores.original },
        reconstruction: { url: urls[0], l1: r.result.projection.l1.at(-1) },
        improved: { url: urls[1], score: r.scores.improved },
        trajectory: r.result.design.scores.map((s) => s[0]),
      };
      ctx.store?.recordDesign({ id, userId: req.params.id, kind: 'improvement', category: plan.category, itemId: body.itemId, result });
      send('done', { id, ...result });
    } catch (err) {
      if (err instanceof CancelledError) ctx.stats.cancelled++;
      else send('error', { error: streamed(err) });
    } finally {
      reply.raw.end();
    }
  });
}
