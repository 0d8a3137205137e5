/**
 * `npm run bench -- paper [--gb 1]`: the memory of `atelier ingest paper` on a generated file in the
 * authors' layout of about --gb GB (items of 100 kB JPEGs, each one unique, so that a reader keeping
 * the pickle's whole memo would hold the whole file). Writes bench/results/paper-ingest.json: the
 * file's size, the ingest's peak RSS (the largest process, from /usr/bin/time) and its time.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeJsonAtomic } from '../src/core/fs.js';

export async function paperIngestBench(args: string[]): Promise<void> {
  const gbAt = args.indexOf('--gb');
  const gb = gbAt >= 0 ? Number(args[gbAt + 1]) : 1;
  const jpegBytes = 100_000;
  const items = Math.round((gb * 1e9) / jpegBytes);
  const users = items * 2;
  const dir = mkdtempSync(join(tmpdir(), 'atelier-paper-bench-'));
  try {
    const file = join(dir, 'AmazonLike.npy');
    const g = spawnSync(
      '/usr/bin/python3',
      [
        'scripts/paper-fixture.py',
        file,
        '--users',
        String(users),
        '--items',
        String(items),
        '--per-user',
        '6',
        '--with-c',
        '--jpeg-bytes',
        String(jpegBytes),
        '--image-size',
        '64',
      ],
      { stdio: 'inherit' },
    );
    if (g.status !== 0) throw new Error('scripts/paper-fixture.py failed (scripts/setup.sh installs python3-numpy and python3-pil)');
    const size = statSync(file).size;
    const load = loadavg()[0];
    const t0 = Date.now();
    const r = spawnSync(
      '/usr/bin/time',
      ['-f', '%M', process.execPath, 'bin/atelier.js', 'ingest', 'paper', file, '--out', join(dir, 'data'), '--image-size', '64', '--json'],
      {
        encoding: 'utf8',
        maxBuffer: 256 << 20,
      },
    );
    const seconds = (Date.now() - t0) / 1000;
    if (r.status !== 0) throw new Error(`ingest failed: ${r.stderr.slice(-2000)}`);
    const peakKb = Number(r.stderr.trim().split('\n').pop());
    const manifest = JSON.parse(r.stdout) as { counts: Record<string, number> };
    const out = {
      when: new Date().toISOString(),
      machine: { cores: cpus().length, loadBefore: load },
      file: { bytes: size, items, users, jpegBytes },
      ingest: { peakRssMb: Math.round(peakKb / 1024), seconds, imageSize: 64, counts: manifest.counts },
      target: 'peak RSS under 1 GB for a 1 GB file',
    };
    writeJsonAtomic('bench/results/paper-ingest.json', out);
    console.log(
      `${(size / 1e9).toFixed(2)} GB file, ${items} items: peak RSS ${out.ingest.peakRssMb} MB, ${seconds.toFixed(0)} s → bench/results/paper-ingest.json`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
