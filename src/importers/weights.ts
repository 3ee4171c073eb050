/**
 * Attaching stored weights to the imported graph, with the checks a user needs when a weights file
 * does not belong to the model: every expected weight present, every shape as the layer's config
 * and input shape imply.
 */
import type { ImportedLayer, ImportedWeights, WeightTensor } from '../ir/types';
import { DeepMakerError } from '../util/errors';
import type { KerasGraph } from './keras-graph';
import type { WeightSlot, WeightSource } from './keras-layers';
import { recurrentWeightShape } from '../ir/recurrent';

/** One stored weight: its name in the file (for messages and name matching) and its values. */
export interface StoredWeight {
  name: string;
  /** Where it lives, e.g. the HDF5 dataset path. */
  location: string;
  tensor: WeightTensor;
}

/** The shape a weight slot must have, given the layer and its input shape. */
export function expectedWeightShape(layer: ImportedLayer, slot: keyof ImportedWeights): number[] {
  const x = layer.inputShapes[0];
  const cin = x[x.length - 1];
  switch (layer.type) {
    case 'dense':
      return slot === 'kernel' ? [cin, layer.units!] : [layer.units!];
    case 'conv1d':
      return slot === 'kernel' ? [layer.kernel![0], cin, layer.filters!] : [layer.filters!];
    case 'conv2d':
      return slot === 'kernel' ? [...layer.kernel!, cin, layer.filters!] : [layer.filters!];
    case 'depthwise_conv2d':
      return slot === 'kernel' ? [...layer.kernel!, cin, layer.depthMultiplier ?? 1] : [cin * (layer.depthMultiplier ?? 1)];
    case 'separable_conv2d':
      if (slot === 'kernel') return [...layer.kernel!, cin, layer.depthMultiplier ?? 1];
      if (slot === 'pointwise') return [1, 1, cin * (layer.depthMultiplier ?? 1), layer.filters!];
      return [layer.filters!];
    case 'lstm':
    case 'gru':
    case 'simple_rnn':
      if (slot !== 'kernel' && slot !== 'recurrentKernel' && slot !== 'bias') break;
      return recurrentWeightShape(layer, slot);
    case 'batchnorm': {
      const axis = layer.axis ?? -1;
      const a = axis < 0 ? x.length + axis : axis - 1;
      return [x[a]];
    }
  }
  throw new Error(`layer type ${layer.type} has no weights`);
}

/** `dense_1/kernel:0` -> `kernel`. */
export function weightBaseName(name: string): string {
  const last = name.split('/').pop() ?? name;
  return last.replace(/:\d+$/, '');
}

/**
 * Assigns `stored` (one layer's weights, in the file's order) to the layer's slots. When every
 * stored name is one of the slot names, names decide (robust to reordering); otherwise the order
 * does, which is what Keras itself does when it loads an HDF5 file.
 */
export function assignLayerWeights(layer: ImportedLayer, slots: WeightSlot[], stored: StoredWeight[], file: string): void {
  const byName = stored.every((w) => slots.some((s) => s.keras === weightBaseName(w.name)));
  if (stored.length < slots.length) {
    const missing = byName ? slots.filter((s) => !stored.some((w) => weightBaseName(w.name) === s.keras)).map((s) => s.keras) : slots.slice(stored.length).map((s) => s.keras);
    throw new DeepMakerError(
      `layer '${layer.name}' (${layer.kerasClass}) is missing its weight${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (found ${stored.length ? stored.map((w) => w.location).join(', ') : 'none'})`,
      { file, where: layer.name },
      'the weights file does not match the model config: save model and weights from the same model',
    );
  }
  if (stored.length > slots.length) {
    throw new DeepMakerError(
      `layer '${layer.name}' (${layer.kerasClass}) has ${stored.length} stored weights (${stored.map((w) => w.location).join(', ')}) but its config implies ${slots.length} (${slots.map((s) => s.keras).join(', ')})`,
      { file, where: layer.name },
      'the weights file does not match the model config',
    );
  }
  slots.forEach((slot, i) => {
    const w = byName ? stored.find((s) => weightBaseName(s.name) === slot.keras)! : stored[i];
    const want = expectedWeightShape(layer, slot.slot);
    const got = w.tensor.shape;
    if (want.length !== got.length || want.some((v, j) => v !== got[j])) {
      throw new DeepMakerError(
        `layer '${layer.name}' (${layer.kerasClass}): weight ${slot.keras} at ${w.location} has shape [${got.join(', ')}], expected [${want.join(', ')}] for input shape [${layer.inputShapes[0].join(', ')}]`,
        { file, where: layer.name },
        'the weights file does not match the model config',
      );
    }
    if (w.tensor.data.length !== want.reduce((a, b) => a * b, 1)) {
      throw new DeepMakerError(`layer '${layer.name}': weight ${w.location} holds ${w.tensor.data.length} values for shape [${got.join(', ')}]`, { file, where: layer.name });
    }
    layer.weights[slot.slot] = w.tensor;
  });
}

/** Attaches every layer's weights from `storedFor(layer, slots, source)` (source: where they are stored; by default under the layer's name). */
export function attachWeights(graph: KerasGraph, storedFor: (layer: ImportedLayer, slots: WeightSlot[], source: WeightSource) => StoredWeight[], file: string): void {
  for (const layer of graph.model.layers) {
    const slots = graph.slots.get(layer.name) ?? [];
    if (slots.length > 0) assignLayerWeights(layer, slots, storedFor(layer, slots, graph.sources.get(layer.name) ?? { keras: layer.name }), file);
    const missing = (REQUIRED_WEIGHTS[layer.type] ?? []).filter((w) => !layer.weights[w]);
    if (missing.length) {
      throw new DeepMakerError(`layer '${layer.name}' (${layer.kerasClass}) has no ${missing.join(', ')}: its config lists no such weight`, { file, where: layer.name }, 'the model config is corrupt or was edited; save the model again');
    }
  }
}

/** The weights without which a layer cannot compute (the passes and back ends read them). */
const REQUIRED_WEIGHTS: Partial<Record<string, (keyof ImportedWeights)[]>> = {
  dense: ['kernel'],
  conv1d: ['kernel'],
  conv2d: ['kernel'],
  depthwise_conv2d: ['kernel'],
  separable_conv2d: ['kernel', 'pointwise'],
  batchnorm: ['mean', 'variance'],
  lstm: ['kernel', 'recurrentKernel'],
  gru: ['kernel', 'recurrentKernel'],
  simple_rnn: ['kernel', 'recurrentKernel'],
};
