// The import direction of design.md, checked (CI runs it): core ← config ← torch ← models ←
// {train, eval, design} ← store ← app ← {cli, server} ← web; data depends on core and config only.
// Siblings do not import each other, except that the CLI's `serve` starts the server. Outside
// src/, only an edge's own tests import it: src/cli/ from test/cli/, src/server/ from test/server/
// and test/web/ (the page is served by it) and the CLI's serve test. Static, dynamic and type-only
// imports all count. Prints each violation as file:line and exits 1 if there is any.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const below = {
  core: [],
  config: ['core'],
  data: ['core', 'config'],
  torch: ['core', 'config'],
  models: ['core', 'config', 'torch'],
  train: ['core', 'config', 'torch', 'models', 'data'],
  eval: ['core', 'config', 'torch', 'models', 'data'],
  design: ['core', 'config', 'torch', 'models', 'data'],
  store: ['core', 'config', 'torch', 'models', 'data', 'train', 'eval', 'design'],
  app: ['core', 'config', 'torch', 'models', 'data', 'train', 'eval', 'design', 'store'],
  server: ['core', 'config', 'torch', 'models', 'data', 'train', 'eval', 'design', 'store', 'app'],
  cli: ['core', 'config', 'torch', 'models', 'data', 'train', 'eval', 'design', 'store', 'app', 'server'],
};
const edgeTests = { cli: ['test/cli/'], server: ['test/server/', 'test/web/', 'test/cli/'] };

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const walk = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? (name === 'node_modules' ? [] : walk(p)) : /\.(ts|mjs|js)$/.test(name) ? [p] : [];
  });
const importRe = /(?:^|[^\w.])(?:import|export)\s[^;]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g;

const problems = [];
for (const top of ['src', 'test', 'bench', 'scripts']) {
  for (const file of walk(join(root, top))) {
    const rel = relative(root, file).split(sep).join('/');
    const text = readFileSync(file, 'utf8');
    const from = rel.startsWith('src/') ? rel.split('/')[1] : null;
    for (const m of text.matchAll(importRe)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (!spec.startsWith('.')) continue;
      const target = relative(root, resolve(dirname(file), spec))
        .split(sep)
        .join('/');
      if (!target.startsWith('src/')) continue;
      const to = target.split('/')[1];
      const line = text.slice(0, m.index).split('\n').length + (m[0].startsWith('\n') ? 1 : 0);
      const where = `${rel}:${line}`;
      if (from) {
        if (to === from) continue;
        if (!(from in below)) problems.push(`${where}: src/${from} is not a layer of design.md`);
        else if (!below[from].includes(to)) problems.push(`${where}: src/${from} may not import src/${to} (${spec})`);
      } else if (to in edgeTests && !edgeTests[to].some((t) => rel.startsWith(t))) {
        problems.push(`${where}: only ${edgeTests[to].join(', ')} may import the edge src/${to} (${spec})`);
      }
    }
  }
}
if (problems.length) {
  console.error(`import direction (design.md): ${problems.length} violation(s)\n${problems.join('\n')}`);
  process.exit(1);
}
console.log('import direction (design.md): ok');
