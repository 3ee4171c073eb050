/** `deepmaker convert <model> --out DIR [--weights W.h5] [--format float|fixed<W,I>] [--storage arrays|files]` */
import { resolve } from 'node:path';
import { consoleLogger } from '../util/log';
import { DeepMakerError } from '../util/errors';
import { convertModel, parseFormatFlag } from './convert';

export const CONVERT_USAGE = 'deepmaker convert <model> --out DIR [--weights W.h5] [--format float|fixed<W,I>] [--storage arrays|files]';

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
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
  await convertModel({
    file: resolve(model),
    weights: weights ? resolve(weights) : undefined,
    outDir: resolve(out),
    spec: { ...parseFormatFlag(flag(args, '--format')), weightStorage: storage },
    log: consoleLogger('convert'),
  });
  console.log(`wrote ${resolve(out)} (make -C ${out} builds the harness)`);
  return 0;
}
