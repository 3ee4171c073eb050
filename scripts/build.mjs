// Compiles the plugin to CommonJS in build/ (Nx loads plugins and executors with require()).
// Runs on `npm ci` through the `prepare` script. Type errors fail the build; the JavaScript is
// still emitted (noEmitOnError: false) so that a half-edited tree can be debugged.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
process.exit(r.status ?? 1);
