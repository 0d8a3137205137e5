import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dvbprConfigFrom } from '../../src/cli/train-dvbpr.js';

test('train dvbpr flags override the preset: --k and --dropout reach the encoder, the rest stays the preset', () => {
  const cfg = dvbprConfigFrom({ data: 'd', out: 'o', preset: 'default', resume: false, k: 20, dropout: 0.2 }, 32);
  assert.equal(cfg.encoder.k, 20);
  assert.equal(cfg.encoder.dropout, 0.2);
  assert.equal(cfg.encoder.convs.length, 4);
  const plain = dvbprConfigFrom({ data: 'd', out: 'o', preset: 'default', resume: false }, 32);
  assert.equal(plain.encoder.dropout, 0.5);
  assert.equal(plain.encoder.k, 100);
  // 0 is a value, not an absent flag
  assert.equal(dvbprConfigFrom({ data: 'd', out: 'o', preset: 'default', resume: false, dropout: 0 }, 32).encoder.dropout, 0);
});
