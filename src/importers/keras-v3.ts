/**
 * Keras 3 `.keras`: a zip of config.json, metadata.json and model.weights.h5. In the weights file a
 * layer's variables are /layers/<name>/vars/<i>, where <name> is not the layer's name but the
 * snake_case of its class with a per-class counter (dense, dense_1, ...), in the order the model
 * lists its layers (keras.saving's `_save_container_state`).
 */
import { unzipSync } from 'fflate';
import type { ImportedLayer } from '../ir/types';
import { DeepMakerError } from '../util/errors';
import { Hdf5Reader } from './hdf5';
import type { KerasGraph } from './keras-graph';
import type { WeightSlot } from './keras-layers';
import type { StoredWeight } from './weights';

export interface KerasArchive {
  config: any;
  kerasVersion?: string;
  weights: Uint8Array;
}

export function readKerasArchive(bytes: Uint8Array, file: string): KerasArchive {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (e) {
    throw new DeepMakerError(`cannot read the .keras archive: ${(e as Error).message} (the zip is truncated or corrupt)`, { file }, 'save the model again with model.save("model.keras")');
  }
  const text = (name: string) => (entries[name] ? new TextDecoder().decode(entries[name]) : undefined);
  const configText = text('config.json');
  if (!configText) throw new DeepMakerError(`the .keras archive has no config.json (it holds ${Object.keys(entries).join(', ') || 'nothing'})`, { file });
  const weights = entries['model.weights.h5'];
  if (!weights) throw new DeepMakerError(`the .keras archive has no model.weights.h5 (it holds ${Object.keys(entries).join(', ')})`, { file });
  let config: any, meta: any = {};
  try {
    config = JSON.parse(configText);
    meta = JSON.parse(text('metadata.json') ?? '{}');
  } catch (e) {
    throw new DeepMakerError(`config.json in the .keras archive is not valid JSON: ${(e as Error).message}`, { file });
  }
  return { config, kerasVersion: meta.keras_version, weights };
}

/** keras.src.utils.naming.to_snake_case. */
export function toSnakeCase(name: string): string {
  let s = name.replace(/\W+/g, '');
  s = s.replace(/(.)([A-Z][a-z]+)/g, '$1_$2');
  return s.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}

/** Layer name -> its weights group name in model.weights.h5. */
export function kerasV3GroupNames(graph: KerasGraph): Map<string, string> {
  const used = new Map<string, number>();
  const out = new Map<string, string>();
  for (const { name, className } of graph.configOrder) {
    let g = toSnakeCase(className);
    const n = used.get(g);
    if (n === undefined) used.set(g, 0);
    else {
      used.set(g, n + 1);
      g = `${g}_${n + 1}`;
    }
    out.set(name, g);
  }
  return out;
}

export function kerasV3LayerWeights(h5: Hdf5Reader, groups: Map<string, string>, layer: ImportedLayer, slots: WeightSlot[]): StoredWeight[] {
  const g = `/layers/${groups.get(layer.name)}`;
  if (h5.typeOf(g) !== 'Group') {
    throw new DeepMakerError(
      `no weights for layer '${layer.name}' (${layer.kerasClass}): model.weights.h5 has no group ${g}`,
      { file: h5.displayName, where: layer.name },
      `the weights do not belong to this config; /layers holds ${h5.keys('/layers').join(', ') || 'nothing'}`,
    );
  }
  const out: StoredWeight[] = [];
  for (let i = 0; i < slots.length; i++) {
    const path = `${g}/vars/${i}`;
    const ds = h5.dataset(path);
    if (!ds) break;
    out.push({ name: String(i), location: path, tensor: { shape: ds.shape, data: ds.readFloat32() } });
  }
  if (h5.dataset(`${g}/vars/${slots.length}`)) {
    const n = h5.keys(`${g}/vars`).length;
    out.push(...Array.from({ length: n - slots.length }, (_, j) => ({ name: String(slots.length + j), location: `${g}/vars/${slots.length + j}`, tensor: { shape: [], data: new Float32Array(0) } })));
  }
  return out;
}
