/**
 * Recurrent test models built with TF.js's own layers (tf.layers.lstm / gru / simpleRNN,
 * bidirectional, timeDistributed) with seeded weights, and a float64 reference of Keras's cell
 * equations written here from the Keras documentation (independent of src/), for what TF.js cannot
 * run: GRU with reset_after=True and Keras 3's hard_sigmoid.
 */
import * as tf from '@tensorflow/tfjs';
import { seedWeights } from './tfjs-models';

const L = tf.layers;

/** Conv1D -> LSTM (sequence) -> LSTM (backwards, last state, no bias) -> Dense: stacked, after a convolution. */
export function lstmStack(): tf.LayersModel {
  const m = tf.sequential({ name: 'lstm_stack' });
  m.add(L.conv1d({ inputShape: [12, 3], filters: 4, kernelSize: 3, activation: 'relu', name: 'conv' }));
  m.add(L.lstm({ units: 6, returnSequences: true, name: 'lstm_seq' }));
  m.add(L.lstm({ units: 5, goBackwards: true, activation: 'relu', recurrentActivation: 'sigmoid', useBias: false, name: 'lstm_back' }));
  m.add(L.dense({ units: 3, activation: 'softmax', name: 'out' }));
  seedWeights(m, 31);
  return m;
}

/** GRU (sequence, sigmoid gates) -> GRU (backwards, sequence, no bias) -> TimeDistributed(Dense) -> Flatten -> Dense. */
export function gruStack(): tf.LayersModel {
  const m = tf.sequential({ name: 'gru_stack' });
  m.add(L.gru({ inputShape: [9, 4], units: 5, returnSequences: true, recurrentActivation: 'sigmoid', name: 'gru_seq' }));
  m.add(L.gru({ units: 4, returnSequences: true, goBackwards: true, useBias: false, name: 'gru_back' }));
  m.add(L.timeDistributed({ layer: L.dense({ units: 2, activation: 'tanh', name: 'per_step' }), name: 'td' }));
  m.add(L.flatten({ name: 'flat' }));
  m.add(L.dense({ units: 3, name: 'out' }));
  seedWeights(m, 37);
  return m;
}

/** SimpleRNN (relu, sequence) -> SimpleRNN (backwards, tanh) -> Dense. */
export function rnnStack(): tf.LayersModel {
  const m = tf.sequential({ name: 'rnn_stack' });
  m.add(L.simpleRNN({ inputShape: [10, 3], units: 6, returnSequences: true, activation: 'relu', name: 'rnn_seq' }));
  m.add(L.simpleRNN({ units: 4, goBackwards: true, name: 'rnn_back' }));
  m.add(L.dense({ units: 2, name: 'out' }));
  seedWeights(m, 41);
  return m;
}

/** Bidirectional LSTM (concat, sequence) -> Bidirectional GRU (sum, sequence) -> Bidirectional SimpleRNN (concat, last) -> Dense. */
export function bidirectionalModel(): tf.LayersModel {
  const x = tf.input({ shape: [8, 3], name: 'seq' });
  const a = L.bidirectional({ layer: L.lstm({ units: 4, returnSequences: true, name: 'lstm' }) as tf.RNN, name: 'bi_lstm' }).apply(x) as tf.SymbolicTensor;
  const b = L.bidirectional({ layer: L.gru({ units: 3, returnSequences: true, name: 'gru' }) as tf.RNN, mergeMode: 'sum', name: 'bi_gru' }).apply(a) as tf.SymbolicTensor;
  const c = L.bidirectional({ layer: L.simpleRNN({ units: 3, name: 'rnn' }) as tf.RNN, name: 'bi_rnn' }).apply(b) as tf.SymbolicTensor;
  const o = L.dense({ units: 2, name: 'out' }).apply(c) as tf.SymbolicTensor;
  const m = tf.model({ inputs: x, outputs: o, name: 'bidirectional' });
  seedWeights(m, 43);
  return m;
}

/** Every cell activation: LSTM (linear, relu gates), GRU (sigmoid, tanh gates), GRU (relu, linear gates), SimpleRNN (hard_sigmoid / sigmoid). */
export function activationsModel(): tf.LayersModel {
  const m = tf.sequential({ name: 'cell_activations' });
  m.add(L.lstm({ inputShape: [6, 3], units: 4, returnSequences: true, activation: 'linear', recurrentActivation: 'relu', name: 'lstm_lin_relu' }));
  m.add(L.gru({ units: 4, returnSequences: true, activation: 'sigmoid', recurrentActivation: 'tanh', name: 'gru_sig_tanh' }));
  m.add(L.gru({ units: 4, returnSequences: true, activation: 'relu', recurrentActivation: 'linear', name: 'gru_relu_lin' }));
  m.add(L.simpleRNN({ units: 3, returnSequences: true, activation: 'hardSigmoid', name: 'rnn_hsig' }));
  m.add(L.simpleRNN({ units: 3, activation: 'sigmoid', useBias: false, name: 'rnn_sig' }));
  seedWeights(m, 47, 0.4);
  return m;
}

/** Bidirectional ave and mul, and Keras's Average and Multiply layers over recurrent outputs. */
export function mergeModel(): tf.LayersModel {
  const x = tf.input({ shape: [6, 3], name: 'seq' });
  const a = L.bidirectional({ layer: L.lstm({ units: 4, returnSequences: true, name: 'lstm' }) as tf.RNN, mergeMode: 'ave', name: 'bi_ave' }).apply(x) as tf.SymbolicTensor;
  const b = L.bidirectional({ layer: L.gru({ units: 4, returnSequences: true, name: 'gru' }) as tf.RNN, mergeMode: 'mul', name: 'bi_mul' }).apply(a) as tf.SymbolicTensor;
  const c = L.simpleRNN({ units: 4, returnSequences: true, name: 'rnn' }).apply(x) as tf.SymbolicTensor;
  const avg = L.average({ name: 'avg3' }).apply([a, b, c]) as tf.SymbolicTensor;
  const mul = L.multiply({ name: 'mul3' }).apply([a, b, c]) as tf.SymbolicTensor;
  const cat = L.concatenate({ name: 'cat' }).apply([avg, mul]) as tf.SymbolicTensor;
  const last = L.lstm({ units: 3, name: 'last' }).apply(cat) as tf.SymbolicTensor;
  const m = tf.model({ inputs: x, outputs: last, name: 'merges' });
  seedWeights(m, 53, 0.8);
  return m;
}

export const FLOAT_MODELS = { lstmStack, gruStack, rnnStack, bidirectionalModel, activationsModel, mergeModel };

// ---- a float64 reference of Keras's recurrent cells (for what TF.js cannot build) ----

export type Act = 'tanh' | 'sigmoid' | 'hard_sigmoid' | 'hard_sigmoid3' | 'relu' | 'linear';

export function act(kind: Act, x: number): number {
  switch (kind) {
    case 'tanh':
      return Math.tanh(x);
    case 'sigmoid':
      return 1 / (1 + Math.exp(-x));
    case 'hard_sigmoid': // Keras 2, TF.js
      return Math.min(1, Math.max(0, 0.2 * x + 0.5));
    case 'hard_sigmoid3': // Keras 3: relu6(x + 3) / 6
      return Math.min(6, Math.max(0, x + 3)) / 6;
    case 'relu':
      return Math.max(0, x);
    case 'linear':
      return x;
  }
}

export interface CellSpec {
  cell: 'lstm' | 'gru' | 'simple_rnn';
  units: number;
  activation: Act;
  recurrentActivation: Act;
  returnSequences: boolean;
  goBackwards: boolean;
  resetAfter?: boolean;
  kernel: Float32Array;
  recurrentKernel: Float32Array;
  bias: Float32Array;
}

/** Keras's recurrent layer on one sequence x [steps, features] (float64): outputs [steps, units] or [units]. */
export function cellForward(c: CellSpec, x: ArrayLike<number>, steps: number, features: number): number[] {
  const u = c.units, g = c.cell === 'lstm' ? 4 : c.cell === 'gru' ? 3 : 1, cols = g * u;
  let h = new Array(u).fill(0), st = new Array(u).fill(0);
  const out: number[] = [];
  const xw = (t: number, k: number, o: number) => {
    let s = 0;
    for (let i = 0; i < features; i++) s += c.kernel[i * cols + k * u + o] * x[t * features + i];
    return s;
  };
  const hu = (v: number[], k: number, o: number) => {
    let s = 0;
    for (let i = 0; i < u; i++) s += c.recurrentKernel[i * cols + k * u + o] * v[i];
    return s;
  };
  for (let s = 0; s < steps; s++) {
    const t = c.goBackwards ? steps - 1 - s : s;
    const nh = new Array(u).fill(0), nc = new Array(u).fill(0);
    if (c.cell === 'lstm') {
      for (let o = 0; o < u; o++) {
        const z = (k: number) => xw(t, k, o) + hu(h, k, o) + c.bias[k * u + o];
        const i = act(c.recurrentActivation, z(0)), f = act(c.recurrentActivation, z(1)), cc = act(c.activation, z(2)), og = act(c.recurrentActivation, z(3));
        nc[o] = f * st[o] + i * cc;
        nh[o] = og * act(c.activation, nc[o]);
      }
      st = nc;
    } else if (c.cell === 'gru') {
      const bx = (k: number, o: number) => c.bias[k * u + o];
      const bh = (k: number, o: number) => (c.resetAfter ? c.bias[cols + k * u + o] : 0);
      const z = h.map((_, o) => act(c.recurrentActivation, xw(t, 0, o) + bx(0, o) + hu(h, 0, o) + bh(0, o)));
      const r = h.map((_, o) => act(c.recurrentActivation, xw(t, 1, o) + bx(1, o) + hu(h, 1, o) + bh(1, o)));
      const rh = h.map((v, o) => r[o] * v);
      for (let o = 0; o < u; o++) {
        const pre = c.resetAfter ? xw(t, 2, o) + bx(2, o) + r[o] * (hu(h, 2, o) + bh(2, o)) : xw(t, 2, o) + bx(2, o) + hu(rh, 2, o);
        const hh = act(c.activation, pre);
        nh[o] = z[o] * h[o] + (1 - z[o]) * hh;
      }
    } else {
      for (let o = 0; o < u; o++) nh[o] = act(c.activation, xw(t, 0, o) + hu(h, 0, o) + c.bias[o]);
    }
    h = nh;
    if (c.returnSequences) out.push(...h);
  }
  return c.returnSequences ? out : h;
}

/** Dense on the last axis (float64). */
export function denseForward(kernel: Float32Array, bias: Float32Array, x: number[], cin: number, units: number): number[] {
  const out: number[] = [];
  for (let p = 0; p < x.length / cin; p++)
    for (let o = 0; o < units; o++) {
      let s = bias[o];
      for (let i = 0; i < cin; i++) s += kernel[i * units + o] * x[p * cin + i];
      out.push(s);
    }
  return out;
}

/** Deterministic uniform values in [-scale, scale]. */
export function seeded(n: number, seed: number, scale = 0.5): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 * scale - scale;
  });
}
