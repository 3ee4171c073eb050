/** Architectures the nn tests share: LeNet-5 and small members of both search spaces. */
import type { Split } from '../../src/data/tensors';
import { LENET5, type Architecture } from '../../src/nn/arch';

export const lenet5 = LENET5;

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

/**
 * A small seeded image problem: 8x8x1 images, class = the brightest quadrant (4 classes), plus
 * noise. `randomLabels` replaces the labels by noise (a model can only memorise it: validation
 * loss rises while training loss falls).
 */
export function quadrants(count: number, seed: number, randomLabels = false): Split {
  let s = seed >>> 0;
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const x = new Float32Array(count * 64);
  const y = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const c = Math.floor(rand() * 4);
    y[i] = randomLabels ? Math.floor(rand() * 4) : c;
    for (let r = 0; r < 8; r++) {
      for (let col = 0; col < 8; col++) {
        const q = (r < 4 ? 0 : 2) + (col < 4 ? 0 : 1);
        x[i * 64 + r * 8 + col] = (q === c ? 0.6 : 0) + rand() * 0.6;
      }
    }
  }
  return { x, y, count, shape: [8, 8, 1] };
}

export const tinyConv: Architecture = {
  input: [8, 8, 1],
  classes: 4,
  layers: [
    { type: 'conv2d', filters: 4, kernel: 3, padding: 'same', activation: 'relu' },
    { type: 'maxpool2d', pool: 2 },
    { type: 'depthwise_conv2d', kernel: 3, stride: 2, padding: 'same', batchnorm: true, activation: 'relu' },
    { type: 'flatten' },
    { type: 'dropout', rate: 0.25 },
  ],
};
