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
  | 'concatenate'
  | 'activation';

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
  /** One scale per output channel (Dense unit, Conv filter). */
  scale: Float32Array;
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

  weights: { kernel?: WeightTensor; bias?: WeightTensor };
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
