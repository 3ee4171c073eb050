/**
 * Files a model file names (a TF.js model.json's weight shards) or brings along by convention (a
 * Keras JSON config's weights .h5, quantization.json) must lie in the model's folder or below it.
 * A hostile or careless model file must not make the converter read, hash, copy or embed some
 * other file of the machine (`paths: ["../../../etc/passwd"]`, an absolute path, or a symbolic
 * link in the folder that leads out of it). Errors name the model file and the path as written,
 * and say nothing about the outside file (not even whether it exists or its size).
 *
 * Light on purpose (node:fs and node:path only): the Nx plugin loads it through the stage table.
 */
import { realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep, win32 } from 'node:path';
import { DeepMakerError } from './errors';

export interface CompanionRef {
  /** The model file that names the path (shown in errors). */
  modelFile: string;
  /** The path as the model file writes it, relative to the model's folder. */
  path: unknown;
  /** What the path is, for messages: "weight shard", "weights file"... */
  what: string;
  /** Where in the model file the path is written, e.g. "weightsManifest[0].paths[1]". */
  where?: string;
}

/** True when `child` is `parent` itself or lies below it (both absolute, normalized). */
function isWithin(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * Checks a path a model file names and returns the real path of the file it denotes. Throws a
 * DeepMakerError when the path is not a relative file name inside the model's folder, when it
 * (or a symbolic link on the way) leads out of that folder, when the file is missing, or when it
 * is not a regular file.
 */
export function containedCompanion(ref: CompanionRef): string {
  const { modelFile, what } = ref;
  const dir = dirname(resolve(modelFile));
  const loc = { file: modelFile, ...(ref.where ? { where: ref.where } : {}) };
  const hint = "a model's companion files must sit in the model's folder (or below it); this model file may be hostile, or was moved without them";
  if (typeof ref.path !== 'string' || ref.path.length === 0) {
    throw new DeepMakerError(`the ${what} path ${JSON.stringify(ref.path) ?? String(ref.path)} is not a file name`, loc, hint);
  }
  const p = ref.path;
  const shown = JSON.stringify(p);
  if (p.includes('\0')) throw new DeepMakerError(`the ${what} path ${shown} contains a NUL character`, loc, hint);
  if (isAbsolute(p) || win32.isAbsolute(p)) {
    throw new DeepMakerError(`the ${what} path ${shown} is absolute; the converter reads only files in the model's folder`, loc, hint);
  }
  const abs = resolve(dir, p);
  if (!isWithin(dir, abs)) {
    throw new DeepMakerError(`the ${what} path ${shown} leaves the model's folder (${dir})`, loc, hint);
  }
  let real: string, realDir: string;
  try {
    realDir = realpathSync(dir);
  } catch {
    throw new DeepMakerError(`the model's folder ${dir} cannot be read`, loc);
  }
  try {
    real = realpathSync(abs);
  } catch (e) {
    // A dangling link or a missing file: the same answer whatever it would have pointed to.
    const code = (e as NodeJS.ErrnoException).code;
    throw new DeepMakerError(
      `the ${what} ${shown} named by the model is ${code === 'ENOENT' ? 'missing' : 'not readable'} (looked for ${abs})`,
      loc,
      "keep the model file and its companion files together in one folder",
    );
  }
  if (!isWithin(realDir, real)) {
    throw new DeepMakerError(`the ${what} path ${shown} is a symbolic link (or passes through one) that leads out of the model's folder (${dir})`, loc, hint);
  }
  let isFile = false;
  try {
    isFile = statSync(real).isFile();
  } catch {
    /* reported below */
  }
  if (!isFile) throw new DeepMakerError(`the ${what} ${shown} is not a regular file`, loc, hint);
  return real;
}
