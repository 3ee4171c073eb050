/**
 * The one intermediate representation after training: the layer table (DeepHLS's "extraction of the
 * layers' information") plus weight tensors and per-tensor number formats. Importers produce it;
 * passes (foldBatchNorm, dropDropout, choosePrecision...) transform it; the C generator, the verifier,
 * the DSE cost model and the RTL generator read it.
 *
 * Conventions: channels_last; shapes exclude the batch dimension; weight layouts are Keras's
 * (Dense kernel [in, out]; Conv1D [k, cin, cout]; Conv2D [kh, kw, cin, cout]; DepthwiseConv2D
 * [kh, kw, cin, multiplier]). Layers are listed in a topological order; `inputs` name earlier layers.
 */
import type { FixedFormat } from '../numerics/fixed';

export type Shape = number[];

export type LayerType =
  | 'input'
  | 'dense'
  | 'conv1d'
  | 'conv2d'
  | 'depthwise_conv2d'
  | 'maxpool1d'
  | 'maxpool2d'
  | 'avgpool1d'
  | 'avgpool2d'
  | 'global_avgpool1d'
  | 'global_avgpool2d'
  | 'global_maxpool1d'
  | 'global_maxpool2d'
  | 'flatten'
  | 'reshape'
  | 'zeropad1d'
  | 'zeropad2d'
  | 'add'
  | 'average'
  | 'multiply'
  | 'concatenate'
  | 'activation'
  | 'lstm'
  | 'gru'
  | 'simple_rnn';

export type ActivationKind =
  | 'linear'
  | 'relu'
  | 'leaky_relu'
  | 'elu'
  | 'thresholded_relu'
  | 'softmax'
  | 'sigmoid'
  | 'tanh'
  | 'hard_sigmoid'
  | 'ternary';

export interface Activation {
  kind: ActivationKind;
  /** leaky_relu negative slope; elu alpha. */
  alpha?: number;
  /** thresholded_relu threshold; ternary Δ (for ternary activations). */
  theta?: number;
  /**
   * Ternary activations (ToT-Net, set by src/qmodel/apply.ts): Δ per output channel, on the layer's
   * pre-activation value; the output is sign(x) where |x| ≥ Δ, else 0.
   */
  thresholds?: number[];
  /** ReLU max_value (ReLU6 = 6). */
  maxValue?: number;
}

/**
 * A recurrent layer (Keras LSTM, GRU, SimpleRNN) over an input [timesteps, features]. The layer's
 * own `activation` stays `linear` (nothing is applied to its output); the cell's functions live here.
 * Weights use Keras's layouts: kernel [features, gates·units], recurrentKernel [units, gates·units],
 * bias [gates·units] (GRU with resetAfter: [2, 3·units], input bias then recurrent bias), gates in
 * Keras's order (LSTM i, f, c, o; GRU z, r, h; SimpleRNN one). src/ir/recurrent.ts derives the loop
 * nest (time steps × one matrix-vector product per gate, then the cell update).
 */
export interface RecurrentConfig {
  cell: 'lstm' | 'gru' | 'simple_rnn';
  /** Keras `activation`: the candidate (LSTM c, GRU h, SimpleRNN output) and LSTM's cell-state output. */
  activation: Activation;
  /** Keras `recurrent_activation`: the gates (LSTM i, f, o; GRU z, r). SimpleRNN has none (linear). */
  recurrentActivation: Activation;
  /** True: the output holds h for every time step [timesteps, units]; false: the last h [units]. */
  returnSequences: boolean;
  /** True: the time steps are read last to first. */
  goBackwards: boolean;
  /**
   * The backward half of a Bidirectional with return_sequences: the output step for input step t is
   * stored at t (Keras reverses it back), not in processing order as a standalone layer stores it.
   */
  reverseOutput?: boolean;
  /** GRU: the reset gate multiplies (h·U_h + b_h) (true, Keras ≥ 2.3 default, CuDNN) or h before U_h (false). */
  resetAfter?: boolean;
}

export interface WeightTensor {
  shape: number[];
  data: Float32Array;
}

/** Per-tensor number formats, set by a precision pass. Absent = float. */
export interface LayerPrecision {
  weights?: FixedFormat;
  biases?: FixedFormat;
  accumulator?: FixedFormat;
  output?: FixedFormat;
  /** Ternary layers: the format of the per-filter scale α (src/qmodel/apply.ts fits it to the largest α). */
  scale?: FixedFormat;
}

/** Ternary weights (ToT-Net): kernel values in {-1,0,1} and a per-output-filter scale applied to the accumulator. */
export interface TernaryWeights {
  /**
   * One scale per output channel (Dense unit, Conv filter). Recurrent layers (FaCT-LSTM): one per
   * kernel column (each unit of each gate), the kernel's α times the input operand's scale β_x.
   */
  scale: Float32Array;
  /** Recurrent layers: one scale per recurrent-kernel column, its α times the state operand's scale β_h. */
  recurrentScale?: Float32Array;
  /** Recurrent layers: Δ per input feature; the gate products read t_x = sign(x) where |x| ≥ Δ, else 0. */
  inputThresholds?: Float32Array;
  /** Recurrent layers: Δ per unit; the gate products read t_h = sign(h) where |h| ≥ Δ, else 0. */
  stateThresholds?: Float32Array;
}

export interface Layer {
  name: string;
  type: LayerType;
  /** Names of the layers feeding this one (empty for `input`). */
  inputs: string[];
  inputShapes: Shape[];
  outputShape: Shape;
  /** The activation applied to this layer's output (`linear` when none). */
  activation: Activation;

  // Dense / conv
  units?: number;
  filters?: number;
  depthMultiplier?: number;
  kernel?: number[];
  strides?: number[];
  dilation?: number[];
  padding?: 'valid' | 'same' | 'causal';
  useBias?: boolean;
  // Pooling
  pool?: number[];
  // ZeroPadding: [[before, after] per spatial axis]
  pads?: [number, number][];
  // Reshape target (without batch); Concatenate axis (negative counts from the end)
  targetShape?: Shape;
  axis?: number;

  /** lstm / gru / simple_rnn (with `units`, `useBias`). */
  recurrent?: RecurrentConfig;

  weights: { kernel?: WeightTensor; bias?: WeightTensor; recurrentKernel?: WeightTensor };
  precision?: LayerPrecision;
  ternary?: TernaryWeights;
  /**
   * The stable id of this layer's top-level loop nest in the generated C (`L<index>_<name>`), the
   * name the DSE attaches directives to; absent for layers that move no data (flatten, reshape).
   * Set by the `assignLoopNestIds` pass.
   */
  loopNest?: string;
}

export type ModelFormat = 'keras-h5' | 'keras-json' | 'keras-v3' | 'tfjs-layers';

export interface ModelIR<L = Layer> {
  name: string;
  source: { format: ModelFormat; file: string; kerasVersion?: string };
  layers: L[];
  /** Names of the input layers and of the output layers, in model order. */
  inputs: string[];
  outputs: string[];
}

/**
 * Layer kinds that exist only between an importer and the normalizing passes (src/ir/passes):
 * foldBatchNorm removes `batchnorm`, dropDropout removes `dropout`, splitSeparable turns
 * `separable_conv2d` into depthwise_conv2d + 1x1 conv2d. A ModelIR never contains them.
 */
export type ImportOnlyLayerType = 'batchnorm' | 'dropout' | 'separable_conv2d';

/** Weight slots an imported layer may carry (Keras's own names, in Keras's layouts). */
export interface ImportedWeights {
  kernel?: WeightTensor;
  bias?: WeightTensor;
  /** LSTM / GRU / SimpleRNN: [units, gates·units]. */
  recurrentKernel?: WeightTensor;
  /** SeparableConv2D: [1, 1, cin·multiplier, cout]. */
  pointwise?: WeightTensor;
  /** BatchNormalization: each [channels]. */
  gamma?: WeightTensor;
  beta?: WeightTensor;
  mean?: WeightTensor;
  variance?: WeightTensor;
}

/** A layer as read from a model file, before the normalizing passes. */
export interface ImportedLayer extends Omit<Layer, 'type' | 'weights'> {
  type: LayerType | ImportOnlyLayerType;
  weights: ImportedWeights;
  /** BatchNormalization epsilon. */
  epsilon?: number;
  /** The Keras class name, for messages and the layer table. */
  kerasClass?: string;
}

export type ImportedModel = ModelIR<ImportedLayer>;
