import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/nn/backend';

/**
 * The wasm backend's convolution gradients (wasm-gradients.ts, built from forward ops) against the
 * cpu backend's native kernels, on the same random inputs.
 */
type Case = { pad: 'same' | 'valid'; stride: number; size: [number, number]; kernel: number };
const cases: Case[] = [];
for (const pad of ['same', 'valid'] as const) {
  for (const stride of [1, 2]) {
    cases.push({ pad, stride, size: [7, 8], kernel: 3 }, { pad, stride, size: [9, 6], kernel: 4 }, { pad, stride, size: [6, 6], kernel: 5 });
  }
}

function gradients(c: Case): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.randomNormal([3, ...c.size, 3], 0, 1, 'float32', 11) as tf.Tensor4D;
    const w = tf.randomNormal([c.kernel, c.kernel, 3, 5], 0, 1, 'float32', 12) as tf.Tensor4D;
    const dw = tf.randomNormal([c.kernel, c.kernel, 3, 2], 0, 1, 'float32', 13) as tf.Tensor4D;
    const bias = tf.randomNormal([5], 0, 1, 'float32', 14);
    // A non-uniform upstream gradient: the loss weights every output differently.
    const weigh = (y: tf.Tensor) => tf.sum(tf.mul(y, tf.sin(tf.reshape(tf.range(0, y.size), y.shape))));
    const plain = tf.grads((a: tf.Tensor, b: tf.Tensor) => weigh(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad)))([x, w]);
    // The fused op (what tfjs-layers uses for a linear-activation Conv2D) has its own gradient path.
    const fused = tf.grads((a: tf.Tensor, b: tf.Tensor) => weigh(tf.fused.conv2d({ x: a as tf.Tensor4D, filter: b as tf.Tensor4D, strides: c.stride, pad: c.pad, bias })))([x, w]);
    const depthwise = tf.grads((a: tf.Tensor, b: tf.Tensor) => weigh(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad)))([x, dw]);
    return [...plain, ...fused, ...depthwise].map((t) => t.dataSync() as Float32Array);
  });
}

test('wasm convolution gradients equal the cpu backend\'s (conv2d, fused conv2d, depthwise; same/valid; strides 1 and 2)', async () => {
  await selectBackend('cpu');
  const reference = cases.map(gradients);
  assert.equal(await selectBackend('wasm'), 'wasm');
  const names = ['conv dx', 'conv dw', 'fused dx', 'fused dw', 'depthwise dx', 'depthwise dw'];
  cases.forEach((c, i) => {
    const got = gradients(c);
    got.forEach((g, j) => {
      const ref = reference[i][j];
      assert.equal(g.length, ref.length);
      let maxErr = 0;
      let scale = 0;
      for (let k = 0; k < g.length; k++) {
        maxErr = Math.max(maxErr, Math.abs(g[k] - ref[k]));
        scale = Math.max(scale, Math.abs(ref[k]));
      }
      assert.ok(scale > 0.1, 'the reference gradient is not trivially zero');
      assert.ok(maxErr <= 1e-5 * scale, `${names[j]} ${JSON.stringify(c)}: max error ${maxErr} (scale ${scale})`);
    });
  });
});
