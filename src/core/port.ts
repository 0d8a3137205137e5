/** A free TCP port, for a rendezvous this process sets up (src/cli/launch.ts, the benches). */
import { createServer } from 'node:net';

/** A port free on the loopback interface now (another process may take it before it is used). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
