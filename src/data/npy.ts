import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { DeepMakerError } from '../util/errors';

/**
 * NumPy's .npy format (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
 * magic "\x93NUMPY", version, a little-endian header length, then a Python-literal dict header
 * {'descr': '<f4', 'fortran_order': False, 'shape': (N, 28, 28, 1), } padded so that the data starts
 * at a multiple of 64 bytes, then the raw C-order data. We write version 1.0 (readable by every numpy);
 * we read 1.0, 2.0 and 3.0.
 */
export type NpyDtype = '<f4' | '<f8' | '<i4' | '<i8' | '|u1' | '|i1' | '<u2' | '<i2';

export type NpyData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Uint16Array | Int16Array;

export interface NpyArray<D extends NpyData = NpyData> {
  dtype: NpyDtype;
  shape: number[];
  data: D;
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

const DTYPES: Record<NpyDtype, { size: number; make: (buf: ArrayBuffer) => NpyData }> = {
  '<f4': { size: 4, make: (b) => new Float32Array(b) },
  '<f8': { size: 8, make: (b) => new Float64Array(b) },
  '<i4': { size: 4, make: (b) => new Int32Array(b) },
  '<i8': { size: 8, make: (b) => new BigInt64Array(b) },
  '|u1': { size: 1, make: (b) => new Uint8Array(b) },
  '|i1': { size: 1, make: (b) => new Int8Array(b) },
  '<u2': { size: 2, make: (b) => new Uint16Array(b) },
  '<i2': { size: 2, make: (b) => new Int16Array(b) },
};

/** numpy writes single-byte types with either '|' or '<'/'>' (byte order is meaningless for them). */
function normaliseDescr(descr: string): string {
  if (/^[<>=|][ui]1$/.test(descr)) return `|${descr.slice(1)}`;
  if (descr.startsWith('=')) return `<${descr.slice(1)}`; // native order; this reader runs little-endian only
  return descr;
}

export function dtypeOf(data: NpyData): NpyDtype {
  if (data instanceof Float32Array) return '<f4';
  if (data instanceof Float64Array) return '<f8';
  if (data instanceof Int32Array) return '<i4';
  if (data instanceof BigInt64Array) return '<i8';
  if (data instanceof Uint8Array) return '|u1';
  if (data instanceof Int8Array) return '|i1';
  if (data instanceof Uint16Array) return '<u2';
  if (data instanceof Int16Array) return '<i2';
  throw new TypeError('unsupported typed array for .npy');
}

/** The bytes of a version 1.0 .npy file holding `data` with `shape` (C order). */
export function encodeNpy(data: NpyData, shape: number[]): Buffer {
  return Buffer.concat([npyHeader(dtypeOf(data), shape, data.length), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

function npyHeader(dtype: NpyDtype, shape: number[], length: number): Buffer {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== length) throw new RangeError(`.npy shape [${shape.join(', ')}] holds ${count} values, the data ${length}`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${dtype}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // magic(6) + version(2) + header length(2) + dict + '\n' padded with spaces to a multiple of 64.
  const unpadded = 10 + dict.length + 1;
  dict += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  if (dict.length > 0xffff) throw new RangeError('.npy header too long for version 1.0');
  const head = Buffer.alloc(10);
  MAGIC.copy(head, 0);
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(dict.length, 8);
  return Buffer.concat([head, Buffer.from(dict, 'latin1')]);
}

/** Writes `data` as a .npy file; streams the body, so arrays of hundreds of MB need no extra copy. */
export function writeNpy(file: string, data: NpyData, shape: number[]): void {
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, npyHeader(dtypeOf(data), shape, data.length));
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const chunk = 1 << 24;
    for (let off = 0; off < bytes.length; off += chunk) writeSync(fd, bytes, off, Math.min(chunk, bytes.length - off));
  } finally {
    closeSync(fd);
  }
}

/** Reads a .npy file. Errors name the file and say what to do. */
export function readNpy(file: string): NpyArray {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new DeepMakerError(`cannot read the .npy file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file }, 'check the path (relative to deepmaker.yaml)');
  }
  return decodeNpy(buf, file);
}

/** Decodes the bytes of a .npy file; `name` is used in errors (a file, or `archive.npz:x.npy`). */
export function decodeNpy(buf: Uint8Array, name: string): NpyArray {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 10 || !b.subarray(0, 6).equals(MAGIC)) {
    throw new DeepMakerError('not a .npy file (the magic string \\x93NUMPY is missing)', { file: name }, 'write it with numpy.save');
  }
  const major = b[6];
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = b.readUInt16LE(8);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (b.length < 12) throw new DeepMakerError('truncated .npy header', { file: name }, 'the file is incomplete; write it again');
    headerLen = b.readUInt32LE(8);
    headerStart = 12;
  } else {
    throw new DeepMakerError(`unsupported .npy version ${major}.${b[7]}`, { file: name }, 'save with numpy.save (version 1.0, 2.0 or 3.0)');
  }
  if (headerStart + headerLen > b.length) throw new DeepMakerError('truncated .npy header', { file: name }, 'the file is incomplete; write it again');
  const header = b.subarray(headerStart, headerStart + headerLen).toString(major === 3 ? 'utf8' : 'latin1');
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new DeepMakerError(`malformed .npy header: ${header.trim()}`, { file: name }, 'write it with numpy.save');
  }
  if (fortran === 'True') {
    throw new DeepMakerError('the array is stored in Fortran (column-major) order, which is not supported', { file: name }, 'save a C-order copy: numpy.save(path, numpy.ascontiguousarray(a))');
  }
  const dtype = normaliseDescr(descr) as NpyDtype;
  const info = DTYPES[dtype];
  if (!info) {
    throw new DeepMakerError(
      `unsupported .npy dtype '${descr}'`,
      { file: name },
      `supported: ${Object.keys(DTYPES).join(' ')} (little-endian); convert with a.astype('float32') before saving`,
    );
  }
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new DeepMakerError(`malformed .npy shape (${shapeText})`, { file: name });
  const count = shape.reduce((a, c) => a * c, 1);
  const dataStart = headerStart + headerLen;
  const need = count * info.size;
  if (b.length - dataStart < need) {
    throw new DeepMakerError(
      `truncated .npy data: shape (${shape.join(', ')}) of ${dtype} needs ${need} bytes, the file has ${b.length - dataStart}`,
      { file: name },
      'the file is incomplete; write it again',
    );
  }
  // Copy into a fresh, aligned buffer (the data offset is a multiple of 64 in files numpy writes, but not always in npz members).
  const copy = new ArrayBuffer(need);
  new Uint8Array(copy).set(b.subarray(dataStart, dataStart + need));
  return { dtype, shape, data: info.make(copy) };
}
