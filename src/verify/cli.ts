/**
 * `deepmaker verify --model M --inputs X [--expected Y] [--labels L] [--out DIR] [--weights W.h5]
 *   [--format fixed<W,I>] [--sweep 4,6,8] [--tolerance T] [--samples N] [--sanitize N]`
 * (--sanitize N: also run N samples through -fsanitize=address,undefined builds)
 * Converts M, compiles and runs the C on X, and compares with Y (or, without Y, with TensorFlow.js
 * on the same weights); prints the report and writes report.json, precision-sweep.svg and
 * trace.json to DIR (default ./deepmaker-verify).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { convertModel, parseFormatFlag } from '../cgen/convert';
import { importModel } from '../importers';
import { DeepMakerError } from '../util/errors';
import { writeDirAtomically } from '../util/fs';
import { checkReplaceableOut } from '../util/out-folder';
import { consoleLogger } from '../util/log';
import { formatVerification, writeVerification } from './report';
import { readVectors } from './vectors';
import { verifyC } from './verify';

export const VERIFY_USAGE =
  'deepmaker verify --model M --inputs X [--expected Y] [--labels L] [--out DIR] [--force] [--weights W.h5] [--format fixed<W,I>] [--sweep 4,6,8] [--tolerance T] [--samples N] [--sanitize N]';

/** `deepmaker verify --help`. */
export const VERIFY_HELP = `usage: ${VERIFY_USAGE}

Converts the model (as deepmaker convert), compiles the C with the host compiler (cc), runs it on the
input samples in float and in fixed point, and compares both with a reference: the golden outputs
given with --expected, or else TensorFlow.js running the same model file. Then a precision sweep
(accuracy, or top-1 agreement, against total bits) and a per-layer trace of fixed against float
that names the first layer whose error passes the tolerance.

--model M           the model file (any format deepmaker convert reads; see deepmaker convert --help)
--weights W.h5      the weights of a Keras JSON model (default: found beside it, as in convert)
--inputs X          the input samples (required), in the model's input order, already normalised
                      as the model expects (e.g. pixels / 255), one flattened sample per row
--expected Y        golden outputs, one row of the model's output width per sample; at least as
                      many samples as are verified. Without it the reference is TensorFlow.js.
--labels L          true classes, for accuracy: one value per sample (the class index), or one row
                      per sample (one-hot or scores: the largest value's index is the class)
--samples N         verify the first N samples only (default: all of X)
--format fixed<W,I> the fixed-point format verified (default fixed<16,6>); float is not accepted
                      (float is always checked too)
--sweep 4,6,8       the total widths of the precision sweep (default 4,6,8,10,12,16; each 2..32)
--tolerance T       a layer "drifts" when its largest absolute error, fixed against float, passes T
                      (default 0.01)
--sanitize N        also run N samples through builds with -fsanitize=address,undefined (default 0)
--out DIR           where to write report.json, precision-sweep.svg, trace.json and the work files
                      (default ./deepmaker-verify); written into a temporary sibling first and
                      renamed into place when complete, replacing an earlier verify output wholly;
                      a non-empty folder that is not an earlier verify output is refused
--force             replace --out even when it is not an earlier deepmaker verify output
-h, --help          this help

How X, Y and L are read (by the file's extension):
  .dat .txt .csv    text: one sample per line, values separated by spaces, tabs or commas; blank
                      lines are skipped; no header line
  .npy              a NumPy array [N, ...]: the first axis is the sample, the rest is flattened
                      (C order; float32/64, int8/16/32/64, uint8/16, little-endian)
  .json             an array of samples (each may be a nested array), or an object holding it under
                      inputs, x or input (for X) / expected, outputs, y, predictions or output
                      (for Y and L)
  .h5 .hdf5         an HDF5 dataset [N, ...]: file.h5#/group/dataset names it; without #..., the only
                      dataset under /inputs (for X) or /predictions (for Y and L), as DL4J's
                      test files store them

Examples:
  deepmaker verify --model m.h5 --inputs x.npy --labels y.npy
  deepmaker verify --model m.json --inputs in.dat --expected out.dat --format 'fixed<16,7>' --sweep 8,12
  deepmaker verify --model m.h5 --inputs vectors.h5#/inputs/x --expected vectors.h5#/predictions/y`;

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** report.json's `tool`: marks a folder as deepmaker verify output, which `--out` may replace. */
export const VERIFY_TOOL = 'deepmaker-verify';

function isVerifyOutput(dir: string): boolean {
  try {
    return JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'))?.tool === VERIFY_TOOL;
  } catch {
    return false;
  }
}

export async function verifyCommand(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(VERIFY_HELP);
    return 0;
  }
  const modelArg = flag(args, '--model');
  const inputsArg = flag(args, '--inputs');
  if (!modelArg || !inputsArg) {
    console.error(`usage: ${VERIFY_USAGE}\n(deepmaker verify --help explains each option and the vector formats)`);
    return 2;
  }
  const log = consoleLogger('verify');
  const out = resolve(flag(args, '--out') ?? 'deepmaker-verify');
  const weights = flag(args, '--weights') ? resolve(flag(args, '--weights')!) : undefined;
  const formatFlag = flag(args, '--format');
  const format = parseFormatFlag(formatFlag ?? 'fixed<16,6>');
  if (format.format === 'float') throw new DeepMakerError('--format float: verify always checks float and a fixed-point format; give fixed<W,I>');
  const vectorFiles = [inputsArg, flag(args, '--expected'), flag(args, '--labels')].filter((f): f is string => !!f).map((f) => resolve(f.replace(/#.*$/, '')));
  checkReplaceableOut({ outDir: out, inputs: [resolve(modelArg), ...(weights ? [weights] : []), ...vectorFiles], force: args.includes('--force'), command: 'deepmaker verify', isEarlierOutput: isVerifyOutput });
  // Everything (the work files too) goes into a temporary sibling, renamed into place when complete:
  // an interrupted or failed run leaves the previous output (or none), never a mix of two runs.
  await writeDirAtomically(out, async (tmp) => {
    const work = join(tmp, 'work');
    const conv = await convertModel({ file: resolve(modelArg), weights, outDir: join(work, 'convert'), spec: { ...format, weightStorage: 'files' }, log });
    const inputs = await readVectors(inputsArg, 'inputs');
    const inputSize = conv.report.inputSize as number;
    const outputSize = conv.report.outputSize as number;
    if (inputs.width !== inputSize) throw new DeepMakerError(`each input sample has ${inputs.width} values; the model takes ${inputSize}`, { file: inputs.file });
    let n = inputs.count;
    const samplesFlag = flag(args, '--samples');
    if (samplesFlag) n = Math.min(n, Number(samplesFlag));
    let expected: { values: Float32Array; file: string } | undefined;
    const expectedArg = flag(args, '--expected');
    if (expectedArg) {
      const e = await readVectors(expectedArg, 'expected');
      if (e.width !== outputSize) throw new DeepMakerError(`each expected sample has ${e.width} values; the model outputs ${outputSize}`, { file: e.file });
      if (e.count < n) throw new DeepMakerError(`${e.count} expected samples for ${n} inputs`, { file: e.file });
      expected = { values: e.values.subarray(0, n * outputSize), file: e.file };
    }
    let labels: Int32Array | undefined;
    const labelsArg = flag(args, '--labels');
    if (labelsArg) {
      const l = await readVectors(labelsArg, 'expected');
      if (l.count < n) throw new DeepMakerError(`${l.count} labels for ${n} inputs`, { file: l.file });
      labels = l.width === 1 ? Int32Array.from(l.values.subarray(0, n)) : Int32Array.from({ length: n }, (_, i) => {
        let best = 0;
        for (let j = 1; j < l.width; j++) if (l.values[i * l.width + j] > l.values[i * l.width + best]) best = j;
        return best;
      });
    }
    const sweepFlag = flag(args, '--sweep');
    const sweep = sweepFlag ? sweepFlag.split(',').map(Number) : [4, 6, 8, 10, 12, 16];
    if (sweep.some((b) => !Number.isInteger(b) || b < 2 || b > 32)) throw new DeepMakerError(`--sweep '${sweepFlag}': give widths 2..32, comma-separated`);
    const sourceFile = join(work, 'convert', (conv.report.source as { copy: string }).copy);
    const sourceWeights = (conv.report.source as { weights?: string }).weights;
    const result = await verifyC({
      model: conv.model,
      imported: expected ? undefined : await importModel(sourceFile, { weights: sourceWeights ? join(work, 'convert', sourceWeights) : undefined }),
      modelFile: sourceFile,
      x: inputs.values,
      count: n,
      labels,
      expected,
      fixed: conv.knobs,
      sweep,
      tolerance: Number(flag(args, '--tolerance') ?? 0.01),
      workDir: work,
      log,
      sanitizeSamples: Number(flag(args, '--sanitize') ?? 0),
    });
    console.log(formatVerification(result));
    writeVerification(tmp, result, { tool: VERIFY_TOOL, model: resolve(modelArg), inputs: inputs.file });
  });
  console.log(`\nwrote ${join(out, 'report.json')}, precision-sweep.svg, trace.json`);
  return 0;
}
