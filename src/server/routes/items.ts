/** Items: their images, the categories, and new items from a photo (POST /items). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AtelierError, BadInputError, NotFoundError } from '../../core/errors.js';
import { itemPixels } from '../../app/designs.js';
import { encodePng, grid } from '../../app/figures.js';
import { addItem } from '../../store/new-item.js';
import { imageUrl, type Served } from '../context.js';

const itemFields = z
  .object({
    category: z.string().min(1),
    itemId: z.string().min(1).optional(),
    /** the product it is another colour of (the product prior lifts it for the shoppers who bought that product) */
    product: z.string().min(1).max(128).optional(),
  })
  .strict();

export function itemRoutes(app: FastifyInstance, ctx: Served): void {
  const { run } = ctx;
  const cat = run.catalogue;

  app.get('/categories', async () => ({ categories: cat.categories, designable: ctx.gan ? ctx.gan.manifest.categories : [] }));

  app.get('/items/:id/image', async (req: FastifyRequest<{ Params: { id: string } }>, reply) => {
    const i = cat.itemIndex.get(req.params.id);
    if (i === undefined) throw new NotFoundError('item', req.params.id);
    const size = run.manifest.dataset.imageSize;
    return reply.type('image/png').send(await encodePng(grid(itemPixels(run, i), 1, { size, cols: 1, pad: 0, zoom: size < 48 ? 2 : 1 })));
  });

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
    const { embedding, ...added } = await addItem(run, store, {
      photo,
      category: body.category,
      itemId: body.itemId,
      source,
      ...(body.product ? { product: body.product } : {}),
    });
    await ctx.index?.add(added.index, embedding, embedding.length, Int32Array.of(cat.itemCategory[added.index]!), Uint8Array.of(1));
    return reply.status(201).send({ ...added, cold: true, image: imageUrl(added.itemId) });
  });
}
