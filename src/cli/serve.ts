/** `atelier serve`: the HTTP API and the web page over a saved run (and GAN), until killed. */
import type { Command } from 'commander';
import { addSettingsFlags, settingsFor } from './settings.js';
import { z } from 'zod';
import { startServer } from '../server/start.js';
import { oneOf, port, deviceOptions, takeDevice } from './flags.js';

const hostList = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean),
  )
  .optional();

const serveFlags = z
  .object({
    run: z.string(),
    gan: z.string().optional(),
    port,
    host: z.string().min(1),
    designs: z.string().optional(),
    index: oneOf('index', ['exact', 'lance']),
    allowedHosts: hostList,
  })
  .strict();

export function registerServe(program: Command): void {
  addSettingsFlags(deviceOptions(program.command('serve')))
    .description('HTTP API and web page over a saved run (and GAN)')
    .requiredOption('--run <run>', 'DVBPR run folder')
    .option('--gan <gan>', 'GAN run folder (enables designs)')
    .option('--port <n>', 'port', '8080')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--designs <dir>', 'where generated images are kept')
    .option('--allowed-hosts <list>', 'comma-separated host:port names answered besides the bound address (a proxy, a DNS name); other Hosts get 403')
    .option('--index <kind>', "top-K by 'exact' inner product, or through the run's 'lance' index (atelier index)", 'exact')
    .action(async function (this: Command, opts: Record<string, unknown>) {
      const flags = settingsFor(this, serveFlags, takeDevice(opts));
      if (!flags) return;
      // stopped by a signal: exit through 'exit', so that the run folder's lock is given back; the
      // handlers come first (a supervisor may signal as soon as it reads that the server serves)
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(signal === 'SIGINT' ? 130 : 143));
      const url = await startServer(flags);
      process.stderr.write(`atelier serving on ${url}\n`);
      await new Promise(() => {}); // until killed
    });
}
