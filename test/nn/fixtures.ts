/** Architectures the nn tests share: LeNet-5 and small members of both search spaces. */
import type { Architecture } from '../../src/nn/arch';

export const lenet5: Architecture = {
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
    { type: 'dense', units: 10, activation: 'softmax' },
  ],
};

export const denseNetLike: Architecture = {
  input: [16, 16, 1],
  classes: 4,
  layers: [
    { type: 'conv2d', filters: 8, kernel: 3, padding: 'same', activation: 'relu', batchnorm: true },
    { type: 'dense_block', layers: 3, growth: 4, kernel: 3, bottleneck: 2, batchnorm: true },
    { type: 'transition', compression: 0.5, pool: 'avg', batchnorm: true },
    { type: 'dense_block', layers: 2, growth: 6, kernel: 3, activation: 'relu6' },
    { type: 'transition', compression: 0.75, pool: 'max' },
    { type: 'global_avgpool2d' },
    { type: 'dense', units: 12, activation: 'tanh' },
    { type: 'dropout', rate: 0.2 },
  ],
};

export const chain: Architecture = {
  input: [12, 12, 3],
  classes: 5,
  layers: [
    { type: 'conv2d', filters: 6, kernel: 3, stride: 2, padding: 'same' },
    { type: 'batchnorm' },
    { type: 'depthwise_conv2d', kernel: 3, activation: 'relu', batchnorm: true },
    { type: 'conv2d', filters: 10, kernel: 1, activation: 'sigmoid' },
    { type: 'batchnorm' },
    { type: 'avgpool2d', pool: 2, stride: 1 },
    { type: 'dense', units: 7, activation: 'relu' },
  ],
};
