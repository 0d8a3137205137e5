/** Shoppers: the list, one shopper's purchases, recommendations, and the designs kept for them. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { priorWeight } from '../../config/dvbpr.js';
import { decimal } from '../../config/parse.js';
import { recommendIndexed } from '../../store/lance-index.js';
import { RecommendBatcher } from '../../store/recommend.js';
import { purchasesOf, userIndexOf } from '../../store/run.js';
import { imageUrl, type Served } from '../context.js';
import { InvalidArgumentError } from '../../core/errors.js';
import { runPrior } from '../../app/evaluate.js';

const recQuery = z
  .object({
    k: decimal(z.number().int().min(1).max(1000)).default(10),
    category: z.string().min(1).optional(),
    coldOnly: z.enum(['true', 'false', '1', '0']).optional(),
    /** α of the popularity prior (default: the run's, chosen on validation; 0: the model alone) */
    prior: decimal(priorWeight).optional(),
    /** β of the recency prior (default: the run's; 0: off) */
    recency: decimal(priorWeight).optional(),
    /** γ of the category prior (default: the run's; 0: off) */
    affinity: decimal(priorWeight).optional(),
    /** δ of the product prior (default: the run's; 0: off) */
    product: decimal(priorWeight).optional(),
  })
  .strict();
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
    const q = recQuery.parse(req.query);
    const coldOnly = q.coldOnly === 'true' || q.coldOnly === '1';
    if (ctx.index) {
      // the approximate index answers by the model's inner product alone
      if (q.prior) throw new InvalidArgumentError('prior: the LanceDB index ranks by the model alone; serve without --index for a popularity prior');
      if (q.recency) throw new InvalidArgumentError('recency: the LanceDB index ranks by the model alone; serve without --index for a recency prior');
      if (q.affinity) throw new InvalidArgumentError('affinity: the LanceDB index ranks by the model alone; serve without --index for a category prior');
      if (q.product) throw new InvalidArgumentError('product: the LanceDB index ranks by the model alone; serve without --index for a product prior');
      const r = await recommendIndexed(ctx.index, run, req.params.id, { k: q.k, category: q.category, coldOnly });
      return {
        userId: r.userId,
        index: 'lance',
        prior: 0,
        recency: 0,
        affinity: 0,
        product: 0,
        items: r.items.map((it) => ({ ...it, image: imageUrl(it.itemId) })),
      };
    }
    const p = runPrior(run);
    const prior = q.prior ?? p.alpha;
    const recency = q.recency ?? p.beta;
    const affinity = q.affinity ?? p.gamma;
    const product = q.product ?? p.delta;
    const r = await batcher.recommend(req.params.id, { k: q.k, category: q.category, coldOnly, prior, recency, affinity, product });
    return { userId: r.userId, prior, recency, affinity, product, items: r.items.map((it) => ({ ...it, image: imageUrl(it.itemId) })) };
  });

  app.get('/users/:id/designs', async (req: WithId) => {
    userIndexOf(cat, req.params.id);
    return { userId: req.params.id, designs: ctx.store ? ctx.store.designsOf(req.params.id) : [] };
  });
}
