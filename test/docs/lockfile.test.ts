import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

// `npm ci` (CI and the README's first command) refuses a lockfile that lacks any of nx's optional
// platform packages; the registry mirror here does not serve most of them, so `npm install` drops
// them. scripts/lock-platform-stubs.mjs puts them back.
test('package-lock.json lists every optional platform package of nx (npm ci needs them)', () => {
  const lock = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package-lock.json'), 'utf8'));
  const nx = lock.packages['node_modules/nx'];
  const missing = Object.keys(nx.optionalDependencies ?? {}).filter((name) => !lock.packages[`node_modules/${name}`]);
  assert.deepEqual(missing, [], 'run: node scripts/lock-platform-stubs.mjs');
});
