import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';

/**
 * Runs `write` against a fresh temporary folder beside `finalDir`, then swaps it into place.
 * An interrupted or failing stage leaves the previous output (or none), never a half-written one.
 */
export async function writeDirAtomically<T>(finalDir: string, write: (tmpDir: string) => Promise<T> | T): Promise<T> {
  const parent = dirname(finalDir);
  mkdirSync(parent, { recursive: true });
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

/** Writes a file through a temporary name and a rename, so readers never see it half-written. */
export function writeFileAtomically(file: string, data: string | Uint8Array): void {
  mkdirSync(dirname(file), { recursive: true });
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
