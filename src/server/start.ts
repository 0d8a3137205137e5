/** Loads a saved run (and a GAN) without the training data and serves the API and the page. */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CatalogueStore } from '../store/catalogue-db.js';
import { loadGanRun } from '../store/gan-run.js';
import { LanceIndex } from '../store/lance-index.js';
import { loadRun } from '../store/run.js';
import { buildServer } from './app.js';

export interface StartOptions {
  run: string;
  gan?: string;
  port: number;
  host: string;
  designs?: string;
  index: 'exact' | 'lance';
}

/** Listens; returns the URL. */
export async function startServer(o: StartOptions): Promise<string> {
  const run = loadRun(o.run);
  const gan = o.gan ? loadGanRun(o.gan) : undefined;
  const page = readFileSync(new URL('../../web/index.html', import.meta.url), 'utf8');
  const index = o.index === 'lance' ? await LanceIndex.open(o.run) : undefined;
  const store = CatalogueStore.open(o.run);
  const app = await buildServer({ run, gan, store, index, designsDir: resolve(o.designs ?? join(o.run, 'served-designs')), page });
  app.addHook('onClose', async () => {
    store.close();
    index?.close();
  });
  return app.listen({ port: o.port, host: o.host });
}
