/**
 * In a checkout of this package, Nx runs the compiled plugin in build/, not src/: a stage run after
 * an edit without `npm run build` would run the old code, and the search would store its results
 * under keys that describe the new code. scripts/build.mjs stamps build/ with the time the build
 * started; the executors refuse to run while a source is newer than that stamp. An installed
 * package has no sources beside build/ and is not checked.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export const BUILD_STAMP = join('build', '.built-at');
const SOURCE_DIRS = ['src', 'executors', 'generators'];

/** Sources of the package at `packageRoot` edited after build/ was built ([] when fresh or not a checkout); `missing-stamp` when build/ was never stamped. */
export function staleSources(packageRoot: string): string[] | 'missing-stamp' {
  if (!existsSync(join(packageRoot, 'src'))) return [];
  const stampFile = join(packageRoot, BUILD_STAMP);
  if (!existsSync(stampFile)) return 'missing-stamp';
  const builtAt = Date.parse(readFileSync(stampFile, 'utf8').trim());
  const stale: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name.endsWith('.ts') && statSync(path).mtimeMs > builtAt) stale.push(relative(packageRoot, path));
    }
  };
  for (const d of SOURCE_DIRS) if (existsSync(join(packageRoot, d))) walk(join(packageRoot, d));
  return stale.sort();
}

/** The error to show, or undefined when build/ is current. */
export function staleBuildMessage(packageRoot: string): string | undefined {
  const stale = staleSources(packageRoot);
  if (stale === 'missing-stamp') return `deepmaker: ${join(packageRoot, 'build')} has no build stamp: run \`npm run build\` in ${packageRoot} (Nx runs the compiled plugin in build/)`;
  if (!stale.length) return undefined;
  const shown = stale.slice(0, 3).join(', ') + (stale.length > 3 ? ` and ${stale.length - 3} more` : '');
  return `deepmaker: ${shown} changed after the last build: run \`npm run build\` in ${packageRoot} first (Nx runs the compiled plugin in build/, which would be the old code)`;
}
