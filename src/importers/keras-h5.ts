/**
 * Keras 2 / tf.keras HDF5: full-model files (`model.save('m.h5')`: root attribute `model_config`,
 * weights under /model_weights) and weights-only files (`save_weights`: layer groups at the root).
 * A layer group's `weight_names` attribute lists its datasets in the layer's own order; the
 * dataset prefix is not always the layer name, and HDF5 lists keys alphabetically, so the
 * attribute, not the key order, decides.
 */
import type { ImportedLayer } from '../ir/types';
import { DeepMakerError } from '../util/errors';
import { Hdf5Reader } from './hdf5';
import type { WeightSlot, WeightSource } from './keras-layers';
import type { StoredWeight } from './weights';

export async function readKerasH5Config(h5: Hdf5Reader): Promise<{ config: any; kerasVersion?: string } | undefined> {
  const text = h5.attr('/', 'model_config');
  if (text === undefined) return undefined;
  let config: any;
  try {
    config = JSON.parse(String(text));
  } catch (e) {
    throw new DeepMakerError(`the model_config attribute is not valid JSON: ${(e as Error).message}`, { file: h5.displayName });
  }
  const v = h5.attr('/', 'keras_version');
  return { config, kerasVersion: v === undefined ? undefined : String(v) };
}

/** The group that holds the layer groups: /model_weights in full-model files, the root otherwise. */
export function kerasWeightsRoot(h5: Hdf5Reader): string {
  return h5.typeOf('/model_weights') === 'Group' ? '/model_weights' : '';
}

/** A layer's stored weights, in `weight_names` order. */
export function kerasH5LayerWeights(h5: Hdf5Reader, root: string, layer: ImportedLayer, slots: WeightSlot[], source: WeightSource = { keras: layer.name }): StoredWeight[] {
  const group = `${root}/${source.keras}`;
  if (h5.typeOf(group) !== 'Group') {
    throw new DeepMakerError(
      `no weights for layer '${layer.name}' (${layer.kerasClass}): the group ${group || '/'} does not exist (expected ${slots.map((s) => s.keras).join(', ')})`,
      { file: h5.displayName, where: layer.name },
      `the weights file does not belong to this model; its layer groups are: ${h5.keys(root || '/').join(', ') || 'none'}`,
    );
  }
  const raw = h5.attr(group, 'weight_names');
  let names: string[] = raw === undefined ? [] : Array.isArray(raw) ? raw.map(String) : ArrayBuffer.isView(raw) ? [] : [String(raw)];
  if (source.part) {
    // A wrapper's group (Bidirectional) lists its inner layers' weights one layer after the other.
    const { index, count } = source.part;
    if (names.length % count !== 0) {
      throw new DeepMakerError(
        `layer '${source.keras}' (${layer.kerasClass}): its ${names.length} stored weights (${names.join(', ')}) do not split into ${count} equal parts`,
        { file: h5.displayName, where: source.keras },
        'the weights file does not match the model config',
      );
    }
    const per = names.length / count;
    names = names.slice(index * per, (index + 1) * per);
  }
  return names.map((wn) => {
    const path = `${group}/${wn}`;
    const ds = h5.dataset(path);
    if (!ds) {
      throw new DeepMakerError(
        `layer '${layer.name}' (${layer.kerasClass}): the weight dataset ${path} listed in weight_names is missing`,
        { file: h5.displayName, where: layer.name },
        'the file is incomplete or was edited; save the weights again',
      );
    }
    return { name: wn, location: path, tensor: { shape: ds.shape, data: ds.readFloat32() } };
  });
}
