/** `atelier score-item`: a new item from its photo alone: which shoppers would like it most. */
import { readUserFile } from '../core/fs.js';
import { MAX_IMAGE_BYTES } from '../data/images.js';
import type { Command } from 'commander';
import { z } from 'zod';
import { addSettingsFlags, settingsFor } from './settings.js';
import { BadInputError } from '../core/errors.js';
import { scoreNewItem, topShoppers } from '../store/new-item.js';
import { loadRun } from '../store/run.js';
import { intIn, out, deviceOptions, takeDevice } from './flags.js';

const scoreFlags = z.object({ run: z.string(), image: z.string(), k: intIn('k', 1, 1_000_000), json: z.boolean().default(false) }).strict();

export function registerScoreItem(program: Command): void {
  addSettingsFlags(deviceOptions(program.command('score-item')))
    .description('a new item from its photo alone: which shoppers would like it most')
    .requiredOption('--run <run>', 'DVBPR run folder')
    .requiredOption('--image <photo>', 'JPEG/PNG/WebP photo of the item')
    .option('--k <n>', 'how many shoppers', '10')
    .option('--json', 'JSON: {"shoppers": [{"userId", "score"}], "embedding": [...]}')
    .action(async function (this: Command, opts: Record<string, unknown>) {
      const f = settingsFor(this, scoreFlags, takeDevice(opts));
      if (!f) return;
      let photo: Buffer;
      try {
        photo = readUserFile(f.image, MAX_IMAGE_BYTES);
      } catch (e) {
        if (e instanceof BadInputError) throw e;
        throw new BadInputError(`cannot read: ${(e as Error).message}`, { file: f.image });
      }
      const run = loadRun(f.run);
      const r = await scoreNewItem(run, photo, f.image);
      const shoppers = topShoppers(run, r.scores, f.k);
      out(f.json, { shoppers, embedding: Array.from(r.embedding) }, () =>
        shoppers.map((s, n) => `${String(n + 1).padStart(3)}. ${s.userId}  ${s.score.toFixed(4)}`).join('\n'),
      );
    });
}
