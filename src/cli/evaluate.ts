/** `atelier evaluate` and `atelier recommend`. */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { BadInputError } from '../core/errors.js';
import { writeFileAtomic } from '../core/fs.js';
import { loadDataset } from '../data/dataset.js';
import { loadRun } from '../store/run.js';
import { recommend, type Recommendation } from '../store/recommend.js';
import { rankingOn } from './jobs.js';

export interface EvalRow {
  method: string;
  run: string;
  auc: number;
  sampledAuc: number;
  coldAuc: number;
  recallAt10: number;
  ndcgAt10: number;
  users: number;
  coldUsers: number;
}

export function evaluateRuns(dataDir: string, runs: string[]): { rows: EvalRow[]; oracle?: { auc: number; coldAuc: number } } {
  const ds = loadDataset(dataDir);
  const rows = runs.map((dir) => {
    const run = loadRun(dir);
    if (run.manifest.dataset.dataHash !== ds.manifest.dataHash) {
      throw new BadInputError(`run was trained on dataset ${run.manifest.dataset.dataHash.slice(0, 12)}…, not on ${dataDir} (${ds.manifest.dataHash.slice(0, 12)}…)`, {
        file: `${dir}/manifest.json`,
      });
    }
    const r = rankingOn(ds, run.recommender, 'test');
    return {
      method: run.manifest.name,
      run: dir,
      auc: r.auc,
      sampledAuc: r.sampledAuc,
      coldAuc: r.coldAuc,
      recallAt10: r.recallAtK,
      ndcgAt10: r.ndcgAtK,
      users: r.users,
      coldUsers: r.coldUsers,
    };
  });
  return { rows, ...(ds.manifest.oracle ? { oracle: { auc: ds.manifest.oracle.testAuc, coldAuc: ds.manifest.oracle.coldTestAuc } } : {}) };
}

const f = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : '–');

/** The paper's table: rows methods; columns all items and cold items; then the ranking metrics. */
export function markdownTable(rows: EvalRow[], oracle?: { auc: number; coldAuc: number }): string {
  const lines = [
    '| method | AUC (all items) | AUC (cold items) | sampled AUC (100 neg.) | Recall@10 | NDCG@10 | users | cold users |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.method} | ${f(r.auc)} | ${f(r.coldAuc)} | ${f(r.sampledAuc)} | ${f(r.recallAt10)} | ${f(r.ndcgAt10)} | ${r.users} | ${r.coldUsers} |`),
  ];
  if (oracle) lines.push(`| oracle (hidden taste) | ${f(oracle.auc)} | ${f(oracle.coldAuc)} | | | | | |`);
  return lines.join('\n') + '\n';
}

export function writeMarkdown(path: string, body: string): void {
  writeFileAtomic(path, body);
}

export interface RecommendFlags {
  run: string;
  user?: string;
  users?: string;
  k: string;
  category?: string;
  coldOnly?: boolean;
  excludeBought?: boolean;
}

export function runRecommend(o: RecommendFlags): Recommendation[] {
  if (!o.user && !o.users) throw new BadInputError('give --user <id> or --users <file>');
  const k = o.k === 'all' ? Infinity : Number(o.k);
  if (!(k >= 1)) throw new BadInputError(`--k must be a positive integer or 'all', got '${o.k}'`);
  const run = loadRun(o.run);
  let ids: string[];
  if (o.users) {
    let text: string;
    try {
      text = readFileSync(o.users, 'utf8');
    } catch (e) {
      throw new BadInputError(`cannot read: ${(e as Error).message}`, { file: o.users });
    }
    ids = text.split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
    if (ids.length === 0) throw new BadInputError('no user ids (one per line)', { file: o.users });
  } else ids = [o.user!];
  return recommend(run.recommender, run.catalogue, ids, { k, category: o.category, coldOnly: o.coldOnly, excludeBought: o.excludeBought });
}

export const runName = (dir: string) => basename(dir);
