/**
 * Architecture description: what the nas stage emits (`selected.json`), what `train.architecture`
 * holds in the spec, and what src/nn builds into a TensorFlow.js model. JSON, channels_last.
 *
 * A plain list of layers describes a chain (LeNet-5, the chain search space). The DenseNet-like
 * template adds two composite nodes:
 *  - dense_block: `layers` conv units; unit i sees the concatenation of the block input and every
 *    earlier unit's output and adds `growth` channels (optional 1x1 bottleneck of `bottleneck`·growth);
 *  - transition: 1x1 conv to floor(compression · channels), then a 2x2 pool (`pool`: max | avg).
 * Only layer types the C and RTL back ends support appear here.
 *
 * How src/nn/plan.ts reads it (the builder and architectureCost share that one reading):
 *  - conv2d, depthwise_conv2d, dense: `activation` defaults to linear (Keras' default); stride 1,
 *    padding valid. `batchnorm: true` builds Conv(no bias) -> BatchNormalization -> Activation.
 *  - pools: `stride` defaults to `pool`; padding valid.
 *  - dense_block / transition: `activation` defaults to relu; every conv unit is
 *    Conv -> [BatchNormalization] -> Activation (post-activation, so BN folds into the conv).
 *  - dense on an input of rank > 1 gets a Flatten inserted before it.
 *  - lstm, gru, simple_rnn read a sequence [timesteps, features] (data.sequence: rows for images,
 *    csv.window for time series): Keras's defaults, activation tanh, recurrentActivation sigmoid
 *    (LSTM, GRU), returnSequences false (the last step's h, [units]; true: h of every step,
 *    [timesteps, units]); LSTM with unit_forget_bias, GRU with reset_after false (TF.js's GRU has no
 *    reset_after true). Kernels glorot-uniform, recurrent kernels orthogonal, biases zero, seeded.
 *  - global_avgpool1d / global_maxpool1d pool a sequence [timesteps, features] to [features].
 *  - The classifier: if the last layer is a dense with `classes` units and a linear or softmax
 *    activation, it is the classifier; otherwise Dense(classes) is appended. The model outputs
 *    logits (no softmax in the graph); training uses a from-logits loss.
 */
export type ArchActivation = 'linear' | 'relu' | 'relu6' | 'tanh' | 'sigmoid' | 'softmax';
/** Activations of a recurrent cell (what the C implements in float and fixed point). */
export type RecurrentActivation = 'linear' | 'relu' | 'relu6' | 'tanh' | 'sigmoid' | 'hard_sigmoid';
export type RecurrentType = 'lstm' | 'gru' | 'simple_rnn';

export type ArchNode =
  | { type: 'conv2d'; filters: number; kernel: number; stride?: number; padding?: 'valid' | 'same'; activation?: ArchActivation; batchnorm?: boolean }
  | { type: 'depthwise_conv2d'; kernel: number; stride?: number; padding?: 'valid' | 'same'; activation?: ArchActivation; batchnorm?: boolean }
  | { type: 'maxpool2d' | 'avgpool2d'; pool: number; stride?: number }
  | { type: 'global_avgpool2d' }
  | { type: 'global_avgpool1d' | 'global_maxpool1d' }
  | { type: RecurrentType; units: number; returnSequences?: boolean; activation?: RecurrentActivation; recurrentActivation?: RecurrentActivation; resetAfter?: boolean }
  | { type: 'flatten' }
  | { type: 'dense'; units: number; activation?: ArchActivation }
  | { type: 'dropout'; rate: number }
  | { type: 'batchnorm' }
  | { type: 'dense_block'; layers: number; growth: number; kernel: number; bottleneck?: number; activation?: ArchActivation; batchnorm?: boolean }
  | { type: 'transition'; compression: number; pool: 'max' | 'avg'; activation?: ArchActivation; batchnorm?: boolean };

export interface Architecture {
  /** Input shape without batch, e.g. [28, 28, 1]. */
  input: number[];
  /** Number of classes; the last dense layer has this many units (softmax is applied in training only). */
  classes: number;
  layers: ArchNode[];
}

/** LeNet-5 (LeCun et al. 1998) on 28x28 MNIST, with ReLU and max pooling: the usual reference CNN. */
export const LENET5: Architecture = {
  input: [28, 28, 1],
  classes: 10,
  layers: [
    { type: 'conv2d', filters: 6, kernel: 5, padding: 'same', activation: 'relu' },
    { type: 'maxpool2d', pool: 2 },
    { type: 'conv2d', filters: 16, kernel: 5, activation: 'relu' },
    { type: 'maxpool2d', pool: 2 },
    { type: 'flatten' },
    { type: 'dense', units: 120, activation: 'relu' },
    { type: 'dense', units: 84, activation: 'relu' },
    { type: 'dense', units: 10 },
  ],
};
