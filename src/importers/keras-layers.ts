/**
 * One Keras layer config -> one imported IR layer. This is the table of supported Keras classes:
 * each entry reads the class's config and says which weights the class stores, in Keras's order
 * (the order of an HDF5 layer group's `weight_names`, of a Keras 3 layer's `vars/<i>`, and the
 * names TF.js uses in its weights manifest).
 */
import type { Activation, ImportedLayer, ImportedWeights, RecurrentConfig } from '../ir/types';
import { RECURRENT_ACTIVATIONS } from '../ir/recurrent';
import { DeepMakerError } from '../util/errors';

/** Where a weight of a Keras layer goes in the IR: (Keras name, IR slot). */
export interface WeightSlot {
  keras: string;
  slot: keyof ImportedWeights;
}

/**
 * Where an IR layer's weights are stored when that is not simply under its own name: a Keras
 * wrapper (Bidirectional, TimeDistributed) stores its inner layers' weights under the wrapper's name,
 * and Keras 3 keeps a recurrent layer's weights in its cell.
 */
export interface WeightSource {
  /** The Keras layer whose stored weights hold this IR layer's. */
  keras: string;
  /** Keras 2 HDF5: this layer's share of the group's `weight_names`: part `index` of `count` equal parts, in order. */
  part?: { index: number; count: number };
  /** Keras 3 model.weights.h5: the path under the layer's group that holds `vars/` (`cell`, `forward_layer/cell`, `layer`). */
  v3Path?: string;
  /** TF.js weights manifest: the scope between the Keras layer name and the weight name (`forward_lstm`). */
  tfjsScope?: string;
}

export interface LayerConversion {
  layer: Omit<ImportedLayer, 'inputs' | 'inputShapes' | 'outputShape'> & { outputShape?: number[] };
  slots: WeightSlot[];
  /** Where the weights are stored, when not under the layer's own name. */
  source?: WeightSource;
  /**
   * Layers that read this Keras layer's input and whose outputs are `layer`'s inputs (Bidirectional:
   * the forward and backward recurrent layers, then `layer` merges them).
   */
  inner?: LayerConversion[];
}

export interface KerasLayerJson {
  class_name: string;
  config: Record<string, any>;
  name?: string;
  inbound_nodes?: unknown[];
  module?: string;
}

export interface ConversionContext {
  /** The file, for messages. */
  file: string;
  /** Keras 3 changed hard_sigmoid's definition and LeakyReLU's argument name. */
  keras3: boolean;
}

/** Recurrent classes that are not converted (LSTM, GRU, SimpleRNN, Bidirectional and TimeDistributed are). */
const OTHER_RECURRENT = new Set(['CuDNNLSTM', 'CuDNNGRU', 'ConvLSTM1D', 'ConvLSTM2D', 'ConvLSTM3D', 'RNN', 'StackedRNNCells', 'LSTMCell', 'GRUCell', 'SimpleRNNCell']);
const IDENTITY_AT_INFERENCE = new Set(['Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'AlphaDropout', 'GaussianDropout', 'GaussianNoise', 'ActivityRegularization']);

/** Keras activation names (as `activation=` arguments) that the C back end implements. */
export const SUPPORTED_ACTIVATIONS = ['linear', 'relu', 'relu6', 'leaky_relu', 'elu', 'softmax', 'sigmoid', 'tanh', 'hard_sigmoid'];

type Converter = (cfg: Record<string, any>, ctx: ConversionContext, name: string) => LayerConversion;

function base(name: string, type: ImportedLayer['type'], kerasClass: string, activation: Activation = { kind: 'linear' }): LayerConversion['layer'] {
  return { name, type, kerasClass, activation, weights: {} };
}

/** Keras stores sizes as an int or a tuple; returns `rank` numbers. */
function tuple(v: unknown, rank: number, what: string, name: string): number[] {
  if (typeof v === 'number') return Array(rank).fill(v);
  if (Array.isArray(v) && v.length === rank && v.every((x) => typeof x === 'number')) return v as number[];
  if (Array.isArray(v) && v.length === 1 && rank > 1 && typeof v[0] === 'number') return Array(rank).fill(v[0]);
  throw new DeepMakerError(`layer '${name}': ${what} ${JSON.stringify(v)} is not ${rank} integer(s)`);
}

function channelsLast(cfg: Record<string, any>, name: string, cls: string): void {
  const f = cfg.data_format;
  if (f && f !== 'channels_last') {
    throw new DeepMakerError(`layer '${name}' (${cls}) uses data_format '${f}'; only channels_last is supported`, { where: name }, 'rebuild the model with data_format="channels_last" (the Keras default) and copy the weights');
  }
}

function padding(cfg: Record<string, any>, name: string, allowCausal: boolean): 'valid' | 'same' | 'causal' {
  const p = String(cfg.padding ?? 'valid').toLowerCase();
  if (p === 'valid' || p === 'same' || (p === 'causal' && allowCausal)) return p;
  throw new DeepMakerError(`layer '${name}': padding '${cfg.padding}' is not supported (valid, same${allowCausal ? ', causal' : ''})`, { where: name });
}

/** Parses an `activation=` argument (a name; Keras 3 may give {class_name, config}). */
export function parseActivation(v: unknown, ctx: ConversionContext, name: string): Activation {
  let id = v;
  if (v && typeof v === 'object') id = (v as any).config?.name ?? (v as any).class_name;
  if (id === null || id === undefined || id === 'linear' || id === '') return { kind: 'linear' };
  switch (String(id).toLowerCase()) {
    case 'relu':
      return { kind: 'relu' };
    case 'relu6':
      return { kind: 'relu', maxValue: 6 };
    case 'leaky_relu':
    case 'leakyrelu':
      return { kind: 'leaky_relu', alpha: 0.2 };
    case 'elu':
      return { kind: 'elu', alpha: 1 };
    case 'softmax':
      return { kind: 'softmax' };
    case 'sigmoid':
      return { kind: 'sigmoid' };
    case 'tanh':
      return { kind: 'tanh' };
    case 'hard_sigmoid':
    case 'hardsigmoid':
      // Keras 2 and TF.js: clip(0.2x + 0.5, 0, 1). Keras 3: relu6(x + 3) / 6 = clip(x/6 + 0.5, 0, 1).
      return { kind: 'hard_sigmoid', alpha: ctx.keras3 ? 1 / 6 : 0.2 };
  }
  throw new DeepMakerError(
    `layer '${name}': activation '${String(id)}' is not supported`,
    { file: ctx.file, where: name },
    `supported activations: ${SUPPORTED_ACTIVATIONS.join(', ')}`,
  );
}

function useBias(cfg: Record<string, any>): boolean {
  return cfg.use_bias !== false;
}

function biasSlots(cfg: Record<string, any>): WeightSlot[] {
  return useBias(cfg) ? [{ keras: 'bias', slot: 'bias' }] : [];
}

/**
 * The fields every convolution class shares: activation, kernel geometry, padding (causal only
 * in 1-D) and bias. Grouped convolution (`groups` > 1) is refused here for all of them.
 */
function convolution(cfg: Record<string, any>, ctx: ConversionContext, name: string, type: ImportedLayer['type'], cls: string, rank: 1 | 2): LayerConversion['layer'] {
  channelsLast(cfg, name, cls);
  if ((cfg.groups ?? 1) !== 1) throw new DeepMakerError(`layer '${name}' (${cls}): grouped convolution (groups=${cfg.groups}) is not supported`, { where: name });
  return {
    ...base(name, type, cls, parseActivation(cfg.activation, ctx, name)),
    kernel: tuple(cfg.kernel_size, rank, 'kernel_size', name),
    strides: tuple(cfg.strides ?? 1, rank, 'strides', name),
    dilation: tuple(cfg.dilation_rate ?? 1, rank, 'dilation_rate', name),
    padding: padding(cfg, name, rank === 1),
    useBias: useBias(cfg),
  };
}

const CONVERTERS: Record<string, Converter> = {
  Dense: (cfg, ctx, name) => ({
    layer: { ...base(name, 'dense', 'Dense', parseActivation(cfg.activation, ctx, name)), units: cfg.units, useBias: useBias(cfg) },
    slots: [{ keras: 'kernel', slot: 'kernel' }, ...biasSlots(cfg)],
  }),
  Conv1D: (cfg, ctx, name) => ({
    layer: { ...convolution(cfg, ctx, name, 'conv1d', 'Conv1D', 1), filters: cfg.filters },
    slots: [{ keras: 'kernel', slot: 'kernel' }, ...biasSlots(cfg)],
  }),
  Conv2D: (cfg, ctx, name) => ({
    layer: { ...convolution(cfg, ctx, name, 'conv2d', 'Conv2D', 2), filters: cfg.filters },
    slots: [{ keras: 'kernel', slot: 'kernel' }, ...biasSlots(cfg)],
  }),
  DepthwiseConv2D: (cfg, ctx, name) => ({
    layer: { ...convolution(cfg, ctx, name, 'depthwise_conv2d', 'DepthwiseConv2D', 2), depthMultiplier: cfg.depth_multiplier ?? 1 },
    slots: [{ keras: 'depthwise_kernel', slot: 'kernel' }, ...biasSlots(cfg)],
  }),
  SeparableConv2D: (cfg, ctx, name) => ({
    layer: { ...convolution(cfg, ctx, name, 'separable_conv2d', 'SeparableConv2D', 2), filters: cfg.filters, depthMultiplier: cfg.depth_multiplier ?? 1 },
    slots: [{ keras: 'depthwise_kernel', slot: 'kernel' }, { keras: 'pointwise_kernel', slot: 'pointwise' }, ...biasSlots(cfg)],
  }),
  MaxPooling1D: (cfg, _ctx, name) => pool1d(cfg, name, 'maxpool1d', 'MaxPooling1D'),
  AveragePooling1D: (cfg, _ctx, name) => pool1d(cfg, name, 'avgpool1d', 'AveragePooling1D'),
  MaxPooling2D: (cfg, _ctx, name) => pool2d(cfg, name, 'maxpool2d', 'MaxPooling2D'),
  AveragePooling2D: (cfg, _ctx, name) => pool2d(cfg, name, 'avgpool2d', 'AveragePooling2D'),
  GlobalAveragePooling1D: (cfg, _ctx, name) => globalPool(cfg, name, 'global_avgpool1d', 'GlobalAveragePooling1D'),
  GlobalMaxPooling1D: (cfg, _ctx, name) => globalPool(cfg, name, 'global_maxpool1d', 'GlobalMaxPooling1D'),
  GlobalAveragePooling2D: (cfg, _ctx, name) => globalPool(cfg, name, 'global_avgpool2d', 'GlobalAveragePooling2D'),
  GlobalMaxPooling2D: (cfg, _ctx, name) => globalPool(cfg, name, 'global_maxpool2d', 'GlobalMaxPooling2D'),
  BatchNormalization: (cfg, _ctx, name) => {
    const axis = Array.isArray(cfg.axis) ? cfg.axis : [cfg.axis ?? -1];
    if (axis.length !== 1) throw new DeepMakerError(`layer '${name}' (BatchNormalization): normalising over axes ${JSON.stringify(cfg.axis)} is not supported (only the channel axis)`, { where: name });
    const scale = cfg.scale !== false, center = cfg.center !== false;
    return {
      layer: { ...base(name, 'batchnorm', 'BatchNormalization'), epsilon: cfg.epsilon ?? 1e-3, axis: axis[0] },
      slots: [
        ...(scale ? [{ keras: 'gamma', slot: 'gamma' as const }] : []),
        ...(center ? [{ keras: 'beta', slot: 'beta' as const }] : []),
        { keras: 'moving_mean', slot: 'mean' },
        { keras: 'moving_variance', slot: 'variance' },
      ],
    };
  },
  Activation: (cfg, ctx, name) => ({ layer: base(name, 'activation', 'Activation', parseActivation(cfg.activation, ctx, name)), slots: [] }),
  ReLU: (cfg, _ctx, name) => {
    const slope = Number(cfg.negative_slope ?? 0);
    const threshold = Number(cfg.threshold ?? 0);
    if (threshold !== 0) {
      // Keras: x * (x > threshold), then the clip to max_value, then -slope * relu(threshold - x). With
      // no slope and no max_value that is ThresholdedReLU(theta = threshold) exactly.
      if (slope !== 0 || (cfg.max_value !== null && cfg.max_value !== undefined)) {
        throw new DeepMakerError(
          `layer '${name}' (ReLU): threshold=${cfg.threshold} together with ${slope !== 0 ? `negative_slope=${cfg.negative_slope}` : `max_value=${cfg.max_value}`} is not supported`,
          { where: name },
          'a ReLU with a threshold is converted when it has no negative_slope and no max_value (it is then ThresholdedReLU); otherwise split it into ReLU layers',
        );
      }
      return { layer: base(name, 'activation', 'ReLU', { kind: 'thresholded_relu', theta: threshold }), slots: [] };
    }
    const act: Activation = slope !== 0 ? { kind: 'leaky_relu', alpha: slope } : { kind: 'relu' };
    if (cfg.max_value !== null && cfg.max_value !== undefined) act.maxValue = Number(cfg.max_value);
    return { layer: base(name, 'activation', 'ReLU', act), slots: [] };
  },
  LeakyReLU: (cfg, _ctx, name) => ({
    layer: base(name, 'activation', 'LeakyReLU', { kind: 'leaky_relu', alpha: Number(cfg.alpha ?? cfg.negative_slope ?? 0.3) }),
    slots: [],
  }),
  ELU: (cfg, _ctx, name) => ({ layer: base(name, 'activation', 'ELU', { kind: 'elu', alpha: Number(cfg.alpha ?? 1) }), slots: [] }),
  ThresholdedReLU: (cfg, _ctx, name) => ({ layer: base(name, 'activation', 'ThresholdedReLU', { kind: 'thresholded_relu', theta: Number(cfg.theta ?? 1) }), slots: [] }),
  Softmax: (cfg, _ctx, name) => {
    const axis = Array.isArray(cfg.axis) ? cfg.axis : [cfg.axis ?? -1];
    if (axis.length !== 1) throw new DeepMakerError(`layer '${name}' (Softmax): axes ${JSON.stringify(cfg.axis)} are not supported (only the last axis)`, { where: name });
    // Checked against the input rank once shapes are known (Keras counts the batch axis).
    return { layer: { ...base(name, 'activation', 'Softmax', { kind: 'softmax' }), axis: axis[0] }, slots: [] };
  },
  Flatten: (cfg, _ctx, name) => {
    channelsLast(cfg, name, 'Flatten');
    return { layer: base(name, 'flatten', 'Flatten'), slots: [] };
  },
  Reshape: (cfg, _ctx, name) => ({ layer: { ...base(name, 'reshape', 'Reshape'), targetShape: (cfg.target_shape as number[]).map((v) => (v === null ? -1 : v)) }, slots: [] }),
  ZeroPadding1D: (cfg, _ctx, name) => {
    const p = cfg.padding ?? 1;
    const pads: [number, number] = typeof p === 'number' ? [p, p] : [p[0], p[1] ?? p[0]];
    return { layer: { ...base(name, 'zeropad1d', 'ZeroPadding1D'), pads: [pads] }, slots: [] };
  },
  ZeroPadding2D: (cfg, _ctx, name) => {
    channelsLast(cfg, name, 'ZeroPadding2D');
    const p = cfg.padding ?? 1;
    let pads: [number, number][];
    if (typeof p === 'number') pads = [[p, p], [p, p]];
    else if (Array.isArray(p) && typeof p[0] === 'number') pads = [[p[0], p[0]], [p[1], p[1]]];
    else pads = [[p[0][0], p[0][1]], [p[1][0], p[1][1]]];
    return { layer: { ...base(name, 'zeropad2d', 'ZeroPadding2D'), pads }, slots: [] };
  },
  Add: (_cfg, _ctx, name) => ({ layer: base(name, 'add', 'Add'), slots: [] }),
  Average: (_cfg, _ctx, name) => ({ layer: base(name, 'average', 'Average'), slots: [] }),
  Multiply: (_cfg, _ctx, name) => ({ layer: base(name, 'multiply', 'Multiply'), slots: [] }),
  Concatenate: (cfg, _ctx, name) => ({ layer: { ...base(name, 'concatenate', 'Concatenate'), axis: cfg.axis ?? -1 }, slots: [] }),
  LSTM: (cfg, ctx, name) => recurrentLayer('LSTM', cfg, ctx, name),
  GRU: (cfg, ctx, name) => recurrentLayer('GRU', cfg, ctx, name),
  SimpleRNN: (cfg, ctx, name) => recurrentLayer('SimpleRNN', cfg, ctx, name),
  Bidirectional: (cfg, ctx, name) => bidirectional(cfg, ctx, name),
  TimeDistributed: (cfg, ctx, name) => timeDistributed(cfg, ctx, name),
  Masking: (_cfg, ctx, name) => {
    throw new DeepMakerError(
      `layer '${name}' (Masking) skips masked time steps, which the generated C does not do (every sequence runs all its time steps)`,
      { file: ctx.file, where: name },
      'remove the Masking layer and give the model sequences of its full length (pad them before the model, or train without masking), then save it again',
    );
  },
};

const RECURRENT_CELLS = { LSTM: 'lstm', GRU: 'gru', SimpleRNN: 'simple_rnn' } as const;

/** Reads a recurrent layer's `activation=` / `recurrent_activation=`, which must be one a cell implements. */
function cellActivation(v: unknown, fallback: string, ctx: ConversionContext, name: string, cls: string, what: string): Activation {
  const a = parseActivation(v ?? fallback, ctx, name);
  if (!RECURRENT_ACTIVATIONS.has(a.kind)) {
    throw new DeepMakerError(
      `layer '${name}' (${cls}): ${what} '${typeof v === 'string' ? v : a.kind}' is not supported in a recurrent cell`,
      { file: ctx.file, where: name },
      `a recurrent cell's ${what} may be ${[...RECURRENT_ACTIVATIONS].join(', ')}`,
    );
  }
  return a;
}

/** Keras LSTM / GRU / SimpleRNN (also inside Bidirectional). */
function recurrentLayer(cls: keyof typeof RECURRENT_CELLS, cfg: Record<string, any>, ctx: ConversionContext, name: string, kerasClass: string = cls): LayerConversion {
  const where = { file: ctx.file, where: name };
  const refuse = (what: string, hint: string) => {
    throw new DeepMakerError(`layer '${name}' (${kerasClass}) ${what}, which is not supported`, where, hint);
  };
  if (cfg.stateful) refuse('is stateful (it carries its state from one batch to the next)', `save the model with stateful=False: the C model starts every sequence from a zero state`);
  if (cfg.return_state) refuse('returns its state (return_state=True)', 'build the model so that the recurrent layer returns only its output (return_state=False), then save it again');
  if (cfg.time_major) refuse('is time-major (time_major=True)', 'save the model with time_major=False (inputs as [batch, timesteps, features])');
  if (cfg.mask_zero || cfg.zero_output_for_mask === true) refuse('uses masking', 'remove the masking: the C model runs every time step of every sequence');
  const units = Number(cfg.units);
  if (!Number.isSafeInteger(units) || units <= 0) throw new DeepMakerError(`layer '${name}' (${kerasClass}): units ${JSON.stringify(cfg.units)} is not a positive integer`, where, 'the model config is corrupt; save the model again');
  const cell = RECURRENT_CELLS[cls];
  const recurrent: RecurrentConfig = {
    cell,
    activation: cellActivation(cfg.activation, 'tanh', ctx, name, kerasClass, 'activation'),
    recurrentActivation: cell === 'simple_rnn' ? { kind: 'linear' } : cellActivation(cfg.recurrent_activation, 'sigmoid', ctx, name, kerasClass, 'recurrent_activation'),
    returnSequences: cfg.return_sequences === true,
    goBackwards: cfg.go_backwards === true,
  };
  if (cell === 'gru') recurrent.resetAfter = cfg.reset_after === true;
  return {
    layer: { ...base(name, cell, kerasClass), units, useBias: useBias(cfg), recurrent },
    slots: [{ keras: 'kernel', slot: 'kernel' }, { keras: 'recurrent_kernel', slot: 'recurrentKernel' }, ...biasSlots(cfg)],
    source: { keras: name, v3Path: 'cell' },
  };
}

/** The wrapped layer of Bidirectional / TimeDistributed: {class_name, config}. */
function wrapped(cfg: Record<string, any>, key: string, ctx: ConversionContext, name: string, cls: string): { className: string; config: Record<string, any> } {
  const inner = cfg[key];
  if (!inner || typeof inner !== 'object' || typeof inner.class_name !== 'string') {
    throw new DeepMakerError(`layer '${name}' (${cls}) has no wrapped layer ('${key}' in its config)`, { file: ctx.file, where: name }, 'the model config is corrupt; save the model again');
  }
  return { className: inner.class_name, config: inner.config ?? {} };
}

/**
 * Bidirectional(LSTM|GRU|SimpleRNN): a forward and a backward recurrent layer over the same input
 * (`<name>/forward`, `<name>/backward`), merged by a layer named like the wrapper (Concatenate for
 * merge_mode concat, Add for sum, Average for ave, Multiply for mul). The weights are stored under the wrapper: forward's, then backward's.
 */
function bidirectional(cfg: Record<string, any>, ctx: ConversionContext, name: string): LayerConversion {
  const where = { file: ctx.file, where: name };
  const inner = wrapped(cfg, 'layer', ctx, name, 'Bidirectional');
  if (!(inner.className in RECURRENT_CELLS)) {
    throw new DeepMakerError(`layer '${name}' (Bidirectional) wraps a ${inner.className}; only LSTM, GRU and SimpleRNN are supported inside Bidirectional`, where);
  }
  const cls = inner.className as keyof typeof RECURRENT_CELLS;
  const mode = cfg.merge_mode === undefined ? 'concat' : cfg.merge_mode;
  const MERGE = { concat: 'concatenate', sum: 'add', ave: 'average', mul: 'multiply' } as const;
  if (!(typeof mode === 'string' && Object.hasOwn(MERGE, mode))) {
    throw new DeepMakerError(
      `layer '${name}' (Bidirectional): merge_mode ${JSON.stringify(mode)} is not supported (concat, sum, ave, mul)`,
      where,
      mode === null ? 'merge_mode=None gives two outputs; save the model with one merged output (merge_mode="concat", the Keras default)' : 'save the model with merge_mode="concat" (the Keras default), "sum", "ave" or "mul"',
    );
  }
  const backCfg = cfg.backward_layer?.config ?? { ...inner.config, go_backwards: !inner.config.go_backwards };
  if (cfg.backward_layer && cfg.backward_layer.class_name !== inner.className) {
    throw new DeepMakerError(`layer '${name}' (Bidirectional): the backward layer is a ${cfg.backward_layer.class_name} and the forward one a ${inner.className}; both must be the same class`, where);
  }
  const innerName = String(inner.config.name ?? cls.toLowerCase());
  const backName = String(backCfg.name ?? innerName);
  const wrap = `Bidirectional(${cls})`;
  const forward = recurrentLayer(cls, inner.config, ctx, `${name}/forward`, wrap);
  const backward = recurrentLayer(cls, backCfg, ctx, `${name}/backward`, wrap);
  forward.source = { keras: name, part: { index: 0, count: 2 }, v3Path: 'forward_layer/cell', tfjsScope: `forward_${innerName}` };
  backward.source = { keras: name, part: { index: 1, count: 2 }, v3Path: 'backward_layer/cell', tfjsScope: `backward_${backName}` };
  // Keras reverses the backward sequence back into input order before merging.
  if (backward.layer.recurrent!.returnSequences) backward.layer.recurrent!.reverseOutput = true;
  const type = MERGE[mode as keyof typeof MERGE];
  const merge = type === 'concatenate' ? { ...base(name, type, 'Bidirectional'), axis: -1 } : base(name, type, 'Bidirectional');
  return { layer: merge, slots: [], inner: [forward, backward] };
}

/** TimeDistributed(Dense) is a Dense over the last axis (what Dense does on a sequence anyway). */
function timeDistributed(cfg: Record<string, any>, ctx: ConversionContext, name: string): LayerConversion {
  const inner = wrapped(cfg, 'layer', ctx, name, 'TimeDistributed');
  const ok = ['Dense', 'Activation', 'Dropout', 'ReLU', 'LeakyReLU', 'ELU', 'Softmax'];
  if (!ok.includes(inner.className)) {
    throw new DeepMakerError(
      `layer '${name}' (TimeDistributed) wraps a ${inner.className}, which is not supported inside TimeDistributed`,
      { file: ctx.file, where: name },
      `TimeDistributed may wrap ${ok.join(', ')}`,
    );
  }
  const conv = CONVERTERS[inner.className](inner.config, ctx, name);
  conv.layer.kerasClass = `TimeDistributed(${inner.className})`;
  return { ...conv, source: { keras: name, v3Path: 'layer' } };
}

// Keras's aliases.
CONVERTERS.Convolution1D = CONVERTERS.Conv1D;
CONVERTERS.Convolution2D = CONVERTERS.Conv2D;
CONVERTERS.SeparableConvolution2D = CONVERTERS.SeparableConv2D;
CONVERTERS.MaxPool1D = CONVERTERS.MaxPooling1D;
CONVERTERS.MaxPool2D = CONVERTERS.MaxPooling2D;
CONVERTERS.AvgPool1D = CONVERTERS.AveragePooling1D;
CONVERTERS.AvgPool2D = CONVERTERS.AveragePooling2D;
CONVERTERS.GlobalAvgPool1D = CONVERTERS.GlobalAveragePooling1D;
CONVERTERS.GlobalAvgPool2D = CONVERTERS.GlobalAveragePooling2D;
CONVERTERS.GlobalMaxPool1D = CONVERTERS.GlobalMaxPooling1D;
CONVERTERS.GlobalMaxPool2D = CONVERTERS.GlobalMaxPooling2D;
for (const cls of IDENTITY_AT_INFERENCE) CONVERTERS[cls] = (_cfg, _ctx, name) => ({ layer: base(name, 'dropout', cls), slots: [] });

function pool1d(cfg: Record<string, any>, name: string, type: 'maxpool1d' | 'avgpool1d', cls: string): LayerConversion {
  channelsLast(cfg, name, cls);
  const pool = tuple(cfg.pool_size ?? 2, 1, 'pool_size', name);
  const strides = cfg.strides === null || cfg.strides === undefined ? pool : tuple(cfg.strides, 1, 'strides', name);
  return { layer: { ...base(name, type, cls), pool, strides, padding: padding(cfg, name, false) }, slots: [] };
}

function pool2d(cfg: Record<string, any>, name: string, type: 'maxpool2d' | 'avgpool2d', cls: string): LayerConversion {
  channelsLast(cfg, name, cls);
  const pool = tuple(cfg.pool_size ?? 2, 2, 'pool_size', name);
  const strides = cfg.strides === null || cfg.strides === undefined ? pool : tuple(cfg.strides, 2, 'strides', name);
  return { layer: { ...base(name, type, cls), pool, strides, padding: padding(cfg, name, false) }, slots: [] };
}

function globalPool(cfg: Record<string, any>, name: string, type: ImportedLayer['type'], cls: string): LayerConversion {
  channelsLast(cfg, name, cls);
  const layer = base(name, type, cls);
  // keepdims=True keeps [1, (1,) C]; the data are the same, so it is recorded as the output shape.
  if (cfg.keepdims) (layer as ImportedLayer).targetShape = type.endsWith('2d') ? [1, 1, -1] : [1, -1];
  return { layer, slots: [] };
}

/** Every Keras class name the importers accept (for the "unsupported layer" message). */
export function supportedKerasClasses(): string[] {
  return ['InputLayer', ...Object.keys(CONVERTERS).filter((c) => c !== 'Masking')].sort();
}

export function convertKerasLayer(json: KerasLayerJson, ctx: ConversionContext): LayerConversion {
  const cls = json.class_name;
  const name = String(json.config?.name ?? json.name ?? cls);
  const conv = typeof cls === 'string' && Object.hasOwn(CONVERTERS, cls) ? CONVERTERS[cls] : undefined; // not Object.prototype's toString, constructor...
  if (!conv) {
    let why = `layer '${name}' has type ${cls}, which is not supported`;
    let hint = `supported layer types: ${supportedKerasClasses().join(', ')}`;
    if (OTHER_RECURRENT.has(cls)) why += ' (of the recurrent layers, LSTM, GRU, SimpleRNN, Bidirectional and TimeDistributed(Dense) are converted)';
    else if (cls === 'Embedding' && json.config?.mask_zero) why += ' (and its mask_zero=True masks time steps, which the generated C does not do)';
    else if (/^Q[A-Z]/.test(cls)) hint = `QKeras layers are not converted; export the float model (or strip the quantizers) and set the fixed-point format with convert.precision. ${hint}`;
    else if (['Sequential', 'Functional', 'Model'].includes(cls)) why = `layer '${name}' is a nested model (${cls}), which is not supported`;
    throw new DeepMakerError(why, { file: ctx.file, where: name }, hint);
  }
  return conv(json.config ?? {}, ctx, name);
}
