// `npm run bench`: runs every bench/*.bench.ts in turn (never part of npm test). Each bench prints its
// figures and writes bench/results/<name>.json; this merges them into bench/results.json and prints it.
// Usage: npm run bench [-- <substring filter>]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const filters = process.argv.slice(2);
const build = spawnSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
mkdirSync('bench/results', { recursive: true });
const files = readdirSync('bench').filter((f) => f.endsWith('.bench.ts')).sort()
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
let failed = 0;
for (const f of files) {
  console.log(`\n=== bench/${f}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join('bench', f)], { stdio: 'inherit', env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_ISOLATE_PLUGINS: 'false' } });
  if (r.status !== 0) { failed++; console.error(`bench/${f} failed (exit ${r.status})`); }
}
const merged = { date: new Date().toISOString(), machine: { cpus: (await import('node:os')).cpus().length, node: process.version } };
for (const f of readdirSync('bench/results').filter((f) => f.endsWith('.json')).sort()) {
  merged[f.replace(/\.json$/, '')] = JSON.parse(readFileSync(join('bench/results', f), 'utf8'));
}
writeFileSync('bench/results.json', JSON.stringify(merged, null, 2) + '\n');
console.log('\n=== bench/results.json\n' + JSON.stringify(merged, null, 2));
process.exit(failed ? 1 : 0);
