import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';

/** sha256 of a file, streamed (multi-GB CSVs never sit in memory). */
export function hashFile(path: string): Promise<string> {
  return new Promise((resolveHash, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (c) => h.update(c))
      .on('error', reject)
      .on('end', () => resolveHash(h.digest('hex')));
  });
}
