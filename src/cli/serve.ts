/** `atelier serve`: loads a saved run (and a GAN) without the training data and serves the API and the page. */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BadInputError } from '../core/errors.js';
import { buildServer } from '../server/app.js';
import { CatalogueStore } from '../store/catalogue-db.js';
import { loadGanRun } from '../store/gan-run.js';
import { LanceIndex } from '../store/lance-index.js';
import { loadRun } from '../store/run.js';

export async function runServe(o: { run: string; gan?: string; port: string; host: string; designs?: string; index?: string }): Promise<string> {
  const port = Number(o.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new BadInputError(`--port must be 0..65535, got '${o.port}'`);
  const run = loadRun(o.run);
  const gan = o.gan ? loadGanRun(o.gan) : undefined;
  const page = readFileSync(new URL('../../web/index.html', import.meta.url), 'utf8');
  if (o.index !== undefined && o.index !== 'exact' && o.index !== 'lance') throw new BadInputError(`--index must be exact or lance, got '${o.index}'`);
  const index = o.index === 'lance' ? await LanceIndex.open(o.run) : undefined;
  const store = CatalogueStore.open(o.run);
  const app = await buildServer({ run, gan, store, index, designsDir: resolve(o.designs ?? join(o.run, 'served-designs')), page });
  app.addHook('onClose', async () => {
    store.close();
    index?.close();
  });
  return app.listen({ port, host: o.host });
}
