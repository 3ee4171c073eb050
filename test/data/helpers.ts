import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runStage } from '../../src/stages/run';
import { silentLogger } from '../../src/util/log';

/** A temporary project folder; removed by `cleanup`. */
export function tempProject(yaml: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'dm-data-'));
  writeFileSync(join(dir, 'deepmaker.yaml'), yaml);
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function put(dir: string, rel: string, data: string | Uint8Array): string {
  const file = join(dir, rel);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, data);
  return file;
}

/** spec then data, as `nx run <p>:data` does. */
export async function runData(dir: string): Promise<void> {
  await runStage('spec', dir, dir, silentLogger);
  await runStage('data', dir, dir, silentLogger);
}

const IDX_TYPE = { u8: 0x08, i8: 0x09, i16: 0x0b, i32: 0x0c, f32: 0x0d, f64: 0x0e } as const;
const IDX_SIZE = { u8: 1, i8: 1, i16: 2, i32: 4, f32: 4, f64: 8 } as const;

/** The bytes of an IDX file (big-endian), as MNIST's. */
export function idxBytes(type: keyof typeof IDX_TYPE, dims: number[], values: ArrayLike<number>): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = IDX_TYPE[type];
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  const body = Buffer.alloc(values.length * IDX_SIZE[type]);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (type === 'u8') body[i] = v;
    else if (type === 'i8') body.writeInt8(v, i);
    else if (type === 'i16') body.writeInt16BE(v, 2 * i);
    else if (type === 'i32') body.writeInt32BE(v, 4 * i);
    else if (type === 'f32') body.writeFloatBE(v, 4 * i);
    else body.writeDoubleBE(v, 8 * i);
  }
  return Buffer.concat([head, body]);
}

/**
 * A small image dataset in IDX form: `n` (<= 256) images of 4x4 bytes; image i has every pixel = i
 * and label i % classes, so any sample can be identified from its values.
 */
export function writeIdxDataset(dir: string, prefix: string, n: number, classes = 3): { images: string; labels: string } {
  const px = new Uint8Array(n * 16);
  for (let i = 0; i < n; i++) px.fill(i % 256, i * 16, (i + 1) * 16);
  const lb = Uint8Array.from({ length: n }, (_, i) => i % classes);
  put(dir, `${prefix}-images.idx`, idxBytes('u8', [n, 4, 4], px));
  put(dir, `${prefix}-labels.idx`, idxBytes('u8', [n], lb));
  return { images: `${prefix}-images.idx`, labels: `${prefix}-labels.idx` };
}

export const IDX_YAML = (extra = '') => `name: tiny
data:
  dataset: idx
  train: { images: train-images.idx, labels: train-labels.idx }
  test: { images: test-images.idx, labels: test-labels.idx }
${extra}`;
