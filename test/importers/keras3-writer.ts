/**
 * Keras 3 `.keras` archives for tests (no Keras 3 file is among the fixtures, and no Python here):
 * a TF.js model's config rewritten the way Keras 3 serializes it (module/registered_name, DTypePolicy
 * objects, batch_shape, __keras_tensor__ inbound nodes) and its weights stored as Keras 3's
 * model.weights.h5 does (/layers/<snake_case class name>[_k]/vars/<i>, in layer order).
 */
import * as tf from '@tensorflow/tfjs';
import { zipSync, strToU8 } from 'fflate';
import { toSnakeCase } from '../../src/importers/keras-v3';
import { writeHdf5, type H5Node } from './h5-writer';
import { seedWeights } from '../cgen/tfjs-models';

const POLICY = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };

function tensor(name: string, shape: (number | null)[]): unknown {
  return { class_name: '__keras_tensor__', config: { shape, dtype: 'float32', keras_history: [name, 0, 0] } };
}

/** The Keras 3 config of a TF.js model (functional or Sequential). */
export function keras3Config(model: tf.LayersModel, flatEndpoints = true): unknown {
  const j = model.toJSON(undefined, false) as any;
  const shapes = new Map<string, (number | null)[]>();
  for (const l of model.layers) shapes.set(l.name, l.outputShape as (number | null)[]);
  const layer = (l: any, functional: boolean) => {
    const cfg = { ...l.config };
    let cls = l.class_name;
    if (cls === 'InputLayer') {
      return { module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: cfg.batch_input_shape, dtype: 'float32', sparse: false, name: cfg.name }, registered_name: null, ...(functional ? { name: cfg.name, inbound_nodes: [] } : {}) };
    }
    delete cfg.batch_input_shape;
    const out: any = { module: 'keras.layers', class_name: cls, config: { ...cfg, dtype: POLICY }, registered_name: null };
    if (functional) {
      const refs = (l.inbound_nodes?.[0] ?? []).map((r: any[]) => tensor(r[0], shapes.get(r[0])!));
      out.name = cfg.name;
      out.inbound_nodes = [{ args: refs.length > 1 ? [refs] : refs, kwargs: {} }];
    }
    return out;
  };
  if (j.class_name === 'Sequential') {
    const first = model.layers[0];
    const input = { class_name: 'InputLayer', config: { batch_input_shape: first.batchInputShape, name: 'input_layer' } };
    return { module: 'keras', class_name: 'Sequential', config: { name: j.config.name, trainable: true, dtype: POLICY, layers: [layer(input, false), ...j.config.layers.map((l: any) => layer(l, false))] }, registered_name: null };
  }
  const ends = (v: any[][]) => (flatEndpoints && v.length === 1 ? v[0].slice(0, 3) : v.map((e) => e.slice(0, 3)));
  return {
    module: 'keras',
    class_name: 'Functional',
    config: { name: j.config.name, trainable: true, layers: j.config.layers.map((l: any) => layer(l, true)), input_layers: ends(j.config.input_layers), output_layers: ends(j.config.output_layers) },
    registered_name: 'Functional',
  };
}

/** model.weights.h5 as Keras 3 writes it. */
export async function keras3Weights(model: tf.LayersModel): Promise<Uint8Array> {
  const used = new Map<string, number>();
  const groups: Record<string, H5Node> = {};
  const layers = model.layers[0].getClassName() === 'InputLayer' || model.getClassName() !== 'Sequential' ? model.layers : [{ getClassName: () => 'InputLayer', getWeights: () => [] } as any, ...model.layers];
  for (const l of layers) {
    let g = toSnakeCase(l.getClassName());
    const k = used.get(g);
    if (k === undefined) used.set(g, 0);
    else {
      used.set(g, k + 1);
      g = `${g}_${k + 1}`;
    }
    const datasets: H5Node['datasets'] = {};
    (l.getWeights() as tf.Tensor[]).forEach((w, i) => (datasets![String(i)] = { shape: w.shape, data: w.dataSync() as Float32Array }));
    groups[g] = { groups: { vars: { datasets } } };
  }
  return writeHdf5({ groups: { layers: { groups }, optimizer: { groups: { vars: {} } } } });
}

export async function writeKerasArchive(model: tf.LayersModel, seed: number, flatEndpoints = true): Promise<Uint8Array> {
  void seed;
  return zipSync({
    'metadata.json': strToU8(JSON.stringify({ keras_version: '3.4.1', date_saved: '2024-07-01@12:00:00' })),
    'config.json': strToU8(JSON.stringify(keras3Config(model, flatEndpoints))),
    'model.weights.h5': await keras3Weights(model),
  });
}

/** A small Sequential MLP (Dense, Dropout). */
export function kerasV3Dense(): tf.LayersModel {
  const m = tf.sequential({ name: 'mlp' });
  m.add(tf.layers.dense({ inputShape: [10], units: 8, activation: 'relu', name: 'hidden' }));
  m.add(tf.layers.dropout({ rate: 0.25, name: 'dropout' }));
  m.add(tf.layers.dense({ units: 8, activation: 'tanh', name: 'hidden2' }));
  m.add(tf.layers.dense({ units: 4, activation: 'softmax', name: 'out' }));
  seedWeights(m, 21);
  return m;
}

/** A functional CNN: Conv2D, BatchNormalization, ReLU, DepthwiseConv2D, Add, Concatenate, pooling, Dense. */
export function kerasV3Cnn(): tf.LayersModel {
  const L = tf.layers;
  const x = tf.input({ shape: [10, 10, 2], name: 'pixels' });
  const c = L.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'stem' }).apply(x) as tf.SymbolicTensor;
  const b = L.batchNormalization({ name: 'stem_bn' }).apply(c) as tf.SymbolicTensor;
  const r = L.reLU({ name: 'stem_relu' }).apply(b) as tf.SymbolicTensor;
  const d = L.depthwiseConv2d({ kernelSize: 3, padding: 'same', name: 'dw' }).apply(r) as tf.SymbolicTensor;
  const a = L.add({ name: 'skip' }).apply([d, r]) as tf.SymbolicTensor;
  const k = L.concatenate({ name: 'dense_concat' }).apply([a, r]) as tf.SymbolicTensor;
  const p = L.maxPooling2d({ poolSize: 2, name: 'pool' }).apply(k) as tf.SymbolicTensor;
  const g = L.globalAveragePooling2d({ name: 'gap' }).apply(p) as tf.SymbolicTensor;
  const o = L.dense({ units: 3, activation: 'softmax', name: 'classes' }).apply(g) as tf.SymbolicTensor;
  const m = tf.model({ inputs: x, outputs: o, name: 'cnn3' });
  seedWeights(m, 5);
  return m;
}
