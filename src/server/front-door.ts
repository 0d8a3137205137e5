/**
 * The server's front door, before any route: a request whose Host the server does not answer to
 * (a DNS name rebound to this address) is refused, and so is a write sent by another site's page.
 * A browser sends a multipart POST cross-origin without a preflight, so CORS alone does not stop
 * one: a write whose Origin is not the server's own (or that the browser marks cross-site) is a 403.
 * Requests without an Origin (curl, scripts, other servers) are not a browser's cross-site writes.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { createHash } from 'node:crypto';
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

/**
 * The headers every response carries: no MIME sniffing, no framing by another site. The page adds
 * a Content-Security-Policy that runs only its own inline script and style (by their SHA-256), so
 * even markup that reached the page could run no script: no inline handlers, no other sources.
 */
export const SAFE_HEADERS = { 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY' } as const;

export function pagePolicy(page: string): string {
  const hashes = (tag: string) =>
    [...page.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => `'sha256-${createHash('sha256').update(m[1]!, 'utf8').digest('base64')}'`);
  const scripts = hashes('script');
  const styles = hashes('style');
  return [
    "default-src 'none'",
    `script-src ${scripts.length ? scripts.join(' ') : "'none'"}`,
    `style-src ${styles.length ? styles.join(' ') : "'none'"}`,
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
