/**
 * Keras-layout files of recurrent models, built from a TF.js model (its config and its weights) in
 * every format the importers read: TF.js layers (model.json + weights.bin), Keras 2 full-model HDF5
 * and JSON + weights HDF5 (weight names as tf.keras 2.x writes them: a recurrent layer's weights
 * under its cell's scope, `lstm/lstm_cell/kernel:0`; a Bidirectional's forward then backward), and
 * Keras 3 `.keras` (weights under the layer's `cell/`, `forward_layer/cell/`, `backward_layer/cell/`,
 * TimeDistributed's `layer/`). The config and the weights may be edited first, for what TF.js cannot
 * build itself (GRU with reset_after, Keras 3's hard_sigmoid).
 */
import * as tf from '@tensorflow/tfjs';
import { strToU8, zipSync } from 'fflate';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toSnakeCase } from '../../src/importers/keras-v3';
import { writeHdf5, type H5Node } from './h5-writer';
import { keras3Config } from './keras3-writer';

export interface StoredTensor {
  /** TF.js's name: `<layer>/<weight>` or `<wrapper>/<forward_inner>/<weight>`. */
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface KerasModelFiles {
  /** The TF.js model (for keras3Config's shapes). */
  model: tf.LayersModel;
  /** The Keras config (model.toJSON), editable. */
  config: any;
  /** Per layer with weights, in model order. */
  layers: { name: string; className: string; weights: StoredTensor[] }[];
}

export function describeModel(model: tf.LayersModel): KerasModelFiles {
  return {
    model,
    config: model.toJSON(undefined, false),
    layers: model.layers
      .filter((l) => l.weights.length)
      .map((l) => ({ name: l.name, className: l.getClassName(), weights: l.weights.map((w) => ({ name: keras2Base(w.name), shape: [...w.shape] as number[], data: Float32Array.from(w.read().dataSync()) })) })),
  };
}

/** TF.js suffixes a variable name it has seen before in the process (`gru/kernel_1`); Keras's names have no suffix. */
function keras2Base(name: string): string {
  return name.replace(/_\d+$/, '');
}

/** Applies `edit` to every layer config in a Keras config (wrapped layers too, named by their wrapper). */
export function editLayerConfigs(config: any, edit: (name: string, className: string, cfg: any) => void): void {
  const layers: any[] = Array.isArray(config.config) ? config.config : config.config.layers;
  for (const l of layers) {
    const name = l.config?.name ?? l.name;
    edit(name, l.class_name, l.config);
    if (l.config?.layer) edit(name, l.config.layer.class_name, l.config.layer.config);
  }
}

const CELL: Record<string, string> = { LSTM: 'lstm_cell', GRU: 'gru_cell', SimpleRNN: 'simple_rnn_cell' };

/** tf.keras 2.x's weight name for a TF.js weight name: recurrent weights under the cell's scope, `:0` appended. */
function keras2WeightName(f: KerasModelFiles, layer: { name: string; className: string }, tfjsName: string): string {
  const parts = tfjsName.split('/');
  let inner = layer.className;
  if (layer.className === 'Bidirectional') inner = findLayerConfig(f.config, layer.name).config.layer.class_name;
  if (CELL[inner]) parts.splice(parts.length - 1, 0, CELL[inner]);
  return `${parts.join('/')}:0`;
}

function findLayerConfig(config: any, name: string): any {
  const layers: any[] = Array.isArray(config.config) ? config.config : config.config.layers;
  return layers.find((l) => (l.config?.name ?? l.name) === name);
}

/** A dataset at a slash-separated path inside a node. */
function put(node: H5Node, path: string, t: { shape: number[]; data: Float32Array }): void {
  const parts = path.split('/');
  let n = node;
  for (const p of parts.slice(0, -1)) {
    n.groups ??= {};
    n = n.groups[p] ??= {};
  }
  n.datasets ??= {};
  n.datasets[parts[parts.length - 1]] = t;
}

function layerGroups(f: KerasModelFiles): H5Node {
  const root: H5Node = { attrs: { layer_names: f.layers.map((l) => l.name) }, groups: {} };
  for (const l of f.layers) {
    const names = l.weights.map((w) => keras2WeightName(f, l, w.name));
    const g: H5Node = { attrs: { weight_names: names } };
    l.weights.forEach((w, i) => put(g, names[i], w));
    root.groups![l.name] = g;
  }
  return root;
}

/** Keras 2 full model: model.save('m.h5'). */
export async function writeKeras2Full(f: KerasModelFiles, file: string, kerasVersion = '2.11.0'): Promise<string> {
  const cfg = { ...f.config, keras_version: kerasVersion, backend: 'tensorflow' };
  writeFileSync(file, await writeHdf5({ attrs: { model_config: JSON.stringify(cfg), keras_version: kerasVersion, backend: 'tensorflow' }, groups: { model_weights: layerGroups(f) } }));
  return file;
}

/** Keras 2 model.to_json() + save_weights('<stem>_weights.h5'). */
export async function writeKeras2JsonWeights(f: KerasModelFiles, dir: string, stem: string, kerasVersion = '2.11.0'): Promise<string> {
  const json = join(dir, `${stem}.json`);
  writeFileSync(json, JSON.stringify({ ...f.config, keras_version: kerasVersion, backend: 'tensorflow' }));
  writeFileSync(join(dir, `${stem}_weights.h5`), await writeHdf5(layerGroups(f)));
  return json;
}

/** TF.js layers: model.json + one shard, written directly (so an edited config stays as edited). */
export function writeTfjs(f: KerasModelFiles, dir: string): string {
  const all = f.layers.flatMap((l) => l.weights);
  const bytes = Buffer.concat(all.map((w) => Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength)));
  writeFileSync(join(dir, 'weights.bin'), bytes);
  const json = {
    format: 'layers-model',
    generatedBy: 'deepmaker tests',
    convertedBy: null,
    modelTopology: { ...f.config, keras_version: 'tfjs-layers 4.22.0', backend: 'tensor_flow.js' },
    weightsManifest: [{ paths: ['weights.bin'], weights: all.map((w) => ({ name: w.name, shape: w.shape, dtype: 'float32' })) }],
  };
  const file = join(dir, 'model.json');
  writeFileSync(file, JSON.stringify(json));
  return file;
}

/** Keras 3 `.keras`: the config as Keras 3 serializes it; weights nested as Keras 3's saving_lib stores them. */
export async function writeKeras3(f: KerasModelFiles, file: string, edit?: (name: string, className: string, cfg: any) => void): Promise<string> {
  const config: any = keras3Config(f.model);
  if (edit) {
    const layers: any[] = config.config.layers;
    for (const l of layers) {
      edit(l.config.name, l.class_name, l.config);
      if (l.config.layer) edit(l.config.name, l.config.layer.class_name, l.config.layer.config);
    }
  }
  const used = new Map<string, number>();
  const groups: Record<string, H5Node> = {};
  const byName = new Map(f.layers.map((l) => [l.name, l]));
  for (const lc of config.config.layers) {
    let g = toSnakeCase(lc.class_name);
    const k = used.get(g);
    if (k === undefined) used.set(g, 0);
    else {
      used.set(g, k + 1);
      g = `${g}_${k + 1}`;
    }
    const node: H5Node = { groups: { vars: {} } };
    const l = byName.get(lc.config.name);
    const vars = (ws: StoredTensor[]): H5Node => ({ datasets: Object.fromEntries(ws.map((w, i) => [String(i), w])) });
    if (l) {
      if (CELL[lc.class_name]) node.groups!.cell = { groups: { vars: vars(l.weights) } };
      else if (lc.class_name === 'Bidirectional') {
        const half = l.weights.length / 2;
        node.groups!.forward_layer = { groups: { vars: {}, cell: { groups: { vars: vars(l.weights.slice(0, half)) } } } };
        node.groups!.backward_layer = { groups: { vars: {}, cell: { groups: { vars: vars(l.weights.slice(half)) } } } };
      } else if (lc.class_name === 'TimeDistributed') node.groups!.layer = { groups: { vars: vars(l.weights) } };
      else node.groups!.vars = vars(l.weights);
    }
    groups[g] = node;
  }
  const weights = await writeHdf5({ groups: { layers: { groups }, optimizer: { groups: { vars: {} } } } });
  writeFileSync(
    file,
    zipSync({
      'metadata.json': strToU8(JSON.stringify({ keras_version: '3.4.1', date_saved: '2024-07-01@12:00:00' })),
      'config.json': strToU8(JSON.stringify(config)),
      'model.weights.h5': weights,
    }),
  );
  return file;
}
