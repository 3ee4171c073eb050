/** `deepmaker convert <model> --out DIR [--weights W.h5] [--format float|fixed<W,I>] [--storage arrays|files] [--force]` */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, parse, relative, resolve, sep } from 'node:path';
import { consoleLogger } from '../util/log';
import { DeepMakerError } from '../util/errors';
import { writeDirAtomically } from '../util/fs';
import { convertModel, isConvertOutput, parseFormatFlag } from './convert';

export const CONVERT_USAGE = 'deepmaker convert <model> --out DIR [--weights W.h5] [--format float|fixed<W,I>] [--storage arrays|files] [--force]';

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

const within = (parent: string, child: string) => {
  const r = relative(parent, child);
  return r === '' || (r !== '..' && !r.startsWith(`..${sep}`) && !isAbsolute(r));
};

/**
 * What `--out` may be: absent, an empty folder, or an earlier output of the converter (replaced
 * wholly); any other folder only with --force (also replaced wholly), and never the file system
 * root, the home folder, the current folder or one above it, or a folder holding the model itself.
 */
export function checkConvertOut(outDir: string, inputs: string[], force: boolean): void {
  if (!existsSync(outDir)) return;
  const where = { file: outDir, where: '--out' };
  if (!statSync(outDir).isDirectory()) {
    throw new DeepMakerError('--out names an existing file, not a folder', where, 'give a folder for the C sources (it is created), or remove the file');
  }
  if (readdirSync(outDir).length === 0 || isConvertOutput(outDir)) return;
  if (!force) {
    throw new DeepMakerError(
      '--out is a folder that holds other files and is not an earlier output of deepmaker convert',
      where,
      'give a new or empty folder, or pass --force to replace this folder and everything in it',
    );
  }
  const cwd = process.cwd();
  if (outDir === parse(outDir).root || outDir === resolve(homedir()) || within(outDir, cwd)) {
    throw new DeepMakerError('--out is the file system root, the home folder, or the current folder (or one above it); --force will not replace it', where, 'give a folder of its own for the C sources');
  }
  for (const f of inputs) {
    if (within(outDir, resolve(f))) {
      throw new DeepMakerError(`--out holds the model file ${f}; --force would delete it`, where, 'give another folder for the C sources');
    }
  }
}

export async function convertCommand(args: string[]): Promise<number> {
  const valued = new Set(['--out', '--weights', '--format', '--storage']);
  const positional = args.filter((a, i) => !a.startsWith('--') && !valued.has(args[i - 1]));
  const model = positional[0];
  const out = flag(args, '--out');
  if (!model || !out) {
    console.error(`usage: ${CONVERT_USAGE}`);
    return 2;
  }
  const storage = flag(args, '--storage') ?? 'arrays';
  if (storage !== 'arrays' && storage !== 'files') throw new DeepMakerError(`--storage '${storage}' is not arrays or files`);
  const weights = flag(args, '--weights');
  const outDir = resolve(out);
  const file = resolve(model);
  const spec = { ...parseFormatFlag(flag(args, '--format')), weightStorage: storage } as const;
  checkConvertOut(outDir, weights ? [file, resolve(weights)] : [file], args.includes('--force'));
  let parent = dirname(outDir);
  while (!existsSync(parent) && dirname(parent) !== parent) parent = dirname(parent);
  if (!statSync(parent).isDirectory()) {
    throw new DeepMakerError(`--out cannot be created: ${parent} is a file`, { file: outDir, where: '--out' }, 'give a folder path');
  }
  // Written to a temporary sibling and renamed into place: an interrupted run leaves the previous
  // output (or none), never a mix; the new folder replaces the old one wholly (no stale files).
  await writeDirAtomically(outDir, (tmp) =>
    convertModel({
      file,
      weights: weights ? resolve(weights) : undefined,
      outDir: tmp,
      spec,
      log: consoleLogger('convert'),
    }),
  );
  console.log(`wrote ${outDir} (make -C ${out} builds the harness)`);
  return 0;
}
