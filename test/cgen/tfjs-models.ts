/**
 * Test models written by TensorFlow.js itself (real TF.js layers files), covering every layer and
 * activation the converter supports, with seeded non-trivial weights (BatchNormalization gets
 * random moving statistics so folding is exercised).
 */
import * as tf from '@tensorflow/tfjs';
import { saveModel } from '../../src/nn/save';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Deterministic weights for every layer (BN variances positive). */
export function seedWeights(model: tf.LayersModel, seed: number, scale = 0.5): void {
  const r = rng(seed);
  for (const layer of model.layers) {
    const ws = layer.getWeights();
    if (!ws.length) continue;
    const isBN = layer.getClassName() === 'BatchNormalization';
    layer.setWeights(
      ws.map((w, i) => {
        const n = w.size;
        const v = new Float32Array(n);
        for (let j = 0; j < n; j++) {
          const u = r() * 2 - 1;
          // BN: gamma ~ 1, beta, mean small, variance in (0.5, 1.5)
          v[j] = isBN ? [1 + 0.5 * u, 0.3 * u, 0.3 * u, 1 + 0.5 * u][i] : u * scale;
        }
        return tf.tensor(v, w.shape);
      }),
    );
  }
}

/** 2-D CNN, functional: every 2-D layer kind, Add, Concatenate, foldable and standalone BN, activation layers. */
export function cnnModel(): tf.LayersModel {
  const L = tf.layers;
  const x = tf.input({ shape: [12, 12, 3], name: 'image' });
  const c1 = L.conv2d({ filters: 6, kernelSize: 3, padding: 'same', name: 'c1' }).apply(x) as tf.SymbolicTensor;
  const b1 = L.batchNormalization({ name: 'bn1' }).apply(c1) as tf.SymbolicTensor;
  const r1 = L.reLU({ name: 'relu1' }).apply(b1) as tf.SymbolicTensor;
  const z = L.zeroPadding2d({ padding: [[1, 0], [0, 1]], name: 'pad' }).apply(r1) as tf.SymbolicTensor;
  const c2 = L.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'valid', activation: 'relu6', name: 'c2' }).apply(z) as tf.SymbolicTensor;
  const c3 = L.conv2d({ filters: 6, kernelSize: 3, dilationRate: 2, padding: 'same', name: 'c3_dilated' }).apply(c2) as tf.SymbolicTensor;
  const lk = L.leakyReLU({ alpha: 0.1, name: 'leaky' }).apply(c3) as tf.SymbolicTensor;
  const dw = L.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', activation: 'tanh', name: 'dw' }).apply(lk) as tf.SymbolicTensor;
  const sp = L.separableConv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'elu', name: 'sep' }).apply(dw) as tf.SymbolicTensor;
  const add = L.add({ name: 'add' }).apply([sp, c2]) as tf.SymbolicTensor;
  const bn2 = L.batchNormalization({ name: 'bn_after_add' }).apply(add) as tf.SymbolicTensor;
  const th = L.thresholdedReLU({ theta: 0.2, name: 'thresh' }).apply(bn2) as tf.SymbolicTensor;
  const mp = L.maxPooling2d({ poolSize: 2, strides: 2, padding: 'same', name: 'maxpool' }).apply(th) as tf.SymbolicTensor;
  const ap = L.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same', name: 'avgpool' }).apply(th) as tf.SymbolicTensor;
  const ap2 = L.averagePooling2d({ poolSize: 2, strides: 2, padding: 'valid', name: 'avgpool_valid' }).apply(ap) as tf.SymbolicTensor;
  const cat = L.concatenate({ name: 'concat' }).apply([mp, ap2]) as tf.SymbolicTensor;
  const hs = L.conv2d({ filters: 4, kernelSize: 1, activation: 'hardSigmoid', name: 'c4_hsig' }).apply(cat) as tf.SymbolicTensor;
  const gm = L.globalMaxPooling2d({ name: 'gmax' }).apply(hs) as tf.SymbolicTensor;
  const ga = L.globalAveragePooling2d({ name: 'gavg' }).apply(cat) as tf.SymbolicTensor;
  const cat2 = L.concatenate({ name: 'concat_vec' }).apply([gm, ga]) as tf.SymbolicTensor;
  const d1 = L.dense({ units: 12, activation: 'sigmoid', name: 'd1' }).apply(cat2) as tf.SymbolicTensor;
  const dr = L.dropout({ rate: 0.5, name: 'drop' }).apply(d1) as tf.SymbolicTensor;
  const out = L.dense({ units: 5, activation: 'softmax', name: 'out' }).apply(dr) as tf.SymbolicTensor;
  const m = tf.model({ inputs: x, outputs: out, name: 'cnn' });
  seedWeights(m, 7);
  return m;
}

/** 1-D sequence model, Sequential: causal and dilated Conv1D, 1-D pooling, Dense over time steps, ELU layer. */
export function seqModel(): tf.LayersModel {
  const L = tf.layers;
  const m = tf.sequential({ name: 'seq' });
  // (TF.js cannot run causal Conv1D; the dl4j fixtures cover causal padding against Keras's own outputs.)
  m.add(L.conv1d({ inputShape: [20, 4], filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', name: 'first' }));
  m.add(L.maxPooling1d({ poolSize: 2, name: 'mp1' }));
  m.add(L.conv1d({ filters: 5, kernelSize: 3, dilationRate: 2, padding: 'same', name: 'dilated' }));
  m.add(L.elu({ name: 'elu' }));
  m.add(L.averagePooling1d({ poolSize: 3, strides: 2, padding: 'same', name: 'ap1' }));
  m.add(L.dense({ units: 4, activation: 'tanh', name: 'per_step' }));
  m.add(L.conv1d({ filters: 4, kernelSize: 2, strides: 2, padding: 'valid', name: 'strided' }));
  m.add(L.globalAveragePooling1d({ name: 'gap1' }));
  m.add(L.reshape({ targetShape: [2, 2], name: 'reshape' }));
  m.add(L.flatten({ name: 'flat' }));
  m.add(L.dense({ units: 3, name: 'logits' }));
  m.add(L.softmax({ name: 'softmax' }));
  seedWeights(m, 11);
  return m;
}

/** Two inputs, two outputs (functional), for the concatenated I/O convention of dm_infer. */
export function multiIoModel(): tf.LayersModel {
  const L = tf.layers;
  const a = tf.input({ shape: [6], name: 'a' });
  const b = tf.input({ shape: [3], name: 'b' });
  const cat = L.concatenate({ name: 'ab' }).apply([a, b]) as tf.SymbolicTensor;
  const h = L.dense({ units: 8, activation: 'relu', name: 'h' }).apply(cat) as tf.SymbolicTensor;
  const bn = L.batchNormalization({ name: 'bn' }).apply(h) as tf.SymbolicTensor;
  const o1 = L.dense({ units: 2, name: 'o1' }).apply(bn) as tf.SymbolicTensor;
  const o2 = L.dense({ units: 3, activation: 'hardSigmoid', name: 'o2' }).apply(h) as tf.SymbolicTensor;
  const m = tf.model({ inputs: [a, b], outputs: [o1, o2], name: 'multi' });
  seedWeights(m, 3);
  return m;
}

export async function saveTfjsModel(model: tf.LayersModel, dir: string): Promise<string> {
  await saveModel(model, dir);
  return `${dir}/model.json`;
}

/** TF.js predictions for `count` samples of concatenated inputs. */
export function tfjsPredict(model: tf.LayersModel, x: Float32Array, count: number): Float32Array {
  return tf.tidy(() => {
    let off = 0;
    const feeds = model.inputs.map((t) => {
      const shape = t.shape.slice(1) as number[];
      const size = shape.reduce((p, q) => p * q, 1);
      const all = tf.tensor2d(x, [count, x.length / count]);
      const part = tf.reshape(tf.slice(all, [0, off], [count, size]), [count, ...shape]);
      off += size;
      return part;
    });
    const r = model.predict(feeds.length === 1 ? feeds[0] : feeds);
    const outs = Array.isArray(r) ? r : [r];
    return tf.concat(outs.map((o) => tf.reshape(o, [count, -1])), 1).dataSync() as Float32Array;
  });
}

export function randomInputs(count: number, size: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: count * size }, () => lo + (hi - lo) * r());
}
