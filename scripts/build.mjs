// Compiles the plugin to CommonJS in build/ (Nx loads plugins and executors with require()).
// Runs on `npm ci` through the `prepare` script. Type errors fail the build; the JavaScript is
// still emitted (noEmitOnError: false) so that a half-edited tree can be debugged.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';
const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
// The time the build started: the executors refuse to run while a source is newer (src/plugin/build-freshness.ts).
const startedAt = new Date().toISOString();
const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
mkdirSync('build', { recursive: true });
writeFileSync('build/.built-at', `${startedAt}\n`);
process.exit(r.status ?? 1);
