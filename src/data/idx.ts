import { gunzipSync } from 'fflate';
import { DeepMakerError } from '../util/errors';
import { readDataFile } from './files';

/**
 * The IDX format of MNIST (http://yann.lecun.com/exdb/mnist/): two zero bytes, a type code, the number
 * of dimensions, one big-endian uint32 per dimension, then the data in C order, big-endian.
 * Gzipped files (.gz as distributed) are accepted too.
 */
export interface IdxArray {
  /** The dimensions read: [count (after the limit), ...sample dims]. */
  dims: number[];
  /** The count the header announces (before the limit). */
  storedCount: number;
  /** Values widened to float32 (bytes stay exact). */
  data: Float32Array;
  /** The stored type, which decides the `scale` normalisation (255 for unsigned bytes). */
  type: IdxType;
}

export type IdxType = 'u8' | 'i8' | 'i16' | 'i32' | 'f32' | 'f64';

const TYPES: Record<number, { type: IdxType; size: number }> = {
  0x08: { type: 'u8', size: 1 },
  0x09: { type: 'i8', size: 1 },
  0x0b: { type: 'i16', size: 2 },
  0x0c: { type: 'i32', size: 4 },
  0x0d: { type: 'f32', size: 4 },
  0x0e: { type: 'f64', size: 8 },
};

const HINT = 'IDX files start with 0x00 0x00, a type byte (0x08 unsigned byte ... 0x0E double), the number of dimensions, then the sizes';

export function readIdx(file: string, limit?: number): IdxArray {
  let buf = readDataFile(file);
  if (buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = Buffer.from(gunzipSync(buf));
    } catch (e) {
      throw new DeepMakerError(`corrupt gzip stream: ${(e as Error).message}`, { file }, 'download the file again, or store it uncompressed');
    }
  }
  return decodeIdx(buf, file, limit);
}

export function decodeIdx(buf: Buffer, file: string, limit?: number): IdxArray {
  if (buf.length < 4) throw new DeepMakerError(`truncated IDX file: ${buf.length} bytes, less than its 4-byte magic number`, { file }, 'the file is incomplete; copy it again');
  const magic = buf.readUInt32BE(0);
  const magicHex = `0x${magic.toString(16).padStart(8, '0')}`;
  const info = TYPES[buf[2]];
  if (buf[0] !== 0 || buf[1] !== 0 || !info || buf[3] === 0) {
    throw new DeepMakerError(`wrong magic number ${magicHex}: not an IDX file`, { file, where: 'byte 0' }, `${HINT} (e.g. 0x00000803 for MNIST images, 0x00000801 for labels)`);
  }
  const rank = buf[3];
  const headerLen = 4 + 4 * rank;
  if (buf.length < headerLen) throw new DeepMakerError(`truncated IDX header: ${rank} dimensions need ${headerLen} bytes, the file has ${buf.length}`, { file }, 'the file is incomplete; copy it again');
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(buf.readUInt32BE(4 + 4 * i));
  const sample = dims.slice(1).reduce((a, b) => a * b, 1);
  const need = headerLen + dims[0] * sample * info.size;
  if (buf.length < need) {
    const complete = Math.floor((buf.length - headerLen) / (sample * info.size));
    throw new DeepMakerError(
      `truncated IDX file: the header announces ${dims[0]} records of ${sample * info.size} bytes (${need} bytes in all), the file has ${buf.length}; record ${complete} is the first incomplete one`,
      { file, where: `record ${complete}` },
      'the file is incomplete; copy or download it again',
    );
  }
  if (buf.length > need) {
    throw new DeepMakerError(`IDX file is ${buf.length - need} bytes longer than its header announces (${dims.join('x')})`, { file }, 'the header or the file is wrong; check how it was written');
  }
  const count = limit !== undefined ? Math.min(limit, dims[0]) : dims[0];
  const n = count * sample;
  const out = new Float32Array(n);
  const body = buf.subarray(headerLen);
  switch (info.type) {
    case 'u8':
      for (let i = 0; i < n; i++) out[i] = body[i];
      break;
    case 'i8':
      for (let i = 0; i < n; i++) out[i] = body.readInt8(i);
      break;
    case 'i16':
      for (let i = 0; i < n; i++) out[i] = body.readInt16BE(2 * i);
      break;
    case 'i32':
      for (let i = 0; i < n; i++) out[i] = body.readInt32BE(4 * i);
      break;
    case 'f32':
      for (let i = 0; i < n; i++) out[i] = body.readFloatBE(4 * i);
      break;
    case 'f64':
      for (let i = 0; i < n; i++) out[i] = body.readDoubleBE(8 * i);
      break;
  }
  return { dims: [count, ...dims.slice(1)], storedCount: dims[0], data: out, type: info.type };
}
