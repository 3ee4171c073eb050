/**
 * `data.sequence: rows`: images read as sequences, the sequential-MNIST task. An image of
 * H×W×C becomes H time steps of W·C features, [H, W·C]: step t is image row t, its features the
 * row's pixels with their channels interleaved (x, then c), as a recurrent layer reads a
 * [timesteps, features] input.
 *
 * Samples are stored row-major with channels last, so [H, W, C] and [H, W·C] hold the same values in
 * the same order: only the shape changes. Normalisation (per channel, the last axis of the image)
 * is computed and applied before the reshape; its offset and scale per image channel c apply to
 * every feature f with f mod C = c, which is where i mod C already points in the flat data.
 */
import { DeepMakerError } from '../util/errors';

export type SequenceMode = 'rows';

/**
 * The sample shape a recurrent model sees for images of `shape` (without the batch axis): [H, W, C]
 * -> [H, W·C]; [H, W] (an image without a channel axis, as some .npy files store them) stays.
 * Anything else is an error naming `file`.
 */
export function sequenceShape(shape: number[], mode: SequenceMode, file: string | undefined): number[] {
  if (mode !== 'rows') throw new DeepMakerError(`data.sequence = ${JSON.stringify(mode)} is not known`, { file, where: 'data.sequence' }, 'use `sequence: rows`');
  if (shape.length === 3) return [shape[0], shape[1] * shape[2]];
  if (shape.length === 2) return [...shape];
  throw new DeepMakerError(
    `data.sequence: rows reads images [height, width, channels] as [height, width·channels] sequences, but these samples are [${shape.join(', ')}]`,
    { file, where: 'data.sequence' },
    shape.length === 1
      ? 'a sample of one axis is no image: for a time series in CSV use data.csv.window (its samples are [window, features] already); for .npy files store the samples as [N, H, W] or [N, H, W, C]'
      : 'store the samples as [N, H, W] or [N, H, W, C], or drop data.sequence',
  );
}
