/** HTTP helpers for the server tests: a multipart body, and a photo of one colour. */
import sharp from 'sharp';

export function multipart(parts: { name: string; value: string | Buffer; filename?: string; type?: string }[]): {
  payload: Buffer;
  headers: Record<string, string>;
} {
  const boundary = '----atelier-test-boundary';
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"` + (p.filename ? `; filename="${p.filename}"` : '');
    chunks.push(Buffer.from(`--${boundary}\r\ncontent-disposition: ${disposition}\r\n` + (p.type ? `content-type: ${p.type}\r\n` : '') + '\r\n'));
    chunks.push(Buffer.isBuffer(p.value) ? p.value : Buffer.from(p.value));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

export const photo = (r: number, g: number, b: number, w = 40, h = 30) =>
  sharp({ create: { width: w, height: h, channels: 3, background: { r, g, b } } })
    .png()
    .toBuffer();

/** The server-sent events of a response body, in order. */
export function events(body: string): { event: string; data: Record<string, unknown> }[] {
  return body
    .split('\n\n')
    .filter(Boolean)
    .map((c) => ({ event: /event: (.*)/.exec(c)![1]!, data: JSON.parse(/data: (.*)/.exec(c)![1]!) }));
}
