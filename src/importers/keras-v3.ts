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
import type { WeightSlot, WeightSource } from './keras-layers';
import type { StoredWeight } from './weights';

export interface KerasArchive {
  config: any;
  kerasVersion?: string;
  weights: Uint8Array;
}

/** The members the importer reads, each with the most it may inflate to. */
export const KERAS_ARCHIVE_LIMITS: Record<string, number> = {
  'config.json': 32 * 1024 * 1024,
  'metadata.json': 1024 * 1024,
  'model.weights.h5': 1024 * 1024 * 1024,
};

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(n < 1024 * 1024 ? 3 : 1)} MiB`;

/**
 * Unpacks the members of a `.keras` zip that the importer reads, and only those. Each member's
 * uncompressed size, as the zip's central directory gives it, is checked against its limit before
 * anything is inflated (a zip bomb: a 614 KB archive whose config.json unpacks to 600 MiB). fflate
 * inflates a member into a buffer of exactly that declared size, so a header that understates the
 * size cannot make it write more; and deflate never grows data by more than about 0.1 %, so a
 * member whose compressed size exceeds its declared size by more than that is a lying header,
 * refused before inflating (which also bounds the work a lying header can cause).
 */
export function readKerasArchive(bytes: Uint8Array, file: string, limits: Record<string, number> = KERAS_ARCHIVE_LIMITS): KerasArchive {
  let entries: Record<string, Uint8Array>;
  const names: string[] = [];
  try {
    entries = unzipSync(bytes, {
      filter: (f) => {
        names.push(f.name);
        const limit = Object.hasOwn(limits, f.name) ? limits[f.name] : undefined;
        if (limit === undefined) return false; // not read: never inflated
        const where = { file, where: f.name };
        if (f.originalSize > limit) {
          throw new DeepMakerError(
            `the .keras member ${f.name} would unpack to ${mib(f.originalSize)} (${f.size} bytes compressed); the limit is ${mib(limit)}`,
            where,
            'this is not a model Keras wrote (a zip bomb?), or a model far larger than an FPGA or microcontroller holds',
          );
        }
        if (f.compression !== 0 && f.size > f.originalSize + f.originalSize / 1000 + 1024) {
          throw new DeepMakerError(`the .keras member ${f.name} says it unpacks to ${f.originalSize} bytes but is ${f.size} bytes compressed: the zip header is corrupt or forged`, where, 'save the model again with model.save("model.keras")');
        }
        return true;
      },
    });
  } catch (e) {
    if (e instanceof DeepMakerError) throw e;
    throw new DeepMakerError(`cannot read the .keras archive: ${(e as Error).message} (the zip is truncated or corrupt)`, { file }, 'save the model again with model.save("model.keras")');
  }
  const text = (name: string) => (entries[name] ? new TextDecoder().decode(entries[name]) : undefined);
  const configText = text('config.json');
  const holds = () => names.slice(0, 20).join(', ') + (names.length > 20 ? `, ... (${names.length} members)` : '') || 'nothing';
  if (!configText) throw new DeepMakerError(`the .keras archive has no config.json (it holds ${holds()})`, { file });
  const weights = entries['model.weights.h5'];
  if (!weights) throw new DeepMakerError(`the .keras archive has no model.weights.h5 (it holds ${holds()})`, { file });
  const json = (name: string, t: string) => {
    try {
      return JSON.parse(t);
    } catch (e) {
      throw new DeepMakerError(`${name} in the .keras archive is not valid JSON: ${(e as Error).message}`, { file, where: name }, 'save the model again with model.save("model.keras")');
    }
  };
  const config = json('config.json', configText);
  const meta = json('metadata.json', text('metadata.json') ?? '{}');
  const version = meta && typeof meta === 'object' && typeof meta.keras_version === 'string' ? meta.keras_version : undefined;
  return { config, kerasVersion: version, weights };
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

export function kerasV3LayerWeights(h5: Hdf5Reader, groups: Map<string, string>, layer: ImportedLayer, slots: WeightSlot[], source: WeightSource = { keras: layer.name }): StoredWeight[] {
  const top = `/layers/${groups.get(source.keras)}`;
  // Nested objects keep their variables under their attribute path (an RNN's `cell`, Bidirectional's `forward_layer/cell`).
  const g = source.v3Path && h5.typeOf(`${top}/${source.v3Path}`) === 'Group' ? `${top}/${source.v3Path}` : top;
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
