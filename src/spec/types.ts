/** TypeScript view of schemas/deepmaker.schema.json (after ajv filled the defaults). */
import type { Overflow, Rounding } from '../numerics/fixed';

// The spec's types live here, below every library that reads them (src/cgen, src/nas, src/nn,
// src/stages re-export the ones they own), so src/spec imports nothing above src/numerics.

/** The convert section (src/cgen/convert.ts resolveKnobs reads it). */
export interface ConvertSpec {
  format?: 'float' | 'fixed';
  weights?: string;
  precision?: {
    weights?: { bits: number; integer?: number };
    biases?: { bits: number; integer?: number };
    activations?: { bits: number; integer: number };
    accumulators?: { bits: number };
  };
  rounding?: Rounding;
  overflow?: Overflow;
  weightStorage?: 'arrays' | 'files';
}

/** The verify section (src/stages/verify.ts). */
export interface VerifySpec {
  samples?: number;
  sweep?: number[];
  tolerance?: number;
  compiler?: string;
  traceSamples?: number;
  searchSamples?: number;
  searchRadius?: number;
  sanitizeSamples?: number;
  backend?: 'auto' | 'wasm' | 'cpu';
}

export type SelectRule = 'lowest-error' | 'knee';
/** search.select (src/nas/select.ts). */
export type SelectSpec = SelectRule | { rule: SelectRule; maxParams?: number; maxMacs?: number };

/** train.augment (src/nn/augment.ts). */
export interface Augmentation {
  /** Largest translation in pixels along each axis (0: none). */
  shift: number;
}

/** train.batchNormStatistics (src/nn/batchnorm-statistics.ts). */
export type BatchNormStatistics = 'moving' | 'precise';

export interface FixedFormatSpec {
  bits: number;
  integer: number;
}

export interface DataFilesSpec {
  images?: string;
  labels?: string;
  files?: string[];
  x?: string;
  y?: string;
}

export interface DataSpec {
  dataset: 'mnist' | 'idx' | 'cifar10' | 'npy' | 'npz' | 'csv';
  train?: DataFilesSpec;
  test?: DataFilesSpec;
  validationSplit: number;
  seed: number;
  limit?: { train?: number; test?: number };
  normalize: 'scale' | 'standardize' | 'none';
  csv?: { label?: string | number; header?: boolean; delimiter?: string; window?: number; stride?: number };
  /** rows: an image H×W×C becomes H time steps of W·C features (src/data/sequence.ts). */
  sequence?: 'rows';
  npz?: { x?: string; y?: string; testX?: string; testY?: string };
}

/** One layer of `train.architecture`: an ArchNode of src/nn/arch.ts (input shape and classes come from the data). */
export interface ArchLayerSpec {
  type: 'conv2d' | 'depthwise_conv2d' | 'maxpool2d' | 'avgpool2d' | 'global_avgpool2d' | 'flatten' | 'dense' | 'dropout' | 'batchnorm' | 'dense_block' | 'transition' | 'lstm' | 'gru' | 'simple_rnn' | 'global_avgpool1d' | 'global_maxpool1d';
  filters?: number;
  units?: number;
  kernel?: number;
  stride?: number;
  /** Pools: window size; transition: 'max' | 'avg'. */
  pool?: number | 'max' | 'avg';
  padding?: 'valid' | 'same';
  activation?: 'linear' | 'relu' | 'relu6' | 'tanh' | 'sigmoid' | 'softmax';
  batchnorm?: boolean;
  rate?: number;
  layers?: number;
  growth?: number;
  bottleneck?: number;
  compression?: number;
  /** lstm, gru, simple_rnn. */
  returnSequences?: boolean;
  recurrentActivation?: 'sigmoid' | 'hard_sigmoid' | 'tanh' | 'relu' | 'relu6' | 'linear';
  resetAfter?: boolean;
}

/** The `search` section (the nas stage). */
export interface SearchSpec {
  enabled: boolean;
  space: 'densenet' | 'chain' | 'recurrent';
  algorithm: 'nsga2' | 'random' | 'aging';
  initialPopulation: 'stratified' | 'random';
  population: number;
  generations: number;
  objectives: ('error' | 'macs' | 'params' | 'weightBits')[];
  constraints: { maxParams?: number; maxMacs?: number; maxWeightBits?: number | 'device'; maxCycles?: number; maxLuts?: number | 'device' };
  fidelity: {
    subset: number;
    epochs: number[];
    promote: number;
    /** Absent in views written before it existed: rungs. */
    schedule?: 'rungs' | 'hyperband' | 'asha';
    stratify?: boolean;
    /** The confirmation rung (src/nas/search.ts); absent: none. */
    final?: FinalFidelitySpec;
  };
  training: { batchSize: number; learningRate: number; optimizer: 'adam' | 'sgd' | 'rmsprop'; backend: 'auto' | 'node' | 'wasm' | 'cpu'; augment?: Augmentation; batchNormStatistics?: BatchNormStatistics; quantizedEpochs?: number };
  activations: ('relu' | 'relu6' | 'tanh' | 'sigmoid')[];
  /** Stride choices of the stem conv: densenet's (absent: [1]) and the chain space's first conv (absent: [1, 2]). */
  stemStrides?: (1 | 2 | 4)[];
  workers: number;
  /** redis://host:port[/db] or rediss://…: train through a BullMQ queue (src/nas/queue.ts). */
  queue?: string;
  seed: number;
  select: SelectSpec;
}

/**
 * search.fidelity.final. recipe `search` (the default): `epochs` on all the training data with search.training's
 * settings. recipe `train`: the train stage's own training of each confirmed network (train's epochs, batch size,
 * learning rate and schedule, early stopping and seed, then quantize's fine-tuning), so that the figure the selection
 * uses is the one the train stage will measure. candidates `front`: the best `top` of the feasible Pareto set by
 * search.select; `per-depth`: the best trained network of each depth (layers with weights), the depths in the order
 * of their best, up to `top`.
 */
export interface FinalFidelitySpec {
  top: number;
  /** Required with recipe `search`; not allowed with `train` (train.epochs). */
  epochs?: number;
  learningRateSchedule?: 'constant' | 'cosine';
  recipe?: 'search' | 'train';
  candidates?: 'front' | 'per-depth';
}

export interface TrainSpec {
  architecture: 'selected' | ArchLayerSpec[];
  epochs: number;
  batchSize: number;
  learningRate: number;
  schedule?: 'constant' | 'cosine';
  optimizer: 'adam' | 'sgd' | 'rmsprop';
  earlyStopping?: { patience: number };
  backend: 'auto' | 'node' | 'wasm' | 'cpu';
  workers: number;
  seed: number;
  augment?: Augmentation;
  batchNormStatistics?: BatchNormStatistics;
}

/** The train section's fields that decide a training: what the nas view copies for search.fidelity.final.recipe train. */
export type TrainRecipe = Pick<TrainSpec, 'epochs' | 'batchSize' | 'learningRate' | 'schedule' | 'optimizer' | 'earlyStopping' | 'backend' | 'seed' | 'augment' | 'batchNormStatistics'>;

/** The `rtl` section. */
export interface RtlSpec {
  lanes: number;
  /** A directive-set file (schemas/directives.schema.json), relative to the project. */
  directives?: string;
}

/** The `sim` section. */
export interface SimSpec {
  samples: number;
  netlistSamples: number;
  simulator: 'auto' | 'verilator' | 'cxxrtl';
}

/** The `quantize` section (resolved by src/quant/config.ts; README "Quantization"). */
export interface QuantizeSpec {
  mode: 'float' | 'fixed' | 'ternary';
  weights?: FixedFormatSpec;
  activations?: FixedFormatSpec;
  biasBits: number;
  ternary?: { activations: boolean; threshold: number; momentum: number; scaleBits: number };
  fineTune?: { epochs?: number; learningRate?: number; distill?: { weight: number; temperature: number }; earlyStopping?: { patience: number } | false; weightsFirst?: number };
}

export interface Spec {
  name: string;
  model?: string;
  data: DataSpec;
  search: SearchSpec;
  train: TrainSpec;
  quantize: QuantizeSpec;
  convert: ConvertSpec;
  verify: VerifySpec;
  dse: Record<string, any>;
  rtl: RtlSpec;
  sim: SimSpec;
  target: { device: string; package?: string; board: string; clockMHz: number | 'auto'; clockMargin?: number; toolchain: 'auto' | 'native' | 'yowasp'; baud: number };
}
