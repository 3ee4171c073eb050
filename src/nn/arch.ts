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
 */
export type ArchActivation = 'linear' | 'relu' | 'relu6' | 'tanh' | 'sigmoid' | 'softmax';

export type ArchNode =
  | { type: 'conv2d'; filters: number; kernel: number; stride?: number; padding?: 'valid' | 'same'; activation?: ArchActivation; batchnorm?: boolean }
  | { type: 'depthwise_conv2d'; kernel: number; stride?: number; padding?: 'valid' | 'same'; activation?: ArchActivation; batchnorm?: boolean }
  | { type: 'maxpool2d' | 'avgpool2d'; pool: number; stride?: number }
  | { type: 'global_avgpool2d' }
  | { type: 'flatten' }
  | { type: 'dense'; units: number; activation?: ArchActivation }
  | { type: 'dropout'; rate: number }
  | { type: 'batchnorm' }
  | { type: 'dense_block'; layers: number; growth: number; kernel: number; bottleneck?: number; activation?: ArchActivation }
  | { type: 'transition'; compression: number; pool: 'max' | 'avg'; activation?: ArchActivation };

export interface Architecture {
  /** Input shape without batch, e.g. [28, 28, 1]. */
  input: number[];
  /** Number of classes; the last dense layer has this many units (softmax is applied in training only). */
  classes: number;
  layers: ArchNode[];
}
