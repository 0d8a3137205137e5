/** The paper-shaped table of ranking results: rows methods; columns all items and cold items, then the ranking metrics. */

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

const f = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : '–');

export function markdownTable(rows: EvalRow[], oracle?: { auc: number; coldAuc: number }): string {
  const lines = [
    '| method | AUC (all items) | AUC (cold items) | sampled AUC (100 neg.) | Recall@10 | NDCG@10 | users | cold users |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) => `| ${r.method} | ${f(r.auc)} | ${f(r.coldAuc)} | ${f(r.sampledAuc)} | ${f(r.recallAt10)} | ${f(r.ndcgAt10)} | ${r.users} | ${r.coldUsers} |`,
    ),
  ];
  if (oracle) lines.push(`| oracle (hidden taste) | ${f(oracle.auc)} | ${f(oracle.coldAuc)} | | | | | |`);
  return lines.join('\n') + '\n';
}
