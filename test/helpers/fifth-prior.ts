// A prior added outside src/ in one file: the registry takes it, and with it the CLI flag, the API
// query key, the policy schema and the validation grid (test/models/ranking.test.ts).
import { registerPrior } from '../../src/models/ranking/index.js';

export const evenItems = registerPrior({
  name: 'even',
  summary: '1 for an item of even index',
  grid: [0, 5],
  available: () => true,
  prepare: () => ({
    add(_u, row, w, items) {
      for (let r = 0; r < row.length; r++) if ((items ? items[r]! : r) % 2 === 0) row[r]! += w;
    },
  }),
});
