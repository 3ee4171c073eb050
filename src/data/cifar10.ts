import { DeepMakerError } from '../util/errors';
import { readDataFile } from './files';

/**
 * CIFAR-10 binary batches (https://www.cs.toronto.edu/~kriz/cifar.html): records of 1 label byte and
 * 3072 pixel bytes, the 1024 red values of the 32x32 image, then green, then blue (CHW). We hand on
 * HWC (channels last), as every later stage expects.
 */
export const CIFAR_SIDE = 32;
export const CIFAR_CHANNELS = 3;
const PIXELS = CIFAR_SIDE * CIFAR_SIDE;
export const CIFAR_RECORD = 1 + PIXELS * CIFAR_CHANNELS;
export const CIFAR_CLASSES = 10;

export interface CifarBatch {
  /** [count, 32, 32, 3] raw byte values as float32. */
  x: Float32Array;
  y: Int32Array;
  count: number;
}

/** Reads CIFAR-10 batch files in order, at most `limit` records in all. */
export function readCifar10(files: string[], limit = Infinity): CifarBatch {
  const buffers: { file: string; buf: Buffer; records: number }[] = [];
  let total = 0;
  for (const file of files) {
    if (total >= limit) break;
    const buf = readDataFile(file);
    if (buf.length === 0) throw new DeepMakerError('empty CIFAR-10 batch file', { file }, 'the file is incomplete; copy it again');
    if (buf.length % CIFAR_RECORD !== 0) {
      const whole = Math.floor(buf.length / CIFAR_RECORD);
      throw new DeepMakerError(
        `truncated CIFAR-10 batch: ${buf.length} bytes is not a whole number of ${CIFAR_RECORD}-byte records; record ${whole} is incomplete (${buf.length % CIFAR_RECORD} bytes)`,
        { file, where: `record ${whole}` },
        'the file is incomplete, or not a CIFAR-10 binary batch (the Python pickles are not supported: use the "binary version")',
      );
    }
    const records = Math.min(buf.length / CIFAR_RECORD, limit - total);
    buffers.push({ file, buf, records });
    total += records;
  }
  const x = new Float32Array(total * PIXELS * CIFAR_CHANNELS);
  const y = new Int32Array(total);
  let n = 0;
  for (const { file, buf, records } of buffers) {
    for (let r = 0; r < records; r++, n++) {
      const base = r * CIFAR_RECORD;
      const label = buf[base];
      if (label >= CIFAR_CLASSES) {
        throw new DeepMakerError(`label ${label} is not a CIFAR-10 class (0-9)`, { file, where: `record ${r}, byte ${base}` }, 'the file is not a CIFAR-10 binary batch (CIFAR-100 records carry two label bytes)');
      }
      y[n] = label;
      const out = n * PIXELS * CIFAR_CHANNELS;
      for (let c = 0; c < CIFAR_CHANNELS; c++) {
        const plane = base + 1 + c * PIXELS;
        for (let p = 0; p < PIXELS; p++) x[out + p * CIFAR_CHANNELS + c] = buf[plane + p];
      }
    }
  }
  return { x, y, count: total };
}
