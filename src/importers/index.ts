/**
 * Model files -> the IR. One entry point for every format, recognised by content (magic bytes), not
 * by extension:
 *  - HDF5 (\x89HDF): Keras 2 / tf.keras full model (`model.save('m.h5')`);
 *  - zip (PK\x03\x04): Keras 3 `.keras`;
 *  - JSON with `modelTopology`: TensorFlow.js layers model.json (+ shards beside it);
 *  - JSON with `class_name`: Keras `model.to_json()`, weights from `weights` or, by default, the
 *    `<stem>_weights.h5` / `<stem>.weights.h5` / `<stem>.h5` beside it.
 */
import { parseDocument } from 'yaml';
import { basename, dirname, join, resolve } from 'node:path';
import type { ImportedModel, ModelIR } from '../ir/types';
import { normalize } from '../ir/passes/normalize';
import { containedCompanion } from '../util/contained';
import { DeepMakerError, inFile } from '../util/errors';
import { readRegularFile } from '../util/read';
import { Hdf5Reader, isHdf5 } from './hdf5';
import { KerasGraph, parseModelConfig } from './keras-graph';
import { kerasH5LayerWeights, kerasWeightsRoot, readKerasH5Config } from './keras-h5';
import { kerasV3GroupNames, kerasV3LayerWeights, readKerasArchive } from './keras-v3';
import { readTfjsWeights, tfjsLayerWeights } from './tfjs';
import { attachWeights } from './weights';

export { supportedKerasClasses } from './keras-layers';

export interface LoadOptions {
  /** Weights HDF5 for a Keras JSON config. */
  weights?: string;
}

export { defaultWeightsFile } from './companions';
import { defaultWeightsFile } from './companions';

export type DetectedFormat = 'hdf5' | 'zip' | 'tfjs-json' | 'keras-json';

export function detectFormat(bytes: Uint8Array, file: string): DetectedFormat {
  if (isHdf5(bytes)) return 'hdf5';
  if (bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) return 'zip';
  let i = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) i = 3;
  while (i < bytes.length && [0x20, 0x09, 0x0a, 0x0d].includes(bytes[i])) i++;
  if (bytes[i] === 0x7b) {
    const head = new TextDecoder().decode(bytes.subarray(0, Math.min(bytes.length, 1 << 20)));
    return /"modelTopology"|"weightsManifest"/.test(head) ? 'tfjs-json' : 'keras-json';
  }
  const magic = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new DeepMakerError(
    `not a model file this tool reads (first bytes: ${magic || 'none, the file is empty'})`,
    { file },
    'give a Keras .h5 (model.save), a Keras 3 .keras, a Keras JSON (model.to_json) with its weights .h5, or a TensorFlow.js model.json',
  );
}

/** The largest model file (or weights file, or shard) read: 1 GiB, far above what an FPGA or MCU holds. */
export const MAX_MODEL_FILE_BYTES = 1024 ** 3;

/** A model or weights file's bytes: a regular file of at most MAX_MODEL_FILE_BYTES. */
export function readModelBytes(file: string, what = 'model file'): Uint8Array {
  const r = readRegularFile(file, MAX_MODEL_FILE_BYTES);
  if (r.problem !== undefined) {
    throw new DeepMakerError(
      r.problem === 'the file does not exist' ? `the ${what} does not exist` : `cannot read the ${what}: ${r.problem}`,
      { file },
      r.hint ?? (/limit/.test(r.problem) ? 'a model this large does not fit an FPGA or a microcontroller; give a smaller model' : undefined),
    );
  }
  return r.bytes;
}

const readBytes = (file: string) => readModelBytes(file);

function parseJson(bytes: Uint8Array, file: string): any {
  const text = new TextDecoder().decode(bytes);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new DeepMakerError(`invalid JSON: ${(e as Error).message.split('\n')[0]}`, { file, ...jsonErrorLocation(text, e as Error) });
  }
}

/** Line and column of a JSON syntax error: from V8's "position N", or from the YAML parser (JSON is YAML). */
function jsonErrorLocation(text: string, e: Error): { line?: number; column?: number } {
  const m = /position (\d+)/.exec(e.message);
  if (m) {
    const lines = text.slice(0, Number(m[1])).split('\n');
    return { line: lines.length, column: lines[lines.length - 1].length + 1 };
  }
  const doc = parseDocument(text);
  const pos = doc.errors[0]?.linePos?.[0];
  return pos ? { line: pos.line, column: pos.col } : {};
}

async function withHdf5<T>(bytes: Uint8Array, file: string, fn: (h5: Hdf5Reader) => Promise<T> | T): Promise<T> {
  const h5 = await Hdf5Reader.open(bytes, file);
  try {
    return await fn(h5);
  } finally {
    h5.close();
  }
}

/** Reads a model file into the imported graph (before the normalizing passes), weights attached. */
export async function importModel(file: string, opts: LoadOptions = {}): Promise<ImportedModel> {
  file = resolve(file);
  try {
    return await importGraph(file, opts);
  } catch (e) {
    throw inFile(e, file);
  }
}

async function importGraph(file: string, opts: LoadOptions): Promise<ImportedModel> {
  const bytes = readBytes(file);
  const kind = detectFormat(bytes, file);
  let graph: KerasGraph;
  switch (kind) {
    case 'hdf5':
      graph = await withHdf5(bytes, file, async (h5) => {
        const cfg = await readKerasH5Config(h5);
        if (!cfg) {
          throw new DeepMakerError(
            'this HDF5 file holds weights only (no model_config attribute)',
            { file },
            'give the model config (the .json written by model.to_json()) and pass this file as --weights, or save the full model with model.save("m.h5")',
          );
        }
        const g = parseModelConfig(cfg.config, { format: 'keras-h5', file }, cfg.kerasVersion);
        const root = kerasWeightsRoot(h5);
        attachWeights(g, (layer, slots, source) => kerasH5LayerWeights(h5, root, layer, slots, source), file);
        return g;
      });
      break;
    case 'zip': {
      const archive = readKerasArchive(bytes, file);
      graph = parseModelConfig(archive.config, { format: 'keras-v3', file }, archive.kerasVersion ?? '3');
      const g = graph;
      await withHdf5(archive.weights, `${file}!model.weights.h5`, (h5) => {
        const groups = kerasV3GroupNames(g);
        attachWeights(g, (layer, slots, source) => kerasV3LayerWeights(h5, groups, layer, slots, source), `${file}!model.weights.h5`);
      });
      break;
    }
    case 'tfjs-json': {
      const json = parseJson(bytes, file);
      if (!json.modelTopology) throw new DeepMakerError('this TensorFlow.js model.json has no modelTopology (a graph model is not a layers model)', { file }, 'convert the model as a layers model (tensorflowjs_converter --output_format=tfjs_layers_model)');
      const topo = json.modelTopology.model_config ?? json.modelTopology;
      graph = parseModelConfig(topo, { format: 'tfjs-layers', file }, json.modelTopology.keras_version);
      const w = readTfjsWeights(json, file);
      attachWeights(graph, (layer, slots, source) => tfjsLayerWeights(w, layer, slots, source), file);
      break;
    }
    case 'keras-json': {
      const json = parseJson(bytes, file);
      graph = parseModelConfig(json, { format: 'keras-json', file });
      const weightsFile = opts.weights ? resolve(opts.weights) : defaultWeightsFile(file);
      if (!weightsFile) {
        throw new DeepMakerError('a Keras JSON config needs its weights, and none were found beside it', { file }, `pass --weights W.h5 (or set convert.weights), or put the weights at ${join(dirname(file), basename(file, '.json') + '_weights.h5')}`);
      }
      // The weights the user names are theirs to choose; the file found by convention must lie in the model's folder.
      if (!opts.weights) containedCompanion({ modelFile: file, path: basename(weightsFile), what: 'weights file' });
      const g = graph;
      await withHdf5(readModelBytes(weightsFile, 'weights file'), weightsFile, (h5) => {
        const root = kerasWeightsRoot(h5);
        attachWeights(g, (layer, slots, source) => kerasH5LayerWeights(h5, root, layer, slots, source), weightsFile);
      });
      break;
    }
  }
  return graph.model;
}

/** Reads any supported model file into the IR: imported, then normalized (BN folded, Dropout gone, ...). */
export async function loadModel(file: string, opts: LoadOptions = {}): Promise<ModelIR> {
  const imported = await importModel(file, opts);
  try {
    return normalize(imported);
  } catch (e) {
    throw inFile(e, resolve(file));
  }
}
