/** The paper-shaped table of ranking results: rows methods; columns all items and cold items, then the ranking metrics. */

export interface EvalRow {
  method: string;
  run: string;
  auc: number;
  sampledAuc: number;
  coldAuc: number;
  recallAt10: number;
  ndcgAt10: number;
  recallAt12: number;
  mapAt12: number;
  users: number;
  coldUsers: number;
}

const f = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : '–');

export function markdownTable(rows: EvalRow[], oracle?: { auc: number; coldAuc: number }, sample?: { users: number; of: number }): string {
  const lines = [
    ...(sample ? [`A sample: ${sample.users} of the ${sample.of} test shoppers, spread evenly over the test split (\`--sample-users\`).`, ''] : []),
    '| method | AUC (all items) | AUC (cold items) | sampled AUC (100 neg.) | Recall@10 | NDCG@10 | Recall@12 | MAP@12 | users | cold users |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.method} | ${f(r.auc)} | ${f(r.coldAuc)} | ${f(r.sampledAuc)} | ${f(r.recallAt10)} | ${f(r.ndcgAt10)} | ${f(r.recallAt12)} | ${f(r.mapAt12)} | ${r.users} | ${r.coldUsers} |`,
    ),
  ];
  if (oracle) lines.push(`| oracle (hidden taste) | ${f(oracle.auc)} | ${f(oracle.coldAuc)} | | | | | | | |`);
  return lines.join('\n') + '\n';
}
