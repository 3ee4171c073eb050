/**
 * In a checkout of this package, Nx runs the compiled plugin in build/, not src/: a stage run after
 * an edit without `npm run build` would run the old code, and the search would store its results
 * under keys that describe the new code. scripts/build.mjs records what it compiled: the SHA-256 of
 * every TypeScript source and of every JSON file under src/ (the compiler copies the data modules
 * import, e.g. src/dse/calibration/*.json, into build/: an edit there needs a build too; a stale
 * packing model in build/ once steered a search) (build/.built-from.json, written by writeBuildRecord). The executors
 * refuse to run while a source differs from that record. Contents, not times: a copied or freshly
 * checked-out tree with the same sources is current. A package without sources beside build/ is
 * not checked.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';

export const BUILD_RECORD = join('build', '.built-from.json');

/** The folder of this package when it runs compiled (build/src/plugin -> package root). */
export const PACKAGE_ROOT = resolve(__dirname, '..', '..', '..');
/** Whether this code runs from build/ (not from src/ under tsx, where there is nothing to check). */
export const RUNS_COMPILED = __dirname.includes(`${sep}build${sep}`);
const SOURCE_DIRS = ['src', 'executors', 'generators'];

/** SHA-256 of each TypeScript source of the package (and each JSON data file under src/), keyed by its path ('/'-separated, relative to the package). */
export function sourceDigests(packageRoot: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name.endsWith('.ts') || (e.name.endsWith('.json') && relative(packageRoot, path).startsWith(`src${sep}`))) out[relative(packageRoot, path).split(sep).join('/')] = createHash('sha256').update(readFileSync(path)).digest('hex');
    }
  };
  for (const d of SOURCE_DIRS) if (existsSync(join(packageRoot, d))) walk(join(packageRoot, d));
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Records the sources build/ was compiled from (scripts/build.mjs calls it with the digests taken before compiling). */
export function writeBuildRecord(packageRoot: string, digests: Record<string, string> = sourceDigests(packageRoot)): void {
  writeFileSync(join(packageRoot, BUILD_RECORD), JSON.stringify(digests, null, 1) + '\n');
}

/** Sources added, edited or removed since build/ was built ([] when current or not a checkout); `missing-record` when build/ has no record. */
export function staleSources(packageRoot: string): string[] | 'missing-record' {
  if (!existsSync(join(packageRoot, 'src'))) return [];
  const recordFile = join(packageRoot, BUILD_RECORD);
  if (!existsSync(recordFile)) return 'missing-record';
  const built = JSON.parse(readFileSync(recordFile, 'utf8')) as Record<string, string>;
  const now = sourceDigests(packageRoot);
  const paths = [...new Set([...Object.keys(built), ...Object.keys(now)])].sort();
  return paths.filter((p) => built[p] !== now[p]);
}

/** The error to show, or undefined when build/ is current. */
export function staleBuildMessage(packageRoot: string): string | undefined {
  const stale = staleSources(packageRoot);
  if (stale === 'missing-record') return `deepmaker: ${join(packageRoot, 'build')} does not record what it was built from: run \`npm run build\` in ${packageRoot} (Nx runs the compiled plugin in build/)`;
  if (!stale.length) return undefined;
  const shown = stale.slice(0, 3).join(', ') + (stale.length > 3 ? ` and ${stale.length - 3} more` : '');
  return `deepmaker: ${shown} changed after the last build: run \`npm run build\` in ${packageRoot} first (Nx runs the compiled plugin in build/, which would be the old code)`;
}
