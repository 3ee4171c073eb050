import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Writes one bench's figures to bench/results/<name>.json and prints them. */
export function recordBench(name: string, figures: Record<string, unknown>): void {
  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.json`), JSON.stringify(figures, null, 2) + '\n');
  console.log(`[bench ${name}] ${JSON.stringify(figures, null, 2)}`);
}

/** Wall time of an async function, in seconds. */
export async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = process.hrtime.bigint();
  const r = await fn();
  return [r, Number(process.hrtime.bigint() - t) / 1e9];
}
