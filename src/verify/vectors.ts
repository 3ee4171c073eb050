/**
 * Test vectors for `deepmaker verify --inputs X --expected Y`: one flattened sample per row.
 *  - .dat / .txt / .csv: text, one sample per line, values separated by whitespace or commas;
 *  - .npy: NumPy array [N, ...] (src/data/npy.ts), any numeric dtype;
 *  - .json: [[...], ...] or {"inputs"|"x": [[...]...]} / {"outputs"|"expected"|"y": ...}; samples may be nested arrays;
 *  - .h5: an HDF5 dataset; `file.h5#/group/name` picks it, otherwise the only dataset under
 *    /inputs (for inputs) or /predictions (for expected), as dl4j's test files store them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { readNpy } from '../data/npy';
import { Hdf5Reader } from '../importers/hdf5';
import { DeepMakerError } from '../util/errors';

export interface Vectors {
  values: Float32Array;
  count: number;
  width: number;
  file: string;
}

function fromRows(rows: number[][], file: string): Vectors {
  if (rows.length === 0) throw new DeepMakerError('no samples', { file });
  const width = rows[0].length;
  rows.forEach((r, i) => {
    if (r.length !== width) throw new DeepMakerError(`sample ${i + 1} has ${r.length} values, the first has ${width}`, { file, line: i + 1 });
  });
  const values = new Float32Array(rows.length * width);
  rows.forEach((r, i) => values.set(r, i * width));
  return { values, count: rows.length, width, file };
}

function readText(file: string): Vectors {
  const rows: number[][] = [];
  const lines = readFileSync(file, 'utf8').split(/\r?\n/);
  lines.forEach((line, i) => {
    const t = line.trim();
    if (!t) return;
    const vals = t.split(/[\s,]+/).map((v, j) => {
      const x = Number(v);
      if (!Number.isFinite(x) && !/^[-+]?(inf|nan)/i.test(v)) throw new DeepMakerError(`'${v}' is not a number`, { file, line: i + 1, column: j + 1 });
      return x;
    });
    rows.push(vals);
  });
  return fromRows(rows, file);
}

function flatten(v: unknown): number[] {
  return Array.isArray(v) ? v.flatMap(flatten) : [Number(v)];
}

function readJsonVectors(file: string, role: 'inputs' | 'expected'): Vectors {
  let json: any;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new DeepMakerError(`invalid JSON: ${(e as Error).message}`, { file });
  }
  if (!Array.isArray(json)) {
    const keys = role === 'inputs' ? ['inputs', 'x', 'input'] : ['expected', 'outputs', 'y', 'predictions', 'output'];
    const k = keys.find((k) => Array.isArray(json?.[k]));
    if (!k) throw new DeepMakerError(`expected an array of samples, or an object with one of ${keys.join(', ')}`, { file });
    json = json[k];
  }
  return fromRows((json as unknown[]).map(flatten), file);
}

function fromNd(data: ArrayLike<number | bigint>, shape: number[], file: string): Vectors {
  const count = shape.length ? shape[0] : 1;
  const width = shape.slice(1).reduce((a, b) => a * b, 1);
  const values = new Float32Array(count * width);
  for (let i = 0; i < values.length; i++) values[i] = Number(data[i]);
  return { values, count, width, file };
}

async function readH5(spec: string, role: 'inputs' | 'expected'): Promise<Vectors> {
  const [file, path] = spec.split('#');
  const h5 = await Hdf5Reader.open(readFileSync(file), file);
  try {
    let dsPath = path;
    if (!dsPath) {
      const group = role === 'inputs' ? '/inputs' : '/predictions';
      const keys = h5.keys(group);
      if (keys.length !== 1) throw new DeepMakerError(`cannot tell which dataset holds the ${role}: ${group} has ${keys.length ? keys.join(', ') : 'nothing'}`, { file }, `name it: ${file}#/group/dataset`);
      dsPath = `${group}/${keys[0]}`;
    }
    const ds = h5.dataset(dsPath);
    if (!ds) throw new DeepMakerError(`no dataset ${dsPath}`, { file });
    return fromNd(ds.readFloat32(), ds.shape, file);
  } finally {
    h5.close();
  }
}

export async function readVectors(spec: string, role: 'inputs' | 'expected'): Promise<Vectors> {
  const file = spec.split('#')[0];
  if (!existsSync(file)) throw new DeepMakerError(`the ${role} file does not exist`, { file });
  switch (extname(file).toLowerCase()) {
    case '.dat':
    case '.txt':
    case '.csv':
      return readText(file);
    case '.npy': {
      const a = readNpy(file);
      return fromNd(a.data as ArrayLike<number | bigint>, a.shape, file);
    }
    case '.json':
      return readJsonVectors(file, role);
    case '.h5':
    case '.hdf5':
      return readH5(spec, role);
  }
  throw new DeepMakerError(`unknown vector format '${extname(file)}'`, { file }, 'use .dat (one sample per line), .npy, .json or .h5');
}
