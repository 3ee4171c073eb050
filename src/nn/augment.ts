/**
 * Training-time data augmentation: random translations of image samples.
 *
 * `shift: s` moves every training sample by an integer offset (dy, dx), each uniform in [-s, s],
 * filling the uncovered border with the nearest edge pixel (Keras RandomTranslation's `nearest`
 * fill mode: on MNIST's black border that is black, and it stays right under any input scaling).
 * The offsets of a sample are a function of the batch's seed and the sample's row in the
 * training set, so a batch is augmented the same whichever training worker holds which share.
 * Validation and test data are never augmented.
 */
import { TrainRng } from './rng';

import type { Augmentation } from '../spec/types';
export type { Augmentation };

/** Whether `a` changes anything. */
export function augments(a: Augmentation | undefined): a is Augmentation {
  return !!a && a.shift > 0;
}

/**
 * Translates the samples in `xs` (n samples of shape [H, W, C], channels last) in place. `rows`
 * are the samples' rows in the training set, `seed` the batch's augmentation seed.
 */
export function translateBatch(xs: Float32Array, shape: number[], rows: ArrayLike<number>, seed: number, shift: number): void {
  if (shape.length !== 3) return; // only images are translated
  const [h, w, c] = shape;
  const size = h * w * c;
  const src = new Float32Array(size);
  for (let i = 0; i < rows.length; i++) {
    const rng = new TrainRng(seed, rows[i]);
    const dy = Math.floor(rng.next() * (2 * shift + 1)) - shift;
    const dx = Math.floor(rng.next() * (2 * shift + 1)) - shift;
    if (dy === 0 && dx === 0) continue;
    const base = i * size;
    src.set(xs.subarray(base, base + size));
    for (let y = 0; y < h; y++) {
      const sy = Math.min(h - 1, Math.max(0, y - dy));
      for (let x = 0; x < w; x++) {
        const sx = Math.min(w - 1, Math.max(0, x - dx));
        const from = (sy * w + sx) * c;
        const to = base + (y * w + x) * c;
        for (let k = 0; k < c; k++) xs[to + k] = src[from + k];
      }
    }
  }
}
