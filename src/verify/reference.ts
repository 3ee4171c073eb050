/**
 * The reference network the C is verified against: TensorFlow.js computing the model from the
 * same weights, independently of our C. Two ways:
 *  - a TensorFlow.js layers file whose layers are all standard is loaded by tf.loadLayersModel
 *    itself (TF.js parses the config and runs its own layers);
 *  - any other model (Keras HDF5/JSON/.keras, or layers TF.js cannot load) is run with TF.js ops
 *    over the *imported* graph, before our passes: BatchNormalization is TF.js's batchNorm, not our
 *    folded kernel; SeparableConv2D is tf.separableConv2d; padding is TF.js's 'same'/'valid'.
 * Either way the result is an independent check of the importer, the passes and the C.
 */
import * as tf from '@tensorflow/tfjs';
import type { Activation, ImportedLayer, ImportedModel } from '../ir/types';
import { sizeOf } from '../ir/shapes';
import type { Logger } from '../util/log';

export interface ReferenceNetwork {
  /** What computes the reference, for the report. */
  engine: string;
  backend: string;
  /** Runs `count` samples of `x` (inputs concatenated per sample) and returns [count · outputSize]. */
  predict(x: Float32Array, count: number): Promise<Float32Array>;
  outputSize: number;
}

let backendChosen: string | undefined;

/** Uses src/nn/backend.ts (wasm when it loads, else cpu) once per process. */
export async function referenceBackend(pref: 'auto' | 'wasm' | 'cpu' = 'auto', log?: Logger): Promise<string> {
  if (backendChosen && (pref === 'auto' || pref === backendChosen)) return backendChosen;
  const { selectBackend, describeBackend } = await import('../nn/backend.js');
  const name = await selectBackend(pref === 'auto' ? 'auto' : pref, log);
  backendChosen = describeBackend(name);
  return backendChosen;
}

function activate(x: tf.Tensor, a: Activation): tf.Tensor {
  switch (a.kind) {
    case 'linear':
      return x;
    case 'relu':
      return a.maxValue !== undefined ? tf.clipByValue(x, 0, a.maxValue) : tf.relu(x);
    case 'leaky_relu': {
      const y = tf.leakyRelu(x, a.alpha ?? 0.3);
      return a.maxValue !== undefined ? tf.minimum(y, a.maxValue) : y;
    }
    case 'elu':
      return (a.alpha ?? 1) === 1 ? tf.elu(x) : tf.where(tf.greater(x, 0), x, tf.mul(a.alpha!, tf.sub(tf.exp(x), 1)));
    case 'thresholded_relu':
      return tf.where(tf.greater(x, a.theta ?? 1), x, tf.zerosLike(x));
    case 'softmax':
      return tf.softmax(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'tanh':
      return tf.tanh(x);
    case 'hard_sigmoid':
      return tf.clipByValue(tf.add(tf.mul(x, a.alpha ?? 0.2), 0.5), 0, 1);
  }
  throw new Error(`no TF.js reference for activation ${a.kind}`);
}

function withBias(y: tf.Tensor, l: ImportedLayer): tf.Tensor {
  return l.weights.bias && l.useBias !== false ? tf.add(y, tf.tensor(l.weights.bias.data, l.weights.bias.shape)) : y;
}

const pad = (p: string | undefined) => (p === 'same' ? 'same' : 'valid');

/**
 * LSTM / GRU / SimpleRNN as TF.js ops, one time step after another, from Keras's cell equations
 * (gate order: LSTM i, f, c, o; GRU z, r, h), starting from a zero state.
 */
function recurrentOp(l: ImportedLayer, x: tf.Tensor): tf.Tensor {
  const r = l.recurrent!;
  const [n, steps, features] = x.shape as [number, number, number];
  const u = l.units!;
  const W = tf.tensor2d(l.weights.kernel!.data, l.weights.kernel!.shape as [number, number]);
  const U = tf.tensor2d(l.weights.recurrentKernel!.data, l.weights.recurrentKernel!.shape as [number, number]);
  const g = r.cell === 'lstm' ? 4 : r.cell === 'gru' ? 3 : 1;
  const b = l.weights.bias && l.useBias !== false ? l.weights.bias.data : new Float32Array(r.cell === 'gru' && r.resetAfter ? 2 * g * u : g * u);
  const inputBias = tf.tensor1d(b.subarray(0, g * u));
  const recurrentBias = r.cell === 'gru' && r.resetAfter ? tf.tensor1d(b.subarray(g * u, 2 * g * u)) : undefined;
  const act = (v: tf.Tensor) => activate(v, r.activation);
  const gate = (v: tf.Tensor) => activate(v, r.recurrentActivation);
  const cols = (m: tf.Tensor, k: number, count = 1) => tf.slice(m, [0, k * u], [-1, count * u]);
  let h: tf.Tensor = tf.zeros([n, u]);
  let c: tf.Tensor = tf.zeros([n, u]);
  const outs: tf.Tensor[] = [];
  for (let s = 0; s < steps; s++) {
    const t = r.goBackwards ? steps - 1 - s : s;
    const xt = tf.reshape(tf.slice(x, [0, t, 0], [n, 1, features]), [n, features]);
    const mx = tf.add(tf.matMul(xt, W), inputBias);
    if (r.cell === 'lstm') {
      const z = tf.add(mx, tf.matMul(h, U));
      const i = gate(cols(z, 0)), f = gate(cols(z, 1)), cc = act(cols(z, 2)), o = gate(cols(z, 3));
      c = tf.add(tf.mul(f, c), tf.mul(i, cc));
      h = tf.mul(o, act(c));
    } else if (r.cell === 'gru') {
      let hh: tf.Tensor, z: tf.Tensor;
      if (r.resetAfter) {
        const mi = tf.add(tf.matMul(h, U), recurrentBias!);
        z = gate(tf.add(cols(mx, 0), cols(mi, 0)));
        const rr = gate(tf.add(cols(mx, 1), cols(mi, 1)));
        hh = act(tf.add(cols(mx, 2), tf.mul(rr, cols(mi, 2))));
      } else {
        const mi = tf.matMul(h, cols(U, 0, 2));
        z = gate(tf.add(cols(mx, 0), cols(mi, 0)));
        const rr = gate(tf.add(cols(mx, 1), cols(mi, 1)));
        hh = act(tf.add(cols(mx, 2), tf.matMul(tf.mul(rr, h), cols(U, 2))));
      }
      h = tf.add(tf.mul(z, h), tf.mul(tf.sub(1, z), hh));
    } else {
      h = act(tf.add(mx, tf.matMul(h, U)));
    }
    outs.push(h);
  }
  if (!r.returnSequences) return h;
  return tf.stack(r.reverseOutput ? outs.reverse() : outs, 1);
}

/** One imported layer as TF.js ops on a batch. */
function layerOp(l: ImportedLayer, xs: tf.Tensor[]): tf.Tensor {
  const x = xs[0];
  const n = x.shape[0];
  const kernel = () => tf.tensor(l.weights.kernel!.data, l.weights.kernel!.shape);
  switch (l.type) {
    case 'dense': {
      const cin = x.shape[x.shape.length - 1];
      const y = tf.reshape(tf.matMul(tf.reshape(x, [-1, cin]), kernel() as tf.Tensor2D), [n, ...l.outputShape]);
      return activate(withBias(y, l), l.activation);
    }
    case 'conv1d': {
      let input = x as tf.Tensor3D;
      let padding: 'valid' | 'same' = pad(l.padding);
      if (l.padding === 'causal') {
        input = tf.pad(input, [[0, 0], [(l.kernel![0] - 1) * l.dilation![0], 0], [0, 0]]);
        padding = 'valid';
      }
      const y = tf.conv1d(input, kernel() as tf.Tensor3D, l.strides![0], padding, 'NWC', l.dilation![0]);
      return activate(withBias(y, l), l.activation);
    }
    case 'conv2d': {
      const y = tf.conv2d(x as tf.Tensor4D, kernel() as tf.Tensor4D, l.strides as [number, number], pad(l.padding), 'NHWC', l.dilation as [number, number]);
      return activate(withBias(y, l), l.activation);
    }
    case 'depthwise_conv2d': {
      const y = tf.depthwiseConv2d(x as tf.Tensor4D, kernel() as tf.Tensor4D, l.strides as [number, number], pad(l.padding), 'NHWC', l.dilation as [number, number]);
      return activate(withBias(y, l), l.activation);
    }
    case 'separable_conv2d': {
      const pw = tf.tensor4d(l.weights.pointwise!.data, l.weights.pointwise!.shape as [number, number, number, number]);
      const y = tf.separableConv2d(x as tf.Tensor4D, kernel() as tf.Tensor4D, pw, l.strides as [number, number], pad(l.padding), l.dilation as [number, number]);
      return activate(withBias(y, l), l.activation);
    }
    case 'batchnorm': {
      const c = l.weights.mean!.data.length;
      const t = (w?: { data: Float32Array }) => (w ? tf.tensor1d(w.data) : undefined);
      return tf.batchNorm(x, tf.tensor1d(l.weights.mean!.data), tf.tensor1d(l.weights.variance!.data), t(l.weights.beta) ?? tf.zeros([c]), t(l.weights.gamma) ?? tf.ones([c]), l.epsilon ?? 1e-3);
    }
    case 'maxpool2d':
    case 'avgpool2d': {
      const f = l.type === 'maxpool2d' ? tf.maxPool : tf.avgPool;
      return f(x as tf.Tensor4D, l.pool as [number, number], l.strides as [number, number], pad(l.padding));
    }
    case 'maxpool1d':
    case 'avgpool1d': {
      const f = l.type === 'maxpool1d' ? tf.maxPool : tf.avgPool;
      const x4 = tf.expandDims(x, 1) as tf.Tensor4D;
      return tf.squeeze(f(x4, [1, l.pool![0]], [1, l.strides![0]], pad(l.padding)), [1]);
    }
    case 'global_avgpool1d':
    case 'global_avgpool2d':
    case 'global_maxpool1d':
    case 'global_maxpool2d': {
      const axes = l.type.endsWith('2d') ? [1, 2] : [1];
      const y = l.type.includes('max') ? tf.max(x, axes) : tf.mean(x, axes);
      return tf.reshape(y, [n, ...l.outputShape]);
    }
    case 'flatten':
    case 'reshape':
      return tf.reshape(x, [n, ...l.outputShape]);
    case 'zeropad1d':
      return tf.pad(x, [[0, 0], l.pads![0], [0, 0]] as [number, number][]);
    case 'zeropad2d':
      return tf.pad(x, [[0, 0], l.pads![0], l.pads![1], [0, 0]] as [number, number][]);
    case 'add':
      return activate(tf.addN(xs), l.activation);
    case 'average':
      return tf.div(tf.addN(xs), xs.length);
    case 'multiply':
      return xs.slice(1).reduce((a, b) => tf.mul(a, b), xs[0]);
    case 'concatenate': {
      const rank = x.shape.length;
      const axis = l.axis ?? -1;
      return tf.concat(xs, axis < 0 ? rank + axis : axis);
    }
    case 'activation':
      return activate(x, l.activation);
    case 'dropout':
      return x;
    case 'lstm':
    case 'gru':
    case 'simple_rnn':
      return recurrentOp(l, x);
  }
  throw new Error(`no TF.js reference for layer type ${l.type}`);
}

/**
 * A batched predict over flat float inputs: splits each batch of `count` concatenated samples into
 * one tensor per input shape, runs `forward`, and concatenates the flattened outputs.
 */
function batchedPredict(inputShapes: number[][], outputSize: number, forward: (feeds: tf.Tensor[]) => tf.Tensor[]): ReferenceNetwork['predict'] {
  const inputSizes = inputShapes.map(sizeOf);
  const inputSize = inputSizes.reduce((a, b) => a + b, 0);
  return async (x, count) => {
    const out = new Float32Array(count * outputSize);
    const batch = 256;
    for (let start = 0; start < count; start += batch) {
      const m = Math.min(batch, count - start);
      const y = tf.tidy(() => {
        const flat = tf.tensor2d(x.subarray(start * inputSize, (start + m) * inputSize), [m, inputSize]);
        let off = 0;
        const feeds = inputShapes.map((shape, i) => {
          const t = tf.reshape(tf.slice(flat, [0, off], [m, inputSizes[i]]), [m, ...shape]);
          off += inputSizes[i];
          return t;
        });
        return tf.concat(forward(feeds).map((o) => tf.reshape(o, [m, -1])), 1);
      });
      out.set(await y.data(), start * outputSize);
      y.dispose();
    }
    return out;
  };
}

/** The reference as TF.js ops over the imported graph. */
export function opsReference(model: ImportedModel, backend: string): ReferenceNetwork {
  const byName = new Map(model.layers.map((l) => [l.name, l]));
  const outputSize = model.outputs.reduce((a, n) => a + sizeOf(byName.get(n)!.outputShape), 0);
  return {
    engine: 'TensorFlow.js ops over the imported graph (before our passes)',
    backend,
    outputSize,
    predict: batchedPredict(model.inputs.map((n) => byName.get(n)!.outputShape), outputSize, (feeds) => {
      const values = new Map<string, tf.Tensor>(model.inputs.map((name, i) => [name, feeds[i]]));
      for (const l of model.layers) {
        if (l.type === 'input') continue;
        values.set(l.name, layerOp(l, l.inputs.map((i) => values.get(i)!)));
      }
      return model.outputs.map((o) => values.get(o)!);
    }),
  };
}

/** Class names TF.js's own loader can run here (its built-in layers). */
function tfjsCanLoad(modelJson: any): boolean {
  const topo = modelJson?.modelTopology?.model_config ?? modelJson?.modelTopology;
  const layers: any[] = Array.isArray(topo?.config) ? topo.config : topo?.config?.layers ?? [];
  const known = tf.serialization.SerializationMap.getMap().classNameMap;
  return layers.every((l) => !!known[l.class_name]);
}

/** tf.loadLayersModel on a layers model.json (+ shards). */
export async function tfjsLayersReference(modelJsonFile: string, backend: string): Promise<ReferenceNetwork | undefined> {
  const { readFileSync } = await import('node:fs');
  const json = JSON.parse(readFileSync(modelJsonFile, 'utf8'));
  if (!tfjsCanLoad(json)) return undefined;
  const { fileLoadHandler } = await import('../nn/save.js');
  const model = await tf.loadLayersModel(fileLoadHandler(modelJsonFile));
  const outputSize = model.outputs.reduce((a, t) => a + sizeOf(t.shape.slice(1) as number[]), 0);
  return {
    engine: 'tf.loadLayersModel (TensorFlow.js layers)',
    backend,
    outputSize,
    predict: batchedPredict(model.inputs.map((t) => t.shape.slice(1) as number[]), outputSize, (feeds) => {
      const r = model.predict(feeds.length === 1 ? feeds[0] : feeds);
      return Array.isArray(r) ? r : [r];
    }),
  };
}

/** The reference for a model file: TF.js's own loader when it can, else ops over the imported graph. */
export async function referenceFor(file: string, imported: ImportedModel, opts: { backend?: 'auto' | 'wasm' | 'cpu'; log?: Logger } = {}): Promise<ReferenceNetwork> {
  const backend = await referenceBackend(opts.backend ?? 'auto', opts.log);
  if (imported.source.format === 'tfjs-layers') {
    // TF.js's layers cannot load or run everything the converter reads (causal Conv1D, GRU with
    // reset_after): try to load and run one sample.
    const size = imported.inputs.reduce((a, n) => a + sizeOf(imported.layers.find((l) => l.name === n)!.outputShape), 0);
    try {
      const r = await tfjsLayersReference(file, backend);
      if (r) {
        await r.predict(new Float32Array(size), 1);
        return r;
      }
    } catch (e) {
      opts.log?.warn(`tf.loadLayersModel cannot run this model (${(e as Error).message.split('\n')[0]}); using TF.js ops over the imported graph`);
    }
  }
  return opsReference(imported, backend);
}
