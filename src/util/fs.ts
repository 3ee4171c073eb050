import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';

/** True while process `pid` exists (ours, or another user's: EPERM means it exists). */
export function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Removes what killed writers left in `parent`: `<prefix>.tmp-<pid>-<hex>` folders (and
 * `.old-`) entries whose process no longer exists. Entries of live processes (another run writing
 * now) and of this process are kept. `prefix` is the temporary name's stem (`.data` for dist/data).
 * Returns the names removed.
 */
export function removeStaleTemporaries(parent: string, prefix: string): string[] {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return [];
  }
  const re = new RegExp(`^${escapeRe(prefix)}\\.(?:tmp|old)-(\\d+)-[0-9a-f]+$`);
  const removed: string[] = [];
  for (const n of names) {
    const m = re.exec(n);
    if (!m || processAlive(Number(m[1]))) continue;
    try {
      rmSync(join(parent, n), { recursive: true, force: true });
      removed.push(n);
    } catch {
      /* another run removed it, or it is not ours to remove: leave it */
    }
  }
  return removed;
}

/**
 * Runs `write` against a fresh temporary folder beside `finalDir`, then swaps it into place.
 * An interrupted or failing stage leaves the previous output (or none), never a half-written one;
 * the temporaries of earlier runs that were killed (their process is gone) are removed first.
 */
export async function writeDirAtomically<T>(finalDir: string, write: (tmpDir: string) => Promise<T> | T): Promise<T> {
  const parent = dirname(finalDir);
  mkdirSync(parent, { recursive: true });
  removeStaleTemporaries(parent, `.${basename(finalDir)}`);
  const tmp = join(parent, `.${basename(finalDir)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(tmp, { recursive: true });
  try {
    const result = await write(tmp);
    const old = existsSync(finalDir) ? join(parent, `.${basename(finalDir)}.old-${process.pid}-${randomBytes(4).toString('hex')}`) : undefined;
    if (old) renameSync(finalDir, old);
    renameSync(tmp, finalDir);
    if (old) rmSync(old, { recursive: true, force: true });
    return result;
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

const scannedFolders = new Set<string>();

/** `<name>.tmp-<pid>-<hex>` files of dead processes in `dir` (writeFileAtomically's temporaries). */
function removeStaleFileTemporaries(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const m = /\.tmp-(\d+)-[0-9a-f]{8}$/.exec(n);
    if (!m || processAlive(Number(m[1]))) continue;
    try {
      rmSync(join(dir, n), { force: true, recursive: true });
    } catch {
      /* not ours to remove: leave it */
    }
  }
}

/** Writes a file through a temporary name and a rename, so readers never see it half-written. */
export function writeFileAtomically(file: string, data: string | Uint8Array): void {
  mkdirSync(dirname(file), { recursive: true });
  if (!scannedFolders.has(dirname(file))) {
    // Once per folder and process: temporaries of killed writers (any file of the folder).
    scannedFolders.add(dirname(file));
    removeStaleFileTemporaries(dirname(file));
  }
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

/** JSON with sorted keys at every level: equal values give equal bytes (and equal Nx hashes). */
export function canonicalJson(value: unknown, indent = 2): string {
  return JSON.stringify(sortKeys(value), null, indent) + '\n';
}

export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object' && !(ArrayBuffer.isView(value))) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value as object).sort()) out[k] = sortKeys((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

export function writeJson(file: string, value: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, canonicalJson(value));
}

export function readJson<T = unknown>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('data', (c) => h.update(c))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}
