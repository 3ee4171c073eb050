// Compiles the plugin to CommonJS in build/ (Nx loads plugins and executors with require()).
// Runs on `npm ci` through the `prepare` script. Type errors fail the build; the JavaScript is
// still emitted (noEmitOnError: false) so that a half-edited tree can be debugged.
// Then records the sources it compiled (build/.built-from.json): the executors refuse to run while a
// source differs from that record (src/plugin/build-freshness.ts). The digests are taken before
// compiling, so a source edited during the compile counts as not built.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const FRESHNESS = join(ROOT, 'build', 'src', 'plugin', 'build-freshness.js');
// The previous build's module takes the digests (the hashing is the same code); a first build has none yet and takes them after compiling.
const previous = existsSync(FRESHNESS) ? require(FRESHNESS) : {};
const before = typeof previous.sourceDigests === 'function' ? previous.sourceDigests(ROOT) : undefined;
const r = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
delete require.cache[FRESHNESS];
if (existsSync(FRESHNESS)) require(FRESHNESS).writeBuildRecord(ROOT, before);
process.exit(r.status ?? 1);
