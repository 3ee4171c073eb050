/** The nas-regret bench's harder dataset: the distortion is deterministic for a seed and changes the images. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { distortImages, HARD_MNIST_DISTORTION } from '../../src/data/distort';

/** Four 28x28 images: a bright bar at a different place in each. */
function images(): Uint8Array {
  const out = new Uint8Array(4 * 784);
  for (let n = 0; n < 4; n++) for (let y = 6; y < 22; y++) for (let x = 10 + n; x < 14 + n; x++) out[n * 784 + y * 28 + x] = 255;
  return out;
}

describe('distortImages', () => {
  it('gives the same bytes for a seed, other bytes for another seed', () => {
    const a = distortImages(images(), 4, 28, 28, HARD_MNIST_DISTORTION, 's:1');
    assert.deepEqual(distortImages(images(), 4, 28, 28, HARD_MNIST_DISTORTION, 's:1'), a);
    assert.notDeepEqual(distortImages(images(), 4, 28, 28, HARD_MNIST_DISTORTION, 's:2'), a);
  });

  it('changes every image, and the first N the same whether N or more are distorted', () => {
    const src = images();
    const all = distortImages(src, 4, 28, 28, HARD_MNIST_DISTORTION, 's:1');
    for (let n = 0; n < 4; n++) {
      const diff = all.subarray(n * 784, (n + 1) * 784).reduce((s, v, i) => s + Math.abs(v - src[n * 784 + i]), 0) / 784;
      assert.ok(diff > 20, `image ${n}: mean absolute change ${diff.toFixed(1)}`);
    }
    assert.deepEqual(distortImages(src, 2, 28, 28, HARD_MNIST_DISTORTION, 's:1'), all.subarray(0, 2 * 784));
    assert.deepEqual(src, images(), 'the input is not modified');
  });

  it('without noise and with an identity transform, returns the image', () => {
    const id = { maxRotationDegrees: 0, minScale: 1, maxScale: 1, maxShift: 0, noise: 0 };
    assert.deepEqual(distortImages(images(), 4, 28, 28, id, 's:1'), images());
    // A pure shift moves the bar: with shift only, the total brightness inside stays close.
    const shifted = distortImages(images(), 1, 28, 28, { ...id, maxShift: 3 }, 's:3');
    assert.notDeepEqual(shifted, images().subarray(0, 784));
  });

  it('refuses a buffer too small for the count', () => {
    assert.throws(() => distortImages(new Uint8Array(100), 1, 28, 28, HARD_MNIST_DISTORTION, 's'), /fewer than 1 images of 28x28/);
  });
});
