/**
 * A harder image dataset made from an easy one: every image gets a random affine distortion
 * (rotation, scale and shift about the image centre, bilinear resampling, zero outside) and then
 * additive Gaussian noise, clipped to the byte range. Seeded (src/moo/rng's sfc32): the same seed
 * gives the same bytes, and image i's distortion depends only on the seed and on the images before
 * it, so the first N images are the same whether N or all are distorted. The nas-regret bench builds
 * its second dataset with it from MNIST.
 */
import { Rng } from '../moo/rng';

export interface Distortion {
  /** Rotation drawn uniformly in ±maxRotationDegrees. */
  maxRotationDegrees: number;
  /** Scale drawn uniformly in [minScale, maxScale] (> 1 enlarges). */
  minScale: number;
  maxScale: number;
  /** Shift in pixels, drawn uniformly in ±maxShift for x and for y independently. */
  maxShift: number;
  /** Standard deviation of the additive Gaussian noise, as a fraction of the byte range (255). */
  noise: number;
}

export const HARD_MNIST_DISTORTION: Distortion = { maxRotationDegrees: 30, minScale: 0.8, maxScale: 1.1, maxShift: 4, noise: 0.25 };

/** Distorts `count` single-channel byte images of height × width (row-major), returning new bytes. */
export function distortImages(images: Uint8Array, count: number, height: number, width: number, d: Distortion, seed: string): Uint8Array {
  if (images.length < count * height * width) throw new RangeError(`distortImages: ${images.length} bytes hold fewer than ${count} images of ${height}x${width}`);
  const rng = new Rng(`distort:${seed}`);
  const out = new Uint8Array(count * height * width);
  const cy = (height - 1) / 2, cx = (width - 1) / 2;
  let spare: number | undefined;
  const gauss = (): number => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    // Box-Muller: two uniforms, two independent standard normals.
    const u = 1 - rng.next(), v = rng.next();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
  const size = height * width;
  for (let n = 0; n < count; n++) {
    const angle = (rng.uniform(-d.maxRotationDegrees, d.maxRotationDegrees) * Math.PI) / 180;
    const scale = rng.uniform(d.minScale, d.maxScale);
    const tx = rng.uniform(-d.maxShift, d.maxShift), ty = rng.uniform(-d.maxShift, d.maxShift);
    // Inverse map: output pixel (y, x) samples the source at R(-angle)·((p - c - t) / scale) + c.
    const cos = Math.cos(angle) / scale, sin = Math.sin(angle) / scale;
    const src = n * size;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const dx = x - cx - tx, dy = y - cy - ty;
        const sx = cos * dx + sin * dy + cx, sy = -sin * dx + cos * dy + cy;
        const x0 = Math.floor(sx), y0 = Math.floor(sy), fx = sx - x0, fy = sy - y0;
        const at = (yy: number, xx: number) => (yy >= 0 && yy < height && xx >= 0 && xx < width ? images[src + yy * width + xx] : 0);
        const v = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) + fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1));
        out[src + y * width + x] = Math.max(0, Math.min(255, Math.round(v + gauss() * d.noise * 255)));
      }
    }
  }
  return out;
}
