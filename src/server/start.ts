/** Loads a saved run (and a GAN) without the training data and serves the API and the page. */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CatalogueStore } from '../store/catalogue-db.js';
import { loadGanRun } from '../store/gan-run.js';
import { LanceIndex } from '../store/lance-index.js';
import { lockFolder } from '../store/lock.js';
import { loadRun } from '../store/run.js';
import { buildServer } from './app.js';
import type { ServerContext } from './context.js';
import { hostsFor } from './front-door.js';

export interface StartOptions {
  run: string;
  gan?: string;
  port: number;
  host: string;
  designs?: string;
  index: 'exact' | 'lance';
  /** Host names (host:port) answered besides the bound address's own */
  allowedHosts?: string[];
}

/** Listens; returns the URL. */
export async function startServer(o: StartOptions): Promise<string> {
  // one writer per run folder: uploads and designs go into it while the server runs
  const lock = lockFolder(o.run, 'serve');
  try {
    return await serve(o, () => lock.release());
  } catch (e) {
    lock.release();
    throw e;
  }
}

async function serve(o: StartOptions, release: () => void): Promise<string> {
  const run = loadRun(o.run);
  const gan = o.gan ? loadGanRun(o.gan) : undefined;
  const page = readFileSync(new URL('../../web/index.html', import.meta.url), 'utf8');
  const index = o.index === 'lance' ? await LanceIndex.open(o.run) : undefined;
  const store = CatalogueStore.open(o.run);
  const ctx: ServerContext = { run, gan, store, index, designsDir: resolve(o.designs ?? join(o.run, 'served-designs')), page };
  if (o.port !== 0) ctx.allowedHosts = hostsFor(o.host, o.port, o.allowedHosts);
  const app = await buildServer(ctx);
  app.addHook('onClose', async () => {
    store.close();
    index?.close();
    release();
  });
  const url = await app.listen({ port: o.port, host: o.host });
  const bound = app.server.address();
  if (o.port === 0 && bound && typeof bound === 'object') ctx.allowedHosts = hostsFor(o.host, bound.port, o.allowedHosts);
  return url;
}
