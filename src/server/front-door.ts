/**
 * The server's front door, before any route: a request whose Host the server does not answer to
 * (a DNS name rebound to this address) is refused, and so is a write sent by another site's page.
 * A browser sends a multipart POST cross-origin without a preflight, so CORS alone does not stop
 * one: a write whose Origin is not the server's own (or that the browser marks cross-site) is a 403.
 * Requests without an Origin (curl, scripts, other servers) are not a browser's cross-site writes.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { ForbiddenError } from '../core/errors.js';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function frontDoor(method: string, headers: IncomingHttpHeaders, allowedHosts?: string[]): void {
  const host = (headers.host ?? '').toLowerCase();
  if (allowedHosts && !allowedHosts.includes(host)) throw new ForbiddenError(`Host '${host}' is not one this server answers to`);
  if (READS.has(method)) return;
  if (headers['sec-fetch-site'] === 'cross-site') throw new ForbiddenError('a cross-site write is refused');
  const origin = headers.origin;
  if (origin === undefined) return;
  let from: string;
  try {
    from = new URL(origin).host.toLowerCase();
  } catch {
    throw new ForbiddenError(`Origin '${origin}' is not a URL`);
  }
  if (from !== host) throw new ForbiddenError(`a write from Origin '${origin}' is refused: this server is '${host}'`);
}

/** The Host values a server bound to `host`:`port` answers to (loopback: its three names), plus `extra`. */
export function hostsFor(host: string, port: number, extra: string[] = []): string[] | undefined {
  const loopback = ['127.0.0.1', 'localhost', '::1', '[::1]'];
  const own = loopback.includes(host)
    ? [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]
    : host === '0.0.0.0' || host === '::'
      ? []
      : [`${host.includes(':') ? `[${host}]` : host}:${port}`];
  const all = [...own, ...extra.map((h) => h.toLowerCase())];
  // bound to every address with no names given: the names are unknown, so any Host is answered
  return all.length ? all : undefined;
}
