/** `atelier serve`: loads a saved run (and a GAN) without the training data and serves the API and the page. */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BadInputError } from '../core/errors.js';
import { buildServer } from '../server/app.js';
import { loadGanRun } from '../store/gan-run.js';
import { loadRun } from '../store/run.js';

export async function runServe(o: { run: string; gan?: string; port: string; host: string; designs?: string }): Promise<string> {
  const port = Number(o.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new BadInputError(`--port must be 0..65535, got '${o.port}'`);
  const run = loadRun(o.run);
  const gan = o.gan ? loadGanRun(o.gan) : undefined;
  const page = readFileSync(new URL('../../web/index.html', import.meta.url), 'utf8');
  const app = await buildServer({ run, gan, designsDir: resolve(o.designs ?? join(o.run, 'served-designs')), page });
  return app.listen({ port, host: o.host });
}
