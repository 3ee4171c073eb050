/** `deepmaker convert <model> --out DIR [--weights W.h5] [--format float|fixed<W,I>] [--storage arrays|files] [--force]` */
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { consoleLogger } from '../util/log';
import { DeepMakerError } from '../util/errors';
import { writeDirAtomically } from '../util/fs';
import { checkReplaceableOut } from '../util/out-folder';
import { convertModel, isConvertOutput, parseFormatFlag } from './convert';

export const CONVERT_USAGE = 'deepmaker convert <model> --out DIR [--weights W.h5] [--format float|fixed<W,I>] [--storage arrays|files] [--force]';

/** `deepmaker convert --help`. */
export const CONVERT_HELP = `usage: ${CONVERT_USAGE}

Converts a trained model to flat C99: the layer table (layers.json), model.h / model.c, the weights,
a file-to-memory harness (harness.c) and a Makefile.

<model>             the model file; its format is recognised by content, not by extension:
                      Keras 2 / tf.keras full model (.h5), Keras 3 (.keras),
                      Keras JSON (model.to_json()) with its weights (see --weights),
                      TensorFlow.js layers model.json (its weight shards beside it).
                    A quantization.json beside the model (from DeepMaker's quantization-aware
                    training) sets the per-layer fixed-point formats, rounding and overflow.
--out DIR           the output folder (required)
--weights W.h5      the weights of a Keras JSON model; default: the first of <stem>_weights.h5,
                      <stem>.weights.h5, <stem>_model.h5, <stem>.h5 beside the JSON
--format F          float (default) or fixed<W,I> (also ap_fixed<W,I>): W total bits (2..32), I integer
                      bits, for weights, biases and activations alike. With float, model.h still holds
                      fixed-point defaults that a build can switch on: 16 bits everywhere, 6 integer
                      bits for activations, for weights and biases what their largest value needs.
--storage S         arrays (default): the weights compiled in (weights.c);
                      files: weights/*.f32 read at run time (harness -w DIR)
--force             replace DIR wholly even when it is not an earlier deepmaker convert output
                      (without it such a non-empty folder is refused; an earlier output is replaced)
-h, --help          this help

Writes to DIR (into a temporary sibling first, renamed into place when complete): layers.json, knobs.json, model.h, model.c, weights.c/weights.h or weights/,
harness.c, Makefile, source/ (a copy of the model files) and report.json (layer table, params, MACs).
The number format is a set of #ifndef defaults in model.h, so a build can change it without
converting again: make -C DIR KNOBS="-DDM_FIXED=1 -DDM_A_BITS=8 -DDM_A_INT=3".
Then: DIR/harness INPUT OUTPUT (INPUT/OUTPUT .dat/.txt/.csv: one flattened sample per line; any
other name: raw float32 samples back to back).

Example: deepmaker convert my.h5 --out build/my --format 'fixed<16,6>'`;

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/**
 * What `--out` may be: absent, an empty folder, or an earlier output of the converter (replaced
 * wholly); any other folder only with --force (also replaced wholly), and never the file system
 * root, the home folder, the current folder or one above it, or a folder holding the model itself.
 */
export function checkConvertOut(outDir: string, inputs: string[], force: boolean): void {
  checkReplaceableOut({ outDir, inputs, force, command: 'deepmaker convert', isEarlierOutput: isConvertOutput });
}

export async function convertCommand(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(CONVERT_HELP);
    return 0;
  }
  const valued = new Set(['--out', '--weights', '--format', '--storage']);
  const positional = args.filter((a, i) => !a.startsWith('--') && !valued.has(args[i - 1]));
  const model = positional[0];
  const out = flag(args, '--out');
  if (!model || !out) {
    console.error(`usage: ${CONVERT_USAGE}\n(deepmaker convert --help explains each option)`);
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
