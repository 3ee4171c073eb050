// The npm registry mirror this project is built against does not serve nx's native binaries for
// other platforms (darwin, win32, freebsd, musl, arm). `npm install` then leaves them out of
// package-lock.json, and `npm ci` refuses the lockfile ("Missing: @nx/nx-darwin-arm64@ from lock
// file"). This records each of nx's optional platform packages as an optional, platform-restricted
// lock entry, which is what npm writes where the registry serves them: `npm ci` then skips them on
// other platforms. Run after `npm install` changes the lockfile: node scripts/lock-platform-stubs.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const PLATFORMS = {
  'nx-darwin-arm64': { os: ['darwin'], cpu: ['arm64'] },
  'nx-darwin-x64': { os: ['darwin'], cpu: ['x64'] },
  'nx-freebsd-x64': { os: ['freebsd'], cpu: ['x64'] },
  'nx-linux-arm-gnueabihf': { os: ['linux'], cpu: ['arm'] },
  'nx-linux-arm64-gnu': { os: ['linux'], cpu: ['arm64'], libc: ['glibc'] },
  'nx-linux-arm64-musl': { os: ['linux'], cpu: ['arm64'], libc: ['musl'] },
  'nx-linux-x64-gnu': { os: ['linux'], cpu: ['x64'], libc: ['glibc'] },
  'nx-linux-x64-musl': { os: ['linux'], cpu: ['x64'], libc: ['musl'] },
  'nx-win32-arm64-msvc': { os: ['win32'], cpu: ['arm64'] },
  'nx-win32-x64-msvc': { os: ['win32'], cpu: ['x64'] },
};

const file = process.argv[2] ?? 'package-lock.json';
const lock = JSON.parse(readFileSync(file, 'utf8'));
const nx = lock.packages['node_modules/nx'];
let added = 0;
for (const [name, version] of Object.entries(nx.optionalDependencies ?? {})) {
  const key = `node_modules/${name}`;
  if (lock.packages[key]) continue;
  const platform = PLATFORMS[name.replace('@nx/', '')];
  if (!platform) throw new Error(`no platform known for ${name}: add it to scripts/lock-platform-stubs.mjs`);
  lock.packages[key] = { version, license: 'MIT', optional: true, ...platform, engines: undefined };
  delete lock.packages[key].engines;
  added++;
}
const sorted = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
lock.packages = sorted;
writeFileSync(file, JSON.stringify(lock, null, 2) + '\n');
console.log(`${file}: ${added} platform entries added`);
