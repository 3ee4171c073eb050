/**
 * The one reading of an Architecture: the exact list of Keras layers the builder creates, with
 * their names, configurations, wiring and output shapes, and the parameter, stored-weight and MAC
 * count of each. build.ts instantiates this plan in TensorFlow.js and cost.ts sums it, so the
 * analytic cost and the trained model cannot drift apart.
 */
import { DeepMakerError } from '../util/errors';
import type { ArchActivation, ArchNode, Architecture, RecurrentActivation } from './arch';

export type PlannedKind =
  | 'Conv2D'
  | 'DepthwiseConv2D'
  | 'MaxPooling2D'
  | 'AveragePooling2D'
  | 'GlobalAveragePooling2D'
  | 'Flatten'
  | 'Dense'
  | 'Dropout'
  | 'BatchNormalization'
  | 'Concatenate'
  | 'Activation'
  | 'LSTM'
  | 'GRU'
  | 'SimpleRNN'
  | 'GlobalAveragePooling1D'
  | 'GlobalMaxPooling1D';

/** The Keras class of each recurrent node type, and its gate count (weights per unit: gates × (features + units + 1)). */
export const RECURRENT_KINDS = { lstm: { kind: 'LSTM', gates: 4 }, gru: { kind: 'GRU', gates: 3 }, simple_rnn: { kind: 'SimpleRNN', gates: 1 } } as const;
const RECURRENT_ACTIVATIONS: RecurrentActivation[] = ['linear', 'relu', 'relu6', 'tanh', 'sigmoid', 'hard_sigmoid'];

export interface PlannedLayer {
  /** Keras layer name, unique and deterministic (e.g. `l3_conv2d`, `l5_block_u1_conv`). */
  name: string;
  kind: PlannedKind;
  /** Names of the layers feeding this one; `input` is the model input. */
  inputs: string[];
  /** Output shape without the batch dimension. */
  outputShape: number[];
  /** What countParams() counts: every weight variable, trainable or not (BN: gamma, beta, mean, variance). */
  params: number;
  /** Values the hardware stores: kernels and biases, with BatchNormalization folded into the layer before it. */
  weights: number;
  /** Multiply-accumulates per inference (convolutions and dense layers only). */
  macs: number;
  config: {
    filters?: number;
    units?: number;
    kernel?: number;
    stride?: number;
    padding?: 'valid' | 'same';
    activation?: ArchActivation | RecurrentActivation;
    useBias?: boolean;
    /** Recurrent layers. */
    returnSequences?: boolean;
    recurrentActivation?: RecurrentActivation;
    resetAfter?: boolean;
    pool?: number;
    rate?: number;
  };
  /** Index of the Architecture node this layer comes from (-1: the appended classifier). */
  node: number;
}

export interface ArchitecturePlan {
  input: number[];
  layers: PlannedLayer[];
  /** Name of the layer whose output is the model output (logits). */
  output: string;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function windowOut(n: number, k: number, s: number, padding: 'valid' | 'same'): number {
  return padding === 'same' ? Math.ceil(n / s) : Math.floor((n - k) / s) + 1;
}

/** Plans the Keras layers of `arch`; throws DeepMakerError naming the layer when a shape does not work out. */
export function planArchitecture(arch: Architecture): ArchitecturePlan {
  if (!Array.isArray(arch.input) || arch.input.length === 0 || arch.input.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new DeepMakerError(`architecture input shape [${arch.input}] is not a list of positive integers`, { where: 'architecture.input' }, 'give the input shape without the batch dimension, e.g. [28, 28, 1]');
  }
  if (!Number.isInteger(arch.classes) || arch.classes < 2) {
    throw new DeepMakerError(`architecture classes = ${arch.classes}; need an integer >= 2`, { where: 'architecture.classes' });
  }
  const layers: PlannedLayer[] = [];
  let cur = 'input';
  let shape = [...arch.input];

  const add = (l: Omit<PlannedLayer, 'params' | 'weights' | 'macs'> & Partial<Pick<PlannedLayer, 'params' | 'weights' | 'macs'>>): string => {
    if (l.outputShape.some((d) => !(d >= 1))) {
      throw new DeepMakerError(
        `layer ${l.name} (${l.kind}) would have output shape [${l.outputShape.join(', ')}] from input [${shape.join(', ')}]`,
        { where: `architecture.layers[${l.node}]` },
        'the feature map became too small: use fewer pooling/stride layers, smaller kernels, or "same" padding',
      );
    }
    layers.push({ params: 0, weights: 0, macs: 0, ...l });
    cur = l.name;
    shape = l.outputShape;
    return l.name;
  };
  const need3d = (what: string, node: number) => {
    if (shape.length !== 3) {
      throw new DeepMakerError(`${what} needs an image-shaped input [H, W, C], got [${shape.join(', ')}]`, { where: `architecture.layers[${node}]` }, 'put convolutions and pooling before any flatten/dense layer');
    }
  };

  /** Conv2D [-> BatchNormalization -> Activation]: one convolution unit. */
  const convUnit = (name: string, node: number, filters: number, kernel: number, stride: number, padding: 'valid' | 'same', activation: ArchActivation, batchnorm: boolean) => {
    need3d(`conv2d ${name}`, node);
    const [h, w, c] = shape;
    const out = [windowOut(h, kernel, stride, padding), windowOut(w, kernel, stride, padding), filters];
    const k = kernel * kernel * c * filters;
    add({
      name, kind: 'Conv2D', inputs: [cur], outputShape: out, node,
      config: { filters, kernel, stride, padding, activation: batchnorm ? 'linear' : activation, useBias: !batchnorm },
      params: k + (batchnorm ? 0 : filters), weights: k + filters, macs: size(out.slice(0, 2)) * kernel * kernel * c * filters,
    });
    if (batchnorm) {
      add({ name: `${name}_bn`, kind: 'BatchNormalization', inputs: [cur], outputShape: out, node, config: {}, params: 4 * filters });
      if (activation !== 'linear') add({ name: `${name}_act`, kind: 'Activation', inputs: [cur], outputShape: out, node, config: { activation } });
    }
  };

  const flattenIfNeeded = (prefix: string, node: number) => {
    if (shape.length > 1) add({ name: `${prefix}_flatten`, kind: 'Flatten', inputs: [cur], outputShape: [size(shape)], node, config: {} });
  };

  const dense = (name: string, node: number, units: number, activation: ArchActivation) => {
    flattenIfNeeded(name, node);
    const n = shape[0];
    add({ name, kind: 'Dense', inputs: [cur], outputShape: [units], node, config: { units, activation }, params: n * units + units, weights: n * units + units, macs: n * units });
  };

  const nodes = arch.layers;
  if (!Array.isArray(nodes)) throw new DeepMakerError('architecture.layers is not a list', { where: 'architecture.layers' });
  const last = nodes[nodes.length - 1];
  const lastIsClassifier = !!last && last.type === 'dense' && last.units === arch.classes && ['linear', 'softmax', undefined].includes(last.activation);

  nodes.forEach((n: ArchNode, i) => {
    const base = `l${i}_${n.type}`;
    const where = { where: `architecture.layers[${i}] (${n.type})` };
    const positive = (v: unknown, field: string) => {
      if (!Number.isInteger(v) || (v as number) < 1) throw new DeepMakerError(`${field} = ${v}; need a positive integer`, where);
      return v as number;
    };
    switch (n.type) {
      case 'conv2d':
        convUnit(base, i, positive(n.filters, 'filters'), positive(n.kernel, 'kernel'), positive(n.stride ?? 1, 'stride'), n.padding ?? 'valid', n.activation ?? 'linear', !!n.batchnorm);
        break;
      case 'depthwise_conv2d': {
        need3d(`depthwise_conv2d ${base}`, i);
        const kernel = positive(n.kernel, 'kernel'), stride = positive(n.stride ?? 1, 'stride'), padding = n.padding ?? 'valid';
        const [h, w, c] = shape;
        const out = [windowOut(h, kernel, stride, padding), windowOut(w, kernel, stride, padding), c];
        const bn = !!n.batchnorm, act = n.activation ?? 'linear';
        add({
          name: base, kind: 'DepthwiseConv2D', inputs: [cur], outputShape: out, node: i,
          config: { kernel, stride, padding, activation: bn ? 'linear' : act, useBias: !bn },
          params: kernel * kernel * c + (bn ? 0 : c), weights: kernel * kernel * c + c, macs: size(out.slice(0, 2)) * kernel * kernel * c,
        });
        if (bn) {
          add({ name: `${base}_bn`, kind: 'BatchNormalization', inputs: [cur], outputShape: out, node: i, config: {}, params: 4 * c });
          if (act !== 'linear') add({ name: `${base}_act`, kind: 'Activation', inputs: [cur], outputShape: out, node: i, config: { activation: act } });
        }
        break;
      }
      case 'maxpool2d':
      case 'avgpool2d': {
        need3d(`${n.type} ${base}`, i);
        const pool = positive(n.pool, 'pool'), stride = positive(n.stride ?? pool, 'stride');
        const [h, w, c] = shape;
        add({ name: base, kind: n.type === 'maxpool2d' ? 'MaxPooling2D' : 'AveragePooling2D', inputs: [cur], outputShape: [windowOut(h, pool, stride, 'valid'), windowOut(w, pool, stride, 'valid'), c], node: i, config: { pool, stride, padding: 'valid' } });
        break;
      }
      case 'global_avgpool2d':
        need3d(`global_avgpool2d ${base}`, i);
        add({ name: base, kind: 'GlobalAveragePooling2D', inputs: [cur], outputShape: [shape[2]], node: i, config: {} });
        break;
      case 'lstm':
      case 'gru':
      case 'simple_rnn': {
        if (shape.length !== 2) {
          throw new DeepMakerError(
            `${n.type} ${base} needs a sequence input [timesteps, features], got [${shape.join(', ')}]`,
            where,
            shape.length === 3 ? 'read images as sequences with data.sequence: rows (H steps of W·C features)' : 'give sequences: data.csv.window for a CSV time series, data.sequence: rows for images; put recurrent layers before any flatten/dense layer',
          );
        }
        const units = positive(n.units, 'units');
        const { kind, gates } = RECURRENT_KINDS[n.type];
        const act = (v: unknown, field: string, fallback: RecurrentActivation): RecurrentActivation => {
          const a = (v ?? fallback) as RecurrentActivation;
          if (!RECURRENT_ACTIVATIONS.includes(a)) throw new DeepMakerError(`${field} = ${JSON.stringify(v)} is not an activation of a recurrent cell`, where, `use one of ${RECURRENT_ACTIVATIONS.join(', ')}`);
          return a;
        };
        const activation = act(n.activation, 'activation', 'tanh');
        const recurrentActivation = n.type === 'simple_rnn' ? undefined : act(n.recurrentActivation, 'recurrentActivation', 'sigmoid');
        if (n.type === 'simple_rnn' && n.recurrentActivation !== undefined) throw new DeepMakerError('simple_rnn has no recurrentActivation (it has no gates)', where, 'remove recurrentActivation, or use lstm or gru');
        if (n.type !== 'gru' && n.resetAfter !== undefined) throw new DeepMakerError(`resetAfter is a gru option; ${n.type} has none`, where, 'remove resetAfter');
        if (n.resetAfter) {
          throw new DeepMakerError(
            'gru with resetAfter: true cannot be trained here: TensorFlow.js, which trains the models, implements GRU with reset_after false only',
            where,
            'remove resetAfter (false, Keras 2.2\'s GRU); the converter also reads reset_after: true GRUs trained in Keras (model:)',
          );
        }
        const [t, f] = shape;
        const weights = gates * (f * units + units * units + units);
        add({
          name: base, kind, inputs: [cur], outputShape: n.returnSequences ? [t, units] : [units], node: i,
          config: { units, activation, ...(recurrentActivation ? { recurrentActivation } : {}), returnSequences: !!n.returnSequences, ...(n.type === 'gru' ? { resetAfter: false } : {}) },
          params: weights, weights, macs: t * gates * units * (f + units),
        });
        break;
      }
      case 'global_avgpool1d':
      case 'global_maxpool1d':
        if (shape.length !== 2) throw new DeepMakerError(`${n.type} ${base} pools a sequence [timesteps, features], got [${shape.join(', ')}]`, where, 'put it after a recurrent layer with returnSequences: true');
        add({ name: base, kind: n.type === 'global_avgpool1d' ? 'GlobalAveragePooling1D' : 'GlobalMaxPooling1D', inputs: [cur], outputShape: [shape[1]], node: i, config: {} });
        break;
      case 'flatten':
        add({ name: base, kind: 'Flatten', inputs: [cur], outputShape: [size(shape)], node: i, config: {} });
        break;
      case 'dense': {
        const units = positive(n.units, 'units');
        const isClassifier = i === nodes.length - 1 && lastIsClassifier;
        dense(base, i, units, isClassifier ? 'linear' : n.activation ?? 'linear');
        break;
      }
      case 'dropout':
        if (!(n.rate >= 0 && n.rate < 1)) throw new DeepMakerError(`dropout rate = ${n.rate}; need 0 <= rate < 1`, where);
        add({ name: base, kind: 'Dropout', inputs: [cur], outputShape: shape, node: i, config: { rate: n.rate } });
        break;
      case 'batchnorm': {
        const prev = layers[layers.length - 1];
        // Folds into the layer before only if that layer is linear (no activation in between).
        const foldable = !!prev && prev.name === cur && ['Conv2D', 'DepthwiseConv2D', 'Dense'].includes(prev.kind) && prev.config.activation === 'linear';
        const c = shape[shape.length - 1];
        add({ name: base, kind: 'BatchNormalization', inputs: [cur], outputShape: shape, node: i, config: {}, params: 4 * c, weights: foldable ? 0 : 2 * c });
        break;
      }
      case 'dense_block': {
        need3d(`dense_block ${base}`, i);
        const units = positive(n.layers, 'layers'), growth = positive(n.growth, 'growth'), kernel = positive(n.kernel, 'kernel');
        const act = n.activation ?? 'relu', bn = !!n.batchnorm;
        if (n.bottleneck !== undefined) positive(n.bottleneck, 'bottleneck');
        const [h, w, c0] = shape;
        // Unit u sees the concatenation of the block input and units 0..u-1.
        const features = [cur];
        for (let u = 0; u < units; u++) {
          if (u > 0) add({ name: `${base}_u${u}_concat`, kind: 'Concatenate', inputs: [...features], outputShape: [h, w, c0 + u * growth], node: i, config: {} });
          if (n.bottleneck) convUnit(`${base}_u${u}_bottleneck`, i, n.bottleneck * growth, 1, 1, 'same', act, bn);
          convUnit(`${base}_u${u}_conv`, i, growth, kernel, 1, 'same', act, bn);
          features.push(cur);
        }
        add({ name: `${base}_concat`, kind: 'Concatenate', inputs: features, outputShape: [h, w, c0 + units * growth], node: i, config: {} });
        break;
      }
      case 'transition': {
        need3d(`transition ${base}`, i);
        if (!(n.compression > 0 && n.compression <= 1)) throw new DeepMakerError(`compression = ${n.compression}; need 0 < compression <= 1`, where);
        const filters = Math.max(1, Math.floor(n.compression * shape[2]));
        convUnit(`${base}_conv`, i, filters, 1, 1, 'same', n.activation ?? 'relu', !!n.batchnorm);
        const [h, w, c] = shape;
        add({ name: `${base}_pool`, kind: n.pool === 'avg' ? 'AveragePooling2D' : 'MaxPooling2D', inputs: [cur], outputShape: [windowOut(h, 2, 2, 'valid'), windowOut(w, 2, 2, 'valid'), c], node: i, config: { pool: 2, stride: 2, padding: 'valid' } });
        break;
      }
      default:
        throw new DeepMakerError(`unsupported layer type "${(n as { type: string }).type}"`, where, 'use conv2d, depthwise_conv2d, maxpool2d, avgpool2d, global_avgpool2d, flatten, dense, dropout, batchnorm, dense_block, transition, lstm, gru, simple_rnn, global_avgpool1d or global_maxpool1d');
    }
  });
  if (!lastIsClassifier) dense('classifier', -1, arch.classes, 'linear');
  return { input: [...arch.input], layers, output: cur };
}
