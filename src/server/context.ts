/** What every route of the server shares: the loaded run (and GAN), the catalogue store, and helpers. */
import type { FastifyReply } from 'fastify';
import { AtelierError } from '../core/errors.js';
import type { GuardRangeCache } from '../design/maximise.js';
import type { CatalogueStore } from '../store/catalogue-db.js';
import type { LoadedGan } from '../store/gan-run.js';
import type { LanceIndex } from '../store/lance-index.js';
import type { LoadedRun } from '../store/run.js';

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

/** A context with its defaults filled in, and the helpers the routes share. */
export interface Served extends ServerContext {
  stats: { designSteps: number; cancelled: number };
  guardRanges: GuardRangeCache;
  /** runs `fn` after every earlier queued job (designs run one at a time) */
  serial: <T>(fn: () => Promise<T>) => Promise<T>;
  /** the GAN, or a 400 saying the server has none */
  needGan: () => LoadedGan;
}

export function served(ctx: ServerContext, guardRanges: GuardRangeCache): Served {
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = queue.then(fn, fn);
    queue = p.catch(() => undefined);
    return p;
  };
  const needGan = (): LoadedGan => {
    if (!ctx.gan) throw new AtelierError('BAD_INPUT', 'this server was started without --gan: designs are not available');
    return ctx.gan;
  };
  return Object.assign(ctx, { stats: (ctx.stats ??= { designSteps: 0, cancelled: 0 }), guardRanges: (ctx.guardRanges ??= guardRanges), serial, needGan });
}

/** Starts a server-sent-event stream on `reply`; returns its send function. */
export function sse(reply: FastifyReply): (event: string, data: unknown) => void {
  reply.hijack();
  reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  return (event, data) => reply.raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

export const imageUrl = (itemId: string) => `/items/${encodeURIComponent(itemId)}/image`;
