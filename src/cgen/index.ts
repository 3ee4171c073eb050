/** The C back end: IR -> flat ANSI C (see model.ts), written to a folder. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ModelIR } from '../ir/types';
import { generateC, type CGenOptions, type GeneratedC } from './model';

export { generateC, describeKnobs, type CGenOptions, type GeneratedC } from './model';
export { DEFAULT_KNOBS, resolveFormats, type NumberKnobs, type LayerFormats } from '../qmodel/precision';

export function writeGeneratedC(dir: string, gen: GeneratedC): string[] {
  const written: string[] = [];
  for (const [rel, text] of Object.entries(gen.files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
    written.push(rel);
  }
  for (const [rel, bytes] of Object.entries(gen.binaries)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), bytes);
    written.push(rel);
  }
  return written.sort();
}

export function emitC(dir: string, model: ModelIR, opts: CGenOptions): { gen: GeneratedC; files: string[] } {
  const gen = generateC(model, opts);
  return { gen, files: writeGeneratedC(dir, gen) };
}
