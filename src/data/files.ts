import { readFileSync, statSync } from 'node:fs';
import { DeepMakerError } from '../util/errors';

/** Reads a whole dataset file; a missing or unreadable file is a DeepMakerError naming it. */
export function readDataFile(file: string): Buffer {
  try {
    if (statSync(file).isDirectory()) throw new DeepMakerError('expected a file, found a folder', { file }, 'name the file itself in deepmaker.yaml');
    return readFileSync(file);
  } catch (e) {
    if (e instanceof DeepMakerError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DeepMakerError('dataset file not found', { file }, 'check the path in the data section of deepmaker.yaml (paths are relative to its folder)');
    throw new DeepMakerError(`cannot read the dataset file: ${code ?? (e as Error).message}`, { file }, 'check its permissions');
  }
}
