/**
 * What a command's `--out DIR` may be when the command replaces DIR wholly (written to a temporary
 * sibling, renamed into place): absent, an empty folder, or an earlier output of the same command;
 * any other folder only with --force, and never the file system root, the home folder, the
 * current folder or one above it, or a folder holding one of the command's input files.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, parse, relative, resolve, sep } from 'node:path';
import { DeepMakerError } from './errors';

const within = (parent: string, child: string) => {
  const r = relative(parent, child);
  return r === '' || (r !== '..' && !r.startsWith(`..${sep}`) && !isAbsolute(r));
};

export function checkReplaceableOut(o: { outDir: string; inputs: string[]; force: boolean; command: string; isEarlierOutput: (dir: string) => boolean }): void {
  const { outDir } = o;
  if (!existsSync(outDir)) return;
  const where = { file: outDir, where: '--out' };
  if (!statSync(outDir).isDirectory()) {
    throw new DeepMakerError('--out names an existing file, not a folder', where, `give a folder for ${o.command}'s output (it is created), or remove the file`);
  }
  if (readdirSync(outDir).length === 0 || o.isEarlierOutput(outDir)) return;
  if (!o.force) {
    throw new DeepMakerError(
      `--out is a folder that holds other files and is not an earlier output of ${o.command}`,
      where,
      'give a new or empty folder, or pass --force to replace this folder and everything in it',
    );
  }
  const cwd = process.cwd();
  if (outDir === parse(outDir).root || outDir === resolve(homedir()) || within(outDir, cwd)) {
    throw new DeepMakerError('--out is the file system root, the home folder, or the current folder (or one above it); --force will not replace it', where, `give a folder of its own for ${o.command}'s output`);
  }
  for (const f of o.inputs) {
    if (within(outDir, resolve(f))) {
      throw new DeepMakerError(`--out holds the input file ${f}; --force would delete it`, where, 'give another folder for the output');
    }
  }
}
