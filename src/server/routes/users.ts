/** Shoppers: the list, one shopper's purchases, recommendations, and the designs kept for them. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { recommendIndexed } from '../../store/lance-index.js';
import { RecommendBatcher } from '../../store/recommend.js';
import { purchasesOf, userIndexOf } from '../../store/run.js';
import { imageUrl, type Served } from '../context.js';

const recQuery = z
  .object({
    k: z.coerce.number().int().min(1).max(1000).default(10),
    category: z.string().min(1).optional(),
    coldOnly: z.enum(['true', 'false', '1', '0']).optional(),
  })
  .strict();
const usersQuery = z.object({ limit: z.coerce.number().int().min(1).max(10000).default(100), offset: z.coerce.number().int().min(0).default(0) }).strict();

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
    const q = recQuery.parse(req.query);
    const coldOnly = q.coldOnly === 'true' || q.coldOnly === '1';
    if (ctx.index) {
      const r = await recommendIndexed(ctx.index, run, req.params.id, { k: q.k, category: q.category, coldOnly });
      return { userId: r.userId, index: 'lance', items: r.items.map((it) => ({ ...it, image: imageUrl(it.itemId) })) };
    }
    const r = await batcher.recommend(req.params.id, { k: q.k, category: q.category, coldOnly });
    return { userId: r.userId, items: r.items.map((it) => ({ ...it, image: imageUrl(it.itemId) })) };
  });

  app.get('/users/:id/designs', async (req: WithId) => {
    userIndexOf(cat, req.params.id);
    return { userId: req.params.id, designs: ctx.store ? ctx.store.designsOf(req.params.id) : [] };
  });
}
