// `npm test`: builds the plugin (the Nx end-to-end tests load build/), checks the import rules of
// src/ (dependency-cruiser, .dependency-cruiser.cjs: no cycle between folders, libraries never import
// src/plugin; a violation fails the run), then runs every test/**/*.test.ts with node's own test
// runner through tsx.
// Usage: npm test [-- <substring filter on test file paths>]
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const build = spawnSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
// The package's bin (its exports do not expose the path to require.resolve).
const depcruise = join('node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const deps = spawnSync(process.execPath, [depcruise, 'src', '--config', '.dependency-cruiser.cjs'], { stdio: 'inherit' });
if (deps.status !== 0) {
  console.error('npm test: src/ breaks the import rules above (npm run lint:deps)');
  process.exit(deps.status ?? 1);
}
const files = find('test').filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files],
  { stdio: 'inherit', env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_ISOLATE_PLUGINS: 'false' } },
);
process.exit(r.status ?? 1);
