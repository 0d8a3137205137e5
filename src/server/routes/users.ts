/** Shoppers: the list, one shopper's purchases, recommendations, and the designs kept for them. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { priorWeight } from '../../config/dvbpr.js';
import { decimal } from '../../config/parse.js';
import { recommendIndexed } from '../../store/lance-index.js';
import { RecommendBatcher } from '../../store/recommend.js';
import { purchasesOf, userIndexOf } from '../../store/run.js';
import { imageUrl, type Served } from '../context.js';
import { requestPolicy } from '../../app/evaluate.js';
import { registeredPriors } from '../../models/ranking/index.js';

/** The query of a recommendation request, from the prior registry as it is now (a prior registered later is a key at once). */
export function recommendationQuery() {
  return z
    .object({
      k: decimal(z.number().int().min(1).max(1000)).default(10),
      category: z.string().min(1).optional(),
      coldOnly: z.enum(['true', 'false', '1', '0']).optional(),
      /** the run's ranking policy (default) or, 0/false, the model's own order */
      prior: z.enum(['true', 'false', '1', '0']).optional(),
      /** one weight per registered prior, `prior-<name>`, over the run's policy (0: that prior off) */
      ...Object.fromEntries(registeredPriors().map((p) => [`prior-${p.name}`, decimal(priorWeight).optional()])),
    })
    .strict();
}
const usersQuery = z.object({ limit: decimal(z.number().int().min(1).max(10000)).default(100), offset: decimal(z.number().int().min(0)).default(0) }).strict();

type WithId = FastifyRequest<{ Params: { id: string } }>;

export function userRoutes(app: FastifyInstance, ctx: Served): void {
  const { run } = ctx;
  const cat = run.catalogue;
  // concurrent recommendation requests share one scoring pass
  const batcher = new RecommendBatcher(run.recommender, cat);

  app.get('/users', async (req) => {
    const q = usersQuery.parse(req.query);
    return { total: cat.userIds.length, users: cat.userIds.slice(q.offset, q.offset + q.limit) };
  });

  app.get('/users/:id', async (req: WithId) => {
    const u = userIndexOf(cat, req.params.id);
    return {
      userId: req.params.id,
      purchases: Array.from(purchasesOf(cat, u), (i) => ({
        itemId: cat.itemIds[i]!,
        category: cat.categories[cat.itemCategory[i]!]!,
        image: imageUrl(cat.itemIds[i]!),
      })),
    };
  });

  app.get('/users/:id/recommendations', async (req: WithId) => {
    const q = recommendationQuery().parse(req.query);
    const coldOnly = q.coldOnly === 'true' || q.coldOnly === '1';
    const priors: Record<string, number> = {};
    for (const p of registeredPriors()) {
      const w = (q as Record<string, unknown>)[`prior-${p.name}`];
      if (typeof w === 'number') priors[p.name] = w;
    }
    const policy = requestPolicy(run, priors, !(q.prior === 'false' || q.prior === '0'));
    const r = ctx.index
      ? // the approximate index nominates candidates, the policy ranks them
        await recommendIndexed(ctx.index, run, req.params.id, { k: q.k, category: q.category, coldOnly, policy })
      : await batcher.recommend(req.params.id, { k: q.k, category: q.category, coldOnly, policy });
    return {
      userId: r.userId,
      ...(ctx.index ? { index: 'lance' } : {}),
      policy,
      items: r.items.map((it) => ({ ...it, image: imageUrl(it.itemId) })),
    };
  });

  app.get('/users/:id/designs', async (req: WithId) => {
    userIndexOf(cat, req.params.id);
    return { userId: req.params.id, designs: ctx.store ? ctx.store.designsOf(req.params.id) : [] };
  });
}
