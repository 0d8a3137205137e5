/** What every route of the server shares: the loaded run (and GAN), the catalogue store, and helpers. */
import type { FastifyReply } from 'fastify';
import { AtelierError, BusyError } from '../core/errors.js';
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
  /**
   * the Host header values (host:port, lower case) the server answers; others get 403 (a rebound
   * DNS name). Absent: any Host (in-process use; `atelier serve` sets its bound addresses)
   */
  allowedHosts?: string[];
  /** designs and improvements queued or running at most; one more is a 429 with Retry-After (default 8) */
  maxQueuedDesigns?: number;
  /** a design's work at most, n × steps (default 2000: 8 designs × 250 steps) */
  maxDesignWork?: number;
  /** the server's log: what a client is not told (paths, internal messages); default stderr, JSON lines */
  log?: (entry: Record<string, unknown>) => void;
}

/** A context with its defaults filled in, and the helpers the routes share. */
export interface Served extends ServerContext {
  stats: { designSteps: number; cancelled: number };
  guardRanges: GuardRangeCache;
  maxDesignWork: number;
  log: (entry: Record<string, unknown>) => void;
  /** refuses with a BusyError (HTTP 429) when maxQueuedDesigns jobs are queued or running already */
  admit: () => void;
  /** runs `fn` after every earlier queued job (designs run one at a time) */
  serial: <T>(fn: () => Promise<T>) => Promise<T>;
  /** the GAN, or a 400 saying the server has none */
  needGan: () => LoadedGan;
}

export function served(ctx: ServerContext, guardRanges: GuardRangeCache): Served {
  let queue: Promise<unknown> = Promise.resolve();
  let queued = 0;
  const maxQueued = ctx.maxQueuedDesigns ?? 8;
  const admit = () => {
    if (queued >= maxQueued) throw new BusyError(`${queued} designs are queued or running (at most ${maxQueued}): try again shortly`, 5);
  };
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    queued++;
    const p = queue.then(fn, fn).finally(() => queued--);
    queue = p.catch(() => undefined);
    return p;
  };
  const needGan = (): LoadedGan => {
    if (!ctx.gan) throw new AtelierError('BAD_INPUT', 'this server was started without --gan: designs are not available');
    return ctx.gan;
  };
  const log = ctx.log ?? ((entry: Record<string, unknown>) => void process.stderr.write(JSON.stringify({ time: new Date().toISOString(), ...entry }) + '\n'));
  return Object.assign(ctx, {
    stats: (ctx.stats ??= { designSteps: 0, cancelled: 0 }),
    guardRanges: (ctx.guardRanges ??= guardRanges),
    maxDesignWork: ctx.maxDesignWork ?? 2000,
    log,
    admit,
    serial,
    needGan,
  });
}

/** Starts a server-sent-event stream on `reply`; returns its send function. */
export function sse(reply: FastifyReply): (event: string, data: unknown) => void {
  reply.hijack();
  reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  return (event, data) => reply.raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

export const imageUrl = (itemId: string) => `/items/${encodeURIComponent(itemId)}/image`;
